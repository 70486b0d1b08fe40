"""Raising alerts (exactly once per event and recipient) and reading the inbox.

`raise_alert` is the one way any feature creates an alert. The row's unique key (event,
recipient) plus an insert that ignores a conflict means a repeat of the same event, by a restarted
sweep, a retried request or a second scheduler, adds nothing, and never fails the caller's
transaction either (a plain INSERT would raise and roll back everything else done with it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from tracker import clock
from tracker.extensions import db
from tracker.models import Alert, DeliveryStatus, Person
from tracker.services import audit, context, settings

# What fits each column (read from the model, so a migration that widens one widens these).
SUBJECT_MAX = Alert.__table__.c.subject.type.length
SENDER_MAX = Alert.__table__.c.sender.type.length
EVENT_MAX = Alert.__table__.c.event.type.length


class AlertError(Exception):
    def __init__(self, message: str, field: str = "alert") -> None:
        super().__init__(message)
        self.field = field


def _insert():
    """The dialect's INSERT that skips a row whose (event, recipient) already exists."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Alert).on_conflict_do_nothing(
            index_elements=[Alert.event, Alert.recipient_id]
        )
    if dialect == "sqlite":
        return sqlite.insert(Alert).on_conflict_do_nothing(
            index_elements=[Alert.event, Alert.recipient_id]
        )
    raise AlertError(f"Alerts need PostgreSQL or SQLite, not {dialect}")


@dataclass(frozen=True)
class Notice:
    """One event to alert some people about (see raise_alert for what each field may say)."""

    event: str
    recipient_ids: Iterable[int]
    kind: str
    subject: str
    link: str
    case_id: int | None = None
    urgent: bool = False
    sender: str | None = None  # "name, agency" of the person whose act raised it


INSERT_ROWS = 500  # alerts per INSERT statement (well inside SQLite's bound-variable limit)


def _fit(text: str, limit: int) -> str:
    """Text shown to a person, cut to fit its column (PostgreSQL refuses a longer one)."""
    return text.strip()[:limit]


def event_key(event: str) -> str:
    """The event as stored: itself when it fits the column, else its start and a digest of the
    whole. The same event always gives the same key and different ones different keys, so a
    long event (e.g. a case match naming many cases) stays exactly-once per recipient."""
    if len(event) <= EVENT_MAX:
        return event
    digest = hashlib.sha256(event.encode()).hexdigest()
    return f"{event[: EVENT_MAX - len(digest) - 1]}#{digest}"


def raise_alert(
    *,
    event: str,
    recipients: Iterable[Person],
    kind: str,
    subject: str,
    link: str,
    case_id: int | None = None,
    urgent: bool = False,
    even_if_inactive: bool = False,
    sender: Person | None = None,
    actor: Person | None = None,
) -> list[Alert]:
    """Create one alert per (event, recipient) that does not exist yet; return the new ones.

    Runs in the caller's transaction (the caller commits) and audits each new alert. The subject
    and link are emailed: they must say only who, what kind and where, never a child's name or
    any case detail. Inactive people get nothing, except (even_if_inactive) the email telling
    them their account was deactivated. `sender` is the person whose action raised it (None: the
    tracker's own sweep), shown in the inbox. `actor` is who the audit trail says raised it: the
    caller's actor, else whoever is acting now (tracker.services.context), else the scheduler.
    """
    notice = Notice(
        event=event,
        recipient_ids=[
            p.id for p in recipients if p is not None and (p.active or even_if_inactive)
        ],
        kind=kind,
        subject=subject,
        link=link,
        case_id=case_id,
        urgent=urgent,
        sender=f"{sender.name}, {sender.agency.name}" if sender is not None else None,
    )
    created = raise_many([notice], actor)
    if not created:
        return []
    return list(db.session.scalars(select(Alert).where(Alert.id.in_(created)).order_by(Alert.id)))


def raise_many(notices: Iterable[Notice], actor: Person | None = None) -> list[int]:
    """Raise many notices with a few multi-row inserts; return the new alerts' ids.

    The recipients must already be the people to alert (active, or deliberately not). A pair
    (event, recipient) that exists, or comes twice here, is skipped: the first one stands.
    Runs in the caller's transaction (the caller commits) and audits each new alert.
    """
    now = clock.now()
    rows: list[dict] = []
    seen: set[tuple[str, int]] = set()
    for notice in notices:
        if not notice.link.startswith("/"):
            raise AlertError("An alert's link is a path in the app, starting with /", "link")
        subject = _fit(notice.subject, SUBJECT_MAX)
        sender = _fit(notice.sender, SENDER_MAX) if notice.sender is not None else None
        event = event_key(notice.event)
        for person_id in sorted(set(notice.recipient_ids)):
            if (event, person_id) in seen:
                continue
            seen.add((event, person_id))
            rows.append(
                {
                    "recipient_id": person_id,
                    "kind": notice.kind,
                    "subject": subject,
                    "link": notice.link,
                    "case_id": notice.case_id,
                    "sender": sender,
                    "event": event,
                    "created_at": now,
                    "urgent": notice.urgent,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
            )
    created = []
    for start in range(0, len(rows), INSERT_ROWS):
        returned = db.session.execute(
            _insert()
            .values(rows[start : start + INSERT_ROWS])
            .returning(Alert.id, Alert.recipient_id, Alert.kind, Alert.event, Alert.case_id)
        ).all()
        created.extend(sorted(returned))  # ids follow the rows' order; RETURNING's need not
    audit.record_many(
        [
            (
                "alert.raised",
                {
                    "object_kind": "alert",
                    "object_id": alert_id,
                    "case_id": case_id,
                    "changes": {
                        "recipient_id": [None, person_id],
                        "kind": [None, kind],
                        "event": [None, event],
                    },
                    "actor": actor,
                    "actor_label": context.SCHEDULER,
                },
            )
            for alert_id, person_id, kind, event, case_id in created
        ]
    )
    return [row[0] for row in created]


def app_path(endpoint: str, **values) -> str:
    """A page's path, built outside a request too (the scheduler raises most alerts)."""
    return settings.url_map().bind("localhost").build(endpoint, values)


def inbox_query(person: Person):
    """A person's alerts, newest first (an unread one says so)."""
    return (
        select(Alert)
        .where(Alert.recipient_id == person.id)
        .options(selectinload(Alert.case))
        .order_by(Alert.id.desc())
    )


def unread_count(person: Person) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.recipient_id == person.id, Alert.read_at.is_(None))
    )


def alert_for(person: Person, alert_id: int) -> Alert | None:
    """The person's own alert, or None (someone else's alert is not found, not forbidden)."""
    alert = db.session.get(Alert, alert_id)
    return alert if alert is not None and alert.recipient_id == person.id else None


def mark_all_read(person: Person) -> int:
    """Mark every one of one's unread alerts read; returns how many. A twin marks none again."""
    now = clock.now()
    marked = list(
        db.session.scalars(
            update(Alert)
            .where(Alert.recipient_id == person.id, Alert.read_at.is_(None))
            .values(read_at=now)
            .returning(Alert.id)
            .execution_options(synchronize_session=False)
        )
    )
    if marked:
        audit.record(
            "alert.read_all",
            object_kind="person",
            object_id=person.id,
            changes={"alerts": [None, sorted(marked)], "read_at": [None, now]},
            actor=person,
        )
    db.session.commit()
    return len(marked)


def mark_read(person: Person, alert: Alert) -> None:
    """Mark one's own alert read (once; a repeat changes nothing and audits nothing)."""
    if alert.recipient_id != person.id:
        raise AlertError("This alert is not yours")
    now = clock.now()
    # Guarded update: a double click or two tabs record one read, not two.
    changed = db.session.execute(
        update(Alert)
        .where(Alert.id == alert.id, Alert.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        audit.record(
            "alert.read",
            object_kind="alert",
            object_id=alert.id,
            case_id=alert.case_id,
            changes={"read_at": [None, now]},
            actor=person,
        )
    db.session.commit()
    db.session.refresh(alert)
