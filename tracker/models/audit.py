from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db


class AuditEvent(db.Model):
    """One append-only, hash-chained row: who did or saw what, when, before and after, and why.

    Ids are not foreign keys on purpose: the trail must outlive and never block any other row.
    The migration adds triggers that refuse UPDATE and DELETE. See tracker/services/audit.py for
    the canonical serialisation the hash covers.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    person_id: Mapped[int | None]
    person_name: Mapped[str | None] = mapped_column(String(120))
    agency_id: Mapped[int | None]
    role: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(60))
    object_kind: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    case_id: Mapped[int | None]
    changes: Mapped[str] = mapped_column(Text)  # canonical JSON: {"field": [before, after]}
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_event_case_id", "case_id", "id"),
        Index("ix_audit_event_person_id", "person_id", "id"),
        Index("ix_audit_event_action_at", "action", "at"),
        Index("ix_audit_event_object", "object_kind", "object_id"),
    )
