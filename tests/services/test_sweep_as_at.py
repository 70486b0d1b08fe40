"""`flask tracker sweep --at T` acts as at T throughout.

The sweep finds what is overdue as at T and escalates stages as at T (their new stage starts at
T), but a challenge it opens for an unanswered concern is stamped with the process clock: raised
before the concern was even due, with a stage deadline counted from the wrong day.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from tests.challenges.support import name_leads
from tests.services.sweep_support import share_concern
from tracker.extensions import db
from tracker.models import AuditEvent, Challenge
from tracker.services import workdays

SHARED = datetime(2026, 12, 1, 9, 0)  # Tuesday; a standard concern is due Friday 4 Dec 17:00


def test_a_sweep_as_at_a_moment_opens_its_challenge_at_that_moment(
    app, world, password_hash, frozen
):
    name_leads(world, password_hash)
    frozen(SHARED)
    concern = share_concern(world, SHARED)
    assert concern.due_at == datetime(2026, 12, 4, 17, 0)
    frozen(datetime(2026, 12, 2, 10, 0))  # the process clock: Wednesday, before the due time
    result = app.test_cli_runner().invoke(args=["tracker", "sweep", "--at", "2026-12-07T09:00"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["challenges_opened"] == 1
    at = datetime(2026, 12, 7, 9, 0)  # Monday, GMT
    challenge = db.session.scalar(select(Challenge))
    # Opened and escalated past stage 1 in the same pass: its stage-1 deadline (counted from
    # the process clock's Wednesday) had already passed "as at" Monday.
    assert challenge.stage == 1
    assert challenge.raised_at >= concern.due_at  # not raised before the concern was due
    assert challenge.raised_at == at
    assert challenge.stage_due_at == workdays.deadline(at, 2)  # Wed 9 Dec 17:00, not Fri 4 Dec
    opened = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "challenge.auto_open"))
    assert opened.at == at
