"""The audit log's signing key: an Ed25519 key in a file outside the database.

The file holds one line in the note signer-key format of golang.org/x/mod/sumdb/note (the
format C2SP signed-note's verifier keys come from):

    PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte Ed25519 seed)>

The name is the log's origin (the first line of every checkpoint). `flask tracker audit keygen`
writes one; development generates one into instance/ on first start; production refuses to
start without one (config.py). Whoever holds this file can sign checkpoints: keep it away from
the database's administrators (README, "The audit log").
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tracker.verify_pack import ED25519, SIGNATURE_PREFIX, NoteError, VerifierKey, key_id

PREFIX = "PRIVATE+KEY+"


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def verifier_key(self) -> VerifierKey:
        return VerifierKey(self.name, key_id(self.name, self.public_key), self.public_key)

    def sign_note(self, text: str) -> str:
        """A C2SP signed note: the text, a blank line, and this key's signature line."""
        if not text.endswith("\n"):
            raise NoteError("a note's text ends in a newline")
        signature = self.verifier_key.id + self.private_key.sign(text.encode())
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {base64.b64encode(signature).decode()}\n"

    def key_file_text(self) -> str:
        seed = self.private_key.private_bytes_raw()
        encoded = base64.b64encode(ED25519 + seed).decode()
        return f"{PREFIX}{self.name}+{self.verifier_key.id.hex()}+{encoded}\n"


def generate(name: str) -> Signer:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError("a key name is non-empty, with no spaces and no '+'")
    return Signer(name, Ed25519PrivateKey.generate())


def parse(text: str) -> Signer:
    if not text.startswith(PREFIX):
        raise NoteError(f"an audit signing key file starts with {PREFIX}")
    parts = text.strip().removeprefix(PREFIX).split("+", 2)
    if len(parts) != 3:
        raise NoteError("an audit signing key is PRIVATE+KEY+name+keyid+base64key")
    name, hex_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise NoteError("the audit signing key is not base64") from None
    if len(raw) != 33 or raw[:1] != ED25519:
        raise NoteError("the audit signing key is not an Ed25519 key")
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if signer.verifier_key.id.hex() != hex_id:
        raise NoteError("the audit signing key's id does not match its key")
    return signer


def load(path: str | Path) -> Signer:
    return parse(Path(path).read_text(encoding="utf-8"))


def write(signer: Signer, path: str | Path) -> None:
    """Create the key file, readable by its owner only; never overwrite one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(signer.key_file_text())
