"""The audit log as a transparency log: sealing, the merge delay, concurrency, and attackers.

Every test runs on SQLite and, with TRACKER_TEST_DATABASE_URL set, on PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tracker import clock
from tracker.extensions import db
from tracker.models import AuditCheckpoint, AuditEvent, AuditNode
from tracker.scheduler import add_seal_job
from tracker.services import audit, cases, signing, transparency
from tracker.services.merkle import MemoryTree
from tracker.verify_pack import Checkpoint, open_checkpoint, verify_inclusion


def verify_cli(app, *args: str):
    db.session.commit()  # the command runs in its own app context and session
    return app.test_cli_runner().invoke(args=["tracker", "audit", "verify", *args])


def seal_cli(app):
    db.session.commit()
    return app.test_cli_runner().invoke(args=["tracker", "audit", "seal"])


def event_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def leaves_in_order() -> list[bytes]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.leaf_index.is_not(None)).order_by(AuditEvent.leaf_index)
    ).all()
    return [audit.leaf_bytes(e) for e in events]


def test_seal_numbers_every_event_and_signs_a_checkpoint(app, world):
    for _ in range(5):
        cases.record_view(world.case)
    total = event_count()
    result = seal_cli(app)
    assert result.exit_code == 0, result.output
    assert f'"sealed": {total}' in result.output and f'"tree_size": {total}' in result.output
    db.session.expire_all()
    indices = db.session.scalars(select(AuditEvent.leaf_index).order_by(AuditEvent.id)).all()
    assert indices == list(range(total))  # one process, so commit order is id order
    checkpoint = transparency.latest_checkpoint()
    parsed = open_checkpoint(checkpoint.note, transparency.verifier_key())
    assert parsed == Checkpoint(
        app.config["AUDIT_ORIGIN"], total, MemoryTree(leaves_in_order()).root()
    )
    # The same note went to the log file outside the database.
    log = Path(app.config["AUDIT_CHECKPOINT_LOG"]).read_text(encoding="utf-8")
    assert transparency.read_notes(log) == [checkpoint.note]
    # Nothing new: no new checkpoint.
    assert '"sealed": 0' in seal_cli(app).output
    assert db.session.scalar(select(func.count(AuditCheckpoint.id))) == 1
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok {total} events ({total} sealed")


def test_proofs_from_stored_nodes_match_a_rebuilt_tree(app, world):
    """Sealed in uneven batches, the stored nodes give the same proofs as a tree built at once."""
    sizes = []
    for batch in (1, 2, 3, 5, 8):
        for _ in range(batch):
            cases.record_view(world.case)
        db.session.commit()
        transparency.seal(batch=3)
        sizes.append(transparency.latest_checkpoint().tree_size)
    leaves = leaves_in_order()
    memory = MemoryTree(leaves)
    final = transparency.latest_checkpoint()
    assert final.tree_size == len(leaves)
    stored = transparency.stored_tree(final.tree_size)
    assert stored.root().hex() == final.root_hash
    for index in range(len(leaves)):
        proof = stored.inclusion_proof(index)
        assert proof == memory.inclusion_proof(index)
        assert verify_inclusion(index, len(leaves), memory.leaves[index], proof, memory.root())
    for old in sizes:
        assert stored.consistency_proof(old) == memory.consistency_proof(old)
    # Only perfect subtrees are stored: at most one per completed pair of nodes.
    assert db.session.scalar(select(func.count()).select_from(AuditNode)) == len(leaves) - bin(
        len(leaves)
    ).count("1")


def test_the_merge_delay_one_run_seals_everything_committed_before_it(app, world):
    """MMD (README): an event committed before a run starts is sealed by that run, so no event
    waits longer than one interval plus one run; the scheduler runs the sealer every
    AUDIT_SEAL_SECONDS, coalescing missed runs and never running two at once."""
    for _ in range(7):
        cases.record_view(world.case)
    db.session.commit()
    transparency.seal(batch=2)  # more events than one batch: the run keeps going
    assert db.session.scalar(select(func.count()).where(AuditEvent.leaf_index.is_(None))) == 0

    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    add_seal_job(scheduler, app)
    job = scheduler.get_job("audit_seal")
    assert job.trigger.interval.total_seconds() == app.config["AUDIT_SEAL_SECONDS"] == 5
    assert job.coalesce and job.max_instances == 1


def test_the_scheduler_seals_without_being_asked(app, world, tmp_path):
    """The real scheduler job, running on its own thread, seals a new event (no timing bound:
    the bound is the test above; this shows the job is wired to the sealer)."""
    import time

    from apscheduler.schedulers.background import BackgroundScheduler

    cases.record_view(world.case)
    db.session.commit()
    app.config["AUDIT_SEAL_SECONDS"] = 1
    scheduler = BackgroundScheduler(timezone="UTC")
    add_seal_job(scheduler, app)
    scheduler.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            unsealed = db.session.scalar(
                select(func.count()).where(AuditEvent.leaf_index.is_(None))
            )
            db.session.rollback()  # SQLite: never hold the write lock while waiting
            if not unsealed:
                break
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(AuditEvent.leaf_index.is_(None))) == 0


def test_an_id_that_commits_late_is_sealed_later_and_order_never_changes(app, world):
    """PostgreSQL hands out ids before commit: a transaction holding a lower id may commit
    after a higher one was sealed. The sealer does not wait for it and never reorders."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers hold the write lock from BEGIN: ids commit in order")
    db.session.commit()
    started, release = threading.Event(), threading.Event()
    late_id: list[int] = []

    def late_writer():
        with app.app_context():
            event_row = audit.record("test.late", actor_label="late")
            db.session.flush()
            late_id.append(event_row.id)
            started.set()
            release.wait(30)
            db.session.commit()
            db.session.remove()

    thread = threading.Thread(target=late_writer)
    thread.start()
    assert started.wait(30)
    early = audit.record("test.early", actor_label="early")
    db.session.commit()
    assert early.id > late_id[0]
    transparency.seal()
    first = {e.id: e.leaf_index for e in db.session.scalars(select(AuditEvent))}
    assert first[early.id] is not None and late_id[0] not in first  # not committed yet
    release.set()
    thread.join(30)
    db.session.expire_all()
    transparency.seal()
    db.session.expire_all()
    after = {e.id: e.leaf_index for e in db.session.scalars(select(AuditEvent))}
    assert after[late_id[0]] > after[early.id]  # after the leaves already sealed
    assert all(after[k] == v for k, v in first.items() if v is not None)
    assert verify_cli(app).exit_code == 0


def test_a_rolled_back_event_is_never_a_leaf(app, world):
    audit.record("test.rolled_back", actor_label="x")
    db.session.flush()
    db.session.rollback()
    cases.record_view(world.case)
    transparency.seal()
    assert (
        db.session.scalar(select(func.count()).where(AuditEvent.action == "test.rolled_back")) == 0
    )
    sizes = db.session.scalar(select(func.max(AuditEvent.leaf_index)))
    assert sizes + 1 == event_count() == transparency.latest_checkpoint().tree_size
    assert verify_cli(app).exit_code == 0


WRITERS = 50
EVENTS_EACH = 3


def test_fifty_concurrent_writers_and_twin_sealers_leave_one_consistent_tree(app, world):
    before = event_count()
    db.session.commit()  # SQLite: this session must not hold the write lock while writers run
    start = threading.Barrier(WRITERS + 2)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        # Each writer is a request of its own: own app context, own session, own connection.
        with app.app_context():
            try:
                start.wait()
                for event in range(EVENTS_EACH):
                    audit.record(
                        "test.concurrent",
                        object_kind="writer",
                        object_id=number,
                        changes={"event": [None, event]},
                        actor_label=f"writer {number}",
                    )
                    db.session.commit()
            except BaseException as error:  # noqa: BLE001 (reported below, with the writer)
                errors.append(error)
            finally:
                db.session.remove()

    def sealer() -> None:
        with app.app_context():
            try:
                start.wait()
                while not done.is_set():
                    transparency.seal(batch=7)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)
            finally:
                db.session.remove()

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]  # a twin must be harmless
    for thread in writers + sealers:
        thread.start()
    for thread in writers:
        thread.join(timeout=300)
    done.set()
    for thread in sealers:
        thread.join(timeout=300)
    assert not errors, errors[:3]

    transparency.seal()
    db.session.expire_all()
    total = before + WRITERS * EVENTS_EACH
    indices = db.session.scalars(
        select(AuditEvent.leaf_index).order_by(AuditEvent.leaf_index)
    ).all()
    assert indices == list(range(total))  # every event exactly one leaf, no gaps, no twins
    per_writer = dict(
        db.session.execute(
            select(AuditEvent.object_id, func.count())
            .where(AuditEvent.action == "test.concurrent")
            .group_by(AuditEvent.object_id)
        ).all()
    )
    assert per_writer == {n: EVENTS_EACH for n in range(WRITERS)}
    # Every checkpoint is a prefix of the one tree of these leaves.
    memory = MemoryTree(leaves_in_order())
    checkpoints = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size))
    for checkpoint in checkpoints:
        assert memory.at_size(checkpoint.tree_size).root().hex() == checkpoint.root_hash
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok {total} events ({total} sealed")


# --- Attackers with the database ---------------------------------------------------------


def drop_triggers() -> None:
    """What an attacker with the database file or a superuser login can do."""
    if db.engine.dialect.name == "postgresql":
        for table in ("audit_event", "audit_content", "audit_node", "audit_checkpoint"):
            db.session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        names = db.session.scalars(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit_%'"
            )
        ).all()
        for name in names:
            db.session.execute(text(f'DROP TRIGGER "{name}"'))


def sealed_history(app, world, count: int = 6) -> list[int]:
    """Events sealed one run at a time, as a busy log would be: a checkpoint per run."""
    ids = []
    for _ in range(count):
        cases.record_view(world.case)
        db.session.commit()
        transparency.seal()
        ids.append(db.session.scalar(select(func.max(AuditEvent.id))))
    return ids


def rewrite(app, tmp_path, *, leaf: int, checkpoints: str) -> int:
    """Edit one event, recompute every later leaf and node, and delete or re-sign checkpoints."""
    target = db.session.scalar(select(AuditEvent).where(AuditEvent.leaf_index == leaf))
    drop_triggers()
    target_id = target.id
    db.session.execute(
        text("UPDATE audit_event SET action = 'case.list' WHERE id = :id"), {"id": target_id}
    )
    db.session.commit()
    db.session.expire_all()
    target = db.session.get(AuditEvent, target_id)
    db.session.execute(
        text("UPDATE audit_event SET leaf_hash = :h WHERE id = :id"),
        {"h": audit.event_leaf_hash(target), "id": target_id},
    )
    db.session.execute(text("DELETE FROM audit_node"))
    db.session.execute(text("DELETE FROM audit_checkpoint"))
    db.session.execute(text("UPDATE audit_event SET leaf_index = NULL"))
    db.session.commit()
    real_key, real_log = app.config["AUDIT_SIGNING_KEY_FILE"], app.config["AUDIT_CHECKPOINT_LOG"]
    forged_key = tmp_path / "attacker.key"
    signing.write(signing.generate(app.config["AUDIT_ORIGIN"]), forged_key)
    app.config["AUDIT_SIGNING_KEY_FILE"] = str(forged_key)
    app.config["AUDIT_CHECKPOINT_LOG"] = str(tmp_path / "attacker.log")
    try:
        transparency.seal()  # every leaf and node recomputed, a new checkpoint signed
    finally:
        app.config["AUDIT_SIGNING_KEY_FILE"], app.config["AUDIT_CHECKPOINT_LOG"] = (
            real_key,
            real_log,
        )
    if checkpoints == "deleted":
        db.session.execute(text("DELETE FROM audit_checkpoint"))
        db.session.commit()
    db.session.expire_all()
    return target_id


@pytest.mark.parametrize("checkpoints", ["re-signed", "deleted"])
def test_a_database_rewrite_is_caught_by_the_checkpoint_log(app, world, tmp_path, checkpoints):
    sealed_history(app, world)
    assert verify_cli(app).exit_code == 0
    leaf = 3
    target_id = rewrite(app, tmp_path, leaf=leaf, checkpoints=checkpoints)
    # The database alone now looks whole: leaves, nodes and (re-signed) checkpoints agree.
    stored_root = transparency.stored_tree(event_count()).root()
    assert stored_root == MemoryTree(leaves_in_order()).root()
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"leaf {leaf} (event {target_id}) is the first leaf that differs" in result.stderr


@pytest.mark.parametrize("checkpoints", ["re-signed", "deleted"])
def test_a_database_rewrite_is_caught_by_one_checkpoint_held_elsewhere(
    app, world, tmp_path, checkpoints
):
    """Only one earlier checkpoint, handed to an auditor, survives outside the database."""
    sealed_history(app, world)
    held = tmp_path / "held-checkpoint.txt"
    held.write_text(transparency.latest_checkpoint().note, encoding="utf-8")
    Path(app.config["AUDIT_CHECKPOINT_LOG"]).unlink()  # not even the log file is left
    app.config["AUDIT_CHECKPOINT_LOG"] = str(tmp_path / "empty.log")
    assert verify_cli(app, "--checkpoint", str(held)).exit_code == 0
    rewrite(app, tmp_path, leaf=2, checkpoints=checkpoints)
    result = verify_cli(app, "--checkpoint", str(held))
    assert result.exit_code == 1
    assert "the first leaf that differs is one of leaves 0.." in result.stderr
    assert f"checkpoint file {held}" in result.stderr


def test_editing_an_event_without_recomputing_names_its_leaf(app, world):
    ids = sealed_history(app, world, 4)
    drop_triggers()
    db.session.execute(text("UPDATE audit_event SET case_id = NULL WHERE id = :id"), {"id": ids[1]})
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1
    leaf = db.session.scalar(select(AuditEvent.leaf_index).where(AuditEvent.id == ids[1]))
    assert f"leaf {leaf} (event {ids[1]}): content does not match its leaf hash" in result.stderr


def test_deleting_a_sealed_event_is_caught(app, world):
    ids = sealed_history(app, world, 4)
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_content WHERE event_id = :id"), {"id": ids[1]})
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": ids[1]})
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1 and "is missing" in result.stderr


def test_editing_content_is_caught_by_its_commitment(app, world):
    ids = sealed_history(app, world, 3)
    drop_triggers()
    db.session.execute(
        text('UPDATE audit_content SET content = \'{"reason":"edited"}\' WHERE event_id = :id'),
        {"id": ids[0]},
    )
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1 and "does not match the commitment" in result.stderr


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'x' WHERE id = 1",
        "UPDATE audit_event SET leaf_index = leaf_index + 1",
        "UPDATE audit_event SET leaf_index = NULL",
        "DELETE FROM audit_event WHERE id = 1",
        "UPDATE audit_content SET content = '{}'",
        "DELETE FROM audit_content",
        "UPDATE audit_node SET level = level",
        "DELETE FROM audit_node",
        "UPDATE audit_checkpoint SET note = ''",
        "DELETE FROM audit_checkpoint",
    ],
)
def test_every_other_update_or_delete_is_refused(app, world, statement):
    sealed_history(app, world, 3)
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert verify_cli(app).exit_code == 0


ERASED = (
    "content = NULL, salt = NULL, erased_at = '2026-11-18 10:30:00', erased_by = 'retention', "
    "erased_rule = 'la-child-protection', erased_reason = 'routine'"
)


def erase_raw(event_id: int, erasure_event_id: int | None = None) -> None:
    """An erasure as someone with the app's database login could write it, not as the app does."""
    db.session.execute(
        text(
            f"UPDATE audit_content SET {ERASED}, erasure_event_id = :erasure WHERE event_id = :id"
        ),
        {"id": event_id, "erasure": erasure_event_id},
    )


@pytest.mark.parametrize("erasure", ["none", "a case view", "missing"])
def test_erasing_content_without_its_erasure_event_is_refused(app, world, erasure):
    ids = sealed_history(app, world, 3)
    pointed = {"none": None, "a case view": ids[2], "missing": 999_999}[erasure]
    with pytest.raises(Exception, match="append-only"):
        erase_raw(ids[0], pointed)
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, ids[0]).content_row.content is not None
    assert verify_cli(app).exit_code == 0


@pytest.mark.parametrize(
    "erasure, why",
    [
        ("none", "no erasure event records it"),
        ("missing", "its erasure event 999999 does not exist"),
        ("a case view", "is case.view, not an erasure"),
        ("another event's erasure", "names neither this event nor its case"),
        ("no rule", "records rule None, not r"),
    ],
)
def test_an_erasure_not_accounted_for_is_reported_by_verify(app, world, erasure, why):
    """With the triggers dropped (a superuser, the database file), the erasure still shows."""
    ids = sealed_history(app, world, 3)
    target = audit.record("auth.sign_in", actor=world.worker_a)  # no case: only its own erasure
    db.session.commit()
    other = audit.erase_content(ids[1], rule="r", reason="lawful", actor_label="cli")
    transparency.seal()
    assert verify_cli(app).exit_code == 0
    pointed = {
        "none": None,
        "missing": 999_999,
        "a case view": ids[2],
        "another event's erasure": other.id,
    }.get(erasure)
    if erasure == "no rule":  # an erasure event written by hand, saying nothing of a rule
        pointed = audit.record(
            "audit.erase_content", object_kind="audit_event", object_id=target.id
        ).id
    drop_triggers()
    db.session.execute(
        text(
            "UPDATE audit_content SET content = NULL, salt = NULL, erased_at = :at,"
            " erased_rule = 'r', erasure_event_id = :erasure WHERE event_id = :id"
        ),
        # Erased "now", as its erasure event was: the rule is what is wrong, not the time.
        {"id": target.id, "erasure": pointed, "at": clock.now()},
    )
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1, result.output
    leaf = db.session.scalar(select(AuditEvent.leaf_index).where(AuditEvent.id == target.id))
    assert f"leaf {leaf} (event {target.id}): its content was erased but " in result.stderr
    assert why in result.stderr and "not accounted for (tampered)" in result.stderr


def test_lawful_erasures_verify_even_when_the_erasure_is_erased_in_turn(app, world):
    ids = sealed_history(app, world, 3)
    one = audit.erase_content(
        ids[0], rule="retention-7y", reason="Retention ended", actor_label="cli"
    )
    transparency.seal()
    assert verify_cli(app).exit_code == 0
    # The case's disposal erases the rest, the first erasure's own content among them (it is
    # about the case): the columns of that erasure still account for event ids[0].
    erased = audit.erase_case_content(
        world.case.id, rule="la-child-protection", reason="Disposed", actor=world.auditor
    )
    db.session.commit()
    assert ids[1] in erased and one.id in erased and ids[0] not in erased
    transparency.seal()
    db.session.expire_all()
    assert db.session.get(AuditEvent, one.id).content_row.content is None
    result = verify_cli(app)
    assert result.exit_code == 0, result.output


def test_truncate_is_refused_on_postgresql(app, world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    for table in ("audit_event", "audit_node", "audit_checkpoint"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(f"TRUNCATE {table} CASCADE"))
        db.session.rollback()


def test_sqlite_pages_read_without_the_write_lock_and_take_it_only_to_write(app, world):
    """A browser GET begins deferred (readers never queue); its first write ends the read
    transaction and begins IMMEDIATE on the same connection; a POST begins IMMEDIATE."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never take a lock")
    case_id = world.case.id
    db.session.commit()
    db.session.remove()
    blocker = db.engine.raw_connection()
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with app.test_request_context("/cases/", method="GET"):
            # Reads go ahead while someone else writes.
            assert db.session.scalar(select(func.count(AuditEvent.id))) >= 1
            assert db.session.connection().info["tracker_deferred"] is True
            db.session.rollback()
            db.session.remove()
        blocker.rollback()
        with app.test_request_context("/cases/", method="GET"):
            from tracker.models import Case

            before = event_count()
            assert db.session.connection().info["tracker_deferred"] is True
            cases.record_view(db.session.get(Case, case_id))  # upgrades, writes, commits
            assert event_count() == before + 1
            db.session.remove()
        with app.test_request_context("/cases/new", method="POST"):
            db.session.scalar(select(func.count(AuditEvent.id)))
            assert db.session.connection().info["tracker_deferred"] is False
            db.session.rollback()
            db.session.remove()
    finally:
        blocker.close()


def test_keygen_writes_a_private_key_file_once_and_prints_the_verifier_key(app, tmp_path):
    out = tmp_path / "keys" / "audit.key"
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "tracker",
            "audit",
            "keygen",
            "--name",
            "partnership.example/audit",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    signer = signing.load(out)
    assert out.stat().st_mode & 0o077 == 0
    assert f"Verifier key (give this to auditors): {signer.verifier_key}" in result.output
    assert str(signer.verifier_key).startswith("partnership.example/audit+")
    again = runner.invoke(args=["tracker", "audit", "keygen", "--out", str(out)])
    assert again.exit_code != 0 and "never overwritten" in again.output
    assert signing.load(out).verifier_key == signer.verifier_key
    bad = runner.invoke(
        args=["tracker", "audit", "keygen", "--name", "has space", "--out", str(tmp_path / "x")]
    )
    assert bad.exit_code != 0


def test_a_lawful_erasure_verifies_before_the_next_seal(app, world):
    """Verification between an erasure and the seal that logs its event is no false alarm."""
    ids = sealed_history(app, world, 3)
    audit.erase_content(ids[0], rule="la-child-protection", reason="routine", actor_label="cli")
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
