"""A stage is due *by* its deadline, as a concern is.

A concern is overdue only after its due time (`due_at < now`), and the challenge page says a
stage is overdue only after its deadline (`now > stage_due_at`); but the sweep escalates a stage
at the very moment of its deadline (`stage_due_at <= now`), recording that the deadline "passed
without an outcome" while the page still says "Due today". `flask tracker sweep --at` on the
deadline's minute does it every time.
"""

from __future__ import annotations

from datetime import datetime

from tests.challenges.support import name_leads, raise_one
from tracker.extensions import db
from tracker.services import challenges
from tracker.services.sweep import run_sweep


def test_a_stage_is_not_escalated_at_the_moment_of_its_deadline(app, world, password_hash, frozen):
    name_leads(world, password_hash)
    frozen(datetime(2026, 12, 1, 9, 0))  # Tuesday
    challenge = raise_one(world)
    deadline = challenge.stage_due_at
    assert deadline == datetime(2026, 12, 3, 17, 0)  # 2 working days: Thursday 17:00 (GMT)
    frozen(deadline)
    assert challenges.due(challenge, deadline).status != "overdue"  # the page: "Due today"
    # Neither late nor forgotten at that minute: still due, so still reminded of.
    assert [c.id for c in challenges.due_for_reminder(deadline)] == [challenge.id]
    assert run_sweep(deadline)["challenges_escalated"] == 0
    db.session.refresh(challenge)
    assert challenge.stage == 1
