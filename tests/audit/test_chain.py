"""The chain as an operator and an attacker meet it: `flask tracker audit verify`, and concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import audit, cases


def verify_cli(app):
    db.session.commit()  # the command runs in its own app context and session
    return app.test_cli_runner().invoke(args=["tracker", "audit", "verify"])


def drop_triggers() -> None:
    """What an attacker with access to the database file or a superuser login can do."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER audit_event_no_update"))
        db.session.execute(text("DROP TRIGGER audit_event_no_delete"))


def test_verify_prints_ok_and_the_count(app, world):
    cases.record_view(world.case)
    count = db.session.scalar(select(func.count(AuditEvent.id)))
    result = verify_cli(app)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"ok {count} events"


def test_verify_names_an_edited_event_and_exits_1(app, world):
    for _ in range(4):
        cases.record_view(world.case)
    target = db.session.scalar(select(AuditEvent.id).order_by(AuditEvent.id).offset(2).limit(1))
    drop_triggers()
    db.session.execute(
        text("UPDATE audit_event SET person_name = 'Someone Else' WHERE id = :id"), {"id": target}
    )
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"broken at event {target}: content does not match its hash" in result.stderr


def test_verify_names_an_event_whose_hash_was_recomputed(app, world):
    """Rewriting an event and its own hash still breaks the link from the event after it."""
    for _ in range(4):
        cases.record_view(world.case)
    target = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id).offset(1).limit(1))
    drop_triggers()
    target.reason = "covering tracks"
    forged = audit.event_hash(target)
    db.session.execute(
        text("UPDATE audit_event SET reason = :reason, hash = :hash WHERE id = :id"),
        {"reason": target.reason, "hash": forged, "id": target.id},
    )
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1
    assert f"broken at event {target.id + 1}: does not follow the event before it" in result.stderr


def test_verify_names_a_deleted_event(app, world):
    for _ in range(3):
        cases.record_view(world.case)
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_event WHERE id = 3"))
    db.session.commit()
    result = verify_cli(app)
    assert result.exit_code == 1
    assert "broken at event 3: event missing" in result.stderr


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'x' WHERE id = 1",
        "UPDATE audit_event SET hash = prev_hash",
        "DELETE FROM audit_event WHERE id = 1",
        "DELETE FROM audit_event",
    ],
)
def test_every_update_or_delete_is_refused(app, world, statement):
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert verify_cli(app).exit_code == 0


def test_truncate_is_refused_on_postgresql(app, world):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("TRUNCATE audit_event"))
    db.session.rollback()


WRITERS = 50
EVENTS_EACH = 3


def test_fifty_concurrent_writers_leave_an_unbroken_chain(app, world):
    before = db.session.scalar(select(func.count(AuditEvent.id)))
    db.session.commit()  # SQLite: this session must not hold the write lock while writers run
    start = threading.Barrier(WRITERS)
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

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]

    db.session.expire_all()
    total = before + WRITERS * EVENTS_EACH
    result = audit.verify()
    assert result.ok and result.count == total, str(result)
    ids = db.session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    assert ids == list(range(1, total + 1))
    # No fork: every event is the successor of exactly one other.
    prevs = db.session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(set(prevs)) == total
    per_writer = dict(
        db.session.execute(
            select(AuditEvent.object_id, func.count())
            .where(AuditEvent.action == "test.concurrent")
            .group_by(AuditEvent.object_id)
        ).all()
    )
    assert per_writer == {n: EVENTS_EACH for n in range(WRITERS)}
    assert verify_cli(app).stdout.strip() == f"ok {total} events"
