"""Professional challenges: raised, discussed, escalated stage by stage, resolved or withdrawn.

Each challenge follows the procedure snapshot it started under (stage timescales, who takes part),
so an edit of the procedure file never moves the deadlines of challenges already open. Every move
is a ChallengeEvent row plus an audit event, in one transaction. Stage deadlines come only from
the working-day service.

For the sweep (issue 5): `due_for_reminder(now)`, `overdue(now)` and `escalate_overdue(...)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from tracker import access, clock
from tracker.extensions import db
from tracker.models import (
    Agency,
    Case,
    CaseNote,
    Challenge,
    ChallengeAction,
    ChallengeEvent,
    ChallengeEvidence,
    ChallengeKind,
    ChallengeStatus,
    Concern,
    EventKind,
    NamedLead,
    Person,
    Share,
    Theme,
    ThresholdView,
)
from tracker.models.alert import AlertKind
from tracker.services import alerts, audit, chronology, leads, locks, procedure, workdays

TEXT_MAX = 5000
SCHEDULER = "scheduler"  # who the sweep's own acts are attributed to


class ChallengeError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def path(challenge: Challenge) -> str:
    """The challenge's page (alerts carry this path, never case detail)."""
    return f"/challenges/{challenge.id}"


# --- who leads each side at the current stage ---------------------------------------------------


@dataclass(frozen=True)
class Side:
    agency: Agency
    participant: str  # who takes part for this side at this stage (procedure vocabulary)
    leads: list[Person]  # who is alerted for it (the deputy while the lead is away)
    unnamed: bool  # nobody named for it: it goes to the partnership list


def sides(challenge: Challenge, stage: int | None = None) -> list[Side]:
    """The raising side and the other side at a stage (default: the current one)."""
    number = stage or challenge.stage
    rules = challenge.procedure.stage(number)
    result = []
    for agency, participant in (
        (challenge.raised_by_agency, rules.raising_side),
        (challenge.about_agency, rules.other_side),
    ):
        if participant == "partnership":
            named = leads.partnership_leads(number)
        else:
            named = leads.stage_leads(agency.id, number)
        result.append(Side(agency, participant, named, unnamed=not named))
    return result


def unnamed_warning(challenge: Challenge, stage: int | None = None) -> str | None:
    """The loud message when a side has nobody named for the stage."""
    missing = [s for s in sides(challenge, stage) if s.unnamed]
    if not missing:
        return None
    names = " and ".join(
        "the partnership" if s.participant == "partnership" else s.agency.name for s in missing
    )
    return (
        f"{names} {'has' if len(missing) == 1 else 'have'} nobody named for stage "
        f"{stage or challenge.stage}: the challenge goes to the partnership list"
    )


def alert_recipients(challenge: Challenge) -> list[Person]:
    """Who hears that the challenge reached its stage: both sides' leads, else the partnership."""
    found = sides(challenge)
    people = [p for side in found for p in side.leads]
    if any(side.unnamed for side in found):
        people += leads.partnership_leads(challenge.stage)
    return list({p.id: p for p in people}.values())


def _alert(
    challenge: Challenge,
    event: str,
    recipients: Iterable[Person],
    kind: AlertKind,
    subject: str,
    urgent: bool = False,
    sender: Person | None = None,
) -> None:
    """Alerts say who and what kind, with a link: never the child's name or case detail."""
    alerts.raise_alert(
        sender=sender,
        actor=sender,
        event=f"challenge:{challenge.id}:{event}",
        recipients=recipients,
        kind=kind.value,
        subject=subject,
        link=path(challenge),
        case_id=challenge.case_id,
        urgent=urgent or challenge.urgent,
    )


# --- raising ------------------------------------------------------------------------------------


def record_risk_advice(actor: Person, case: Case) -> datetime:
    """The raiser said the child may be at immediate risk and was told to call now: on record."""
    now = clock.now()
    audit.record(
        "challenge.immediate_risk_advice",
        object_kind="case",
        object_id=case.id,
        case_id=case.id,
        reason="Told to contact the front door or emergency services now",
        actor=actor,
    )
    db.session.commit()
    return now


def evidence_options(case: Case) -> tuple[list[Share], list[CaseNote]]:
    """The shares and notes on the case a challenge may point to."""
    shares = db.session.scalars(
        select(Share)
        .where(Share.case_id == case.id)
        .options(selectinload(Share.versions))
        .order_by(Share.id.desc())
    ).all()
    notes = db.session.scalars(
        select(CaseNote)
        .where(CaseNote.case_id == case.id)
        .options(selectinload(CaseNote.versions))
        .order_by(CaseNote.id.desc())
    ).all()
    return list(shares), list(notes)


def prefill_from_concern(actor: Person, case: Case, concern_id: int) -> dict:
    """A challenge about an unanswered concern: the agency that owes the response, the share."""
    concern = db.session.get(Concern, concern_id)
    if concern is None or concern.share.case_id != case.id:
        return {}
    due_text = f" asking for a response by {workdays.to_local(concern.due_at):%-d %B %Y %H:%M}"
    return {
        "about_agency_id": concern.agency_id if concern.agency_id != actor.agency_id else None,
        "kind": ChallengeKind.NO_RESPONSE.value,
        "share_ids": [concern.share_id],
        "concern_id": concern.id,
        "what_happened": (
            f"Information was shared with {concern.agency.name} on "
            f"{workdays.to_local(concern.share.current.shared_at):%-d %B %Y}"
            f"{due_text if concern.due_at else ''}. No response has been recorded."
        ),
    }


def prefill_from_threshold(actor: Person, case: Case) -> dict:
    """A challenge about a level-of-need decision another agency sees differently."""
    views = db.session.scalars(
        select(ThresholdView).where(ThresholdView.case_id == case.id).order_by(ThresholdView.id)
    ).all()
    latest = {view.agency_id: view for view in views}  # the newest view of each agency counts
    mine = latest.pop(actor.agency_id, None)
    theirs = next((v for v in latest.values() if mine is None or v.level != mine.level), None)
    if theirs is None:
        return {"kind": ChallengeKind.THRESHOLD.value}
    ours = f"Our view of the level of need is {mine.level}. " if mine else ""
    return {
        "about_agency_id": theirs.agency_id,
        "kind": ChallengeKind.THRESHOLD.value,
        "threshold_view_id": theirs.id,
        "what_happened": (
            f"{ours}{theirs.agency.name} recorded {theirs.level} on "
            f"{workdays.to_local(theirs.recorded_at):%-d %B %Y}: {theirs.reason}"
        ),
    }


def _check_text(field: str, value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ChallengeError(field, f"Enter {what}")
    if len(value) > TEXT_MAX:
        raise ChallengeError(
            field, f"{what[0].upper()}{what[1:]} must be {TEXT_MAX} characters or fewer"
        )
    return value


def raise_challenge(
    actor: Person,
    case: Case,
    *,
    about_agency_id: int,
    kind: str,
    what_happened: str,
    outcome_wanted: str,
    urgent: bool,
    immediate_risk: bool = False,
    risk_advice_shown_at: datetime | None = None,
    share_ids: Iterable[int] = (),
    note_ids: Iterable[int] = (),
    concern_id: int | None = None,
    threshold_view_id: int | None = None,
    scheduler_reason: str | None = None,
    commit: bool = True,
) -> Challenge:
    """Open a challenge at stage 1 under the current procedure; alert the stage's leads.

    With `scheduler_reason`, the sweep opens it for `actor` (who then owns it on the raising
    side, hears of its moves and may withdraw it, but did not raise it): the raised event, the
    audit event (challenge.auto_open, with that reason) and the alert are the scheduler's, all
    in the one transaction with the challenge. The sweep opens a batch in one transaction
    (commit=False: it commits); a refusal (ChallengeError) comes before anything is written.
    """
    if about_agency_id == actor.agency_id:
        raise ChallengeError("about_agency_id", "A challenge is about another agency, not your own")
    if about_agency_id not in case.involved_agency_ids:
        raise ChallengeError("about_agency_id", "Select an agency involved in this case")
    if kind not in set(ChallengeKind):
        raise ChallengeError("kind", "Select what the challenge is about")
    what_happened = _check_text("what_happened", what_happened, "what happened")
    outcome_wanted = _check_text("outcome_wanted", outcome_wanted, "the outcome you want")
    share_ids, note_ids = set(share_ids), set(note_ids)
    if share_ids or note_ids:  # the sweep's challenges name none: no need to load the case's
        shares, notes = evidence_options(case)
        if not share_ids <= {s.id for s in shares}:
            raise ChallengeError("share_ids", "Select shares recorded on this case")
        if not note_ids <= {n.id for n in notes}:
            raise ChallengeError("note_ids", "Select notes recorded on this case")
    if concern_id is not None:
        concern = db.session.get(Concern, concern_id)
        if concern is None or concern.share.case_id != case.id:
            raise ChallengeError("about_agency_id", "That concern is not on this case")
        share_ids.add(concern.share_id)  # the unanswered share is always evidence
    if threshold_view_id is not None:
        view = db.session.get(ThresholdView, threshold_view_id)
        if view is None or view.case_id != case.id:
            raise ChallengeError("about_agency_id", "That threshold view is not on this case")

    rules = procedure.current()
    urgent = urgent or immediate_risk  # disagreement never delays safeguarding the child
    now = clock.now()
    challenge = Challenge(
        case_id=case.id,
        raised_by_id=actor.id,
        raised_by_agency_id=actor.agency_id,
        about_agency_id=about_agency_id,
        raised_at=now,
        kind=kind,
        what_happened=what_happened,
        outcome_wanted=outcome_wanted,
        urgent=urgent,
        immediate_risk=immediate_risk,
        risk_advice_shown_at=risk_advice_shown_at if immediate_risk else None,
        stage=1,
        stage_started_at=now,
        stage_due_at=workdays.deadline(now, rules.stage(1).days(urgent)),
        status=ChallengeStatus.OPEN.value,
        procedure_version=rules.version,
        procedure_snapshot=rules.snapshot(),
        concern_id=concern_id,
        threshold_view_id=threshold_view_id,
    )
    db.session.add(challenge)
    challenge.evidence = [ChallengeEvidence(share_id=i) for i in sorted(share_ids)] + [
        ChallengeEvidence(note_id=i) for i in sorted(note_ids)
    ]
    db.session.flush()
    db.session.refresh(challenge)  # the agencies, for the stage's leads
    text = "Raised as urgent" if urgent else "Raised"
    if immediate_risk:
        text += (
            "; the raiser said the child may be at immediate risk of harm and was told to "
            "contact the front door or emergency services now"
        )
    if scheduler_reason:
        text += f" by the scheduler for {actor.name}, {actor.agency.name}: {scheduler_reason}"
    warning = unnamed_warning(challenge)
    _add_event(
        challenge,
        None if scheduler_reason else actor,
        SCHEDULER if scheduler_reason else None,
        EventKind.RAISED,
        text,
        from_stage=None,
        warning=warning,
        at=now,
        automatic=bool(scheduler_reason),
    )
    audit.record(
        "challenge.auto_open" if scheduler_reason else "challenge.raise",
        object_kind="challenge",
        object_id=challenge.id,
        case_id=case.id,
        changes=audit.changes_between(
            {},
            {
                "raised_for_id": actor.id if scheduler_reason else None,
                "about_agency_id": about_agency_id,
                "kind": kind,
                "urgent": urgent,
                "immediate_risk": immediate_risk,
                "stage": 1,
                "stage_due_at": challenge.stage_due_at,
                "procedure_version": rules.version,
                "share_ids": sorted(share_ids),
                "note_ids": sorted(note_ids),
                "concern_id": concern_id,
                "threshold_view_id": threshold_view_id,
            },
        ),
        reason=scheduler_reason,
        actor=None if scheduler_reason else actor,
        actor_label=SCHEDULER if scheduler_reason else None,
    )
    how = "opened automatically" if scheduler_reason else "raised"
    _alert(
        challenge,
        "stage:1",
        alert_recipients(challenge),
        AlertKind.CHALLENGE_RAISED,
        f"Professional challenge {challenge.id} {how}: stage 1 awaits you, {_due_by(challenge)}",
        sender=None if scheduler_reason else actor,
    )
    if immediate_risk:
        _alert(
            challenge,
            "immediate_risk",
            immediate_risk_recipients(challenge),
            AlertKind.IMMEDIATE_RISK,
            f"Immediate risk reported with professional challenge {challenge.id}",
            urgent=True,
            sender=actor,
        )
    if commit:
        db.session.commit()
    return challenge


def immediate_risk_recipients(challenge: Challenge) -> list[Person]:
    """The partnership's leads and every named lead of both agencies, at once."""
    stages = range(1, challenge.procedure.last_stage + 1)
    people = [p for n in stages for p in leads.partnership_leads(n)]
    people += [
        p
        for agency_id in (challenge.raised_by_agency_id, challenge.about_agency_id)
        for n in stages
        for p in leads.stage_leads(agency_id, n)
    ]
    return list({p.id: p for p in people}.values())


# --- moving through the stages ------------------------------------------------------------------


def _add_event(
    challenge: Challenge,
    actor: Person | None,
    actor_label: str | None,
    kind: EventKind,
    text: str,
    *,
    from_stage: int | None,
    to_stage: int | None = None,
    warning: str | None = None,
    at: datetime | None = None,
    **extra,
) -> ChallengeEvent:
    event = ChallengeEvent(
        challenge=challenge,
        at=at or clock.now(),
        kind=kind.value,
        person_id=actor.id if actor else None,
        actor_label=None if actor else actor_label,
        from_stage=from_stage,
        to_stage=to_stage if to_stage is not None else challenge.stage,
        deadline_set=challenge.stage_due_at if challenge.is_open else None,
        text=text,
        unnamed_warning=warning,
        **extra,
    )
    db.session.add(event)
    db.session.flush()
    return event


def _lock(challenge: Challenge, expected_stage: int | None) -> None:
    """Serialise moves of one challenge; refuse a form posted against a stage it has left."""
    locks.hold(challenge)
    if not challenge.is_open:
        raise ChallengeError("challenge", f"This challenge is already {challenge.status}")
    if expected_stage is not None and expected_stage != challenge.stage:
        raise ChallengeError(
            "challenge",
            f"This challenge moved to stage {challenge.stage} since you opened the page: "
            "check it and try again",
        )


def _audit(action: str, challenge: Challenge, actor, actor_label, changes, reason=None) -> None:
    audit.record(
        action,
        object_kind="challenge",
        object_id=challenge.id,
        case_id=challenge.case_id,
        changes=changes,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
    )


def record_discussion(
    actor: Person, challenge: Challenge, text: str, expected_stage: int | None = None
) -> ChallengeEvent:
    text = _check_text("text", text, "what was discussed")
    _lock(challenge, expected_stage)
    event = _add_event(
        challenge, actor, None, EventKind.DISCUSSION, text, from_stage=challenge.stage
    )
    _audit("challenge.discussion", challenge, actor, None, {"event_id": [None, event.id]})
    db.session.commit()
    return event


def _escalate(
    challenge: Challenge,
    actor: Person | None,
    actor_label: str | None,
    why: str,
    now: datetime,
    automatic: bool,
) -> ChallengeEvent:
    rules = challenge.procedure
    before = {"stage": challenge.stage, "stage_due_at": challenge.stage_due_at}
    from_stage = challenge.stage
    challenge.stage = from_stage + 1
    challenge.stage_started_at = now
    challenge.stage_due_at = workdays.deadline(
        now, rules.stage(challenge.stage).days(challenge.urgent)
    )
    warning = unnamed_warning(challenge)
    event = _add_event(
        challenge,
        actor,
        actor_label,
        EventKind.ESCALATED,
        why,
        from_stage=from_stage,
        warning=warning,
        at=now,
        automatic=automatic,
    )
    after = {"stage": challenge.stage, "stage_due_at": challenge.stage_due_at}
    _audit(
        "challenge.escalate",
        challenge,
        actor,
        actor_label,
        audit.changes_between(before, after),
        why,
    )
    recipients = alert_recipients(challenge) + [challenge.raised_by]
    _alert(
        challenge,
        f"stage:{challenge.stage}",
        recipients,
        AlertKind.CHALLENGE_ESCALATED,
        f"Professional challenge {challenge.id} escalated to stage {challenge.stage}, "
        f"{_due_by(challenge)}",
        sender=actor,
    )
    return event


def escalate(
    actor: Person, challenge: Challenge, why: str, expected_stage: int | None = None
) -> ChallengeEvent:
    """A named person moves the challenge to the next stage, saying why."""
    why = _check_text("why", why, "why it needs to go to the next stage")
    _lock(challenge, expected_stage)
    if challenge.stage >= challenge.procedure.last_stage:
        raise ChallengeError(
            "why", f"Stage {challenge.stage} is the last stage: record a discussion or resolve it"
        )
    event = _escalate(challenge, actor, None, why, clock.now(), automatic=False)
    db.session.commit()
    return event


@dataclass(frozen=True)
class AgreedAction:
    description: str
    owner: str
    due_on: date


def action_due_problems(due_dates: list[tuple[str, date | None]]) -> list[ChallengeError]:
    """An agreed action is due today or later: one problem per (field, date) that is not."""
    today = workdays.today()
    return [
        ChallengeError(field, "An action's date must be today or later")
        for field, due_on in due_dates
        if due_on is not None and due_on < today
    ]


@dataclass(frozen=True)
class Resolution:
    """What a stage's people agreed in resolving a challenge (the page and the API ask the same)."""

    agreed: str
    actions: list[AgreedAction]
    themes: Iterable[str]
    practice_issue: bool


def resolve(
    actor: Person,
    challenge: Challenge,
    resolution: Resolution,
    *,
    expected_stage: int | None = None,
) -> ChallengeEvent:
    agreed = _check_text("agreed", resolution.agreed, "what was agreed")
    actions, practice_issue = resolution.actions, resolution.practice_issue
    themes = sorted(set(resolution.themes))
    if not set(themes) <= set(Theme):
        raise ChallengeError("themes", "Select learning themes from the list")
    problems = action_due_problems([("actions", action.due_on) for action in actions])
    if problems:
        raise problems[0]
    _lock(challenge, expected_stage)
    now = clock.now()
    challenge.status = ChallengeStatus.RESOLVED.value
    challenge.closed_at = now
    event = _add_event(
        challenge,
        actor,
        None,
        EventKind.RESOLVED,
        agreed,
        from_stage=challenge.stage,
        at=now,
        learning_themes=",".join(themes),
        practice_issue=practice_issue,
    )
    db.session.add_all(
        ChallengeAction(
            event_id=event.id, description=a.description, owner=a.owner, due_on=a.due_on
        )
        for a in actions
    )
    _audit(
        "challenge.resolve",
        challenge,
        actor,
        None,
        {
            "status": [ChallengeStatus.OPEN.value, challenge.status],
            "learning_themes": [None, themes],
            "practice_issue": [None, practice_issue],
            # What was agreed, by whom and by when, as it was recorded (the trail keeps what the
            # actions said, whatever becomes of their rows).
            "actions": [
                None,
                [
                    {"description": a.description, "owner": a.owner, "due_on": a.due_on}
                    for a in actions
                ],
            ],
        },
        agreed,
    )
    _alert(
        challenge,
        f"event:{event.id}",
        alert_recipients(challenge) + [challenge.raised_by],
        AlertKind.CHALLENGE_UPDATED,
        f"Professional challenge {challenge.id} resolved",
        sender=actor,
    )
    db.session.commit()
    return event


def withdraw(actor: Person, challenge: Challenge, why: str) -> ChallengeEvent:
    """Only the raiser withdraws (the view checks access.can_withdraw)."""
    why = _check_text("why", why, "why you are withdrawing the challenge")
    _lock(challenge, None)
    now = clock.now()
    challenge.status = ChallengeStatus.WITHDRAWN.value
    challenge.closed_at = now
    event = _add_event(
        challenge, actor, None, EventKind.WITHDRAWN, why, from_stage=challenge.stage, at=now
    )
    _audit(
        "challenge.withdraw",
        challenge,
        actor,
        None,
        {"status": [ChallengeStatus.OPEN.value, challenge.status]},
        why,
    )
    _alert(
        challenge,
        f"event:{event.id}",
        alert_recipients(challenge),
        AlertKind.CHALLENGE_UPDATED,
        f"Professional challenge {challenge.id} withdrawn",
        sender=actor,
    )
    db.session.commit()
    return event


# --- for the sweep ------------------------------------------------------------------------------


def recalculate_stage_due_times(since: datetime, why: str) -> int:
    """After the working calendar changes (a closure day from `since`): every open challenge
    whose stage is due after `since` gets its deadline again from the stage's start and its own
    procedure; each move is audited (the caller commits). Alert keys name the challenge and
    stage, not the deadline, so a move never raises a reminder twice."""
    moved = 0
    for challenge in db.session.scalars(
        select(Challenge)
        .where(Challenge.status == ChallengeStatus.OPEN.value, Challenge.stage_due_at >= since)
        .order_by(Challenge.id)
    ):
        days = challenge.procedure.stage(challenge.stage).days(challenge.urgent)
        due = workdays.deadline(challenge.stage_started_at, days)
        if due == challenge.stage_due_at:
            continue
        _audit(
            "challenge.due_recalculated",
            challenge,
            None,
            "working calendar",
            {"stage_due_at": [challenge.stage_due_at, due]},
            reason=why,
        )
        challenge.stage_due_at = due
        moved += 1
    return moved


def overdue(now: datetime) -> Select[tuple[Challenge]]:
    """Open challenges whose stage deadline has passed (uses ix_challenge_status_due)."""
    return (
        select(Challenge)
        .where(Challenge.status == ChallengeStatus.OPEN.value, Challenge.stage_due_at < now)
        .order_by(Challenge.stage_due_at, Challenge.id)
    )


def due_for_reminder(now: datetime) -> list[Challenge]:
    """Open challenges not yet due whose deadline is within their stage's reminder window.

    The window is in working hours and comes from each challenge's own procedure snapshot; the
    query narrows by a calendar bound first so only challenges near their deadline are loaded.
    The bound is the widest window of the procedures open challenges follow (not only today's
    file: a challenge keeps the procedure it started under).
    """
    widest = _widest_reminder_hours(now)
    if widest is None:
        return []  # no open challenge
    bound = workdays.deadline(now, math.ceil(widest / _hours_per_working_day()) + 1)
    candidates = db.session.scalars(
        select(Challenge)
        .where(
            Challenge.status == ChallengeStatus.OPEN.value,
            Challenge.stage_due_at >= now,  # due by the deadline: at it, still due (not late)
            Challenge.stage_due_at <= bound,
        )
        .order_by(Challenge.stage_due_at, Challenge.id)
    )
    return [
        c
        for c in candidates
        if workdays.working_hours_between(now, c.stage_due_at)
        <= c.current_stage.reminder_working_hours
        and not began_due_soon(c)
    ]


def _widest_reminder_hours(now: datetime) -> int | None:
    """The widest stage reminder window (working hours) in the procedures that open challenges
    not yet due follow, or None when there are none. One query for their versions (a new one only
    when the procedure file changes), never a row per open challenge; a version's window is
    read once a process, since a version is the hash of its content."""
    versions = db.session.scalars(
        select(Challenge.procedure_version)
        .where(Challenge.status == ChallengeStatus.OPEN.value, Challenge.stage_due_at >= now)
        .distinct()
    ).all()
    return max((_widest_reminder_of(version) for version in versions), default=None)


@cache
def _widest_reminder_of(version: str) -> int:
    snapshot = db.session.scalar(
        select(Challenge.procedure_snapshot).where(Challenge.procedure_version == version).limit(1)
    )
    return max(s.reminder_working_hours for s in procedure.Procedure.from_snapshot(snapshot).stages)


def began_due_soon(challenge: Challenge) -> bool:
    """Did the current stage begin already inside its reminder window?

    Then the alert that opened the stage (raised, or escalated) is its reminder: it gives the
    deadline, and nobody gets a second alert minutes later saying the same. Urgent stages
    escalated at the end of a working day are the usual case. Depending only on the stage's own
    start and deadline (not on when the sweep runs) keeps one sweep pass complete: a second
    pass at the same moment finds no reminder the first one left for it.
    """
    return (
        workdays.working_hours_between(challenge.stage_started_at, challenge.stage_due_at)
        <= challenge.current_stage.reminder_working_hours
    )


def _due_by(challenge: Challenge) -> str:
    """The stage deadline for an alert's subject (a date says nothing about the child)."""
    return f"due by {workdays.local_time(challenge.stage_due_at)}"


def _hours_per_working_day() -> float:
    return workdays.hours_per_working_day()


def escalate_overdue(
    challenge: Challenge, now: datetime, actor_label: str = SCHEDULER
) -> ChallengeEvent | None:
    """Move a challenge whose stage deadline passed without an outcome to the next stage.

    Returns the escalation, or None when there is nothing to do (resolved meanwhile, not yet due,
    or already at the last stage: the sweep then alerts the partnership). Safe to repeat: after
    one escalation the new stage's deadline is later than `now`. Commits.
    """
    locks.hold(challenge)
    if (
        not challenge.is_open
        or challenge.stage_due_at >= now  # due *by* the deadline: past it only after
        or challenge.stage >= challenge.procedure.last_stage
    ):
        db.session.commit()
        return None
    why = (
        f"Stage {challenge.stage} deadline ({workdays.local_time(challenge.stage_due_at)})"
        " passed without an outcome: escalated automatically"
    )
    event = _escalate(challenge, None, actor_label, why, now, automatic=True)
    db.session.commit()
    return event


# --- lists --------------------------------------------------------------------------------------


def awaiting(person: Person) -> Select[tuple[Challenge]]:
    """Open challenges at a stage the person is named for, soonest deadline first."""
    named = leads.named_stages_of(person)
    partnership = set(leads.partnership_agency_ids())
    conditions = []
    for agency_id, stage in named:
        if agency_id in partnership:
            conditions.append(Challenge.stage == stage)
            # Where a side has nobody named, the partnership's leads pick it up.
            conditions.append(_unnamed_side(Challenge.raised_by_agency_id))
            conditions.append(_unnamed_side(Challenge.about_agency_id))
        else:
            conditions.append(
                (Challenge.stage == stage)
                & or_(
                    Challenge.raised_by_agency_id == agency_id,
                    Challenge.about_agency_id == agency_id,
                )
            )
    return (
        select(Challenge)
        .where(Challenge.status == ChallengeStatus.OPEN.value, or_(False, *conditions))
        .options(joinedload(Challenge.case))  # each row shows its case's reference
        .order_by(Challenge.stage_due_at, Challenge.id)
    )


def _unnamed_side(agency_column):
    return ~exists().where(
        NamedLead.agency_id == agency_column,
        NamedLead.stage == Challenge.stage,
        NamedLead.ended_at.is_(None),
    )


def open_by_stage(reader: Person) -> Select[tuple[Challenge]]:
    """The partnership list: the open challenges the reader may read (every one, for the
    partnership-wide readers), by stage, then soonest deadline. Its counts by stage are the
    whole partnership's (open_counts_by_stage): they name no case."""
    return (
        access.visible_challenges(reader)
        .where(Challenge.status == ChallengeStatus.OPEN.value)
        .order_by(Challenge.stage.desc(), Challenge.stage_due_at, Challenge.id)
    )


def open_counts_by_stage() -> dict[int, int]:
    """How many open challenges sit at each stage (the partnership list's summary)."""
    rows = db.session.execute(
        select(Challenge.stage, func.count(Challenge.id))
        .where(Challenge.status == ChallengeStatus.OPEN.value)
        .group_by(Challenge.stage)
    )
    return {stage: count for stage, count in rows}


def for_case(case: Case) -> list[Challenge]:
    return list(
        db.session.scalars(
            select(Challenge).where(Challenge.case_id == case.id).order_by(Challenge.id.desc())
        )
    )


def open_for_agency(agency_id: int, limit: int = 10) -> list[Challenge]:
    """Open challenges raised by or about an agency, soonest deadline first (home page)."""
    return list(
        db.session.scalars(
            select(Challenge)
            .where(
                Challenge.status == ChallengeStatus.OPEN.value,
                or_(
                    Challenge.raised_by_agency_id == agency_id,
                    Challenge.about_agency_id == agency_id,
                ),
            )
            .options(joinedload(Challenge.case))
            .order_by(Challenge.stage_due_at, Challenge.id)
            .limit(limit)
        )
    )


def record_view(challenge: Challenge) -> None:
    audit.record(
        "challenge.view", object_kind="challenge", object_id=challenge.id, case_id=challenge.case_id
    )
    db.session.commit()


def record_list_view(shown: list[Challenge], where: str) -> None:
    """Lists show case references: audited like case lists."""
    if shown:
        audit.record(
            "challenge.list",
            object_kind="challenge",
            changes={"page": [None, where], "shown": [None, [c.id for c in shown]]},
        )
    audit.commit_view()


@dataclass(frozen=True)
class Due:
    status: str | None  # "overdue", "due_soon" or None (for ui.due_tag)
    text: str


def due(challenge: Challenge, now: datetime | None = None) -> Due:
    """Days left or overdue, in working days, for the lists and the challenge page."""
    now = now or clock.now()
    if not challenge.is_open:
        return Due(None, challenge.status.capitalize())
    status = workdays.due_status(challenge.stage_due_at, now)
    if now > challenge.stage_due_at:
        late = workdays.working_days_overdue(challenge.stage_due_at, now)
        return Due(
            status, f"Overdue by {late} working day{'s' * (late != 1)}" if late else "Overdue"
        )
    left = workdays.working_days_between(
        workdays.to_local(now).date(), workdays.to_local(challenge.stage_due_at).date()
    )
    if left == 0:
        return Due(status, "Due today")
    return Due(status, f"{left} working day{'s' * (left != 1)} left")


def dues(shown: Iterable[Challenge], now: datetime) -> dict[int, Due]:
    """due() of each challenge a page lists, keyed by id, for the view to hand to its template."""
    return {challenge.id: due(challenge, now) for challenge in shown}


# --- the chronology -----------------------------------------------------------------------------


def _stage_in_words(challenge: Challenge, number: int | None) -> str:
    """ "stage 2 (line managers)": the number and the name the challenge's procedure gave it."""
    if not number:
        return "stage 1"
    try:
        return f"stage {number} ({challenge.procedure.stage(number).name})"
    except IndexError:
        return f"stage {number}"


def _in_words(challenge: Challenge, event: ChallengeEvent) -> str:
    """What happened, for the chronology: after the challenge's reference (the link), the stage
    and its outcome in words, then what was said."""
    stage = _stage_in_words(challenge, event.from_stage)
    if event.kind == EventKind.RAISED.value:
        # The event's text starts with what this sentence already says ("Raised as urgent").
        said = event.text.removeprefix("Raised as urgent").removeprefix("Raised").lstrip("; ")
        return (
            f"raised by {challenge.raised_by_agency.name} about "
            f"{challenge.about_agency.name}'s {challenge.kind_label.lower()}"
            f"{' (urgent)' if challenge.urgent else ''}; "
            f"{_stage_in_words(challenge, 1)} began."
            + (f" {said[:1].upper()}{said[1:]}." if said else "")
        )
    if event.kind == EventKind.ESCALATED.value:
        return (
            f"escalated from {stage} to {_stage_in_words(challenge, event.to_stage)}"
            f"{' automatically' if event.person is None else ''}. Why: {event.text}"
        )
    if event.kind == EventKind.RESOLVED.value:
        return f"resolved at {stage}. Agreed: {event.text}"
    if event.kind == EventKind.WITHDRAWN.value:
        return f"withdrawn at {stage}. Why: {event.text}"
    return f"{event.kind_label.lower()} at {stage}: {event.text}"


def chronology_entries(case_id: int) -> list[chronology.Entry]:
    """Every challenge transition on the case, for its chronology (two queries)."""
    events = db.session.scalars(
        select(ChallengeEvent)
        .join(Challenge, ChallengeEvent.challenge_id == Challenge.id)
        .where(Challenge.case_id == case_id)
        .options(selectinload(ChallengeEvent.person), selectinload(ChallengeEvent.challenge))
        .order_by(ChallengeEvent.id)
    )
    entries = []
    for event in events:
        challenge = event.challenge
        agency = event.person.agency if event.person else challenge.raised_by_agency
        what = _in_words(challenge, event)
        entries.append(
            chronology.Entry(
                at=event.at,
                kind="challenge",
                agency_id=agency.id,
                agency_name=agency.name,
                recorder=event.who,
                what=what,
                themes=tuple(event.learning_themes.split(",")) if event.learning_themes else (),
                link=("challenges.show", {"challenge_id": challenge.id}),
                link_text=f"Challenge {challenge.id}",
            )
        )
    return entries


chronology.register_source("challenge", "Professional challenge", chronology_entries)
