from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.agency import Agency
from tracker.models.person import Person


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Case(db.Model):
    # "case" is an SQL keyword: a plain name keeps raw SQL (benchmarks, psql) simple.
    __tablename__ = "child_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    child_name: Mapped[str] = mapped_column(String(120), index=True)
    date_of_birth: Mapped[date]
    # The child's consistent identifier (CWSA 2026 s.16LC), and the pupil number schools use.
    nhs_number: Mapped[str | None] = mapped_column(String(10), index=True)
    upn: Mapped[str | None] = mapped_column(String(13))
    lead_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    lead_professional_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(10), default=CaseStatus.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    # Records governance: when it was last closed (retention runs from closure), whether the child
    # is looked after (its own retention rule), and when its personal content was disposed of.
    closed_at: Mapped[datetime | None]
    looked_after: Mapped[bool] = mapped_column(default=False)
    disposed_at: Mapped[datetime | None]

    lead_agency: Mapped[Agency] = relationship(lazy="joined")
    lead_professional: Mapped[Person | None] = relationship(foreign_keys=[lead_professional_id])
    involvements: Mapped[list[CaseAgency]] = relationship(
        back_populates="case", order_by="CaseAgency.added_at"
    )

    # Newest first (home page, case list): walked backwards until a page of visible cases is found
    # instead of sorting every case (see bench/RESULTS.md).
    __table_args__ = (Index("ix_child_case_created", "created_at", "id"),)

    @property
    def current_involvements(self) -> list[CaseAgency]:
        return [i for i in self.involvements if i.removed_at is None]

    @property
    def involved_agency_ids(self) -> set[int]:
        return {i.agency_id for i in self.current_involvements}

    def __repr__(self) -> str:
        return f"<Case {self.reference}>"


class CaseAgency(db.Model):
    """An agency's involvement in a case. Removal ends it (removed_at) and keeps the row."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    added_at: Mapped[datetime] = mapped_column(default=clock.now)
    added_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    removal_reason: Mapped[str | None] = mapped_column(String(1000))

    case: Mapped[Case] = relationship(back_populates="involvements")
    agency: Mapped[Agency] = relationship(lazy="joined")
    added_by: Mapped[Person] = relationship(foreign_keys=[added_by_id])
    removed_by: Mapped[Person | None] = relationship(foreign_keys=[removed_by_id])

    __table_args__ = (
        # The access check: "is my agency currently involved in this case?"
        Index("ix_case_agency_agency_case", "agency_id", "case_id", "removed_at"),
        Index("ix_case_agency_case", "case_id"),
    )


class CaseLink(db.Model):
    """Sibling cases. Stored in both directions so either case finds the other with one query."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"), index=True)
    linked_case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))

    linked_case: Mapped[Case] = relationship(foreign_keys=[linked_case_id])

    __table_args__ = (UniqueConstraint("case_id", "linked_case_id"),)
