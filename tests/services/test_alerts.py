"""raise_alert: exactly once per (event, recipient), in the caller's transaction, audited."""

from __future__ import annotations

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Alert, AuditEvent
from tracker.services import alerts


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_one_alert_per_event_and_recipient(world):
    first = alerts.raise_alert(
        event="test:1",
        recipients=[world.lead_a, world.lead_b, world.lead_a],
        kind="concern_overdue",
        subject="An unanswered concern",
        link=f"/cases/{world.case.id}",
        case_id=world.case.id,
    )
    db.session.commit()
    assert sorted(a.recipient_id for a in first) == sorted([world.lead_a.id, world.lead_b.id])

    again = alerts.raise_alert(
        event="test:1",
        recipients=[world.lead_a, world.lead_b, world.worker_b],
        kind="concern_overdue",
        subject="An unanswered concern",
        link=f"/cases/{world.case.id}",
        case_id=world.case.id,
    )
    db.session.commit()
    assert [a.recipient_id for a in again] == [world.worker_b.id]
    assert _count(Alert, Alert.event == "test:1") == 3
    assert _count(AuditEvent, AuditEvent.action == "alert.raised") == 3


def test_alert_rolls_back_with_the_callers_transaction(world):
    alerts.raise_alert(
        event="test:2", recipients=[world.lead_a], kind="other", subject="x", link="/"
    )
    db.session.rollback()
    assert _count(Alert) == 0


def test_inactive_people_get_nothing(world):
    world.lead_b.active = False
    db.session.commit()
    created = alerts.raise_alert(
        event="test:3", recipients=[world.lead_b], kind="other", subject="x", link="/"
    )
    assert created == []
