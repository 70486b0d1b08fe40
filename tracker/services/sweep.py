"""The sweep: the scheduled pass that reminds before deadlines, flags what is overdue, escalates
challenges whose stage deadline passed, and alerts the named leads. Nobody has to remember to chase.

`run_sweep(now)` does five things, each touching only open items inside its window through an
indexed query (never the whole history):

1. concerns due within CONCERN_REMINDER_HOURS working hours: remind the receiving agency's people;
2. concerns past due without a response: alert the receiving agency's stage-1 lead and the sender,
   and (the procedure's auto_open_challenge_for_unanswered_concern) open a stage-1 challenge, the
   scheduler's act for the sender, audited with it in one transaction;
3. challenge stages near their deadline: remind the stage's named leads (not a stage that began
   inside its window: the alert that opened it gave the deadline; challenges.began_due_soon);
4. stage deadlines passed without an outcome: escalate (challenges.escalate_overdue records why),
   alert the new stage's leads and the raiser; past the last stage, alert the partnership's leads
   at most once a local day until it is resolved;
5. stale lived experience and threshold disagreements: a weekly digest to each lead professional's
   agency leads;
6. shares nobody at a receiving agency has opened SHARE_UNVIEWED_WORKING_DAYS working days after
   they were recorded: remind that agency's people once ("share_recipient:12:unviewed").

One pass is complete: a second pass at the same moment finds nothing left to do (no step
leaves work that only an earlier step of the next pass would see).

Exactly once: every alert has an event key (e.g. "concern:12:overdue"); with the recipient it is
the alert's unique key, so a repeated, restarted or concurrent sweep adds nothing. Safe to kill:
each item is its own transaction (alerts, challenge and audit together), so a kill loses at most
the item in hand, which the next sweep redoes. One at a time: on PostgreSQL the sweep holds a
session advisory lock for its whole run (a transaction lock would end at the first item's
commit); the server drops it if the process dies. On SQLite the single writer serialises each
item's transaction and each item re-checks its state inside it.

Test hook: TRACKER_SWEEP_TEST_PAUSE=<seconds> makes the sweep sleep after each item it commits,
so a fault test can SIGKILL the process in the middle of a sweep. Unset, it costs nothing.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, text

from tracker.extensions import db
from tracker.models import (
    OPEN_CONCERN_STATES,
    Alert,
    AlertKind,
    Case,
    CaseStatus,
    Challenge,
    ChallengeKind,
    Concern,
    Person,
    Priority,
    Role,
    Share,
    ThresholdView,
)
from tracker.services import alerts, challenges, leads, locks, notes, procedure, workdays

CHUNK = 500
# A reminder window is in working hours; in wall-clock time it cannot span more than this (the
# longest run of non-working days is a weekend next to the Christmas bank holidays).
REMINDER_HORIZON = timedelta(days=14)


def _pause() -> None:
    """The fault tests' hook (see the module docstring)."""
    seconds = os.environ.get("TRACKER_SWEEP_TEST_PAUSE")
    if seconds:
        time.sleep(float(seconds))


@contextmanager
def _sweep_lock() -> Iterator[bool]:
    """True while this process is the only one sweeping (PostgreSQL: session advisory lock)."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    key = locks.lock_key("sweep")
    connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = bool(
            connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        )
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        connection.close()


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _raised(events: list[str]) -> set[str]:
    """Which of these events already have their alerts (one indexed query per chunk)."""
    found: set[str] = set()
    for chunk in _chunks(events):
        found.update(db.session.scalars(select(Alert.event).where(Alert.event.in_(chunk))))
    return found


def _present(people: list[Person]) -> list[Person]:
    """Active people not marked away (all of them if everyone is away: someone must hear)."""
    active = [p for p in people if p.active]
    here = [p for p in active if not p.away]
    return here or active


def _agency_people(agency_id: int, roles: tuple[Role, ...]) -> list[Person]:
    return list(
        db.session.scalars(
            select(Person)
            .where(
                Person.agency_id == agency_id,
                Person.active,
                Person.role.in_([r.value for r in roles]),
            )
            .order_by(Person.id)
        )
    )


def agency_leads(agency_id: int, stage: int = 1) -> list[Person]:
    """An agency's named lead for the stage (or deputy while away), else its leads by role."""
    return leads.stage_leads(agency_id, stage) or _present(_agency_people(agency_id, (Role.LEAD,)))


def _concern_path(share: Share) -> str:
    """The share's page, where the receiving agency answers (it shows no detail to others)."""
    return alerts.app_path("shares.show", share_id=share.id)


# --- 1 and 2: concerns --------------------------------------------------------------------------


def _open_concerns():
    return (
        select(Concern)
        .join(Concern.share)
        .join(Case, Case.id == Share.case_id)
        .where(
            Concern.state.in_(OPEN_CONCERN_STATES),
            Share.needs_response,
            Case.status == CaseStatus.OPEN.value,
        )
        .order_by(Concern.due_at, Concern.id)
    )


def _still_open(concern_id: int) -> Concern | None:
    """Re-read inside the item's own transaction: it may have been answered meanwhile."""
    concern = db.session.get(Concern, concern_id, populate_existing=True)
    if concern is None or concern.state not in OPEN_CONCERN_STATES:
        return None
    return concern


def remind_concerns_due(now: datetime, counts: Counter) -> None:
    hours = current_app.config["CONCERN_REMINDER_HOURS"]
    candidates = db.session.scalars(
        _open_concerns().where(Concern.due_at > now, Concern.due_at <= now + REMINDER_HORIZON)
    ).all()
    due = [c.id for c in candidates if workdays.working_hours_between(now, c.due_at) <= hours]
    done = _raised([f"concern:{i}:due_soon" for i in due])
    for concern_id in due:
        event = f"concern:{concern_id}:due_soon"
        if event in done or (concern := _still_open(concern_id)) is None:
            continue
        people = _present(_agency_people(concern.agency_id, (Role.WORKER, Role.LEAD)))
        created = alerts.raise_alert(
            event=event,
            recipients=[*people, *agency_leads(concern.agency_id)],
            kind=AlertKind.CONCERN_DUE_SOON.value,
            subject="Reminder: information shared with your agency needs a response soon",
            link=_concern_path(concern.share),
            case_id=concern.share.case_id,
            urgent=concern.share.priority == Priority.URGENT.value,
        )
        db.session.commit()
        counts["concern_reminders"] += len(created)
        _pause()


def _senders(share: Share) -> list[Person]:
    """Who shared: the person who recorded it, or the sharing agency's leads if the receiver did."""
    if share.recorded_by_agency_id == share.from_agency_id:
        return [share.recorded_by]
    return agency_leads(share.from_agency_id)


def _challenged(concern_ids: list[int]) -> set[int]:
    """Concerns that already have a challenge (open or not): never open a second one."""
    return set(
        db.session.scalars(
            select(Challenge.concern_id).where(Challenge.concern_id.in_(concern_ids))
        )
    )


def _open_challenge_for(concern: Concern) -> Challenge | None:
    """Stage 1 for an unanswered concern, opened by the scheduler for the sender (commits the
    challenge, its alerts and its challenge.auto_open audit event together)."""
    share = concern.share
    raiser = next(iter(_senders(share)), None)
    if raiser is None or not raiser.active:
        return None
    shared_at = workdays.to_local(share.current.shared_at)
    due_at = workdays.to_local(concern.due_at)
    try:
        return challenges.raise_challenge(
            raiser,
            db.session.get(Case, share.case_id),
            about_agency_id=concern.agency_id,
            kind=ChallengeKind.NO_RESPONSE.value,
            what_happened=(
                f"Information shared on {shared_at:%-d %b %Y %H:%M} asked "
                f"{concern.agency.name} for a response by {due_at:%-d %b %Y %H:%M}. No response "
                "was recorded by then, so the sweep opened this challenge automatically."
            ),
            outcome_wanted="A response to the information shared, recorded in the tracker.",
            urgent=share.priority == Priority.URGENT.value,
            concern_id=concern.id,  # links the share; it is the evidence
            scheduler_reason=(
                "concern unanswered past its due time (procedure: open a stage-1 challenge)"
            ),
        )
    except challenges.ChallengeError as error:
        # e.g. an agency no longer involved: the overdue alerts still go; nothing to open.
        db.session.commit()
        current_app.logger.warning("No challenge for concern %s: %s", concern.id, error)
        return None


def _alert_overdue(concern: Concern, event: str) -> int:
    """The receiving agency's stage-1 lead and the sender hear that a concern went unanswered."""
    share = concern.share
    urgent = share.priority == Priority.URGENT.value
    receiving = alerts.raise_alert(
        event=event,
        recipients=agency_leads(concern.agency_id),
        kind=AlertKind.CONCERN_OVERDUE.value,
        subject="Information shared with your agency is overdue for a response",
        link=_concern_path(share),
        case_id=share.case_id,
        urgent=urgent,
    )
    sending = alerts.raise_alert(
        event=event,
        recipients=_senders(share),
        kind=AlertKind.CONCERN_OVERDUE.value,
        subject="Information you shared has not been answered in time",
        link=_concern_path(share),
        case_id=share.case_id,
        urgent=urgent,
    )
    return len(receiving) + len(sending)


def flag_concerns_overdue(now: datetime, counts: Counter) -> None:
    overdue = db.session.scalars(
        _open_concerns().where(Concern.due_at < now).with_only_columns(Concern.id)
    ).all()
    auto_open = procedure.current().auto_open_challenge_for_unanswered_concern
    for chunk in _chunks(list(overdue)):
        done = _raised([f"concern:{i}:overdue" for i in chunk])
        challenged = _challenged(chunk) if auto_open else set(chunk)
        for concern_id in chunk:
            event = f"concern:{concern_id}:overdue"
            if event in done and concern_id in challenged:
                continue
            if (concern := _still_open(concern_id)) is None:
                continue
            if event not in done:
                counts["concern_overdue_alerts"] += _alert_overdue(concern, event)
            # Checked again inside this item's transaction: another sweep may have opened it.
            if auto_open and not _challenged([concern_id]):
                # raise_challenge commits the alerts above with the challenge, atomically.
                if _open_challenge_for(concern) is not None:
                    counts["challenges_opened"] += 1
            db.session.commit()
            _pause()


# --- 3 and 4: challenge stages ------------------------------------------------------------------


def remind_stages_due(now: datetime, counts: Counter) -> None:
    """Each stage's named leads hear once, within the stage's reminder window."""
    due = challenges.due_for_reminder(now)
    done = _raised([f"challenge:{c.id}:stage:{c.stage}:due_soon" for c in due])
    for challenge in due:
        event = f"challenge:{challenge.id}:stage:{challenge.stage}:due_soon"
        if event in done:
            continue
        created = alerts.raise_alert(
            event=event,
            recipients=challenges.alert_recipients(challenge),
            kind=AlertKind.CHALLENGE_DUE_SOON.value,
            subject=(
                f"Professional challenge {challenge.id}: the stage {challenge.stage} "
                "deadline is near"
            ),
            link=challenges.path(challenge),
            case_id=challenge.case_id,
            urgent=challenge.urgent,
        )
        db.session.commit()
        counts["stage_reminders"] += len(created)
        _pause()


def escalate_overdue_stages(now: datetime, counts: Counter) -> None:
    """Past a stage deadline: the next stage (challenges.escalate_overdue records why and alerts
    the new stage's leads and the raiser); past the last stage, the partnership daily."""
    today = workdays.to_local(now).date().isoformat()
    for challenge_id in db.session.scalars(
        challenges.overdue(now).with_only_columns(Challenge.id)
    ).all():
        challenge = db.session.get(Challenge, challenge_id)
        if challenge.stage < challenge.procedure.last_stage:
            if challenges.escalate_overdue(challenge, now) is not None:
                counts["challenges_escalated"] += 1
        else:
            created = alerts.raise_alert(
                event=f"challenge:{challenge.id}:unresolved:{today}",
                recipients=leads.partnership_leads(challenge.stage),
                kind=AlertKind.CHALLENGE_AT_LAST_STAGE.value,
                subject=(
                    f"Professional challenge {challenge.id} is past its last stage's deadline "
                    "and still unresolved"
                ),
                link=challenges.path(challenge),
                case_id=challenge.case_id,
                urgent=challenge.urgent,
            )
            db.session.commit()
            counts["unresolved_alerts"] += len(created)
        _pause()


# --- 5: the weekly digest -----------------------------------------------------------------------


def _disagreeing_case_ids() -> set[int]:
    """Open cases whose involved agencies' latest threshold views differ."""
    from tracker.models import CaseAgency

    rows = db.session.execute(
        select(ThresholdView.case_id, ThresholdView.agency_id, ThresholdView.level)
        .join(Case, Case.id == ThresholdView.case_id)
        .join(
            CaseAgency,
            (CaseAgency.case_id == ThresholdView.case_id)
            & (CaseAgency.agency_id == ThresholdView.agency_id)
            & CaseAgency.removed_at.is_(None),
        )
        .where(Case.status == CaseStatus.OPEN.value)
        .order_by(ThresholdView.id)
    )
    latest: dict[int, dict[int, str]] = defaultdict(dict)
    for case_id, agency_id, level in rows:
        latest[case_id][agency_id] = level
    return {case_id for case_id, views in latest.items() if len(set(views.values())) > 1}


def digest_week(now: datetime) -> str:
    year, week, _ = workdays.to_local(now).date().isocalendar()
    return f"{year}-W{week:02d}"


STALE_LIVED_EXPERIENCE = "No recent record of the child's lived experience"
THRESHOLDS_DISAGREE = "Agencies' threshold views disagree"


def digest_cases(now: datetime) -> dict[int, dict[int, list[str]]]:
    """{agency: {case id: reasons}}: open cases needing attention, by lead professional's agency."""
    today = workdays.to_local(now).date()
    reasons: dict[int, list[str]] = defaultdict(list)
    stale = notes.stale_lived_experience_cases(today).with_only_columns(Case.id)
    for case_id in db.session.scalars(stale):
        reasons[case_id].append(STALE_LIVED_EXPERIENCE)
    for case_id in _disagreeing_case_ids():
        reasons[case_id].append(THRESHOLDS_DISAGREE)
    by_agency: dict[int, dict[int, list[str]]] = defaultdict(dict)
    for chunk in _chunks(sorted(reasons)):
        rows = db.session.execute(
            select(Case.id, Case.lead_agency_id, Person.agency_id)
            .outerjoin(Person, Person.id == Case.lead_professional_id)
            .where(Case.id.in_(chunk))
        )
        for case_id, lead_agency_id, professional_agency_id in rows:
            by_agency[professional_agency_id or lead_agency_id][case_id] = reasons[case_id]
    return by_agency


def send_weekly_digest(now: datetime, counts: Counter) -> None:
    week = digest_week(now)
    event = f"digest:{week}"
    if _raised([event]):
        return  # this week's digests went out (all in one transaction)
    for agency_id, flagged in sorted(digest_cases(now).items()):
        created = alerts.raise_alert(
            event=event,
            recipients=_present(_agency_people(agency_id, (Role.LEAD,))),
            kind=AlertKind.WEEKLY_DIGEST.value,
            subject=f"Weekly digest: {len(flagged)} cases led by your agency need attention",
            link=alerts.app_path("inbox.digest"),
        )
        counts["digest_alerts"] += len(created)
    db.session.commit()
    _pause()


# --- 6: shares not yet opened by a receiving agency ---------------------------------------------


def remind_unviewed_shares(now: datetime, counts: Counter) -> None:
    days = current_app.config["SHARE_UNVIEWED_WORKING_DAYS"]
    if days <= 0:
        return
    hours = days * workdays.hours_per_working_day()
    # Working hours never pass faster than the wall clock, and only recent shares are chased:
    # a share unopened for weeks is a matter for the reports, not a fresh reminder each sweep.
    newest = now - timedelta(hours=hours)
    oldest = now - REMINDER_HORIZON - timedelta(days=2 * days)
    candidates = db.session.scalars(
        select(Concern)
        .join(Concern.share)
        .where(
            Concern.viewed_at.is_(None),
            Share.recorded_at <= newest,
            Share.recorded_at >= oldest,
        )
        .order_by(Concern.id)
    ).all()
    due = [
        r for r in candidates if workdays.working_hours_between(r.share.recorded_at, now) >= hours
    ]
    done = _raised([f"share_recipient:{r.id}:unviewed" for r in due])
    for recipient in due:
        event = f"share_recipient:{recipient.id}:unviewed"
        if event in done:
            continue
        created = alerts.raise_alert(
            event=event,
            recipients=_present(_agency_people(recipient.agency_id, (Role.WORKER, Role.LEAD))),
            kind=AlertKind.SHARE_UNVIEWED.value,
            subject="Information shared with your agency has not been opened yet",
            link=_concern_path(recipient.share),
            case_id=recipient.share.case_id,
            urgent=recipient.share.priority == Priority.URGENT.value,
        )
        db.session.commit()
        counts["unviewed_reminders"] += len(created)
        _pause()


# --- the sweep ----------------------------------------------------------------------------------


STEPS = (
    remind_concerns_due,
    flag_concerns_overdue,
    remind_stages_due,
    escalate_overdue_stages,
    send_weekly_digest,
    remind_unviewed_shares,
)
COUNTS = (
    "concern_reminders",
    "concern_overdue_alerts",
    "challenges_opened",
    "stage_reminders",
    "challenges_escalated",
    "unresolved_alerts",
    "digest_alerts",
    "unviewed_reminders",
)


def run_sweep(now: datetime) -> dict:
    """One pass at `now` (naive UTC). Returns counts of what it did."""
    counts: Counter = Counter()
    with _sweep_lock() as mine:
        if not mine:
            return {"at": now.isoformat(), "skipped": "another sweep is running"}
        for step in STEPS:
            step(now, counts)
            db.session.commit()
    return {"at": now.isoformat(), **{key: counts[key] for key in COUNTS}}
