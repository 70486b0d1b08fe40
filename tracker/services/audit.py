"""The audit trail: one append-only, hash-chained event per change and per view of case data.

Canonical serialisation (what each event's hash covers), kept stable forever:

    sha256( JSON of {field: value for field in HASHED_FIELDS}
            with keys sorted, separators (",", ":"), UTF-8, no ASCII escaping;
            datetimes as ISO 8601 with microseconds, naive UTC, e.g. "2026-12-24T09:00:00.000000";
            None as null; "changes" is the stored canonical JSON text itself )

"prev_hash" is one of the hashed fields, so each event commits to the whole chain before it; the
first event's prev_hash is GENESIS. Ids are assigned here, gapless, under a lock held until the
transaction ends, so concurrent writers queue instead of forking the chain, and a removed row
shows as a gap.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import Select, select

from tracker.extensions import db
from tracker.models import Agency, AuditEvent, Case, Person, Role
from tracker.services import clock, locks, workdays

GENESIS = "0" * 64
HASHED_FIELDS = (
    "id",
    "at",
    "person_id",
    "person_name",
    "agency_id",
    "role",
    "address",
    "user_agent",
    "action",
    "object_kind",
    "object_id",
    "case_id",
    "changes",
    "reason",
    "prev_hash",
)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(_json_value(v) for v in value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(_json_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_hash(event: AuditEvent) -> str:
    payload = {field: getattr(event, field) for field in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose values differ."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _request_origin() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    agent = request.user_agent.string or None
    return request.remote_addr, agent[:300] if agent else None


def _current_person() -> Person | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def record(
    action: str,
    *,
    object_kind: str | None = None,
    object_id: int | None = None,
    case_id: int | None = None,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
    actor: Person | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (the caller commits).

    The actor defaults to the signed-in person; the scheduler passes actor_label="scheduler".
    """
    person = actor or _current_person()
    address, agent = _request_origin()
    locks.serialise("audit_event")
    db.session.flush()  # earlier events of this transaction count as the head
    head = db.session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    event = AuditEvent(
        id=(head.id + 1) if head else 1,
        at=clock.now(),
        person_id=person.id if person else None,
        person_name=person.name if person else actor_label,
        agency_id=person.agency_id if person else None,
        role=person.role if person else None,
        address=address,
        user_agent=agent,
        action=action,
        object_kind=object_kind,
        object_id=object_id,
        case_id=case_id,
        changes=canonical_json(changes or {}),
        reason=reason,
        prev_hash=head.hash if head else GENESIS,
    )
    event.hash = event_hash(event)
    db.session.add(event)
    return event


def commit_view() -> None:
    """Commit a view's audit event without expiring what the page has loaded to show.

    The rows were read in this transaction and the event records them; expiring them would make
    the template reload every row of a list with a query each (N+1, see bench/RESULTS.md).
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    broken_id: int | None = None
    problem: str | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ok {self.count} events"
        return f"broken at event {self.broken_id}: {self.problem}"


def verify(batch_size: int = 5000) -> Verification:
    """Walk the whole chain in id order, recomputing every hash. Stops at the first break."""
    expected_prev, expected_id, count = GENESIS, 1, 0
    last_id = 0
    while True:
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > last_id)
            .order_by(AuditEvent.id)
            .limit(batch_size)
        ).all()
        if not events:
            return Verification(True, count)
        for event in events:
            if event.id != expected_id:
                return Verification(False, count, expected_id, "event missing (gap in the chain)")
            if event.prev_hash != expected_prev:
                return Verification(False, count, event.id, "does not follow the event before it")
            if event_hash(event) != event.hash:
                return Verification(False, count, event.id, "content does not match its hash")
            expected_prev, expected_id, count = event.hash, event.id + 1, count + 1
            last_id = event.id
        db.session.expunge_all()  # a long chain must not fill memory


# --- Reading the trail (auditors) -----------------------------------------------------------


@dataclass(frozen=True)
class TrailFilter:
    """What an auditor searches by; None means any. Dates are local (the partnership's day)."""

    case_id: int | None = None
    person_id: int | None = None
    agency_id: int | None = None
    action: str | None = None
    from_date: date | None = None
    to_date: date | None = None

    def as_changes(self) -> dict[str, list[Any]]:
        """The search itself, for the event that records it."""
        return {k: [None, v] for k, v in self.__dict__.items() if v is not None}


def trail_query(criteria: TrailFilter) -> Select[tuple[AuditEvent]]:
    """Events matching the filter, newest first (the index on each filter column serves it)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if criteria.case_id is not None:
        query = query.where(AuditEvent.case_id == criteria.case_id)
    if criteria.person_id is not None:
        query = query.where(AuditEvent.person_id == criteria.person_id)
    if criteria.agency_id is not None:
        query = query.where(AuditEvent.agency_id == criteria.agency_id)
    if criteria.action:
        query = query.where(AuditEvent.action == criteria.action)
    if criteria.from_date is not None:
        query = query.where(
            AuditEvent.at >= workdays.to_utc(datetime.combine(criteria.from_date, time.min))
        )
    if criteria.to_date is not None:
        day_after = criteria.to_date + timedelta(days=1)
        query = query.where(AuditEvent.at < workdays.to_utc(datetime.combine(day_after, time.min)))
    return query


def case_trail(case_id: int) -> Select[tuple[AuditEvent]]:
    """A case's full history, oldest first."""
    return select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)


def actions() -> list[str]:
    return list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )


def head() -> AuditEvent | None:
    """The newest event: its hash commits to the whole chain up to now."""
    return db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


@dataclass(frozen=True)
class TrailRow:
    """One event as an auditor reads it, with names resolved and changes unpacked."""

    event: AuditEvent
    agency_name: str | None
    case_reference: str | None

    @property
    def changes(self) -> dict[str, list[Any]]:
        return json.loads(self.event.changes)

    @property
    def role_label(self) -> str | None:
        return Role(self.event.role).label if self.event.role else None

    @property
    def browser(self) -> str:
        from tracker.services import readable

        return readable.browser(self.event.user_agent)

    @property
    def readable_changes(self) -> list[tuple[str, str]]:
        from tracker.services import readable

        return readable.changes(self.changes)


def trail_rows(events: list[AuditEvent]) -> list[TrailRow]:
    """Resolve agency names and case references for a page of events in two queries."""
    agency_ids = {e.agency_id for e in events if e.agency_id}
    case_ids = {e.case_id for e in events if e.case_id}
    agencies = dict(
        db.session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))).all()
    )
    references = dict(
        db.session.execute(select(Case.id, Case.reference).where(Case.id.in_(case_ids))).all()
    )
    return [TrailRow(e, agencies.get(e.agency_id), references.get(e.case_id)) for e in events]


def record_trail_view(what: str, *, case_id: int | None = None, changes=None) -> None:
    """Reading the trail is itself audited (who looked at whose history, and what they asked)."""
    record(
        what,
        object_kind="case" if case_id else "audit_trail",
        object_id=case_id,
        case_id=case_id,
        changes=changes,
    )
    db.session.commit()
