"""Demo information sharing for the demo partnership (called from tracker/demo.py).

Histories are dated relative to when the demo is loaded, so some concerns are answered on time,
some late, and a few are open and overdue on the day. The rows are written directly with their
past dates (the services stamp "now"); the audit trail says honestly that the demo loader added
them, now.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlalchemy import select

from tracker import clock
from tracker.extensions import db
from tracker.models import (
    AgencyKind,
    Case,
    CaseNote,
    CaseNoteVersion,
    ConcernResponse,
    ConcernState,
    NoShareDecision,
    Person,
    Role,
    Share,
    ShareRecipient,
    ShareVersion,
    Theme,
    ThresholdView,
)
from tracker.services import audit, no_share, notes, sharing, workdays

SHARES = [
    (
        "Child arrived at school hungry on three days this week; no coat in cold weather",
        "To find out whether other agencies have seen signs of neglect",
    ),
    (
        "Police attended a domestic abuse incident at the home last night; the child was present",
        "Operation Encompass notification so school can support the child today",
    ),
    (
        "Missed health appointments: 12-month review and two immunisations",
        "To check whether the family has moved or needs support to attend",
    ),
    (
        "Mother's new partner has a conviction for violence against a previous partner",
        "So agencies can assess the risk to the child in the household",
    ),
    (
        "Rent arrears and a notice seeking possession served on the family",
        "Housing instability may affect the child's schooling and safety",
    ),
    (
        "A&E attendance with a bruise to the upper arm; explanation inconsistent with injury",
        "To check for earlier injuries and previous concerns",
    ),
    (
        "Young person seen with older adults not known to the family, late at night",
        "Possible exploitation: to share intelligence and plan a response",
    ),
    (
        "Father released from custody; licence conditions include no contact with the child",
        "So agencies know the conditions and report any breach",
    ),
]
# Each answer talks about the work of the agency giving it.
RESPONSES = {
    AgencyKind.CHILDRENS_SOCIAL_CARE: [
        (
            "Home visit completed; child seen alone and spoke about home",
            "Strategy discussion booked",
        ),
        ("Social worker reviewed the plan with the family; contact arrangements tightened", None),
    ],
    AgencyKind.POLICE: [
        ("Welfare check carried out by officers; no concerns for immediate safety", "Will update"),
        ("Checked police records: two earlier call-outs to the address in 2024", None),
    ],
    AgencyKind.HEALTH: [
        ("Health visitor will visit this week and offer a new appointment", "Review in 2 weeks"),
        ("GP records checked: missed immunisations; practice nurse will follow up", None),
    ],
    AgencyKind.EDUCATION: [
        (
            "Designated safeguarding lead spoke with the child; added to the school's watch list",
            None,
        ),
        ("Attendance checked: 86% this term; the school will phone home after any absence", None),
    ],
    AgencyKind.HOUSING: [
        ("Housing officer visited the property; repairs booked and the tenancy reviewed", None),
        ("Checked our records: no other adults are named on the tenancy", "Will share any change"),
    ],
}
# Any other agency: an answer that fits every service.
GENERAL_RESPONSES = [
    ("Checked our records: two earlier referrals in 2024, details shared by secure email", None),
    (
        "Keyworker spoke with the young person and the family; we will stay involved",
        "Review monthly",
    ),
]
LIVED = [
    "She said: \"I don't like it when Mum's friend stays over, he shouts.\"",
    "He said he makes his own breakfast because Mum is asleep. He is proud he can do it.",
    'She drew her family and left her stepfather out. Said: "He\'s not nice to Mum."',
    "He said his favourite place is his nan's because it is quiet and there is food.",
    "She told her teacher she is worried about her little brother at night.",
]
CAPACITY = [
    "Mother attended 2 of 6 parenting sessions; said she will come next week but did not.",
    "Father has engaged well with the drug service for 8 weeks; tests negative.",
]
EVENTS = [
    "Family moved to temporary accommodation across the borough.",
    "Child protection conference held; plan under category of neglect.",
]
THEMES = [t.value for t in Theme]


def is_loaded() -> bool:
    return db.session.scalar(select(Share.id).limit(1)) is not None


def _working_moment(rng: random.Random, days_ago: int) -> datetime:
    """Office hours on the working day `days_ago` days before now, or the one before (UTC)."""
    local_day = workdays.to_local(clock.now()).date() - timedelta(days=days_ago)
    while not workdays.is_working_day(local_day):
        local_day -= timedelta(days=1)
    moment = time(rng.randint(9, 16), rng.choice([0, 30]))
    return workdays.to_utc(datetime.combine(local_day, moment))


def _share(
    rng: random.Random, case: Case, sender: Person, to: list[Person], days_ago: int
) -> Share:
    now = clock.now()
    shared_at = min(_working_moment(rng, days_ago), now - timedelta(hours=1))
    summary, purpose = rng.choice(SHARES)
    needs_response = rng.random() < 0.75
    priority = "urgent" if needs_response and rng.random() < 0.2 else "standard"
    due = sharing.due_time(shared_at, priority) if needs_response else None
    share = Share(
        case_id=case.id,
        from_agency_id=sender.agency_id,
        recorded_as=sharing.SENT,
        recorded_by_id=sender.id,
        recorded_by_agency_id=sender.agency_id,
        recorded_at=min(shared_at + timedelta(minutes=rng.randint(10, 240)), now),
        needs_response=needs_response,
        priority=priority,
    )
    consent = rng.choice(["given", "given", "not_sought", "refused"])
    db.session.add(share)
    db.session.add(
        ShareVersion(
            share=share,
            number=1,
            shared_at=shared_at,
            from_person_name=sender.name,
            method=rng.choice(["phone", "secure_email", "meeting", "multi_agency_hub"]),
            summary=summary,
            purpose=purpose,
            lawful_basis=rng.choice(["art6_1e_public_task", "art6_1c_legal_obligation"]),
            special_category="health" in summary.lower() or "A&E" in summary,
            special_category_circumstance=(
                "consent_would_prejudice_protection"
                if "health" in summary.lower() or "A&E" in summary
                else None
            ),
            identifier_absent="unknown",
            consent=consent,
            consent_reason={
                "not_sought": "Seeking consent could place the child at increased risk",
                "refused": "Mother refused; the child may be at risk of significant harm",
            }.get(consent),
            themes=",".join(sorted(rng.sample(THEMES, rng.randint(1, 2)))),
            recorded_by_id=sender.id,
            recorded_at=share.recorded_at,
        )
    )
    for responder in to:
        recipient = ShareRecipient(
            share=share,
            agency_id=responder.agency_id,
            state=(ConcernState.AWAITING if needs_response else ConcernState.NOT_NEEDED).value,
            due_at=due,
        )
        db.session.add(recipient)
        if due is not None:
            _answer(rng, recipient, shared_at, due, responder)
    return share


def _answer(
    rng: random.Random,
    recipient: ShareRecipient,
    shared_at: datetime,
    due: datetime,
    responder: Person,
) -> None:
    """On time, late, acknowledged or left open, as the dates allow."""
    now = clock.now()
    roll = rng.random()
    if due < now and roll < 0.55:
        answered_at = due - timedelta(hours=rng.randint(2, 40))  # on time
    elif due < now and roll < 0.8:
        # late: during a working day one to four working days after the deadline
        answered_at = workdays.deadline(due, rng.randint(1, 4)) - timedelta(hours=rng.randint(1, 6))
    else:
        answered_at = None  # still open (overdue if past due)
    if answered_at is not None and answered_at >= now:
        answered_at = None
    if answered_at is None:
        if rng.random() < 0.4:
            recipient.state = ConcernState.ACKNOWLEDGED.value
            recipient.acknowledged_at = min(shared_at + timedelta(hours=2), now)
            recipient.acknowledged_by_id = responder.id
            recipient.viewed_at, recipient.viewed_by_id = recipient.acknowledged_at, responder.id
        return
    answers = RESPONSES.get(AgencyKind(responder.agency.kind), GENERAL_RESPONSES)
    action, next_steps = rng.choice(answers)
    recipient.state = ConcernState.RESPONDED.value
    recipient.responded_at = answered_at
    # The loop closed to the sender: opened an hour after sharing (or when answered), and what
    # the receiving agency did with it (from the response, so the demo stays repeatable).
    recipient.viewed_at = min(shared_at + timedelta(hours=1), answered_at)
    recipient.viewed_by_id = responder.id
    recipient.outcome = DEMO_OUTCOMES[answers.index((action, next_steps)) % len(DEMO_OUTCOMES)]
    recipient.outcome_at, recipient.outcome_by_id = answered_at, responder.id
    db.session.add(
        ConcernResponse(
            recipient=recipient,
            number=1,
            action_taken=action,
            next_steps=next_steps,
            recorded_by_id=responder.id,
            recorded_at=answered_at,
        )
    )


DEMO_OUTCOMES = [
    "strategy_discussion",
    "added_to_assessment",
    "no_further_action",
    "referral_made",
    "added_to_assessment",
]


def _demo_details(summary: str, purpose: str, shared_at: datetime) -> sharing.ShareDetails:
    return sharing.ShareDetails(
        shared_at=shared_at,
        method="multi_agency_hub",
        summary=summary,
        purpose=purpose,
        lawful_basis="art6_1e_public_task",
        consent="not_sought",
        consent_reason="Seeking consent could place the child at increased risk",
        themes=["information_sharing"],
    )


def load_golden_rules() -> None:
    """One of each thing issue 15 adds, through the services as people would record them: a
    decision not to share (and one revisited by a later share), a share opened by the receiving
    agency but not answered, and a red-rated concern. Once."""
    if db.session.scalar(select(NoShareDecision.id).limit(1)) is not None:
        return
    workers = {
        p.agency_id: p
        for p in db.session.scalars(
            select(Person).where(Person.role == Role.WORKER.value).order_by(Person.id)
        )
    }
    shared_cases = [
        c
        for c in db.session.scalars(select(Case).order_by(Case.id))
        if len([a for a in sorted(c.involved_agency_ids) if a in workers]) >= 2
    ]
    now = clock.now()
    with clock.restoring():
        for number, case in enumerate(shared_cases[:3]):
            sender_id, receiver_id = sorted(a for a in case.involved_agency_ids if a in workers)[:2]
            sender, receiver = workers[sender_id], workers[receiver_id]
            clock.freeze(_working_moment(random.Random(number), 3))  # noqa: S311  # nosec B311
            if number == 0:
                no_share.record_decision(
                    sender,
                    case,
                    information="Mother's disclosure of her own mental health crisis last year",
                    agency_ids=[receiver_id],
                    reason_code="more_detrimental_to_child",
                    reason="Sharing it now would put the child's placement with mother at risk "
                    "and is not needed for the enquiry; reviewed at the next core group",
                    decided_at=clock.now(),
                )
                # Opened by the receiving agency, not yet answered.
                share = sharing.record_share(
                    sender,
                    case,
                    recorded_as=sharing.SENT,
                    from_agency_id=sender_id,
                    recipients=[sharing.Recipient(receiver_id)],
                    details=_demo_details(
                        "Child told the teacher she is scared to go home at weekends",
                        "So the receiving agency can check its records and respond",
                        clock.now() - timedelta(minutes=20),
                    ),
                    needs_response=True,
                )
                clock.freeze(clock.now() + timedelta(hours=1))
                sharing.record_first_view(receiver, share)
                db.session.commit()
            elif number == 1:
                decision = no_share.record_decision(
                    sender,
                    case,
                    information="Police intelligence about the father's associates",
                    agency_ids=[receiver_id],
                    reason_code="could_prejudice_enquiry",
                    reason="An investigation is under way; sharing now could alert the suspect",
                    decided_at=clock.now(),
                )
                clock.freeze(_working_moment(random.Random(7), 1))  # noqa: S311  # nosec B311
                sharing.record_share(
                    sender,
                    case,
                    recorded_as=sharing.SENT,
                    from_agency_id=sender_id,
                    recipients=[sharing.Recipient(receiver_id)],
                    details=_demo_details(
                        "The father's associates include a person convicted of offences "
                        "against children",
                        "The arrest has been made: the risk to the child must now be managed",
                        clock.now() - timedelta(minutes=30),
                    ),
                    needs_response=False,
                    revisits_decision_id=decision.id,
                )
            else:
                # A multi-agency hub red rating: four working hours (straight through out of
                # hours), raised two hours ago.
                clock.freeze(now)
                sharing.record_share(
                    sender,
                    case,
                    recorded_as=sharing.SENT,
                    from_agency_id=sender_id,
                    recipients=[sharing.Recipient(receiver_id)],
                    details=_demo_details(
                        "Child arrived at school with a burn to the hand and would not say how",
                        "Red: a same-day response to agree whether a strategy discussion is needed",
                        now - timedelta(hours=2),
                    ),
                    needs_response=True,
                    priority="urgent",
                    rating="red",
                )


def _note(
    rng: random.Random, case: Case, author: Person, kind: str, days_ago: int, text: str
) -> CaseNote:
    recorded_at = _working_moment(rng, days_ago)
    note = CaseNote(
        case_id=case.id,
        kind=kind,
        agency_id=author.agency_id,
        recorded_by_id=author.id,
        recorded_at=recorded_at,
    )
    themes = {
        "lived_experience": Theme.LIVED_EXPERIENCE.value,
        "capacity_to_change": Theme.CAPACITY_TO_CHANGE.value,
        "significant_event": Theme.HISTORY.value,
    }[kind]
    db.session.add(note)
    db.session.add(
        CaseNoteVersion(
            note=note,
            number=1,
            occurred_on=workdays.to_local(recorded_at).date(),
            text=text,
            themes=themes,
            recorded_by_id=author.id,
            recorded_at=recorded_at,
        )
    )
    return note


def _threshold(
    rng: random.Random, case: Case, author: Person, level: str, reason: str, days_ago: int
) -> ThresholdView:
    view = ThresholdView(
        case_id=case.id,
        agency_id=author.agency_id,
        level=level,
        reason=reason,
        recorded_by_id=author.id,
        recorded_at=_working_moment(rng, days_ago),
    )
    db.session.add(view)
    return view


def load(rng: random.Random) -> None:
    """Shares, concerns, notes and threshold views on the demo cases (once)."""
    if is_loaded():
        return
    workers = {
        p.agency_id: p
        for p in db.session.scalars(select(Person).where(Person.role == Role.WORKER.value))
    }
    levels = notes.threshold_levels()
    created: list[tuple[str, object]] = []
    for number, case in enumerate(db.session.scalars(select(Case).order_by(Case.id)).all()):
        involved = sorted(a for a in case.involved_agency_ids if a in workers)
        if len(involved) < 2:
            continue
        for _ in range(rng.randint(1, 4)):
            sender = rng.choice(involved)
            others = [a for a in involved if a != sender]
            to = [workers[a] for a in rng.sample(others, rng.randint(1, min(2, len(others))))]
            created.append(("share", _share(rng, case, workers[sender], to, rng.randint(0, 35))))

        # Lived experience: recent on most cases; stale (or never recorded) on every fifth.
        planned = []
        if number % 5 != 4:
            planned.append(("lived_experience", rng.randint(1, 20), LIVED))
        elif number % 10 == 4:
            planned.append(("lived_experience", rng.randint(40, 70), LIVED))
        if number % 3 == 0:
            planned.append(("capacity_to_change", rng.randint(1, 30), CAPACITY))
        if number % 4 == 0:
            planned.append(("significant_event", rng.randint(5, 60), EVENTS))
        for kind, days_ago, texts in planned:
            author = workers[rng.choice(involved)]
            note = _note(rng, case, author, kind, days_ago, rng.choice(texts))
            created.append(("case_note", note))
        # Threshold views: agreement on most; the agencies disagree on every seventh case.
        if number % 2 == 0 or number % 7 == 0:
            level = rng.choice(levels[1:3])
            for agency_id in involved[:2]:
                disagree = number % 7 == 0 and agency_id == involved[1]
                reason = (
                    "Repeated incidents and no change after support"
                    if disagree
                    else "Needs met with a coordinated multi-agency plan"
                )
                view = _threshold(
                    rng,
                    case,
                    workers[agency_id],
                    levels[-1] if disagree else level,
                    reason,
                    rng.randint(3, 20),
                )
                created.append(("threshold_view", view))
    db.session.flush()
    _amend_one()
    records = [(kind, item.id, item.case_id) for kind, item in created]
    for share in (item for kind, item in created if kind == "share"):
        for recipient in share.recipients:
            if recipient.acknowledged_at:
                records.append(("share_recipient", recipient.id, share.case_id))
            records.extend(("concern_response", r.id, share.case_id) for r in recipient.responses)
    for kind, object_id, case_id in records:
        audit.record(
            f"{kind}.demo_load",
            object_kind=kind,
            object_id=object_id,
            case_id=case_id,
            actor_label="demo loader",
        )
    db.session.commit()


def _amend_one() -> None:
    """One amended share, so the version history can be seen."""
    share = db.session.scalar(select(Share).order_by(Share.id).limit(1))
    if share is None:
        return
    first = share.current
    details = sharing.ShareDetails.of_version(first)
    details.purpose += ". Confirmed with the designated safeguarding lead."
    version = sharing.new_version(
        share, 2, details, share.recorded_by, "Added who confirmed the purpose of sharing"
    )
    version.recorded_at = min(share.recorded_at + timedelta(hours=3), clock.now())
    db.session.add(version)
