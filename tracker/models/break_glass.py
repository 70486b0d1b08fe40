"""Break-glass: a worker's emergency read access to a case their agency is not involved in.

A grant is one request: who asked, for which case, why, and until when. It is never extended or
deleted; asking again after it expires makes a new grant (and a new alert and review item). An
auditor's review is written once onto the row (guarded: a twin review changes nothing).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.models.agency import Agency
from tracker.models.case import Case
from tracker.models.person import Person

# Added to the action of every audit event recorded while a page is read under break-glass
# ("case.view.break_glass"): the action is in the event's leaf, so the mark cannot be dropped.
BREAK_GLASS_ACTION_SUFFIX = ".break_glass"


class GrantReview(StrEnum):
    PENDING = "pending"
    APPROPRIATE = "appropriate"
    REFERRED = "referred"

    @property
    def label(self) -> str:
        return REVIEW_STATUS_LABELS[self]


REVIEW_STATUS_LABELS = {
    GrantReview.PENDING: "Awaiting review",
    GrantReview.APPROPRIATE: "Confirmed appropriate",
    GrantReview.REFERRED: "Referred",
}


class BreakGlassGrant(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    # The agency the person worked for when they asked: a move to another agency ends the grant.
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    first_opened_at: Mapped[datetime | None]
    review_status: Mapped[str] = mapped_column(String(20), default=GrantReview.PENDING.value)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reviewed_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    agency: Mapped[Agency] = relationship()
    reviewed_by: Mapped[Person | None] = relationship(foreign_keys=[reviewed_by_id])

    __table_args__ = (
        # Every case read by someone not involved asks "has this person a live grant here?"
        Index("ix_break_glass_grant_lookup", "case_id", "person_id", "expires_at"),
        # The auditors' review queue.
        Index("ix_break_glass_grant_review", "review_status", "granted_at"),
    )

    @property
    def review_label(self) -> str:
        return GrantReview(self.review_status).label
