import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import audit, cases


def test_chain_verifies_and_names_a_tampered_event(app, world):
    result = audit.verify()
    assert result.ok and result.count == db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    assert str(result) == f"ok {result.count} events"


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET reason = 'x'", "DELETE FROM audit_event"]
)
def test_database_refuses_update_and_delete(app, world, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert audit.verify().ok


def test_editing_an_event_with_triggers_dropped_breaks_verification(app, world):
    for _ in range(3):
        cases.record_view(world.case)
    dialect = db.engine.dialect.name
    target = db.session.scalar(db.select(AuditEvent.id).order_by(AuditEvent.id).offset(1).limit(1))
    if dialect == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER audit_event_no_update"))
    db.session.execute(
        text("UPDATE audit_event SET action = 'case.innocent' WHERE id = :id"), {"id": target}
    )
    db.session.commit()
    result = audit.verify()
    assert not result.ok and result.broken_id == target
    assert "content does not match" in str(result)


def test_deleting_an_event_shows_as_a_gap(app, world):
    for _ in range(3):
        cases.record_view(world.case)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        db.session.execute(text("DROP TRIGGER audit_event_no_delete"))
    db.session.execute(text("DELETE FROM audit_event WHERE id = 2"))
    db.session.commit()
    result = audit.verify()
    assert not result.ok and result.broken_id == 2 and "missing" in result.problem
