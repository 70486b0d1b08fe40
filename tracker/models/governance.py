"""Records governance: protected sources (golden rule 5) and subject access requests.

A protected source is a person named in a share, a response or a note whose identity could put
them at risk: their name and the passages the recording agency marks are shown only to that
agency and to auditors. A subject access request is a person's request for their records; the
pack sent to them is assembled item by item, each item released, redacted or withheld.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.agency import Agency
from tracker.models.case import Case
from tracker.models.person import Person


class ProtectedItem(StrEnum):
    """What a protected source was marked on (object_id is that row's id)."""

    SHARE = "share"
    RESPONSE = "response"  # a concern (Concern) whose response names the person
    NOTE = "note"


class ProtectedSource(db.Model):
    """A person named in a record, protected from everyone but the recording agency and auditors.

    Never edited or removed: protection only ever widens (a second mark adds passages)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    item_kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int]
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))  # the recording agency
    name: Mapped[str] = mapped_column(String(120))
    passages: Mapped[str] = mapped_column(Text, default="")  # one marked passage a line
    reason: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    agency: Mapped[Agency] = relationship(lazy="joined")
    recorded_by: Mapped[Person] = relationship()

    __table_args__ = (Index("ix_protected_source_case", "case_id", "agency_id"),)

    @property
    def passage_list(self) -> list[str]:
        return [p for p in self.passages.split("\n") if p]


class RequestStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"  # the pack has been produced


class ItemDecision(StrEnum):
    PENDING = "pending"
    RELEASED = "released"
    REDACTED = "redacted"
    WITHHELD = "withheld"


ITEM_DECISION_LABELS = {
    ItemDecision.PENDING: "Not reviewed",
    ItemDecision.RELEASED: "Released",
    ItemDecision.REDACTED: "Released with redactions",
    ItemDecision.WITHHELD: "Withheld",
}


class Exemption(StrEnum):
    """Grounds for redacting or withholding (Data Protection Act 2018)."""

    SERIOUS_HARM = "sch3_serious_harm"
    CHILD_ABUSE_DATA = "sch3_part5_child_abuse_data"
    THIRD_PARTY = "sch2_part3_third_party"
    CRIME = "sch2_part1_crime"
    LEGAL_PRIVILEGE = "sch2_part4_legal_privilege"


EXEMPTION_LABELS = {
    Exemption.SERIOUS_HARM: "Serious harm to the physical or mental health of any person "
    "(DPA 2018 Schedule 3: health, social work and education data)",
    Exemption.CHILD_ABUSE_DATA: "Child abuse data not in the child's best interests "
    "(DPA 2018 Schedule 3 Part 5)",
    Exemption.THIRD_PARTY: "Information identifying a third party "
    "(DPA 2018 Schedule 2 Part 3 paragraph 16)",
    Exemption.CRIME: "Prevention or detection of crime (DPA 2018 Schedule 2 Part 1 paragraph 2)",
    Exemption.LEGAL_PRIVILEGE: "Legal professional privilege "
    "(DPA 2018 Schedule 2 Part 4 paragraph 19)",
}


class SubjectAccessRequest(db.Model):
    """A person's request for the records held about them (UK GDPR Article 15)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    requester_name: Mapped[str] = mapped_column(String(120))
    requester_relationship: Mapped[str] = mapped_column(String(120))
    # About a child's case, or about a person named in records (one or the other).
    case_id: Mapped[int | None] = mapped_column(ForeignKey("child_case.id"))
    person_named: Mapped[str | None] = mapped_column(String(120))
    received_on: Mapped[date]
    due_on: Mapped[date]  # one calendar month from receipt
    # Article 12(3): up to two further months for complex or numerous requests, with a reason.
    extended_to: Mapped[date | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.OPEN.value)
    assembled_at: Mapped[datetime | None]  # when the records were last gathered
    completed_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    case: Mapped[Case | None] = relationship()
    recorded_by: Mapped[Person] = relationship()
    items: Mapped[list[SubjectAccessItem]] = relationship(
        back_populates="request", order_by="SubjectAccessItem.id"
    )

    __table_args__ = (Index("ix_subject_access_request_status_due", "status", "due_on"),)

    @property
    def answer_by(self) -> date:
        return self.extended_to or self.due_on

    @property
    def about(self) -> str:
        if self.case is not None:
            return f"{self.case.child_name} ({self.case.reference})"
        return self.person_named or ""


class SubjectAccessItem(db.Model):
    """One record in a request's pack and the reviewer's decision on it.

    The item points at the record (a share version, response version, note version and so on,
    each immutable), not a copy: the pack is rendered from the record as it stood."""

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("subject_access_request.id"))
    kind: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int]
    occurred_at: Mapped[datetime]
    decision: Mapped[str] = mapped_column(String(20), default=ItemDecision.PENDING.value)
    exemption: Mapped[str | None] = mapped_column(String(40))
    redactions: Mapped[str | None] = mapped_column(Text)  # the passages removed, one a line
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    reviewed_at: Mapped[datetime | None]

    request: Mapped[SubjectAccessRequest] = relationship(back_populates="items")
    reviewed_by: Mapped[Person | None] = relationship()

    __table_args__ = (UniqueConstraint("request_id", "kind", "object_id"),)

    @property
    def redaction_list(self) -> list[str]:
        return [p for p in (self.redactions or "").split("\n") if p]
