import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import audit, cases, transparency


def test_the_log_verifies_and_counts_every_event(app, world):
    result = transparency.verify()
    assert result.ok and result.count == db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    assert str(result).startswith(f"ok {result.count} events")


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"]
)
def test_database_refuses_update_and_delete(app, world, statement):
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert transparency.verify().ok


def test_an_event_carries_its_own_leaf_hash_and_content_commitment(app, world):
    cases.record_view(world.case)
    event = db.session.scalar(db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert event.leaf_index is None  # unsealed until the sealer runs
    assert event.leaf_hash == audit.event_leaf_hash(event)
    content = event.content_row
    from tracker.verify_pack import content_commitment

    assert content_commitment(content.salt, content.content) == event.content_commitment
    assert b"content_commitment" in audit.leaf_bytes(event)
    assert b"person_name" not in audit.leaf_bytes(event)  # personal content stays out of leaves
    transparency.seal()
    db.session.expire_all()
    assert db.session.get(AuditEvent, event.id).leaf_index is not None
