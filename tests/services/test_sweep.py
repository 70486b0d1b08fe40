"""The sweep with a frozen clock and a real SMTP server: reminders, overdue concerns, challenges
opened and escalated through every stage, weekly digests, each alert once and emailed once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.challenges.support import name_leads
from tests.conftest import sign_in_as
from tests.helpers import page_text
from tests.services.sweep_support import SUMMARY, mailbox_fixture, share_concern  # noqa: F401
from tracker.extensions import db
from tracker.fixtures import demo
from tracker.models import Alert, AuditEvent, Challenge, ChallengeEvent, Priority
from tracker.services import delivery, leads, sharing, transparency
from tracker.services.sweep import COUNTS, run_sweep

SHARED = datetime(2026, 12, 1, 9, 0)  # Tuesday; standard concern due Friday 4 Dec 17:00 (GMT)


def _alerts(event: str) -> dict[int, Alert]:
    return {
        a.recipient_id: a for a in db.session.scalars(select(Alert).where(Alert.event == event))
    }


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _sweep(frozen, moment: datetime) -> dict:
    frozen(moment)
    result = run_sweep(moment)
    db.session.expire_all()
    return result


def test_concern_reminder_overdue_alert_and_auto_opened_challenge(
    world, password_hash, mailbox, frozen
):
    named = name_leads(world, password_hash)
    frozen(SHARED)
    concern = share_concern(world, SHARED)
    assert concern.due_at == datetime(2026, 12, 4, 17, 0)

    early = _sweep(frozen, datetime(2026, 12, 3, 9, 0))  # 16 working hours before: too early
    assert early["concern_reminders"] == 0

    _sweep(frozen, datetime(2026, 12, 4, 10, 0))  # 7 working hours before the deadline
    reminded = _alerts(f"concern:{concern.id}:due_soon")
    # the receiving agency's people and leads
    assert set(reminded) == {world.worker_b.id, world.lead_b.id, named.head_b.id}
    assert all(a.kind == "concern_due_soon" for a in reminded.values())

    result = _sweep(frozen, datetime(2026, 12, 7, 9, 0))  # Monday: past due, no response
    overdue = _alerts(f"concern:{concern.id}:overdue")
    # B's stage-1 named lead (Worker B) and the sender (Worker A)
    assert set(overdue) == {world.worker_b.id, world.worker_a.id}
    assert result["challenges_opened"] == 1
    challenge = db.session.scalar(select(Challenge).where(Challenge.concern_id == concern.id))
    assert (challenge.stage, challenge.kind, challenge.status) == (1, "no_response", "open")
    assert challenge.raised_by_id == world.worker_a.id
    assert challenge.about_agency_id == world.agency_b.id
    assert [e.share_id for e in challenge.evidence] == [concern.share_id]
    assert set(_alerts(f"challenge:{challenge.id}:stage:1")) == {
        world.worker_a.id,
        world.worker_b.id,
    }
    auto = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "challenge.auto_open"))
    assert auto.person_name == "scheduler" and auto.object_id == challenge.id
    assert "unanswered" in auto.reason
    # The scheduler did it, not the sender: no act of the sweep is under a person's name.
    [raised] = challenge.events
    assert (raised.person_id, raised.actor_label, raised.automatic) == (None, "scheduler", True)
    assert challenge.raised_automatically
    swept = db.session.scalars(
        select(AuditEvent).where(AuditEvent.at == datetime(2026, 12, 7, 9, 0))
    ).all()
    assert swept and {(e.person_id, e.person_name) for e in swept} == {(None, "scheduler")}
    assert _count(AuditEvent, AuditEvent.action == "challenge.raise") == 0
    raised_alert = _alerts(f"challenge:{challenge.id}:stage:1")[world.worker_b.id]
    assert "opened automatically" in raised_alert.subject

    again = _sweep(frozen, datetime(2026, 12, 7, 9, 0))
    assert all(v == 0 for k, v in again.items() if k != "at")
    assert _count(Challenge) == 1

    result = delivery.deliver()
    all_ids = set(db.session.scalars(select(Alert.id)))
    assert sorted(mailbox.alert_ids()) == sorted(all_ids)  # each alert emailed exactly once
    assert delivery.deliver().sent == 0
    for message in mailbox.messages:
        body = message.as_string()
        assert "Child One" not in body and SUMMARY not in body
        assert world.case.reference not in body
    assert transparency.verify().ok


def test_an_answered_concern_is_not_chased(world, password_hash, frozen):
    name_leads(world, password_hash)
    frozen(SHARED)
    concern = share_concern(world, SHARED)
    frozen(datetime(2026, 12, 2, 9, 0))
    sharing.respond(world.worker_b, concern, action_taken="Checked: two call-outs this year")
    result = _sweep(frozen, datetime(2026, 12, 8, 9, 0))
    assert result["concern_reminders"] == result["concern_overdue_alerts"] == 0
    assert _count(Challenge) == 0


def test_urgent_concern_alerts_are_urgent_and_due_next_working_day(world, password_hash, frozen):
    name_leads(world, password_hash)
    frozen(SHARED)
    concern = share_concern(world, SHARED, priority=Priority.URGENT.value)
    assert concern.due_at == datetime(2026, 12, 2, 17, 0)
    _sweep(frozen, datetime(2026, 12, 2, 17, 30))
    overdue = _alerts(f"concern:{concern.id}:overdue")
    assert overdue and all(a.urgent for a in overdue.values())
    assert db.session.scalar(select(Challenge.urgent)) is True


def test_the_deputy_is_alerted_while_the_named_lead_is_away(world, password_hash, frozen):
    name_leads(world, password_hash)
    leads.assign(world.admin, world.agency_b, 1, world.lead_b.id, world.worker_b.id)
    world.lead_b.away = True
    db.session.commit()
    frozen(SHARED)
    concern = share_concern(world, SHARED)
    _sweep(frozen, datetime(2026, 12, 7, 9, 0))
    assert set(_alerts(f"concern:{concern.id}:overdue")) == {world.worker_b.id, world.worker_a.id}


def test_a_challenge_escalates_by_itself_through_every_stage(world, password_hash, mailbox, frozen):
    named = name_leads(world, password_hash)
    frozen(SHARED)
    concern = share_concern(world, SHARED)
    _sweep(frozen, datetime(2026, 12, 7, 9, 0))
    challenge = db.session.scalar(select(Challenge))
    stage_leads = {
        2: {world.lead_a.id, world.lead_b.id},
        3: {named.head_a.id, named.head_b.id},
        4: {named.chair.id},
    }
    for stage in (1, 2, 3):
        due = challenge.stage_due_at
        # near the deadline: the stage's named leads are reminded once
        near = _sweep(frozen, due - timedelta(hours=2))
        assert near["stage_reminders"] >= 1
        assert _alerts(f"challenge:{challenge.id}:stage:{stage}:due_soon")
        # past it without an outcome: the next stage, with why, its leads and the raiser alerted
        result = _sweep(frozen, due + timedelta(minutes=1))
        assert result["challenges_escalated"] == 1
        db.session.refresh(challenge)
        assert challenge.stage == stage + 1 and challenge.stage_due_at > due
        event = db.session.scalar(
            select(ChallengeEvent).where(
                ChallengeEvent.challenge_id == challenge.id, ChallengeEvent.to_stage == stage + 1
            )
        )
        assert event.automatic and event.actor_label == "scheduler"
        assert "passed without an outcome" in event.text
        alerted = set(_alerts(f"challenge:{challenge.id}:stage:{stage + 1}"))
        assert alerted == stage_leads[stage + 1] | {world.worker_a.id}
        repeat = _sweep(frozen, due + timedelta(minutes=1))
        assert repeat["challenges_escalated"] == 0

    # Past the last stage's deadline: the partnership's leads, at most once a day, until resolved.
    last_due = challenge.stage_due_at
    first = _sweep(frozen, last_due + timedelta(hours=1))
    same_day = _sweep(frozen, last_due + timedelta(hours=5))
    next_day = _sweep(frozen, last_due + timedelta(days=1))
    assert (first["unresolved_alerts"], same_day["unresolved_alerts"]) == (1, 0)
    assert next_day["unresolved_alerts"] == 1
    unresolved = db.session.scalars(
        select(Alert).where(Alert.event.like(f"challenge:{challenge.id}:unresolved:%"))
    ).all()
    assert {a.recipient_id for a in unresolved} == {named.chair.id}
    db.session.refresh(challenge)
    assert challenge.stage == 4 and concern.id == challenge.concern_id

    delivery.deliver()
    assert sorted(mailbox.alert_ids()) == sorted(db.session.scalars(select(Alert.id)))
    assert delivery.deliver().sent == 0
    assert transparency.verify().ok


def test_weekly_digest_once_a_week_to_the_lead_professionals_agency_lead(world, frozen):
    monday = datetime(2026, 12, 7, 9, 0)
    first = _sweep(frozen, monday)
    assert first["digest_alerts"] == 1  # Child One: no lived-experience record yet
    [digest] = db.session.scalars(select(Alert).where(Alert.kind == "weekly_digest")).all()
    assert digest.recipient_id == world.lead_a.id  # lead professional Worker A is in agency A
    assert digest.event == "digest:2026-W50" and digest.link == "/inbox/digest"
    assert "Child One" not in digest.subject
    assert _sweep(frozen, monday + timedelta(days=4))["digest_alerts"] == 0
    assert _sweep(frozen, monday + timedelta(days=7))["digest_alerts"] == 1


def test_sweep_command_twice_at_the_same_moment_creates_nothing_the_second_time(
    app, world, password_hash, frozen
):
    name_leads(world, password_hash)
    frozen(SHARED)
    share_concern(world, SHARED)
    frozen(None)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["tracker", "sweep", "--at", "2026-12-07T09:00"])
    assert first.exit_code == 0, first.output
    done = json.loads(first.output)
    assert done["at"] == "2026-12-07T09:00:00"
    assert done["concern_overdue_alerts"] == 2 and done["challenges_opened"] == 1
    alerts_before, audit_before = _count(Alert), _count(AuditEvent)

    second = runner.invoke(args=["tracker", "sweep", "--at", "2026-12-07T09:00"])
    assert second.exit_code == 0, second.output
    assert all(v == 0 for k, v in json.loads(second.output).items() if k != "at")
    assert (_count(Alert), _count(AuditEvent)) == (alerts_before, audit_before)
    assert _count(Challenge) == 1


def _rows() -> tuple[int, int, int, int]:
    return (_count(Alert), _count(AuditEvent), _count(Challenge), _count(ChallengeEvent))


def test_one_pass_is_complete_on_the_demo_three_weeks_ahead(app, frozen):
    """`flask tracker sweep --at T` twice at one T: the second run finds nothing to do."""
    frozen(datetime(2026, 12, 1, 9, 0))
    demo.load()
    frozen(None)
    runner = app.test_cli_runner()
    at = "2026-12-22T09:00"  # three weeks on: concerns overdue, stages escalated, challenges open

    first = runner.invoke(args=["tracker", "sweep", "--at", at])
    assert first.exit_code == 0, first.output
    done = json.loads(first.output)
    assert done["challenges_escalated"] and done["challenges_opened"]
    assert done["concern_overdue_alerts"]
    before = _rows()

    second = runner.invoke(args=["tracker", "sweep", "--at", at])
    assert second.exit_code == 0, second.output
    again = json.loads(second.output)
    assert {k: v for k, v in again.items() if k != "at"} == dict.fromkeys(COUNTS, 0)
    db.session.expire_all()
    assert _rows() == before
    assert transparency.verify().ok


def test_a_stage_that_begins_inside_its_reminder_window_is_reminded_by_its_escalation(
    world, password_hash, frozen
):
    name_leads(world, password_hash)
    frozen(SHARED)
    share_concern(world, SHARED, priority=Priority.URGENT.value)  # due Wed 2 Dec 17:00
    _sweep(frozen, datetime(2026, 12, 2, 17, 30))  # the sweep opens an urgent challenge
    challenge = db.session.scalar(select(Challenge))
    assert challenge.urgent and challenge.stage_due_at == datetime(2026, 12, 3, 17, 0)

    # Escalated just after 17:00: stage 2 is due the next working day at 17:00, 8 working
    # hours away, already inside stage 2's 8-hour reminder window.
    late = datetime(2026, 12, 3, 17, 1)
    first = _sweep(frozen, late)
    assert (first["challenges_escalated"], first["stage_reminders"]) == (1, 0)
    escalated = _alerts(f"challenge:{challenge.id}:stage:2")
    assert escalated and all(
        a.subject.endswith("escalated to stage 2, due by 4 Dec 2026 17:00")
        for a in escalated.values()
    )
    again = _sweep(frozen, late)
    assert all(v == 0 for k, v in again.items() if k != "at")
    # Nearer the deadline, still no second alert about the same deadline.
    assert _sweep(frozen, datetime(2026, 12, 4, 13, 0))["stage_reminders"] == 0
    assert not _alerts(f"challenge:{challenge.id}:stage:2:due_soon")


def test_the_auto_opened_challenge_commits_with_its_audit_event_and_shows_the_scheduler(
    world, password_hash, frozen, client, monkeypatch
):
    """A kill between any two commits of the sweep never leaves a challenge without its
    challenge.auto_open event; the page says the scheduler raised it, for the sender."""
    name_leads(world, password_hash)
    frozen(SHARED)
    share_concern(world, SHARED)
    real_commit = db.session.commit
    seen = []

    def checked_commit():
        real_commit()
        opened = set(db.session.scalars(select(Challenge.id)))
        audited = set(
            db.session.scalars(
                select(AuditEvent.object_id).where(AuditEvent.action == "challenge.auto_open")
            )
        )
        seen.append((opened, audited))
        assert opened == audited, "a challenge committed without its auto_open audit event"

    monkeypatch.setattr(db.session, "commit", checked_commit)
    result = _sweep(frozen, datetime(2026, 12, 7, 9, 0))
    monkeypatch.undo()
    assert result["challenges_opened"] == 1 and seen[-1][0]

    challenge = db.session.scalar(select(Challenge))
    sign_in_as(client, world.worker_b)
    text = page_text(client.get(f"/challenges/{challenge.id}"))
    assert "Raised by The scheduler, automatically, for Worker A, Agency A Social Care" in text
    assert "Raised by Worker A" not in text


def test_no_still_unresolved_alert_for_a_challenge_resolved_after_it_was_found(
    world, frozen, monkeypatch, password_hash
):
    """The sweep finds two challenges past their last stage; before their alerts, one is
    resolved (another worker's request). The alert step re-reads each under the lock resolving
    takes: the partnership hears of the other alone."""
    from tests.challenges.support import raise_one
    from tracker.services import challenges

    named = name_leads(world, password_hash)
    now = frozen(datetime(2026, 11, 25, 10, 0))
    pair = [raise_one(world), raise_one(world)]
    for challenge in pair:
        challenge.stage = challenge.procedure.last_stage
        challenge.stage_due_at = now - timedelta(days=1)
    db.session.commit()
    # What the sweep read, before the resolution committed:
    found = db.session.scalars(challenges.overdue(now).with_only_columns(Challenge.id)).all()
    assert sorted(found) == sorted(c.id for c in pair)
    resolved, unresolved = pair
    challenges.resolve(
        named.chair,
        resolved,
        challenges.Resolution(agreed="Agreed at the panel", actions=[], themes=[],
                              practice_issue=False),
    )  # fmt: skip
    stale = select(Challenge).where(Challenge.id.in_(found))
    monkeypatch.setattr(challenges, "overdue", lambda _now: stale)
    run_sweep(now)
    assert _count(Alert, Alert.event.like(f"challenge:{resolved.id}:unresolved:%")) == 0
    assert _count(Alert, Alert.event.like(f"challenge:{unresolved.id}:unresolved:%")) == 1
