"""Case notes (lived experience, capacity to change, significant events) and threshold views."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.agency import Agency
from tracker.models.person import Person


class NoteKind(StrEnum):
    LIVED_EXPERIENCE = "lived_experience"
    CAPACITY_TO_CHANGE = "capacity_to_change"
    SIGNIFICANT_EVENT = "significant_event"


class CaseNote(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    kind: Mapped[str] = mapped_column(String(30))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))  # the source agency
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    agency: Mapped[Agency] = relationship(lazy="joined")
    recorded_by: Mapped[Person] = relationship()
    versions: Mapped[list[CaseNoteVersion]] = relationship(
        back_populates="note", order_by="CaseNoteVersion.number"
    )

    __table_args__ = (
        Index("ix_case_note_case", "case_id", "id"),
        # "no lived-experience entry in N days": latest lived-experience note per case.
        Index("ix_case_note_kind_case", "kind", "case_id", "recorded_at"),
    )

    @property
    def current(self) -> CaseNoteVersion:
        return self.versions[-1]

    @property
    def amended(self) -> bool:
        return len(self.versions) > 1


class CaseNoteVersion(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    note_id: Mapped[int] = mapped_column(ForeignKey("case_note.id"))
    number: Mapped[int]
    occurred_on: Mapped[date]
    text: Mapped[str] = mapped_column(Text)
    themes: Mapped[str] = mapped_column(String(200), default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    reason: Mapped[str | None] = mapped_column(Text)

    note: Mapped[CaseNote] = relationship(back_populates="versions")
    recorded_by: Mapped[Person] = relationship()

    __table_args__ = (UniqueConstraint("note_id", "number"),)


class ThresholdView(db.Model):
    """An agency's view of the case's level of need. A new view is a new row; the latest counts."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    level: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    agency: Mapped[Agency] = relationship(lazy="joined")
    recorded_by: Mapped[Person] = relationship()

    __table_args__ = (Index("ix_threshold_view_case_agency", "case_id", "agency_id", "id"),)
