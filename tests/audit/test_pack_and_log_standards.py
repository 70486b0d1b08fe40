"""The audit log as an outside auditor checks it (RFC 6962, C2SP), and the evidence pack's
offline checker against edited, truncated and forked packs.

Written from the specs, not from the product's hashing code: the RFC 6962 functions below are
MTH, PATH and PROOF of section 2.1 as the RFC states them; the C2SP checks parse the notes byte
for byte and verify Ed25519 signatures with a plain verifier.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select, text

from tests.audit.test_packs import members, produce_pack
from tests.audit.test_transparency import (
    drop_triggers,
    event_count,
    sealed_history,
    verify_cli,
)
from tests.services.test_evidence import build_case_history
from tracker import clock, verify_pack
from tracker.extensions import db
from tracker.models import Alert, AuditCheckpoint, AuditEvent
from tracker.services import audit, cases, transparency
from tracker.services.merkle import MemoryTree

# --- RFC 6962 section 2.1, written from the text ------------------------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + leaves[0])
    k = _k(n)
    return _h(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def proof(m: int, leaves: list[bytes]) -> list[bytes]:
    if m == 0 or m == len(leaves):
        return []
    return subproof(m, leaves, True)


SIZES = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33]


def test_rfc6962_known_answers_hold_for_my_own_reference():
    """Sanity of the independent reference: CT test vectors (empty tree, one empty leaf, 8 leaves)."""
    assert mth([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert mth([b""]).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    ct = [
        bytes.fromhex(h)
        for h in (
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        )
    ]
    assert mth(ct).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert mth(ct[:3]).hex() == "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"


@pytest.mark.parametrize("size", SIZES)
def test_product_trees_and_proofs_match_an_independent_rfc6962(size):
    leaves = [f"leaf {i}".encode() for i in range(size)]
    tree = MemoryTree(leaves)
    assert tree.root() == mth(leaves)
    for m in range(size):
        assert tree.inclusion_proof(m) == path(m, leaves)
        assert verify_pack.verify_inclusion(
            m, size, _h(b"\x00" + leaves[m]), path(m, leaves), mth(leaves)
        )
    for m in range(0, size + 1):
        assert tree.consistency_proof(m) == proof(m, leaves), m
        if m:
            assert verify_pack.verify_consistency(
                m, size, mth(leaves[:m]), mth(leaves), proof(m, leaves)
            )


# --- C2SP signed-note / tlog-checkpoint, byte for byte ----------------------------------------

NOTE = re.compile(
    r"\A(?P<origin>[^\n]+)\n(?P<size>0|[1-9][0-9]*)\n(?P<root>[A-Za-z0-9+/]{43}=)\n\n"
    r"(?P<sigs>(\u2014 [^ \n]+ [A-Za-z0-9+/]+={0,2}\n)+)\Z"
)


def check_note_independently(note: str, verifier_key: str) -> tuple[str, int, bytes]:
    name, key_hex, key_b64 = verifier_key.strip().split("+", 2)
    raw = base64.b64decode(key_b64)
    assert raw[0] == 0x01 and len(raw) == 33
    key_id = hashlib.sha256(name.encode() + b"\x0a" + b"\x01" + raw[1:]).digest()[:4]
    assert key_id.hex() == key_hex
    match = NOTE.match(note)
    assert match, repr(note)
    assert match["origin"] == name
    body = note[: note.index("\n\n") + 1].encode()
    ok = False
    for line in match["sigs"].splitlines():
        signer, sig_b64 = line[2:].split(" ")
        sig = base64.b64decode(sig_b64)
        if signer == name and sig[:4] == key_id:
            assert len(sig) == 4 + 64
            try:
                Ed25519PublicKey.from_public_bytes(raw[1:]).verify(sig[4:], body)
                ok = True
            except InvalidSignature:
                pass
    assert ok
    return match["origin"], int(match["size"]), base64.b64decode(match["root"])


def _leaves_of_db() -> list[bytes]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.leaf_index.is_not(None)).order_by(AuditEvent.leaf_index)
    ).all()
    out = []
    for e in events:
        # The leaf bytes as the module docstring of tracker/services/audit.py publishes them.
        fields = {
            "id": e.id,
            "at": e.at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "person_id": e.person_id,
            "agency_id": e.agency_id,
            "role": e.role,
            "action": e.action,
            "object_kind": e.object_kind,
            "object_id": e.object_id,
            "case_id": e.case_id,
            "content_commitment": e.content_commitment,
        }
        out.append(
            json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        )
    return out


def test_real_checkpoints_and_proofs_pass_an_independent_verifier(app, world):
    """Sound: seal at sizes 1, 2, 3, 7, 8, 9, 16, 17 and check every checkpoint from outside."""
    for target in (1, 2, 3, 7, 8, 9, 16, 17):
        while event_count() < target:
            cases.record_view(world.case)
            db.session.commit()
        # only seal exactly `target` (seal in batches of that size from an empty start)
    transparency.seal(batch=1)
    key = str(transparency.verifier_key())
    leaves = _leaves_of_db()
    checkpoints = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size))
    seen = []
    for row in checkpoints:
        origin, size, root = check_note_independently(row.note, key)
        assert root == mth(leaves[:size]), size
        seen.append(size)
        tree = transparency.stored_tree(size)
        for m in {0, size // 2, size - 1}:
            assert tree.inclusion_proof(m) == path(m, leaves[:size])
        for old in range(1, size + 1):
            assert tree.consistency_proof(old) == proof(old, leaves[:size])
    assert {1, 2, 3, 7, 8, 9, 16, 17} <= set(seen)
    # The log file outside the database holds the same notes, each followed by one blank line.
    log = Path(app.config["AUDIT_CHECKPOINT_LOG"]).read_text(encoding="utf-8")
    for note in transparency.read_notes(log):
        check_note_independently(note, key)


# --- Defect: the pack checker accepts an edited audit trail ------------------------------------


@pytest.fixture
def sealed_case(app, client, world, frozen):
    build_case_history(world, frozen)
    frozen(datetime(2026, 6, 10, 12, 0))
    db.session.commit()
    transparency.seal(batch=1)  # a checkpoint at every size, as a busy log has
    return world


def _repack(files: dict[str, bytes], folder: str) -> bytes:
    """What anyone handling the zip can do: edit a file, re-hash it into manifest.json, re-zip."""
    manifest = json.loads(files["manifest.json"])
    for name, body in files.items():
        if name != "manifest.json":
            manifest["files"][name]["sha256"] = hashlib.sha256(body).hexdigest()
            manifest["files"][name]["bytes"] = len(body)
    files = {**files, "manifest.json": json.dumps(manifest, indent=2).encode()}
    return verify_pack.canonical_zip([(folder + n, b) for n, b in files.items()])


def test_pack_checker_refuses_an_audit_trail_csv_that_differs_from_the_proven_leaves(
    app, client, sealed_case
):
    """The manifest is unsigned, so hashing audit_trail.csv into it proves nothing: an edited
    trail with a re-hashed manifest must fail against the leaves and content proofs.json proves."""
    data = produce_pack(client, sealed_case)
    key = verify_pack.VerifierKey.parse(str(transparency.verifier_key()))
    assert verify_pack.check_pack(data, key)
    files = members(data)
    folder = f"evidence-{sealed_case.case.reference}/"
    rows = list(csv.reader(io.StringIO(files["audit_trail.csv"].decode())))
    header, body = rows[0], rows[1:]
    action, person, reason = (header.index(c) for c in ("Action", "Person", "Reason"))
    proven = {e["id"] for e in json.loads(files["audit/proofs.json"])["events"]}
    target = next(r for r in body if int(r[0]) in proven and r[action] == "share.amend")
    target[action] = "case.view"  # the amendment now reads as a mere look at the case
    target[person] = "Somebody Else"
    target[reason] = "nothing to see"
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    forged = _repack({**files, "audit_trail.csv": out.getvalue().encode()}, folder)
    with pytest.raises(verify_pack.PackError, match="audit_trail.csv"):
        verify_pack.check_pack(forged, key)


def test_pack_checker_refuses_a_pack_whose_trail_lost_a_proven_event(app, client, sealed_case):
    """An event deleted from both audit_trail.csv and proofs.json (and the manifest's items)
    must fail: the trail is tied to what is proven."""
    data = produce_pack(client, sealed_case)
    key = verify_pack.VerifierKey.parse(str(transparency.verifier_key()))
    files = members(data)
    folder = f"evidence-{sealed_case.case.reference}/"
    proofs = json.loads(files["audit/proofs.json"])
    rows = list(csv.reader(io.StringIO(files["audit_trail.csv"].decode())))
    victim = next(
        e
        for e in proofs["events"]
        if json.loads(base64.b64decode(e["leaf"]))["action"] == "share.amend"
    )
    proofs["events"] = [e for e in proofs["events"] if e["id"] != victim["id"]]
    out = io.StringIO()
    csv.writer(out).writerows([r for r in rows if r[0] != str(victim["id"])])
    # The manifest names the production event's leaf: keep the count consistent too.
    manifest = json.loads(files["manifest.json"])
    manifest["audit_trail"]["events"] -= 1
    forged = _repack(
        {
            **files,
            "manifest.json": json.dumps(manifest).encode(),
            "audit_trail.csv": out.getvalue().encode(),
            "audit/proofs.json": json.dumps(proofs).encode(),
        },
        folder,
    )
    # A checker can at least see that the manifest's items trace to an event it has no proof of.
    with pytest.raises(verify_pack.PackError, match="manifest.json: event"):
        verify_pack.check_pack(forged, key)


# --- Defect: a held checkpoint that verify cannot read is silently skipped ---------------------


@pytest.mark.parametrize(
    "held_as",
    [
        pytest.param(lambda note: note.split("\n\n")[0] + "\n", id="text-only"),  # body, no sig
        pytest.param(lambda note: "", id="empty"),
    ],
)
def test_verify_fails_when_a_held_checkpoint_file_holds_no_readable_checkpoint(
    app, world, tmp_path, held_as
):
    """`audit verify --checkpoint FILE` reads FILE with read_notes(), which returns []
    for a checkpoint missing its signature block (copied without it) or an empty file (a failed
    download); verify then checks nothing against it and still says `ok ... checkpoints checked`
    (exit 0). An auditor's one independent check silently does nothing, and is reported as done.
    (A CRLF file is fine: read_text's universal newlines.)"""
    sealed_history(app, world, 3)
    held = tmp_path / "held.txt"
    held.write_bytes(held_as(transparency.latest_checkpoint().note).encode())
    result = verify_cli(app, "--checkpoint", str(held))
    assert result.exit_code == 1, result.output


# --- Defect: the sealer signs a fork after the database goes back in time -------------------


def _signed_views(app) -> dict[int, bytes]:
    """Size -> root of every checkpoint in the checkpoint log, each checked from outside."""
    key = str(transparency.verifier_key())
    log = Path(app.config["AUDIT_CHECKPOINT_LOG"]).read_text(encoding="utf-8")
    roots: dict[int, set[bytes]] = {}
    for note in transparency.read_notes(log):
        _, size, root = check_note_independently(note, key)
        roots.setdefault(size, set()).add(root)
    return roots


def _restore_to_earlier(app, keep: int) -> None:
    """The database goes back to an earlier state: leaves from `keep` on, their nodes and the
    checkpoints over `keep` are gone (a restore from an earlier backup, or a truncation)."""
    drop_triggers()
    db.session.execute(
        text(
            "DELETE FROM audit_content WHERE event_id IN "
            "(SELECT id FROM audit_event WHERE leaf_index >= :k)"
        ),
        {"k": keep},
    )
    db.session.execute(text("DELETE FROM audit_event WHERE leaf_index >= :k"), {"k": keep})
    db.session.execute(text("DELETE FROM audit_node"))  # rebuilt below for the kept leaves
    db.session.execute(text("DELETE FROM audit_checkpoint WHERE tree_size > :k"), {"k": keep})
    db.session.commit()
    from tracker.services.merkle import Frontier

    leaves = [
        bytes.fromhex(h)
        for h in db.session.scalars(
            select(AuditEvent.leaf_hash)
            .where(AuditEvent.leaf_index.is_not(None))
            .order_by(AuditEvent.leaf_index)
        )
    ]
    frontier = Frontier()
    for leaf in leaves:
        for level, index, value in frontier.append(leaf):
            db.session.execute(
                text('INSERT INTO audit_node (level, "index", hash) VALUES (:l, :i, :h)'),
                {"l": level, "i": index, "h": value},
            )
    db.session.commit()


def test_the_sealer_never_signs_a_checkpoint_inconsistent_with_one_it_signed(app, world):
    """After the newest sealed events vanish from the database (a restore from an earlier
    backup, or someone with the database truncating the log and its checkpoints), carrying on
    from the database's latest checkpoint would sign sizes already signed with other roots: a
    fork signed with the log's own key. The checkpoint log outside the database tells the
    sealer so, and it refuses."""
    sealed_history(app, world, 6)
    _restore_to_earlier(app, transparency.latest_checkpoint().tree_size - 3)
    for _ in range(5):  # life goes on: new views, sealed by the scheduler
        cases.record_view(world.case)
        db.session.commit()
    with pytest.raises(transparency.ForkRefused):
        transparency.seal(batch=1)
    forks = {size: roots for size, roots in _signed_views(app).items() if len(roots) > 1}
    assert forks == {}, f"two different roots signed for sizes {sorted(forks)}"
    # Sealing stops, and not only in the scheduler's log: administrators and auditors are told
    # in the tracker, once a day however often the sealer tries.
    with pytest.raises(transparency.ForkRefused):
        transparency.seal(batch=1)
    told = db.session.scalars(
        select(Alert.recipient_id).where(Alert.kind == "audit_log_stopped")
    ).all()
    assert sorted(told) == sorted([world.admin.id, world.auditor.id])


# --- Views of case data that write no audit event --------------------------------------------


@pytest.mark.parametrize("role", ["worker_a", "lead_a", "auditor"])
def test_every_get_that_shows_case_data_writes_an_event_for_its_reader(
    app, client, world, password_hash, frozen, role
):
    """Scan every GET route (the access matrix's objects): a 200 that shows the child's name, a
    share's summary, a note's text or a challenge's text must write an event by the reader."""
    from tests.conftest import sign_in_as
    from tests.test_access_matrix import ARGS_BY_ENDPOINT, url_args

    frozen(datetime(2026, 11, 3, 10, 0))
    objects = url_args(world, password_hash)
    reader = getattr(world, role)
    markers = [
        world.case.child_name,
        "Police attended the address overnight",
        "Child said she likes football.",
        "Social care closed the referral.",
    ]
    silent = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in ("static",):
            continue
        if rule.endpoint.startswith(("auth.", "identity.")):
            continue
        args = {**objects, **ARGS_BY_ENDPOINT.get(rule.endpoint, {})}
        url = rule.build({n: args[n] for n in rule.arguments}, append_unknown=False)[1]
        sign_in_as(client, reader)
        start = db.session.scalar(select(func.max(AuditEvent.id)))
        response = client.get(url)
        if response.status_code != 200:
            continue
        body = response.get_data()
        if response.mimetype == "application/zip":
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                body = b"".join(archive.read(n) for n in archive.namelist())
        shown = [m for m in markers if m.encode() in body]
        if not shown:
            continue
        db.session.expire_all()
        mine = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.id > start, AuditEvent.person_id == reader.id
            )
        ).all()
        if not mine:
            silent.append(f"{url} ({rule.endpoint}) shows {shown}")
    assert silent == []


def test_every_api_read_of_case_data_writes_an_event(app, client, world, password_hash, frozen):
    from datetime import date

    from tests.test_access_matrix import url_args
    from tracker.services import api_tokens

    frozen(datetime(2026, 11, 3, 10, 0))
    objects = url_args(world, password_hash)
    _, secret = api_tokens.create(world.worker_a, "review", date(2027, 1, 31))
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    silent = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or not rule.rule.startswith("/api/v1/"):
            continue
        url = rule.build({n: objects[n] for n in rule.arguments}, append_unknown=False)[1]
        start = db.session.scalar(select(func.max(AuditEvent.id)))
        response = client.get(url, headers=headers)
        if response.status_code != 200 or rule.endpoint == "api.openapi_document":
            continue
        body = response.get_json()
        if (
            isinstance(body, dict)
            and any(v == [] for v in body.values())
            and len([v for v in body.values() if isinstance(v, list)]) == 1
        ):
            continue  # an empty list shows nothing
        db.session.expire_all()
        if not db.session.scalars(
            select(AuditEvent.id).where(
                AuditEvent.id > start, AuditEvent.person_id == world.worker_a.id
            )
        ).all():
            silent.append(url)
    assert silent == []


# --- Erasure: what an erased row says is not all held to its erasure event --------------------


def test_an_erasures_recorded_date_reason_and_eraser_cannot_be_rewritten_unnoticed(app, world):
    """Verify holds an erased row's rule to its erasure event, but not who erased it,
    when or why (erased_by, erased_at, erased_reason), which pages and packs show ("erased on
    DATE under RULE"). Someone with the database rewrites them and verify still says ok."""
    ids = sealed_history(app, world, 3)
    audit.erase_content(ids[0], rule="retention-7y", reason="Retention ended", actor_label="cli")
    transparency.seal()
    assert verify_cli(app).exit_code == 0
    drop_triggers()
    db.session.execute(
        text(
            "UPDATE audit_content SET erased_at = '2020-01-01 00:00:00', erased_by = 'Jane Auditor',"
            " erased_reason = 'Requested by the family' WHERE event_id = :id"
        ),
        {"id": ids[0]},
    )
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1, result.output


def test_an_erased_case_erasure_cannot_account_for_erasing_any_other_event_of_the_case(app, world):
    """Once a case-wide erasure event's own content is erased (erase-content on it, as the
    CLI allows), unaccounted_erasure() can no longer read its list of events and accepts it as the
    erasure of ANY event of the case. Content erased later by hand, pointing at it, verifies."""
    sealed_history(app, world, 3)
    erased = audit.erase_case_content(
        world.case.id, rule="la-child-protection", reason="Disposed", actor=world.auditor
    )
    db.session.commit()
    disposal = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == audit.ERASURE_ACTION)
        .order_by(AuditEvent.id.desc())
    )
    audit.erase_content(
        disposal.id, rule="r2", reason="the disposal's own record", actor_label="cli"
    )
    # After the disposal the case is viewed again (not in the disposal's list).
    later = audit.record(
        "case.view",
        object_kind="case",
        object_id=world.case.id,
        case_id=world.case.id,
        reason="a later look",
        actor=world.worker_a,
    )
    db.session.commit()
    transparency.seal()
    assert later.id not in erased
    assert verify_cli(app).exit_code == 0
    drop_triggers()
    db.session.execute(
        text(
            "UPDATE audit_content SET content = NULL, salt = NULL, erased_at = :at,"
            " erased_by = :by, erased_rule = 'la-child-protection', erased_reason = 'Disposed',"
            " erasure_event_id = :e WHERE event_id = :id"
        ),
        {"id": later.id, "e": disposal.id, "by": world.auditor.name, "at": clock.now()},
    )
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1, result.output
    assert "is older than the event" in result.stderr, result.stderr


def test_the_pack_checker_catches_a_fork_against_a_checkpoint_the_auditor_holds(
    app, client, sealed_case, tmp_path
):
    """An auditor keeps the checkpoint of an earlier pack (README: "auditors also keep
    the checkpoints they download"). The log is rolled back and re-grown to the same size, and
    a new pack is produced: verify_pack.py has no way to hold the new pack's checkpoint against
    the one the auditor holds (same size, other root: a fork; smaller size: a rollback), so the
    forked pack PASSES offline. Expected: `--checkpoint OLD` makes it fail."""

    first = produce_pack(client, sealed_case)
    held = members(first)["audit/checkpoint.txt"]
    key = str(transparency.verifier_key())
    _, held_size, _ = check_note_independently(held.decode(), key)
    _restore_to_earlier(app, held_size - 2)
    # The whole host went back to a backup: the sealer's checkpoint log too.
    app.config["AUDIT_CHECKPOINT_LOG"] = str(tmp_path / "fresh.log")
    while (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.leaf_index.is_not(None))
        )
        or 0
    ) < held_size:
        cases.record_view(sealed_case.case)
        db.session.commit()
        transparency.seal(batch=1)
    forked = produce_pack(client, sealed_case)
    _, size, root = check_note_independently(members(forked)["audit/checkpoint.txt"].decode(), key)
    assert size >= held_size
    (tmp_path / "reviewer").mkdir()
    (tmp_path / "reviewer" / "held.txt").write_bytes(held)
    folder = tmp_path / "reviewer"
    (folder / "verify_pack.py").write_bytes(members(forked)["verify_pack.py"])
    (folder / "pack.zip").write_bytes(forked)
    (folder / "key.txt").write_text(key + "\n")
    import subprocess
    import sys

    alone = subprocess.run(
        [sys.executable, "-I", "verify_pack.py", "pack.zip", "--key", "key.txt"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert alone.returncode == 0 and "PASSED" in alone.stdout  # the forked pack passes alone
    # Both signed by the log's key; the log at held_size in the forked pack's tree differs:
    forked_leaves = _leaves_of_db()
    assert mth(forked_leaves[:held_size]) != base64.b64decode(held.decode().split("\n")[2])
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "verify_pack.py",
            "pack.zip",
            "--key",
            "key.txt",
            "--checkpoint",
            "held.txt",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "held.txt" in result.stderr, result.stderr


def test_verify_still_passes_after_the_key_rotation_the_readme_prescribes(app, world, tmp_path):
    """README "If the key may have leaked, make a new one (`flask tracker audit keygen
    --out NEW`), point the setting at it, publish the new verifier key, and keep the old
    checkpoints." verify then holds every stored and logged checkpoint to the NEW key only, so
    every old checkpoint is 'no signature by ...' and verify exits 1 for ever after: an
    untouched log can no longer be verified (and a real tampering can't be told from it)."""
    from tracker.services import signing

    sealed_history(app, world, 3)
    assert verify_cli(app).exit_code == 0
    old_verifier = str(transparency.verifier_key())
    new_key = tmp_path / "new.key"
    signing.write(signing.generate(app.config["AUDIT_ORIGIN"]), new_key)
    app.config["AUDIT_SIGNING_KEY_FILE"] = str(new_key)
    # The old verifier key stays trusted for the checkpoints it signed (a setting held outside
    # the database, like the key file; the name is the reviewer's suggestion).
    app.config["AUDIT_PREVIOUS_VERIFIER_KEYS"] = [old_verifier]
    sealed_history(app, world, 2)
    result = verify_cli(app)
    assert result.exit_code == 0, result.output


def test_an_honest_pack_passes_against_the_checkpoint_of_an_earlier_pack(
    app, client, sealed_case, tmp_path
):
    """The fix above must not fail honest packs: a later pack extends an earlier one's log."""
    first = produce_pack(client, sealed_case)
    held = members(first)["audit/checkpoint.txt"].decode()
    for _ in range(5):
        cases.record_view(sealed_case.case)
        db.session.commit()
    transparency.seal()
    later = produce_pack(client, sealed_case)
    key = verify_pack.VerifierKey.parse(str(transparency.verifier_key()))
    try:
        proven = verify_pack.check_pack(later, key, [("held.txt", held)])
    except TypeError:
        pytest.fail("check_pack takes no held checkpoint")
    assert any("held.txt" in line for line in proven)


def test_a_checkpoint_log_copied_with_windows_line_endings_reads_the_same(app, world):
    """A checkpoint file saved on Windows (CR LF) holds the same notes: read as nothing, the
    sealer's fork check and `audit verify` would silently check no log at all."""
    sealed_history(app, world, 3)
    text = Path(app.config["AUDIT_CHECKPOINT_LOG"]).read_text(encoding="utf-8")
    notes = transparency.read_notes(text)
    assert notes and transparency.read_notes(text.replace("\n", "\r\n")) == notes
