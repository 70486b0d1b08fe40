"""Who the audit trail says raised an alert: the caller's actor, else whoever is acting now, and
the scheduler only when nobody is (it was said to be the scheduler inside web requests too)."""

from __future__ import annotations

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AlertKind, AuditEvent
from tracker.services import alerts, people


def _raised() -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alert.raised").order_by(AuditEvent.id)
        )
    )


def _raise(world, **kwargs):
    return alerts.raise_alert(
        event="test:1",
        recipients=[world.worker_b],
        kind=AlertKind.ACCOUNT_CHANGED.value,
        subject="Test",
        link="/",
        **kwargs,
    )


def test_an_alert_raised_for_someone_is_theirs_in_the_trail(app, world):
    _raise(world, actor=world.lead_a)
    (event,) = _raised()
    assert (event.person_id, event.agency_id) == (world.lead_a.id, world.agency_a.id)
    assert event.person_name == world.lead_a.name


def test_an_alert_raised_with_nobody_acting_is_the_schedulers(app, world):
    _raise(world)
    (event,) = _raised()
    assert (event.person_id, event.person_name) == (None, "scheduler")


def test_setting_a_password_from_the_emailed_link_tells_the_person_in_their_own_name(app, world):
    # Nobody is signed in on the set-password page: the person is the one acting.
    people.set_password(world.worker_b, "a long and unusual passphrase 42")
    (event,) = _raised()
    assert event.person_id == world.worker_b.id
