"""The audit trail: one append-only event per change and per view of case data, a leaf of a Merkle log.

Writing an event is an insert with its own leaf hash, in the caller's transaction, with no lock and
no read of any chain head: the sealer (tracker/services/transparency.py) later appends unsealed
events to the log's RFC 6962 Merkle tree and signs a checkpoint.

Leaf bytes (what the leaf hash covers), kept stable forever:

    UTF-8 JSON of {field: value for field in LEAF_FIELDS}, keys sorted, separators (",", ":"),
    no ASCII escaping; datetimes as ISO 8601 with microseconds, naive UTC, e.g.
    "2026-12-24T09:00:00.000000"; None as null.
    leaf hash = SHA-256(0x00 || leaf bytes)   (RFC 6962 2.1)

The personal content of an event (the person's name, address and browser, the before/after
values, the reason) is not in the leaf: the leaf holds `content_commitment`, the hex
SHA-256(salt || content bytes), where content bytes are the UTF-8 canonical JSON of
{"person_name", "address", "user_agent", "changes", "reason"} and salt is 16 random bytes. The
content and salt live in audit_content and can be erased (`erase_content`) without changing any
leaf, so the tree, old checkpoints and old evidence packs stay valid; a pack carries the content
and salt, so its reader can check them against the proven leaf.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row, Select, func, select, text
from sqlalchemy.orm import Session

from tracker import clock, database
from tracker.extensions import db
from tracker.models import (
    BREAK_GLASS_ACTION_SUFFIX,
    Agency,
    AuditContent,
    AuditEvent,
    Case,
    Person,
    Role,
)
from tracker.services import context, workdays
from tracker.verify_pack import content_commitment, leaf_hash

LEAF_FIELDS = (
    "id",
    "at",
    "person_id",
    "agency_id",
    "role",
    "action",
    "object_kind",
    "object_id",
    "case_id",
    "content_commitment",
)
CONTENT_FIELDS = ("person_name", "address", "user_agent", "changes", "reason")
# The event that records an erasure of content; the erased row's erasure_event_id names it, and
# both verification (transparency.verify) and the database's triggers (migration 0020) insist on it.
ERASURE_ACTION = "audit.erase_content"


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


def leaf_bytes(event: AuditEvent) -> bytes:
    return canonical_json({field: getattr(event, field) for field in LEAF_FIELDS}).encode("utf-8")


def event_leaf_hash(event: AuditEvent) -> str:
    return leaf_hash(leaf_bytes(event)).hex()


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [before, after]} for the fields whose values differ."""
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _next_ids(session: Session, count: int) -> list[int]:
    """The events' ids, known before the insert so each leaf can cover its id.

    PostgreSQL: the table's sequence (ids lost to rollbacks are gaps; the tree never depends on
    ids being gapless). SQLite: past the highest id, read under the write lock that every
    SQLite write transaction holds from BEGIN IMMEDIATE (autoflush puts this transaction's earlier
    events in the count).
    """
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('audit_event', 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
        )
    highest = session.scalar(select(func.max(AuditEvent.id))) or 0
    return list(range(highest + 1, highest + 1 + count))


def _event(
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
    """One event with its content and commitment, not yet given an id."""
    person = actor or context.actor()
    grant_id = _break_glass_grant(case_id, person)
    if grant_id is not None:
        action += BREAK_GLASS_ACTION_SUFFIX
        changes = {**(changes or {}), "break_glass_grant_id": [None, grant_id]}
    address, agent = context.origin()
    content = canonical_json(
        {
            "person_name": person.name if person else actor_label,
            "address": address,
            "user_agent": agent,
            "changes": changes or {},
            "reason": reason,
        }
    )
    salt = secrets.token_hex(16)
    event_row = AuditEvent(
        at=clock.now(),
        person_id=person.id if person else None,
        agency_id=person.agency_id if person else None,
        role=person.role if person else None,
        action=action,
        object_kind=object_kind,
        object_id=object_id,
        case_id=case_id,
        content_commitment=content_commitment(salt, content),
    )
    event_row.content_row = AuditContent(salt=salt, content=content)
    return event_row


def read_under_break_glass(case_id: int, person_id: int, grant_id: int) -> None:
    """The rest of this request reads the case under a break-glass grant (tracker.access): each
    event it records about the case carries the mark in its action, which the leaf covers."""
    context.request_scope().setdefault("break_glass_reads", {})[case_id] = (person_id, grant_id)


def _break_glass_grant(case_id: int | None, person: Person | None) -> int | None:
    if case_id is None or person is None:
        return None
    reads = context.request_scope().get("break_glass_reads", {})
    person_id, grant_id = reads.get(case_id, (None, None))
    return grant_id if person_id == person.id else None


# The events of a page that records its views together, written when it has read everything.
_views_together: ContextVar[list[AuditEvent] | None] = ContextVar(
    "audit_views_together", default=None
)


@contextmanager
def views_committed_together() -> Iterator[None]:
    """A page that records several views (the home page's lists) writes them once, when it has
    read everything: one id read, one insert a table and one disk flush, not each of these per
    list, and on SQLite the write lock is taken only then, not held while the page reads on.
    The events recorded inside get their ids at the end. Nothing is written if the page fails
    part way, as with a single view."""
    pending: list[AuditEvent] = []
    token = _views_together.set(pending)
    try:
        yield
    finally:
        _views_together.reset(token)
    _add(pending)
    commit_view()


def _add(event_rows: list[AuditEvent]) -> None:
    """Give the events their ids and leaf hashes, and add them (and their content) to the session."""
    if not event_rows:
        return
    database.upgrade_for_write(db.session)
    for event_row, event_id in zip(event_rows, _next_ids(db.session, len(event_rows)), strict=True):
        event_row.id = event_id
        event_row.content_row.event_id = event_id
        event_row.leaf_hash = event_leaf_hash(event_row)
    db.session.add_all(event_rows)


def record(action: str, **details: Any) -> AuditEvent:
    """Append one event inside the caller's transaction (the caller commits).

    Details: object_kind, object_id, case_id, changes, reason, actor, actor_label. The actor
    defaults to the one acting now (tracker.services.context: the signed-in person); with nobody
    acting, actor_label names what acted (the scheduler, the CLI).
    In a page's read transaction on SQLite, the reads end here and the event is written in a
    short write transaction (tracker/database.py), committed by commit_view().
    """
    [event_row] = record_many([(action, details)])
    return event_row


def record_many(events: list[tuple[str, dict[str, Any]]]) -> list[AuditEvent]:
    """Append many (action, details) events, in order, with one id read and one flush (a
    sweep's batch). Each event is exactly what `record` would write for it."""
    event_rows = [_event(action, **details) for action, details in events]
    pending = _views_together.get()
    if pending is None:
        _add(event_rows)
    else:
        pending.extend(event_rows)
    return event_rows


def commit_view() -> None:
    """Commit a view's audit event without expiring what the page has loaded to show.

    The rows were read in this transaction and the event records them; expiring them would make
    the template reload every row of a list with a query each (N+1, see bench/RESULTS.md).
    """
    if _views_together.get() is not None:
        return
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def erase_content(event_id: int, *, rule: str, reason: str, actor_label: str) -> AuditEvent:
    """Replace an event's personal content with an erasure record; the erasure is an event too.

    The leaf keeps its commitment, so the tree, checkpoints and packs already handed out stay
    valid. Erasing twice is refused (the first erasure stands). The erasure event names the event
    (object audit_event / event_id) and the erased row points at it (erasure_event_id), in the
    same UPDATE: the database refuses an erasure without it, and verification reports one.
    """
    row = db.session.get(AuditContent, event_id, with_for_update=True)
    if row is None:
        raise ErasureError(f"There is no audit event {event_id}")
    if row.erased_at is not None:
        raise ErasureError(
            f"Event {event_id} was already erased on {row.erased_at:%Y-%m-%d} under {row.erased_rule}"
        )
    target = db.session.get(AuditEvent, event_id)
    erasure = record(
        ERASURE_ACTION,
        object_kind="audit_event",
        object_id=event_id,
        case_id=target.case_id,
        changes={"rule": [None, rule]},
        reason=reason,
        actor_label=actor_label,
    )
    _blank(row, erasure, rule=rule, reason=reason, erased_by=actor_label)
    db.session.commit()
    return erasure


def _blank(
    row: AuditContent, erasure: AuditEvent, *, rule: str, reason: str, erased_by: str
) -> None:
    row.salt = None
    row.content = None
    row.erased_at = clock.now()
    row.erased_by = erased_by
    row.erased_rule = rule
    row.erased_reason = reason
    row.erasure_event_id = erasure.id


def erase_case_content(case_id: int, *, rule: str, reason: str, actor: Person) -> list[int]:
    """Erase the personal content of every event of a case not erased yet (a disposal), with
    one event recording the erasure; in the caller's transaction (the caller commits).

    Returns the ids of the events erased. Their leaves keep their commitments, as with
    erase_content, so the log and packs already handed out stay valid. The erasure event names
    the case (object case / case_id) and lists the events erased; each erased row points at it.
    """
    rows = db.session.scalars(
        select(AuditContent)
        .join(AuditEvent, AuditEvent.id == AuditContent.event_id)
        .where(AuditEvent.case_id == case_id, AuditContent.erased_at.is_(None))
        .order_by(AuditContent.event_id)
        .with_for_update(of=AuditContent)
    ).all()
    erased = [row.event_id for row in rows]
    erasure = record(
        ERASURE_ACTION,
        object_kind="case",
        object_id=case_id,
        case_id=case_id,
        changes={"rule": [None, rule], "events": [None, erased]},
        reason=reason,
        actor=actor,
    )
    for row in rows:
        _blank(row, erasure, rule=rule, reason=reason, erased_by=actor.name)
    return erased


def erasure_record(erasure_event_id: int | None) -> Row | None:
    """The columns of an erasure event that `unaccounted_erasure` reads (None: no such event)."""
    if erasure_event_id is None:
        return None
    return db.session.execute(
        select(
            AuditEvent.id,
            AuditEvent.action,
            AuditEvent.object_kind,
            AuditEvent.object_id,
            AuditEvent.case_id,
            AuditEvent.at,
            AuditContent.content,
        )
        .outerjoin(AuditContent, AuditContent.event_id == AuditEvent.id)
        .where(AuditEvent.id == erasure_event_id)
    ).first()


def unaccounted_erasure(event_row: AuditEvent, erasure: Row | None) -> str | None:
    """Why an event's erased content is not accounted for as erase_content and
    erase_case_content account for it (None: it is). `erasure` is erasure_record() of the row's
    erasure_event_id.

    The erasure must be an audit.erase_content event naming this event (object audit_event) or
    its case (object case); while its content stands, its rule must be the row's and, for a case,
    its list of events must hold this one. It need not be sealed yet: the next seal puts it in
    the log, in plain view, so an erasure between seals is no false alarm.
    """
    row = event_row.content_row
    if row.erasure_event_id is None:
        return "no erasure event records it"
    if erasure is None:
        return f"its erasure event {row.erasure_event_id} does not exist"
    if erasure.action not in (ERASURE_ACTION, ERASURE_ACTION + BREAK_GLASS_ACTION_SUFFIX):
        return f"event {erasure.id}, named as its erasure, is {erasure.action}, not an erasure"
    by_event = erasure.object_kind == "audit_event" and erasure.object_id == event_row.id
    by_case = (
        erasure.object_kind == "case"
        and event_row.case_id is not None
        and erasure.object_id == event_row.case_id
        and erasure.case_id == event_row.case_id
    )
    if not (by_event or by_case):
        return f"its erasure event {erasure.id} names neither this event nor its case"
    if by_case and event_row.id >= erasure.id:
        # A disposal erases the events its case had when it ran, never a later one.
        return f"its erasure event {erasure.id} is older than the event"
    if row.erased_at is None or abs((row.erased_at - erasure.at).total_seconds()) > 60:
        return f"it says it was erased at {row.erased_at}, its erasure event is at {erasure.at}"
    recorded = _erasure_content(erasure.content)
    if recorded is not None and (
        recorded.get("reason") != row.erased_reason or recorded.get("person_name") != row.erased_by
    ):
        return f"its erasure event {erasure.id} records another reason or eraser"
    # The erasure's own content may be erased in turn (its columns stand), and content that does
    # not match its commitment is reported at the erasure's own leaf.
    changes = _erasure_changes(erasure.content)
    if changes is not None:
        rule = _after(changes, "rule")
        if rule != row.erased_rule:
            return f"its erasure event {erasure.id} records rule {rule}, not {row.erased_rule}"
        events = _after(changes, "events")
        if by_case and not (isinstance(events, list) and event_row.id in events):
            return f"its erasure event {erasure.id} does not list it among the events erased"
    return None


def _erasure_content(content: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(content) if content else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _erasure_changes(content: str | None) -> dict[str, Any] | None:
    try:
        changes = json.loads(content).get("changes") if content else None
    except (ValueError, AttributeError):
        return None
    return changes if isinstance(changes, dict) else None


def _after(changes: dict[str, Any], field: str) -> Any:
    value = changes.get(field)
    return value[1] if isinstance(value, list) and len(value) == 2 else None


class ErasureError(ValueError):
    pass


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
    def erasure(self) -> AuditContent | None:
        return self.event.erasure

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
    commit_view()
