"""Check an evidence pack offline: `python -m tracker.verify_pack PACK.zip --key KEYFILE`.

This one file is also shipped inside every pack (as verify_pack.py), so a reviewer can run
`python verify_pack.py PACK.zip --key KEYFILE` with nothing but Python 3.11+ and the
`cryptography` package: no database, no server, no other file of the tracker.

It is also the tracker's one home for the published formats it checks, imported by the server:

- RFC 6962 section 2.1 hashing (SHA-256; leaf = H(0x00 || bytes); node = H(0x01 || left || right)),
  and the verification of inclusion and consistency proofs (RFC 9162 sections 2.1.3.2, 2.1.4.2,
  which check the proofs RFC 6962 sections 2.1.1 and 2.1.2 define);
- C2SP signed-note (Ed25519, signature type 0x01) and verifier keys `name+keyid+base64key`;
- C2SP tlog-checkpoint (origin, tree size, base64 root hash).

KEYFILE holds the log's verifier key (one line, as the auditor's pages show it). Get it from the
partnership by a channel other than the pack itself: a key read from the pack proves nothing.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import hashlib
import io
import json
import sys
import zipfile
from dataclasses import dataclass

# --- RFC 6962 hashing and proof verification -------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes | None:
    """The root an inclusion proof leads to (RFC 9162 2.1.3.2), or None if it is malformed."""
    if index < 0 or index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: the tree of size2 extends the tree of size1 without changing it."""
    if size1 < 0 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof  # the empty tree is a prefix of every tree
    if size1 & (size1 - 1) == 0:  # a power of two: the old root is a node of the new tree
        proof = [root1, *proof]
    if not proof:
        return False
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2


# --- C2SP signed-note and tlog-checkpoint ----------------------------------------------------

ED25519 = b"\x01"
SIGNATURE_PREFIX = "\u2014 "  # em dash, space


class NoteError(ValueError):
    """A note, key or checkpoint that does not parse or does not verify."""


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    name: str
    id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not parts[0]:
            raise NoteError("a verifier key is name+keyid+base64key")
        name, hex_id, encoded = parts
        try:
            key = base64.b64decode(encoded, validate=True)
            wanted_id = bytes.fromhex(hex_id)
        except (binascii.Error, ValueError):
            raise NoteError("the verifier key is not valid hex and base64") from None
        if len(key) != 33 or key[:1] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        if key_id(name, key[1:]) != wanted_id:
            raise NoteError("the verifier key's id does not match its name and key")
        return cls(name, wanted_id, key[1:])

    def __str__(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(ED25519 + self.public_key).decode()}"


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The text (with its final newline) and the (key name, signature bytes) lines."""
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("a note may hold no control characters but newlines")
    head, sep, tail = note.rpartition("\n\n")
    if not sep or not tail.endswith("\n"):
        raise NoteError("a note is text, a blank line, then signature lines")
    signatures = []
    for line in tail[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"not a signature line: {line[:40]!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            signatures.append((name, base64.b64decode(encoded, validate=True)))
        except binascii.Error:
            raise NoteError("a signature is not base64") from None
    return head + "\n", signatures


def open_note(note: str, key: VerifierKey) -> str:
    """The note's text, if the key signed it (signatures by other keys are ignored, by the spec)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text, signatures = split_note(note)
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    known = [sig for name, sig in signatures if name == key.name and sig[:4] == key.id]
    if not known:
        raise NoteError(f"no signature by {key.name} on the note")
    for signature in known:
        try:
            public.verify(signature[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature by {key.name} does not verify") from None
    return text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not all(lines[:-1]):
            raise NoteError("a checkpoint is origin, size and root hash lines")
        origin, size, root = lines[:3]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError("the checkpoint's tree size is not a decimal number")
        try:
            root_bytes = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("the checkpoint's root hash is not base64") from None
        if len(root_bytes) != 32:
            raise NoteError("the checkpoint's root hash is not 32 bytes")
        return cls(origin, int(size), root_bytes)

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def open_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    checkpoint = Checkpoint.parse(open_note(note, key))
    if checkpoint.origin != key.name:
        raise NoteError(f"the checkpoint's origin {checkpoint.origin!r} is not the key's name")
    return checkpoint


# --- Content commitments (erasable personal content) -----------------------------------------


def content_commitment(salt_hex: str, content: str) -> str:
    """SHA-256(salt || UTF-8 content), hex: what a leaf holds in place of personal content."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + content.encode("utf-8")).hexdigest()


# --- The pack --------------------------------------------------------------------------------

ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def canonical_zip(files: list[tuple[str, bytes]]) -> bytes:
    """The one byte layout a pack has: stored (not compressed), fixed dates and modes, in order.

    Any pack is rebuilt this way from its own contents and compared byte for byte, so a change
    anywhere in the zip (a header, a name, a date, a comment) is found, not only in the files.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return out.getvalue()


class PackError(Exception):
    """The pack fails: the message names the item."""


def _read_zip(data: bytes) -> list[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = []
            for info in archive.infolist():
                try:
                    files.append((info.filename, archive.read(info)))
                except Exception as error:  # noqa: BLE001 (any unreadable file fails, named)
                    raise PackError(f"{info.filename}: unreadable ({error})") from None
            return files
    except PackError:
        raise
    except Exception as error:  # noqa: BLE001 (any unreadable zip fails)
        raise PackError(f"the zip itself: not a readable zip ({error})") from None


def _first_difference(data: bytes, rebuilt: bytes, files: list[tuple[str, bytes]]) -> str:
    offset = next(
        (i for i, (a, b) in enumerate(zip(data, rebuilt, strict=False)) if a != b),
        min(len(data), len(rebuilt)),
    )
    with zipfile.ZipFile(io.BytesIO(rebuilt)) as archive:
        infos = archive.infolist()
        for info, (name, _) in zip(infos, files, strict=True):
            end = info.header_offset + 30 + len(info.filename.encode()) + info.file_size
            if offset < end:
                return f"{name}: the zip's bytes for this file were changed (offset {offset})"
    return f"the zip's directory: changed at offset {offset}"


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError):
        raise PackError("audit/proofs.json: a value is not base64") from None


def check_pack(data: bytes, key: VerifierKey, held: list[str] | None = None) -> list[str]:
    """Check everything; return what was proven (one line each), or raise PackError naming the item."""
    files = _read_zip(data)
    rebuilt = canonical_zip(files)
    if rebuilt != data:
        raise PackError(_first_difference(data, rebuilt, files))
    names = [name for name, _ in files]
    if len(set(names)) != len(names):
        raise PackError("the zip itself: a file name appears twice")
    folder = names[0].split("/", 1)[0] + "/" if names and "/" in names[0] else ""
    contents = {name.removeprefix(folder): body for name, body in files}

    try:
        manifest = json.loads(contents["manifest.json"])
        listed = manifest["files"]
    except KeyError:
        raise PackError("manifest.json: missing, or lists no files") from None
    except (ValueError, UnicodeDecodeError):
        raise PackError("manifest.json: not valid JSON") from None
    for name, body in contents.items():
        if name == "manifest.json":
            continue
        entry = listed.get(name) if isinstance(listed, dict) else None
        if not isinstance(entry, dict):
            raise PackError(f"{name}: not listed in manifest.json")
        if hashlib.sha256(body).hexdigest() != entry.get("sha256"):
            raise PackError(f"{name}: its SHA-256 does not match manifest.json")
    for name in listed:
        if name not in contents:
            raise PackError(f"{name}: listed in manifest.json but missing from the zip")
    proven = [f"{len(contents) - 1} files match their SHA-256 in manifest.json"]

    try:
        note = contents["audit/checkpoint.txt"].decode("utf-8")
        checkpoint = open_checkpoint(note, key)
    except KeyError:
        raise PackError("audit/checkpoint.txt: missing") from None
    except (UnicodeDecodeError, NoteError) as error:
        raise PackError(f"audit/checkpoint.txt: {error}") from None
    proven.append(
        f"checkpoint signed by {key.name}: tree size {checkpoint.size}, "
        f"root {base64.b64encode(checkpoint.root).decode()}"
    )
    try:
        consistency = json.loads(contents.get("audit/proofs.json", b"{}")).get("consistency", {})
    except (ValueError, UnicodeDecodeError, AttributeError):
        consistency = {}
    for where, note in held or []:
        proven.append(_against_held(where, note, key, checkpoint, consistency))

    try:
        proofs = json.loads(contents["audit/proofs.json"])
        events = proofs["events"]
    except KeyError:
        raise PackError("audit/proofs.json: missing, or holds no events") from None
    except (ValueError, UnicodeDecodeError):
        raise PackError("audit/proofs.json: not valid JSON") from None
    if proofs.get("tree_size") != checkpoint.size:
        raise PackError("audit/proofs.json: proofs are not against the pack's checkpoint")
    for event in events:
        label = f"audit event {event.get('id')}"
        try:
            leaf = _b64(event["leaf"])
            fields = json.loads(leaf)
            proof = [_b64(p) for p in event["proof"]]
            index = int(event["leaf_index"])
        except (KeyError, ValueError, TypeError):
            raise PackError(f"{label}: its proof entry is incomplete") from None
        if fields.get("id") != event.get("id"):
            raise PackError(f"{label}: its leaf bytes are for another event")
        if not verify_inclusion(index, checkpoint.size, leaf_hash(leaf), proof, checkpoint.root):
            raise PackError(f"{label}: its inclusion proof does not lead to the checkpoint's root")
        content = event.get("content")
        if content is not None:
            try:
                commitment = content_commitment(event["salt"], content)
            except (KeyError, ValueError, TypeError):
                raise PackError(f"{label}: its content has no usable salt") from None
            if commitment != fields.get("content_commitment"):
                raise PackError(f"{label}: its content does not match the leaf's commitment")
    pending = proofs.get("pending", [])
    _check_trail(contents, manifest, events, pending)
    proven.append(f"{len(events)} audit events proven included in the checkpoint")
    if pending:
        proven.append(
            f"{len(pending)} newer audit events were not yet sealed when the pack was produced "
            "(inside the merge delay): they are listed, not proven"
        )
    return proven


def _against_held(
    where: str, note: str, key: VerifierKey, checkpoint: Checkpoint, consistency: dict
) -> str:
    """The pack's checkpoint against one the reader already holds: the same tree, or a tree
    that extends it (a consistency proof the pack carries). A fork or rollback fails."""
    try:
        old = open_checkpoint(note, key)
    except NoteError as error:
        raise PackError(f"{where}: {error}") from None
    if old.size == checkpoint.size:
        if old.root != checkpoint.root:
            raise PackError(f"{where}: same tree size {old.size}, another root: the log forked")
        return f"checkpoint matches {where}"
    if old.size > checkpoint.size:
        raise PackError(
            f"{where}: holds a larger tree ({old.size}) than the pack's ({checkpoint.size}): "
            "check the pack against a checkpoint no newer than its own"
        )
    proof = consistency.get(str(old.size)) if isinstance(consistency, dict) else None
    if not isinstance(proof, list):
        raise PackError(f"{where}: the pack carries no consistency proof from size {old.size}")
    if not verify_consistency(
        old.size, checkpoint.size, old.root, checkpoint.root, [_b64(p) for p in proof]
    ):
        raise PackError(f"{where}: the pack's tree does not extend it (rollback or fork)")
    return f"checkpoint extends {where} (consistency proof from size {old.size})"


# A spreadsheet runs a cell starting with these as a formula (CSV injection). Here, not in the
# tracker's CSV code, because this checker ships alone in each pack and reads the tracker's CSV.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Make a cell inert in a spreadsheet: a leading formula character is quoted."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value: object) -> str:
    return neutralise("" if value is None else str(value))


def _check_trail(contents: dict[str, bytes], manifest: dict, events: list, pending: list) -> None:
    """audit_trail.csv and the manifest's traces say only what proofs.json proves: every proven
    event is a row, every row is proven or pending, and each row's columns are its leaf's fields
    and (unless erased) its committed content. The manifest is unsigned, so nothing in the other
    files is trusted for itself."""
    by_id: dict[int, tuple[dict, dict | None, str]] = {}
    for event in events:
        fields = json.loads(_b64(event["leaf"]))
        content = json.loads(event["content"]) if event.get("content") is not None else None
        by_id[fields["id"]] = (fields, content, leaf_hash(_b64(event["leaf"])).hex())
    pending_ids = set(pending)
    try:
        rows = list(csv.DictReader(io.StringIO(contents["audit_trail.csv"].decode("utf-8"))))
    except KeyError:
        raise PackError("audit_trail.csv: missing") from None
    except (UnicodeDecodeError, csv.Error):
        raise PackError("audit_trail.csv: not a readable CSV") from None
    seen = set()
    for row in rows:
        try:
            event_id = int(row["Event"])
        except (KeyError, TypeError, ValueError):
            raise PackError("audit_trail.csv: a row has no event id") from None
        seen.add(event_id)
        if event_id not in by_id:
            if event_id in pending_ids:
                continue
            raise PackError(f"audit_trail.csv: event {event_id} is neither proven nor pending")
        fields, content, hashed = by_id[event_id]
        expected = {
            "At (UTC)": fields.get("at"),
            "Role": fields.get("role") or "",
            "Action": fields.get("action"),
            "Object": fields.get("object_kind") or "",
            "Object id": fields.get("object_id"),
            "Leaf hash": hashed,
        }
        if content is not None:
            expected |= {
                "Person": content.get("person_name") or "",
                "Address": content.get("address") or "",
                "User agent": content.get("user_agent") or "",
                "Reason": content.get("reason") or "",
                "Changes (before, after)": json.dumps(
                    content.get("changes", {}),
                    sort_keys=True,
                    separators=(",", ":"),
                    ensure_ascii=False,
                ),
            }
        for column, value in expected.items():
            if row.get(column) != _cell(value):
                raise PackError(
                    f"audit_trail.csv: event {event_id}'s {column!r} is not what its leaf proves"
                )
    missing = set(by_id) - seen
    if missing:
        raise PackError(f"audit_trail.csv: proven events {sorted(missing)} are not in the trail")
    refs = [ref for item in manifest.get("items", []) for ref in item.get("audit_events", [])]
    refs += [
        ref for entry in manifest.get("chronology", []) for ref in entry.get("audit_events", [])
    ]
    for ref in refs:
        event_id = ref.get("id")
        if event_id in by_id:
            if ref.get("leaf_hash") != by_id[event_id][2]:
                raise PackError(
                    f"manifest.json: event {event_id}'s leaf hash is not the proven one"
                )
        elif event_id not in pending_ids:
            raise PackError(
                f"manifest.json: event {event_id} is traced but neither proven nor pending"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check an evidence pack offline.")
    parser.add_argument("pack", help="the evidence pack (.zip)")
    parser.add_argument("--key", required=True, help="file holding the log's verifier key")
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        help="a checkpoint you already hold (e.g. from an earlier pack); may be repeated",
    )
    args = parser.parse_args(argv)
    try:
        with open(args.key, encoding="utf-8") as handle:
            key = VerifierKey.parse(handle.read())
        with open(args.pack, "rb") as handle:
            data = handle.read()
        held = []
        for path in args.checkpoint:
            with open(path, encoding="utf-8") as handle:
                held.append((path, handle.read()))
        proven = check_pack(data, key, held)
    except (OSError, NoteError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    except PackError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    for line in proven:
        print(f"ok: {line}")
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
