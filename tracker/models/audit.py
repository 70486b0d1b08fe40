from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db


class AuditEvent(db.Model):
    """One append-only row: who did or saw what, when, and a leaf of the audit Merkle tree.

    Written with its own leaf hash and no lock; the sealer later gives it its leaf_index (the
    one change the database triggers allow: NULL to a number, once). The personal content
    (names, addresses, before/after values, reasons) is in AuditContent, so it can be erased at
    the end of its retention period while the leaf keeps a salted commitment to it.
    Ids are not foreign keys on purpose: the trail must outlive and never block any other row.
    See tracker/services/audit.py for the leaf bytes.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    person_id: Mapped[int | None]
    agency_id: Mapped[int | None]
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    object_kind: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    case_id: Mapped[int | None]
    content_commitment: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))
    leaf_index: Mapped[int | None] = mapped_column(BigInteger)

    content_row: Mapped[AuditContent] = relationship(
        lazy="joined", innerjoin=True, back_populates="event"
    )

    __table_args__ = (
        Index("ix_audit_event_case_id", "case_id", "id"),
        Index("ix_audit_event_person_id", "person_id", "id"),
        Index("ix_audit_event_action_at", "action", "at"),
        Index("ix_audit_event_object", "object_kind", "object_id"),
        Index("uq_audit_event_leaf_index", "leaf_index", unique=True),
        # The sealer's queue: only unsealed events are in it, so sealing follows new events.
        Index(
            "ix_audit_event_unsealed",
            "id",
            sqlite_where=db.text("leaf_index IS NULL"),
            postgresql_where=db.text("leaf_index IS NULL"),
        ),
    )

    # The content, as the pages and exports read it (None once erased).
    def _content(self) -> dict[str, Any]:
        raw = self.content_row.content if self.content_row else None
        return json.loads(raw) if raw else {}

    @property
    def person_name(self) -> str | None:
        return self._content().get("person_name")

    @property
    def address(self) -> str | None:
        return self._content().get("address")

    @property
    def user_agent(self) -> str | None:
        return self._content().get("user_agent")

    @property
    def reason(self) -> str | None:
        return self._content().get("reason")

    @property
    def changes(self) -> str:
        """The before/after values as canonical JSON text: {"field": [before, after]} (stored
        canonical already, so sorted keys and compact separators reproduce it)."""
        return json.dumps(
            self._content().get("changes", {}),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @property
    def erasure(self) -> AuditContent | None:
        return self.content_row if self.content_row and self.content_row.erased_at else None


class AuditContent(db.Model):
    """An event's personal content and the salt of its commitment; erasable, never deleted.

    Erasing blanks content and salt and records who, when, under which retention rule and why
    (and the event that recorded the erasure). Triggers allow that one change, once, and only
    with erasure_event_id naming the audit.erase_content event that records it (migration 0020);
    verification holds every erased row to the same (tracker.services.audit.unaccounted_erasure).
    """

    event_id: Mapped[int] = mapped_column(ForeignKey("audit_event.id"), primary_key=True)
    salt: Mapped[str | None] = mapped_column(String(32))
    content: Mapped[str | None] = mapped_column(Text)  # canonical JSON
    erased_at: Mapped[datetime | None]
    erased_by: Mapped[str | None] = mapped_column(String(120))
    erased_rule: Mapped[str | None] = mapped_column(String(120))
    erased_reason: Mapped[str | None] = mapped_column(Text)
    erasure_event_id: Mapped[int | None]

    event: Mapped[AuditEvent] = relationship(back_populates="content_row")


class AuditNode(db.Model):
    """A perfect subtree of the audit Merkle tree (level >= 1; level 0 is the events' leaf_hash).

    Complete subtrees never change, so the sealer only ever adds rows; proofs for any tree size
    fold at most log2(n) of them.
    """

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(db.Model):
    """A signed checkpoint (C2SP tlog-checkpoint in a signed note), as the sealer issued it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    verifier_key: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime]
