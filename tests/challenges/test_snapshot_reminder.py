"""A challenge keeps the procedure it started under, reminder windows included: the sweep's
pre-filter must reach as far as the widest window of any open challenge's own procedure, not
only of the file loaded today."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.challenges.support import name_leads, raise_one
from tracker.extensions import db
from tracker.models import Alert, AlertKind
from tracker.services import challenges, workdays
from tracker.services.sweep import run_sweep


@pytest.fixture
def wider(world, password_hash, frozen):
    """A challenge started under an earlier file: stage 1 took 10 working days and reminded 40
    working hours ahead (today's file: 2 days, at most 16 hours on any stage)."""
    name_leads(world, password_hash)
    frozen(datetime(2026, 11, 18, 10, 0))  # Wednesday
    challenge = raise_one(world)
    snapshot = json.loads(challenge.procedure_snapshot)
    snapshot["stages"][0].update(working_days=10, reminder_working_hours=40)
    challenge.procedure_snapshot = json.dumps(snapshot, sort_keys=True)
    challenge.procedure_version = "an earlier file"  # a version names its content
    challenge.stage_due_at = workdays.deadline(challenge.stage_started_at, 10)  # Wed 2 Dec 17:00
    db.session.commit()
    db.session.expire_all()
    return challenge.id


def test_the_reminder_follows_the_challenges_own_window(wider):
    early = workdays.to_utc(datetime(2026, 11, 25, 16, 0))  # 41 working hours before
    assert challenges.due_for_reminder(early) == []
    now = workdays.to_utc(datetime(2026, 11, 26, 10, 0))  # Thursday, 39 working hours before
    challenge = db.session.get(challenges.Challenge, wider)
    assert workdays.working_hours_between(now, challenge.stage_due_at) <= 40
    assert not challenges.began_due_soon(challenge)
    assert [c.id for c in challenges.due_for_reminder(now)] == [wider]


def test_the_sweep_reminds_on_time_under_the_snapshots_window(wider, frozen):
    now = frozen(workdays.to_utc(datetime(2026, 11, 26, 10, 0)))  # 39 working hours before
    run_sweep(now)
    event = f"challenge:{wider}:stage:1:due_soon"
    reminded = db.session.scalars(
        db.select(Alert).where(Alert.kind == AlertKind.CHALLENGE_DUE_SOON.value)
    ).all()
    assert reminded and {a.event for a in reminded} == {event}
    run_sweep(now)  # a second pass adds nothing
    again = db.session.scalars(db.select(Alert).where(Alert.event == event)).all()
    assert len(again) == len(reminded)
