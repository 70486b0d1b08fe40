"""Records governance: the disposal review queue and legal holds.

A case's retention date comes from the retention schedule (tracker/retention.toml, see
tracker/services/retention_schedule.py); the daily review puts a case past it in the queue, a
reviewer disposes of it or defers it, and a legal hold keeps it whatever the schedule says.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.case import Case
from tracker.models.person import Person


class ReviewStatus(StrEnum):
    PENDING = "pending"
    DEFERRED = "deferred"
    DISPOSED = "disposed"

    @property
    def label(self) -> str:
        return {"pending": "Awaiting review", "deferred": "Deferred", "disposed": "Disposed of"}[
            self.value
        ]


class DisposalReview(db.Model):
    """One case in the disposal review queue, and the reviewer's decision on it.

    At most one pending item a case (a partial unique index): the daily review and a concurrent
    twin can only ever queue a case once. A deferred item stays as history; the case comes back
    to the queue on the day it was deferred to.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    rule: Mapped[str] = mapped_column(String(40))  # the schedule rule's name
    rule_label: Mapped[str] = mapped_column(String(200))
    retain_until: Mapped[date]
    queued_at: Mapped[datetime] = mapped_column(default=clock.now)
    status: Mapped[str] = mapped_column(String(10), default=ReviewStatus.PENDING.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    deferred_until: Mapped[date | None]

    case: Mapped[Case] = relationship(lazy="joined")
    decided_by: Mapped[Person | None] = relationship()

    __table_args__ = (
        Index(
            "uq_disposal_review_pending",
            "case_id",
            unique=True,
            sqlite_where=db.text("status = 'pending'"),
            postgresql_where=db.text("status = 'pending'"),
        ),
        Index("ix_disposal_review_status", "status", "id"),
        Index("ix_disposal_review_case", "case_id", "id"),
    )

    @property
    def status_label(self) -> str:
        return ReviewStatus(self.status).label


class LegalHold(db.Model):
    """A hold on a case's records (litigation, an inquiry, a case review): no disposal while it
    stands. Lifting it keeps the row, with who lifted it, when and why."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    reason: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    set_at: Mapped[datetime] = mapped_column(default=clock.now)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    lifted_at: Mapped[datetime | None]
    lift_reason: Mapped[str | None] = mapped_column(Text)

    set_by: Mapped[Person] = relationship(foreign_keys=[set_by_id])
    lifted_by: Mapped[Person | None] = relationship(foreign_keys=[lifted_by_id])

    __table_args__ = (
        # One standing hold a case: two reviewers setting one at once cannot both succeed.
        Index(
            "uq_legal_hold_standing",
            "case_id",
            unique=True,
            sqlite_where=db.text("lifted_at IS NULL"),
            postgresql_where=db.text("lifted_at IS NULL"),
        ),
        Index("ix_legal_hold_case", "case_id", "id"),
    )
