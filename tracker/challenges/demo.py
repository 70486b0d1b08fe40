"""Demo named leads and professional challenges at every stage (loaded once, with the demo).

Challenges are raised and moved through the real services with the clock set back to when each
step happened, so their deadlines, history, audit events and alerts are what the app would have
made. Some are overdue on purpose: the sweep then has something to do.
"""

from __future__ import annotations

import random
from datetime import datetime, time

from sqlalchemy import select

from tracker import clock
from tracker.extensions import db
from tracker.models import Agency, AgencyKind, Case, Challenge, NamedLead, Person
from tracker.services import challenges, leads, workdays

LOADER = "demo loader"

# (kind, what happened, outcome wanted)
STORIES = [
    (
        "threshold",
        "The referral was stepped down to early help although the school reports three "
        "unexplained bruises this term and the child says he does not want to go home.",
        "A strategy discussion and a child protection enquiry.",
    ),
    (
        "no_response",
        "We shared the mother's disclosure of a new partner with a history of violence ten "
        "days ago and asked for a check of call-outs; nothing has come back.",
        "The results of the check, and a named contact for this family.",
    ),
    (
        "closure",
        "The case was closed after two missed appointments without telling the other "
        "agencies or visiting the home.",
        "The case reopened and a joint home visit this week.",
    ),
    (
        "plan",
        "The child in need plan has no action for the school although attendance is 61%.",
        "A plan action for the school and an attendance review at the next meeting.",
    ),
    (
        "not_shared",
        "We learned from the child that police attended the home at the weekend; no "
        "notification reached the school.",
        "Notifications of domestic abuse call-outs to the school the next working day.",
    ),
]


def is_loaded() -> bool:
    return db.session.scalar(select(NamedLead.id).limit(1)) is not None


def _at(now: datetime, working_days_ago: int, hour: int) -> datetime:
    """A moment in office hours, some working days before `now`, and never after it (UTC)."""
    today = workdays.to_local(now).date()
    day = workdays.working_days_before(today, working_days_ago)
    return min(workdays.to_utc(datetime.combine(day, time(hour, 0))), now)


def _name_leads(people: dict[int, dict[str, Person]], agencies: list[Agency]) -> None:
    for number, agency in enumerate(agencies):
        staff = people.get(agency.id, {})
        if agency.kind == AgencyKind.PARTNERSHIP.value:
            if "lead" in staff:
                leads.assign(None, agency, 4, staff["lead"].id, None, actor_label=LOADER)
            continue
        worker, lead = staff.get("worker"), staff.get("lead")
        if worker is None or lead is None:
            continue
        plan = {
            1: (worker, lead),
            2: (lead, worker if number % 2 == 0 else None),  # some with deputies
            3: (lead, None),
            4: (lead, None),
        }
        for stage, (named, deputy) in plan.items():
            leads.assign(
                None, agency, stage, named.id, deputy.id if deputy else None, actor_label=LOADER
            )


def _story(case: Case, people, number: int):
    involved = sorted(a for a in case.involved_agency_ids if "worker" in people.get(a, {}))
    raiser_agency, about_agency = involved[0], involved[1]
    kind, what, wanted = STORIES[number % len(STORIES)]
    return people[raiser_agency], people[about_agency], kind, what, wanted


def load(rng: random.Random) -> None:
    """Named leads for every agency and stage, and challenges at each stage (once)."""
    if is_loaded():
        return
    agencies = list(db.session.scalars(select(Agency).order_by(Agency.id)))
    people: dict[int, dict[str, Person]] = {}
    for person in db.session.scalars(select(Person).order_by(Person.id)):
        people.setdefault(person.agency_id, {}).setdefault(person.role, person)
    _name_leads(people, agencies)

    candidates = [
        case
        for case in db.session.scalars(select(Case).order_by(Case.id))
        if len([a for a in case.involved_agency_ids if "worker" in people.get(a, {})]) >= 2
    ]
    # (working days ago raised, urgent, immediate risk, escalations [(days ago, by side)], end)
    plans = [
        (1, False, False, [], None),
        (9, False, False, [(6, "about")], None),  # stage 2, overdue
        (4, True, False, [(3, "about"), (2, "raiser")], None),  # urgent, stage 3
        (22, False, False, [(19, "about"), (13, "raiser"), (7, "auto")], None),  # stage 4
        (15, False, False, [(12, "about")], "resolved"),
        (0, True, True, [], None),  # immediate risk, raised today
    ]
    now = clock.now()
    # Each step happens at its own moment, so deadlines and the trail read as they would have.
    with clock.restoring():
        for number, (case, plan) in enumerate(zip(candidates, plans, strict=False)):
            raised_days, urgent, risk, steps, end = plan
            raiser, about, kind, what, wanted = _story(case, people, number)
            moment = _at(now, raised_days, 10)
            clock.freeze(moment)
            challenge: Challenge = challenges.raise_challenge(
                raiser["worker"],
                case,
                about_agency_id=about["worker"].agency_id,
                kind=kind,
                what_happened=what,
                outcome_wanted=wanted,
                urgent=urgent,
                immediate_risk=risk,
                risk_advice_shown_at=moment if risk else None,
            )
            for stage_number, (days_ago, side) in enumerate(steps, start=2):
                clock.freeze(_at(now, days_ago, 11))
                if side == "auto":
                    challenges.escalate_overdue(challenge, clock.now(), actor_label="scheduler")
                    continue
                acting = (about if side == "about" else raiser)[
                    "lead" if stage_number > 2 else "worker"
                ]
                challenges.record_discussion(
                    acting, challenge, "Spoke by phone; we could not agree at this stage."
                )
                challenges.escalate(
                    acting, challenge, "No agreement: it needs the next level of managers."
                )
            if end == "resolved":
                clock.freeze(_at(now, 10, 15))
                agreed = challenges.Resolution(
                    agreed="The case stays open at child in need; a joint visit is booked.",
                    actions=[
                        challenges.AgreedAction(
                            "Joint home visit with the school nurse",
                            about["worker"].name,
                            workdays.to_local(clock.now()).date(),
                        )
                    ],
                    themes=["professional_challenge", "significance_of_history"],
                    practice_issue=True,
                )
                challenges.resolve(about["lead"], challenge, agreed)
