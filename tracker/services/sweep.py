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
   agency leads (which cases: services/digest.py);
6. shares nobody at a receiving agency has opened SHARE_UNVIEWED_WORKING_DAYS working days after
   they were recorded: remind that agency's people once ("share_recipient:12:unviewed").

One pass is complete: a second pass at the same moment finds nothing left to do (no step
leaves work that only an earlier step of the next pass would see).

It works on sets, not items: who to alert (every agency's people and named leads) is loaded once
per sweep; each step finds its open items with a few queries and raises their alerts with
multi-row inserts, audited together, committing BATCH items at a time.

Exactly once: every alert has an event key (e.g. "concern:12:overdue"); with the recipient it is
the alert's unique key, and the insert skips a pair that exists, so a repeated, restarted or
concurrent sweep adds nothing. Safe to kill: a batch is one transaction (alerts and their audit
events together), and every step is idempotent by its keys, so a kill loses at most the batch in
hand, which the next sweep redoes. A challenge is opened or escalated in its own transaction,
with its own alerts and audit events. One at a time: on PostgreSQL the sweep holds a session
advisory lock for its whole run (a transaction lock would end at the first batch's commit); the
server drops it if the process dies. On SQLite the single writer serialises each batch's
transaction and each batch re-checks its items' state inside it.

Test hook: TRACKER_SWEEP_TEST_PAUSE=<seconds> makes the sweep sleep after each batch or
challenge it commits, so a fault test can SIGKILL the process in the middle of a sweep. Unset, it
costs nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from tracker.extensions import db
from tracker.models import (
    OPEN_CONCERN_STATES,
    Agency,
    Alert,
    AlertKind,
    Case,
    CaseStatus,
    Challenge,
    ChallengeKind,
    Concern,
    NamedLead,
    Person,
    Priority,
    Role,
    Share,
)
from tracker.services import (
    alerts,
    challenges,
    digest,
    leads,
    locks,
    procedure,
    settings,
    sharing,
    workdays,
)
from tracker.services.alerts import Notice

log = logging.getLogger("tracker.sweep")

CHUNK = 500  # ids per IN (...) list
BATCH = 100  # items per transaction: what a kill can cost the next sweep to redo
# A reminder window is in working hours; in wall-clock time it cannot span more than this (the
# longest run of non-working days is a weekend next to the Christmas bank holidays).
REMINDER_HORIZON = timedelta(days=14)
PRACTITIONERS = (Role.WORKER, Role.LEAD)


def _pause() -> None:
    """The fault tests' hook (see the module docstring)."""
    seconds = os.environ.get("TRACKER_SWEEP_TEST_PAUSE")
    if seconds:
        time.sleep(float(seconds))


class _Lock:
    """The sweep's lock, while it lasts: a session lock goes with its connection, so a pass
    asks before each step whether the connection (and so the lock) is still there."""

    def __init__(self, connection=None, got: bool = True) -> None:
        self.connection, self.got = connection, got

    def __bool__(self) -> bool:
        return self.got

    def still_held(self) -> bool:
        if self.connection is None:
            return True
        try:
            self.connection.exec_driver_sql("SELECT 1")
        except SQLAlchemyError:
            return False
        return True


@contextmanager
def _sweep_lock() -> Iterator[_Lock]:
    """True while this process is the only one sweeping (PostgreSQL: session advisory lock)."""
    if db.engine.dialect.name != "postgresql":
        yield _Lock()
        return
    key = locks.lock_key("sweep")
    connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        got = bool(
            connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        )
        try:
            yield _Lock(connection, got)
        finally:
            if got:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                except SQLAlchemyError:
                    pass  # the connection died, and the lock with it
    finally:
        connection.close()


def _chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _raised(events: list[str]) -> set[str]:
    """Which of these events already have their alerts (one indexed query per chunk)."""
    stored = {alerts.event_key(event): event for event in events}  # as the alerts hold them
    found: set[str] = set()
    for chunk in _chunks(list(stored)):
        found.update(
            stored[key]
            for key in db.session.scalars(select(Alert.event).where(Alert.event.in_(chunk)))
        )
    return found


@dataclass(frozen=True)
class _Member:
    id: int
    role: str
    away: bool


class _Directory:
    """Who to alert, loaded once per sweep as plain ids (a commit expires ORM objects; these
    stay): every agency's active practitioners and every current named lead."""

    def __init__(self, named: dict[tuple[int, int], NamedLead]) -> None:
        agency_ids = list(db.session.scalars(select(Agency.id)))
        self.members = {
            agency_id: [_Member(p.id, p.role, bool(p.away)) for p in people]
            for agency_id, people in leads.agency_people(agency_ids, PRACTITIONERS).items()
        }
        self.named = {key: [p.id for p in leads.alerted(row)] for key, row in named.items()}
        self.active = set(db.session.scalars(select(Person.id).where(Person.active)))

    def present(self, agency_id: int, roles: tuple[Role, ...]) -> list[int]:
        """Active people in these roles not marked away (all of them if everyone is away:
        someone must hear)."""
        people = [m for m in self.members.get(agency_id, []) if m.role in roles]
        here = [m.id for m in people if not m.away]
        return here or [m.id for m in people]

    def agency_leads(self, agency_id: int, stage: int = 1) -> list[int]:
        """An agency's named lead for the stage (or deputy while away), else its leads by role."""
        return self.named.get((agency_id, stage)) or self.present(agency_id, (Role.LEAD,))


def _concern_path(share_id: int) -> str:
    """The share's page, where the receiving agency answers (it shows no detail to others)."""
    return alerts.app_path("shares.show", share_id=share_id)


def _raise_in_batches(notices: list[tuple[int, list[Notice]]], recheck=None) -> Iterator[int]:
    """Raise each item's notices, BATCH items a transaction; yield how many alerts each batch
    created. `recheck(ids)` returns the ids still to alert inside the batch's transaction."""
    for batch in _chunks(notices, BATCH):
        keep = recheck([item for item, _ in batch]) if recheck else None
        created = alerts.raise_many(
            n for item, item_notices in batch if keep is None or item in keep for n in item_notices
        )
        db.session.commit()
        yield len(created)
        _pause()


# --- 1 and 2: concerns --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Concern:
    """What the sweep needs of an open concern, read before any commit expires the rows."""

    id: int
    agency_id: int
    share_id: int
    case_id: int
    urgent: bool
    due_at: datetime
    # who shared: the recorder (the sender's own record) or else the sending agency's leads
    recorded_by_id: int | None
    from_agency_id: int


def _open_concerns(*where) -> list[_Concern]:
    """Open concerns on open cases (sharing.open_concerns, the one rule) within `where`."""
    rows = db.session.scalars(
        sharing.open_concerns().where(Case.status == CaseStatus.OPEN.value, *where)
    )
    return [
        _Concern(
            id=c.id,
            agency_id=c.agency_id,
            share_id=c.share_id,
            case_id=c.share.case_id,
            urgent=c.share.priority == Priority.URGENT.value,
            due_at=c.due_at,
            recorded_by_id=c.share.recorded_by_id
            if c.share.recorded_by_agency_id == c.share.from_agency_id
            else None,
            from_agency_id=c.share.from_agency_id,
        )
        for c in rows
    ]


def _still_open(concern_ids: list[int]) -> set[int]:
    """Re-read inside the batch's own transaction: some may have been answered meanwhile."""
    return set(
        db.session.scalars(
            select(Concern.id).where(
                Concern.id.in_(concern_ids),
                Concern.state.in_(OPEN_CONCERN_STATES),
            )
        )
    )


def remind_concerns_due(now: datetime, counts: Counter, people: _Directory) -> None:
    hours = settings.get("CONCERN_REMINDER_HOURS")
    candidates = _open_concerns(Concern.due_at > now, Concern.due_at <= now + REMINDER_HORIZON)
    due = [c for c in candidates if workdays.working_hours_between(now, c.due_at) <= hours]
    done = _raised([f"concern:{c.id}:due_soon" for c in due])
    notices = [
        (
            c.id,
            [
                Notice(
                    event=f"concern:{c.id}:due_soon",
                    recipient_ids=[
                        *people.present(c.agency_id, PRACTITIONERS),
                        *people.agency_leads(c.agency_id),
                    ],
                    kind=AlertKind.CONCERN_DUE_SOON.value,
                    subject="Reminder: information shared with your agency needs a response soon",
                    link=_concern_path(c.share_id),
                    case_id=c.case_id,
                    urgent=c.urgent,
                )
            ],
        )
        for c in due
        if f"concern:{c.id}:due_soon" not in done
    ]
    for created in _raise_in_batches(notices, _still_open):
        counts["concern_reminders"] += created


def _senders(concern: _Concern, people: _Directory) -> list[int]:
    """Who shared: the person who recorded it, or the sharing agency's leads if the receiver did."""
    if concern.recorded_by_id is not None:
        return [concern.recorded_by_id] if concern.recorded_by_id in people.active else []
    return people.agency_leads(concern.from_agency_id)


def _challenged(concern_ids: Sequence[int]) -> set[int]:
    """Concerns that already have a challenge (open or not): never open a second one."""
    found: set[int] = set()
    for chunk in _chunks(concern_ids):
        found.update(
            db.session.scalars(select(Challenge.concern_id).where(Challenge.concern_id.in_(chunk)))
        )
    return found


def _overdue_notices(concern: _Concern, people: _Directory) -> list[Notice]:
    """The receiving agency's stage-1 lead and the sender hear that a concern went unanswered
    (someone who is both hears it as the receiving agency's lead)."""
    event = f"concern:{concern.id}:overdue"
    common = {
        "event": event,
        "kind": AlertKind.CONCERN_OVERDUE.value,
        "link": _concern_path(concern.share_id),
        "case_id": concern.case_id,
        "urgent": concern.urgent,
    }
    return [
        Notice(
            recipient_ids=people.agency_leads(concern.agency_id),
            subject="Information shared with your agency is overdue for a response",
            **common,
        ),
        Notice(
            recipient_ids=_senders(concern, people),
            subject="Information you shared has not been answered in time",
            **common,
        ),
    ]


def _open_challenge_for(concern: Concern, raiser: Person | None) -> Challenge | None:
    """Stage 1 for an unanswered concern, opened by the scheduler for the sender (commits the
    challenge, its alerts and its challenge.auto_open audit event together)."""
    share = concern.share
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
            commit=False,  # the batch commits
        )
    except challenges.ChallengeError as error:
        # e.g. an agency no longer involved: the overdue alerts still went; nothing to open.
        log.warning("No challenge for concern %s: %s", concern.id, error)
        return None


def flag_concerns_overdue(now: datetime, counts: Counter, people: _Directory) -> None:
    overdue = _open_concerns(Concern.due_at < now)
    done = _raised([f"concern:{c.id}:overdue" for c in overdue])
    notices = [
        (c.id, _overdue_notices(c, people))
        for c in overdue
        if f"concern:{c.id}:overdue" not in done
    ]
    for created in _raise_in_batches(notices, _still_open):
        counts["concern_overdue_alerts"] += created
    if not procedure.current().auto_open_challenge_for_unanswered_concern:
        return
    challenged = _challenged([c.id for c in overdue])
    to_open = [c for c in overdue if c.id not in challenged]
    for batch in _chunks(to_open, BATCH):
        # Checked again inside the batch's transaction: answered, or another sweep opened it.
        ids = _still_open([c.id for c in batch]) - _challenged([c.id for c in batch])
        raisers = {c.id: next(iter(_senders(c, people)), None) for c in batch if c.id in ids}
        concerns, persons = _load_for_challenges(ids, set(raisers.values()) - {None})
        for item in batch:
            if item.id not in ids:
                continue
            raiser = persons.get(raisers[item.id])
            if _open_challenge_for(concerns[item.id], raiser) is not None:
                counts["challenges_opened"] += 1
        db.session.commit()
        _pause()


def _load_for_challenges(
    concern_ids: set[int], person_ids: set[int]
) -> tuple[dict[int, Concern], dict[int, Person]]:
    """What opening these challenges reads, in a few queries rather than a few per challenge
    (the caller holds the rows: the session keeps only weak references to them)."""
    concerns = db.session.scalars(
        select(Concern)
        .where(Concern.id.in_(concern_ids))
        .options(
            selectinload(Concern.agency),
            selectinload(Concern.share).selectinload(Share.versions),
            selectinload(Concern.share).selectinload(Share.case).selectinload(Case.involvements),
        )
    ).all()
    persons = db.session.scalars(
        select(Person).where(Person.id.in_(person_ids)).options(selectinload(Person.agency))
    ).all()
    return {c.id: c for c in concerns}, {p.id: p for p in persons}


# --- 3 and 4: challenge stages ------------------------------------------------------------------


def remind_stages_due(now: datetime, counts: Counter, people: _Directory) -> None:
    """Each stage's named leads hear once, within the stage's reminder window."""
    due = challenges.due_for_reminder(now)
    done = _raised([f"challenge:{c.id}:stage:{c.stage}:due_soon" for c in due])
    notices = [
        (
            c.id,
            [
                Notice(
                    event=f"challenge:{c.id}:stage:{c.stage}:due_soon",
                    recipient_ids=[p.id for p in challenges.alert_recipients(c)],
                    kind=AlertKind.CHALLENGE_DUE_SOON.value,
                    subject=(
                        f"Professional challenge {c.id}: the stage {c.stage} deadline is near"
                    ),
                    link=challenges.path(c),
                    case_id=c.case_id,
                    urgent=c.urgent,
                )
            ],
        )
        for c in due
        if f"challenge:{c.id}:stage:{c.stage}:due_soon" not in done
    ]
    for created in _raise_in_batches(notices):
        counts["stage_reminders"] += created


def escalate_overdue_stages(now: datetime, counts: Counter, people: _Directory) -> None:
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
            # Under the lock a resolution or withdrawal takes: one that committed since the
            # challenge was found overdue is seen, and no "still unresolved" goes out for it.
            locks.hold(challenge)
            if not challenge.is_open:
                db.session.commit()
                continue
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


def send_weekly_digest(now: datetime, counts: Counter, people: _Directory) -> None:
    event = f"digest:{digest.digest_week(now)}"
    if _raised([event]):
        return  # this week's digests went out (all in one transaction)
    created = alerts.raise_many(
        Notice(
            event=event,
            recipient_ids=people.present(agency_id, (Role.LEAD,)),
            kind=AlertKind.WEEKLY_DIGEST.value,
            subject=f"Weekly digest: {len(flagged)} cases led by your agency need attention",
            link=alerts.app_path("inbox.digest"),
        )
        for agency_id, flagged in sorted(digest.digest_cases(now).items())
    )
    counts["digest_alerts"] += len(created)
    db.session.commit()
    _pause()


# --- 6: shares not yet opened by a receiving agency ---------------------------------------------


def remind_unviewed_shares(now: datetime, counts: Counter, people: _Directory) -> None:
    days = settings.get("SHARE_UNVIEWED_WORKING_DAYS")
    if days <= 0:
        return
    hours = days * workdays.hours_per_working_day()
    # Working hours never pass faster than the wall clock, and only recent shares are chased:
    # a share unopened for weeks is a matter for the reports, not a fresh reminder each sweep.
    newest = now - timedelta(hours=hours)
    oldest = now - REMINDER_HORIZON - timedelta(days=2 * days)
    candidates = db.session.execute(
        select(
            Concern.id,
            Concern.agency_id,
            Share.id.label("share_id"),
            Share.case_id,
            Share.priority,
            Share.recorded_at,
        )
        .join(Concern.share)
        .join(Share.case)
        .where(
            Concern.viewed_at.is_(None),
            Share.recorded_at <= newest,
            Share.recorded_at >= oldest,
            Case.status == CaseStatus.OPEN.value,  # as the concern steps: open cases only
        )
        .order_by(Concern.id)
    ).all()
    due = [r for r in candidates if workdays.working_hours_between(r.recorded_at, now) >= hours]
    done = _raised([f"share_recipient:{r.id}:unviewed" for r in due])
    notices = [
        (
            r.id,
            [
                Notice(
                    event=f"share_recipient:{r.id}:unviewed",
                    recipient_ids=people.present(r.agency_id, PRACTITIONERS),
                    kind=AlertKind.SHARE_UNVIEWED.value,
                    subject="Information shared with your agency has not been opened yet",
                    link=_concern_path(r.share_id),
                    case_id=r.case_id,
                    urgent=r.priority == Priority.URGENT.value,
                )
            ],
        )
        for r in due
        if f"share_recipient:{r.id}:unviewed" not in done
    ]
    for created in _raise_in_batches(notices):
        counts["unviewed_reminders"] += created


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
        # What the pass has read stays read across its batches' commits: each batch re-checks
        # the state it acts on with a query of its own, and nothing else changes under it that
        # matters within one pass (who leads what is read once, by design).
        session = db.session()
        session.expire_on_commit = False
        try:
            with leads.held() as named:
                people = _Directory(named)
                for step in STEPS:
                    if not mine.still_held():  # a twin may be sweeping now: leave it to them
                        log.warning("sweep lock lost mid-pass; stopping")
                        return {"at": now.isoformat(), "stopped": "the sweep lock was lost"}
                    step(now, counts, people)
                    db.session.commit()
        finally:
            session.expire_on_commit = True
    return {"at": now.isoformat(), **{key: counts[key] for key in COUNTS}}
