"""One challenge walked through all four stages, with a frozen clock and every lead's view."""

from datetime import datetime

import pytest

from tests.challenges.support import awaiting_ids, name_leads, raise_one
from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker.extensions import db
from tracker.models import Alert, AuditEvent, Challenge, ChallengeEvent
from tracker.services import challenges


@pytest.fixture
def named(world, password_hash):
    return name_leads(world, password_hash)


def alerted(event: str) -> set[int]:
    return set(db.session.scalars(db.select(Alert.recipient_id).where(Alert.event == event)))


def test_walk_through_every_stage_to_resolution(client, world, named, frozen):
    # Thursday 17 December 2026, 10:00 (GMT, so UTC == local).
    frozen(datetime(2026, 12, 17, 10, 0))
    challenge = raise_one(world)
    # Stage 1, 2 working days: Fri 18, Mon 21 -> Mon 21 Dec, 17:00.
    assert (challenge.stage, challenge.stage_due_at) == (1, datetime(2026, 12, 21, 17, 0))
    assert awaiting_ids(world.worker_b) == [challenge.id]  # B's stage-1 lead
    assert awaiting_ids(world.worker_a) == [challenge.id]
    assert awaiting_ids(world.lead_b) == [] and awaiting_ids(named.chair) == []
    assert alerted(f"challenge:{challenge.id}:stage:1") == {world.worker_a.id, world.worker_b.id}

    sign_in_as(client, world.worker_b)
    page = client.get("/challenges/awaiting")
    assert world.case.reference in page_text(page) and "21 Dec 2026 17:00" in page_text(page)
    assert "2 working days left" in page_text(page)

    # Monday 21 Dec 09:00: stage 1 discussed, then escalated by B's practitioner.
    frozen(datetime(2026, 12, 21, 9, 0))
    response = client.post(
        f"/challenges/{challenge.id}/discussion",
        data={"text": "Spoke by phone; police stand by the decision.", "stage": "1"},
    )
    assert response.status_code == 302
    response = client.post(
        f"/challenges/{challenge.id}/escalate",
        data={"why": "No agreement at practitioner level.", "stage": "1"},
    )
    assert response.status_code == 302
    db.session.refresh(challenge)
    # Stage 2, 5 working days across Christmas: Tue 22, Wed 23, Thu 24, (Fri 25 Christmas,
    # Mon 28 Boxing Day substitute) Tue 29, Wed 30 -> Wed 30 Dec, 17:00.
    assert (challenge.stage, challenge.stage_due_at) == (2, datetime(2026, 12, 30, 17, 0))
    assert awaiting_ids(world.worker_b) == [challenge.id]  # still: B's stage-2 deputy
    assert awaiting_ids(world.lead_b) == [challenge.id]
    assert awaiting_ids(world.lead_a) == [challenge.id]
    assert awaiting_ids(world.worker_a) == []
    assert alerted(f"challenge:{challenge.id}:stage:2") == {
        world.lead_a.id,
        world.lead_b.id,
        world.worker_a.id,  # the raiser hears of every escalation
    }

    # Wednesday 30 Dec 12:00: A's lead escalates to the heads of service.
    frozen(datetime(2026, 12, 30, 12, 0))
    sign_in_as(client, world.lead_a)
    response = client.post(
        f"/challenges/{challenge.id}/escalate",
        data={"why": "Managers disagree on the threshold.", "stage": "2"},
    )
    assert response.status_code == 302
    db.session.refresh(challenge)
    # Stage 3: Thu 31, (Fri 1 Jan New Year's Day) Mon 4, Tue 5, Wed 6, Thu 7 -> Thu 7 Jan 2027.
    assert (challenge.stage, challenge.stage_due_at) == (3, datetime(2027, 1, 7, 17, 0))
    assert awaiting_ids(named.head_a) == [challenge.id]
    assert awaiting_ids(named.head_b) == [challenge.id]
    assert awaiting_ids(world.lead_a) == [] and awaiting_ids(world.lead_b) == []

    # Nobody acts by the deadline: the sweep's call escalates it to the partnership.
    before_deadline = datetime(2027, 1, 7, 16, 59)
    assert challenges.escalate_overdue(challenge, before_deadline) is None
    now = frozen(datetime(2027, 1, 8, 9, 0))
    assert [c.id for c in db.session.scalars(challenges.overdue(now))] == [challenge.id]
    event = challenges.escalate_overdue(challenge, now)
    assert event.automatic and event.actor_label == "scheduler" and event.person_id is None
    assert "Stage 3 deadline (7 Jan 2027 17:00) passed without an outcome" in event.text
    assert challenges.escalate_overdue(challenge, now) is None  # once only
    db.session.refresh(challenge)
    # Stage 4, 10 working days: Mon 11 .. Fri 22 Jan 2027.
    assert (challenge.stage, challenge.stage_due_at) == (4, datetime(2027, 1, 22, 17, 0))
    assert awaiting_ids(named.chair) == [challenge.id]
    assert awaiting_ids(named.head_a) == [] and awaiting_ids(named.head_b) == []
    assert named.chair.id in alerted(f"challenge:{challenge.id}:stage:4")
    # Past the last stage's deadline the sweep alerts instead: no stage 5.
    assert challenges.escalate_overdue(challenge, datetime(2027, 2, 1, 9, 0)) is None

    # Monday 11 Jan: the partnership's chair resolves it.
    frozen(datetime(2027, 1, 11, 14, 0))
    sign_in_as(client, named.chair)
    page = client.get(f"/challenges/{challenge.id}")
    assert "Escalate to stage" not in page_text(page)  # the last stage
    assert "Resolve" in page_text(page)
    response = client.post(
        f"/challenges/{challenge.id}/resolve",
        data={
            "agreed": "Strategy discussion to be held; police to attend.",
            "action_1": "Convene a strategy discussion",
            "owner_1": "Lead A",
            "due_1": ["15", "1", "2027"],
            "themes": ["professional_challenge", "information_sharing"],
            "practice_issue": "yes",
            "stage": "4",
        },
    )
    assert response.status_code == 302, page_text(response)
    db.session.refresh(challenge)
    assert challenge.status == "resolved" and challenge.closed_at == datetime(2027, 1, 11, 14, 0)
    for person in (world.worker_b, world.lead_a, named.head_a, named.chair):
        assert awaiting_ids(person) == []

    events = db.session.scalars(
        db.select(ChallengeEvent).where(ChallengeEvent.challenge_id == challenge.id)
    ).all()
    assert [(e.kind, e.from_stage, e.to_stage) for e in events] == [
        ("raised", None, 1),
        ("discussion", 1, 1),
        ("escalated", 1, 2),
        ("escalated", 2, 3),
        ("escalated", 3, 4),
        ("resolved", 4, 4),
    ]
    assert [e.deadline_set for e in events if e.kind in ("raised", "escalated")] == [
        datetime(2026, 12, 21, 17, 0),
        datetime(2026, 12, 30, 17, 0),
        datetime(2027, 1, 7, 17, 0),
        datetime(2027, 1, 22, 17, 0),
    ]
    resolved = events[-1]
    assert resolved.practice_issue is True
    assert resolved.learning_themes == "information_sharing,professional_challenge"
    assert [(a.description, a.owner, a.due_on.isoformat()) for a in resolved.actions] == [
        ("Convene a strategy discussion", "Lead A", "2027-01-15")
    ]
    actions = set(
        db.session.scalars(
            db.select(AuditEvent.action).where(AuditEvent.object_kind == "challenge")
        )
    )
    assert {"challenge.raise", "challenge.escalate", "challenge.resolve"} <= actions

    # The case page and the chronology show the challenge and every stage change.
    sign_in_as(client, world.worker_a)
    text = page_text(client.get(f"/challenges/{challenge.id}"))
    assert "Escalated automatically" in text and "Convene a strategy discussion" in text
    assert "Practice issue for the partnership: yes" in text
    case_page = page_text(client.get(f"/cases/{world.case.id}"))
    assert "Professional challenges" in case_page and "Resolved" in case_page
    chronology = page_text(client.get(f"/cases/{world.case.id}/chronology"))
    # The stage and its outcome in words, the link on the reference only.
    assert f"Challenge {challenge.id} escalated from stage 3 (" in chronology
    assert ") to stage 4 (" in chronology and "automatically. Why:" in chronology
    assert f"Challenge {challenge.id} resolved at stage 4 (" in chronology
    html = client.get(f"/cases/{world.case.id}/chronology").get_data(as_text=True)
    assert f'/challenges/{challenge.id}">Challenge {challenge.id}</a> escalated' in html
    assert "): Raised" not in chronology and "began." in chronology


def test_urgent_challenge_uses_one_day_stages_across_bank_holidays(app, world, named, frozen):
    # Christmas Eve 2026, a Thursday: 1 working day skips Christmas, the weekend and the
    # Boxing Day substitute holiday (Monday 28th).
    frozen(datetime(2026, 12, 24, 10, 0))
    challenge = raise_one(world, urgent=True)
    assert challenge.stage_due_at == datetime(2026, 12, 29, 17, 0)
    frozen(datetime(2026, 12, 31, 9, 0))  # New Year's Eve: next working day is Mon 4 Jan
    challenges.escalate(world.lead_b, challenge, "Urgent: no agreement")
    assert challenge.stage == 2 and challenge.stage_due_at == datetime(2027, 1, 4, 17, 0)
    # British Summer Time: 17:00 in London is 16:00 UTC. Friday 28 May 2027, then the spring
    # bank holiday (Monday 31 May): one working day lands on Tuesday 1 June.
    frozen(datetime(2027, 5, 28, 11, 0))
    summer = raise_one(world, urgent=True)
    assert summer.stage_due_at == datetime(2027, 6, 1, 16, 0)


def test_raised_with_immediate_risk(client, world, named, frozen, app):
    frozen(datetime(2026, 12, 17, 10, 0))
    sign_in_as(client, world.worker_a)
    start = f"/cases/{world.case.id}/challenges/new"
    response = client.post(start, data={"immediate_risk": "yes"})
    assert response.headers["Location"].endswith(f"{start}/immediate-risk")
    page = page_text(client.get(response.headers["Location"]))
    assert app.config["FRONT_DOOR_PHONE"] in page and app.config["EMERGENCY_PHONE"] in page
    assert "Contact the front door or emergency services now" in page
    advice = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "challenge.immediate_risk_advice")
    )
    assert advice.case_id == world.case.id and advice.person_id == world.worker_a.id

    details = client.get(f"{start}/details")
    assert "Is it urgent?" not in page_text(details)  # immediate risk: always urgent
    response = client.post(
        f"{start}/details",
        data={
            "about_agency_id": str(world.agency_b.id),
            "kind": "closure",
            "what_happened": "Police closed the case while the child was missing.",
            "outcome_wanted": "Reopen and hold a strategy meeting.",
        },
    )
    assert response.headers["Location"].endswith(f"{start}/check")
    check = page_text(client.get(f"{start}/check"))
    assert "Check your answers" in check and "Case closure or step-down" in check
    assert "you were told to contact the front door" in check
    response = client.post(f"{start}/check")
    challenge = db.session.scalar(db.select(Challenge))
    assert response.headers["Location"].endswith(f"/challenges/{challenge.id}")
    assert challenge.urgent and challenge.immediate_risk
    assert challenge.risk_advice_shown_at == datetime(2026, 12, 17, 10, 0)
    assert challenge.stage_due_at == datetime(2026, 12, 18, 17, 0)  # urgent: 1 working day
    assert "immediate risk" in challenge.events[0].text
    # At once: the partnership's leads and both agencies' named leads.
    assert alerted(f"challenge:{challenge.id}:immediate_risk") == {
        world.worker_a.id,
        world.worker_b.id,
        world.lead_a.id,
        world.lead_b.id,
        named.head_a.id,
        named.head_b.id,
        named.chair.id,
    }
    urgent = db.session.scalars(
        db.select(Alert).where(Alert.event == f"challenge:{challenge.id}:immediate_risk")
    ).all()
    assert all(a.urgent and a.kind == "immediate_risk" for a in urgent)
    assert all("Child One" not in a.subject for a in urgent)  # no case detail in alerts
    page = page_text(client.get(f"/challenges/{challenge.id}"))
    assert "possible immediate risk of harm" in page


def test_check_your_answers_keeps_the_answers_and_raises_from_a_threshold_view(
    client, world, named, frozen
):
    from tracker.models import ThresholdView

    frozen(datetime(2026, 12, 17, 10, 0))
    db.session.add_all(
        [
            ThresholdView(
                case_id=world.case.id,
                agency_id=world.agency_a.id,
                level="Specialist / child protection",
                reason="Repeated injuries",
                recorded_by_id=world.worker_a.id,
            ),
            ThresholdView(
                case_id=world.case.id,
                agency_id=world.agency_b.id,
                level="Early help",
                reason="No offences disclosed",
                recorded_by_id=world.worker_b.id,
            ),
        ]
    )
    db.session.commit()
    sign_in_as(client, world.worker_a)
    start = f"/cases/{world.case.id}/challenges/new"
    client.get(f"{start}?from_threshold=1")
    client.post(start, data={"immediate_risk": "no"})
    details = client.get(f"{start}/details").get_data(as_text=True)
    assert "Our view of the level of need is Specialist / child protection" in details
    assert 'value="threshold" checked' in details
    response = client.post(
        f"{start}/details",
        data={
            "about_agency_id": str(world.agency_b.id),
            "kind": "threshold",
            "what_happened": "Police rate the need as early help.",
            "outcome_wanted": "A multi-agency threshold discussion.",
            "urgent": "no",
        },
    )
    assert response.status_code == 302
    # Going back to change an answer keeps every answer given.
    details = client.get(f"{start}/details").get_data(as_text=True)
    assert "Police rate the need as early help." in details
    client.post(start + "/check")
    challenge = db.session.scalar(db.select(Challenge))
    assert challenge.threshold_view_id is not None and challenge.kind == "threshold"
    assert not challenge.urgent and challenge.stage_due_at == datetime(2026, 12, 21, 17, 0)


def test_reminder_window_and_overdue_queries_for_the_sweep(client, world, named, frozen):
    frozen(datetime(2026, 12, 17, 10, 0))
    challenge = raise_one(world)  # stage 1 due Monday 21 Dec 17:00; reminder 4 working hours
    resolved = raise_one(world)
    challenges.resolve(
        world.worker_b,
        resolved,
        challenges.Resolution(agreed="Agreed", actions=[], themes=[], practice_issue=False),
    )

    def reminded(moment):
        return [c.id for c in challenges.due_for_reminder(moment)]

    def late(moment):
        return [c.id for c in db.session.scalars(challenges.overdue(moment))]

    assert reminded(datetime(2026, 12, 18, 16, 0)) == []  # 9 working hours before
    assert reminded(datetime(2026, 12, 21, 12, 59)) == []
    assert reminded(datetime(2026, 12, 21, 13, 0)) == [challenge.id]
    assert reminded(datetime(2026, 12, 21, 16, 59)) == [challenge.id]
    assert late(datetime(2026, 12, 21, 17, 0)) == []  # due by 17:00: late only after it
    assert late(datetime(2026, 12, 21, 17, 0, 1)) == [challenge.id]
    assert reminded(datetime(2026, 12, 21, 17, 1)) == []
    assert late(datetime(2026, 12, 21, 16, 59)) == []

    sign_in_as(client, world.lead_a)
    listing = page_text(client.get("/challenges/"))
    assert "Stage 1: Practitioner to practitioner 1 open" in listing
    assert "Stage 2: Line managers / designated safeguarding leads 0 open" in listing
