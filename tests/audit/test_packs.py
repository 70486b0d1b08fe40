"""Evidence packs verify offline, with the checker shipped inside them; erasure keeps them valid."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import datetime

import pytest
from sqlalchemy import select

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tests.services.test_evidence import build_case_history
from tracker import verify_pack
from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import transparency
from tracker.verify_pack import PackError, VerifierKey, check_pack


def produce_pack(client, world) -> bytes:
    sign_in_as(client, world.auditor)
    response = client.get(f"/audit/cases/{world.case.id}/evidence.zip")
    assert response.status_code == 200
    return response.data


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {n.split("/", 1)[1]: archive.read(n) for n in archive.namelist()}


def run_shipped_checker(
    tmp_path, data: bytes, key: str, checker: bytes | None = None
) -> subprocess.CompletedProcess:
    """The pack's own verify_pack.py, run on its own: isolated Python, no tracker importable."""
    folder = tmp_path / "reviewer"
    folder.mkdir(exist_ok=True)
    (folder / "verify_pack.py").write_bytes(checker or members(data)["verify_pack.py"])
    (folder / "pack.zip").write_bytes(data)
    (folder / "key.txt").write_text(key + "\n")
    return subprocess.run(
        [sys.executable, "-I", "verify_pack.py", "pack.zip", "--key", "key.txt"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def sealed_case(app, client, world, frozen):
    build_case_history(world, frozen)
    frozen(datetime(2026, 6, 10, 12, 0))
    db.session.commit()
    transparency.seal()
    return world


def test_a_pack_verifies_offline_with_the_checker_it_carries(app, client, sealed_case, tmp_path):
    data = produce_pack(client, sealed_case)
    files = members(data)
    assert {"audit/checkpoint.txt", "audit/verifier-key.txt", "audit/proofs.json"} <= set(files)
    proofs = json.loads(files["audit/proofs.json"])
    trail = db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == sealed_case.case.id)
    ).all()
    proven = {e["id"] for e in proofs["events"]}
    # Every event of the case before the pack is proven; the pack's own production is pending
    # (recorded after the checkpoint, inside the merge delay).
    assert proven == {e.id for e in trail if e.action != "evidence.produce"}
    key = str(transparency.verifier_key())
    assert files["audit/verifier-key.txt"].decode().strip() == key
    result = run_shipped_checker(tmp_path, data, key)
    assert result.returncode == 0, result.stderr
    assert "PASSED" in result.stdout
    assert f"{len(proven)} audit events proven included in the checkpoint" in result.stdout
    # And through the module, as the brief names it.
    (tmp_path / "pack.zip").write_bytes(data)
    (tmp_path / "key.txt").write_text(key)
    module = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracker.verify_pack",
            str(tmp_path / "pack.zip"),
            "--key",
            str(tmp_path / "key.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert module.returncode == 0, module.stderr


def flip_positions(data: bytes) -> list[int]:
    """Every region of the zip: each local header, name, data start and end, the central
    directory and the end record, plus an even spread over the whole file."""
    positions = set(range(0, len(data), max(1, len(data) // 150)))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            start = info.header_offset
            data_start = start + 30 + len(info.filename.encode())
            positions |= {start, start + 4, start + 10, start + 14, start + 26, start + 30}
            positions |= {data_start, data_start + info.file_size - 1}
        directory = archive.start_dir
    positions |= set(range(directory, len(data), 7)) | {len(data) - 1, len(data) - 22}
    return sorted(p for p in positions if 0 <= p < len(data))


def test_flipping_any_byte_fails_and_names_the_item(app, client, sealed_case, tmp_path):
    data = produce_pack(client, sealed_case)
    key = VerifierKey.parse(str(transparency.verifier_key()))
    assert check_pack(data, key)
    names = list(members(data))
    for position in flip_positions(data):
        changed = bytearray(data)
        changed[position] ^= 0x01
        with pytest.raises(PackError) as failure:
            check_pack(bytes(changed), key)
        message = str(failure.value)
        assert any(name in message for name in names) or "zip" in message, (position, message)
    # The shipped checker says the same, with exit 1.
    changed = bytearray(data)
    offset = data.index(b"Added where the bruising was")
    changed[offset] ^= 0x20
    checker = members(data)["verify_pack.py"]
    result = run_shipped_checker(tmp_path, bytes(changed), str(key), checker)
    assert result.returncode == 1 and "shares.csv" in result.stderr


def test_a_forged_pack_fails_on_the_signature_or_a_proof(app, client, sealed_case):
    """Rebuilt as a well-formed zip with consistent digests, a forgery still fails."""
    data = produce_pack(client, sealed_case)
    key = VerifierKey.parse(str(transparency.verifier_key()))
    files = members(data)
    folder = f"evidence-{sealed_case.case.reference}/"

    def repack(changed: dict[str, bytes]) -> bytes:
        manifest = json.loads(changed["manifest.json"])
        for name, body in changed.items():
            if name != "manifest.json":
                import hashlib

                manifest["files"][name]["sha256"] = hashlib.sha256(body).hexdigest()
        changed["manifest.json"] = json.dumps(manifest).encode()
        return verify_pack.canonical_zip([(folder + n, b) for n, b in changed.items()])

    proofs = json.loads(files["audit/proofs.json"])
    proofs["events"][0]["content"] = proofs["events"][0]["content"].replace("null", '"x"', 1)
    with pytest.raises(PackError, match="does not match the leaf's commitment"):
        check_pack(repack({**files, "audit/proofs.json": json.dumps(proofs).encode()}), key)

    proofs = json.loads(files["audit/proofs.json"])
    proofs["events"][1]["leaf_index"] += 1
    with pytest.raises(PackError, match="inclusion proof does not lead"):
        check_pack(repack({**files, "audit/proofs.json": json.dumps(proofs).encode()}), key)

    note = files["audit/checkpoint.txt"].decode().replace("\n1", "\n9", 1)
    with pytest.raises(PackError, match="checkpoint.txt"):
        check_pack(repack({**files, "audit/checkpoint.txt": note.encode()}), key)

    other = VerifierKey.parse(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    )
    with pytest.raises(PackError, match="no signature by example.com/foo"):
        check_pack(data, other)


def erase(app, event_id: int, rule: str = "retention-7y", reason: str = "Retention ended"):
    db.session.commit()
    return app.test_cli_runner().invoke(
        args=[
            "tracker",
            "audit",
            "erase-content",
            str(event_id),
            "--rule",
            rule,
            "--reason",
            reason,
        ]
    )


def test_erasure_keeps_the_log_and_old_packs_valid(app, client, sealed_case, frozen, tmp_path):
    old_pack = produce_pack(client, sealed_case)
    key = str(transparency.verifier_key())
    target = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.case_id == sealed_case.case.id, AuditEvent.action == "share.amend")
        .limit(1)
    )
    target_id = target.id
    assert target.reason  # the reason for the amendment: personal content
    before = target.changes
    assert before != "{}"

    frozen(datetime(2033, 6, 10, 12, 0))
    result = erase(app, target_id)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    target = db.session.get(AuditEvent, target_id)
    assert target.content_row.content is None and target.content_row.salt is None
    assert target.erasure.erased_rule == "retention-7y"
    assert target.changes == "{}" and target.person_name is None
    erasure = db.session.get(AuditEvent, target.content_row.erasure_event_id)
    assert erasure.action == "audit.erase_content" and erasure.object_id == target_id
    assert erasure.reason == "Retention ended"

    # Erasing twice: refused, the first erasure stands.
    again = erase(app, target_id, rule="other")
    assert (
        again.exit_code != 0 and "already erased on 2033-06-10 under retention-7y" in again.output
    )

    transparency.seal()
    verified = app.test_cli_runner().invoke(args=["tracker", "audit", "verify"])
    assert verified.exit_code == 0, verified.output
    # The old pack, with the content as it was, still passes.
    assert run_shipped_checker(tmp_path, old_pack, key).returncode == 0
    # A new pack carries the erasure record instead of the content, and passes too.
    new_pack = produce_pack(client, sealed_case)
    entry = next(
        e
        for e in json.loads(members(new_pack)["audit/proofs.json"])["events"]
        if e["id"] == target_id
    )
    assert entry["content"] is None and entry["erased"]["rule"] == "retention-7y"
    assert run_shipped_checker(tmp_path, new_pack, key).returncode == 0
    trail_csv = members(new_pack)["audit_trail.csv"].decode()
    assert "erased on 2033-06-10 under retention-7y" in trail_csv

    # The pages show the erasure where the content was.
    sign_in_as(client, sealed_case.auditor)
    page = page_text(client.get(f"/audit/cases/{sealed_case.case.id}?page=1"))
    pages = [page]
    for number in range(2, 6):
        pages.append(page_text(client.get(f"/audit/cases/{sealed_case.case.id}?page={number}")))
    assert any("erased on 10 Jun 2033 under retention-7y" in p for p in pages)


def test_erase_content_refuses_bad_input(app, sealed_case):
    assert erase(app, 999_999).exit_code != 0
    result = erase(app, 1, rule=" ")
    assert result.exit_code != 0 and "--rule" in result.output


def test_auditors_see_and_download_the_checkpoint_and_verifier_key(app, client, sealed_case):
    latest = transparency.latest_checkpoint()
    key = str(transparency.verifier_key())
    sign_in_as(client, sealed_case.auditor)
    page = client.get("/audit/checkpoint")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert latest.root_hash in text and key in text
    assert f"{latest.tree_size} events" in page_text(page)
    note = client.get("/audit/checkpoint.txt")
    assert note.status_code == 200 and note.mimetype == "text/plain"
    assert note.get_data(as_text=True) == latest.note
    assert "attachment" in note.headers["Content-Disposition"]
    vkey = client.get("/audit/verifier-key.txt")
    assert vkey.get_data(as_text=True).strip() == key
    # The downloaded pair checks, as an auditor would check it.
    from tracker.verify_pack import open_checkpoint

    assert open_checkpoint(latest.note, VerifierKey.parse(key)).size == latest.tree_size
    viewed = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("audit.%checkpoint%"))
    ).all()
    assert "audit.checkpoint_view" in viewed and "audit.checkpoint_download" in viewed
