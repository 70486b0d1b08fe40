"""Information sharing: shares, their versions, the concerns they raise, and responses.

Nothing here is edited in place: a correction adds a version with a reason (ShareVersion,
ConcernResponse), and the record shows the latest with its history.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.agency import Agency
from tracker.models.case import Case
from tracker.models.person import Person


class Theme(StrEnum):
    """The learning themes of the partnership's case-review briefing (shared/seeds/)."""

    HISTORY = "significance_of_history"
    CAPACITY_TO_CHANGE = "parents_capacity_to_change"
    INFORMATION_SHARING = "information_sharing"
    PROFESSIONAL_CHALLENGE = "professional_challenge"
    LIVED_EXPERIENCE = "childs_lived_experience"

    @property
    def label(self) -> str:
        return THEME_LABELS[self]


THEME_LABELS = {
    Theme.HISTORY: "Significance of history",
    Theme.CAPACITY_TO_CHANGE: "Parents' capacity to change",
    Theme.INFORMATION_SHARING: "Information sharing",
    Theme.PROFESSIONAL_CHALLENGE: "Professional challenge",
    Theme.LIVED_EXPERIENCE: "Child's lived experience",
}


class ShareMethod(StrEnum):
    PHONE = "phone"
    SECURE_EMAIL = "secure_email"
    MEETING = "meeting"
    STRATEGY_DISCUSSION = "strategy_discussion"
    MULTI_AGENCY_HUB = "multi_agency_hub"
    PORTAL = "portal"
    LETTER = "letter"
    OTHER = "other"


class LawfulBasis(StrEnum):
    """UK GDPR Article 6 bases."""

    CONSENT = "art6_1a_consent"
    CONTRACT = "art6_1b_contract"
    LEGAL_OBLIGATION = "art6_1c_legal_obligation"
    VITAL_INTERESTS = "art6_1d_vital_interests"
    PUBLIC_TASK = "art6_1e_public_task"
    LEGITIMATE_INTERESTS = "art6_1f_legitimate_interests"
    # Data (Use and Access) Act 2025: Article 6(1)(ea) and Annex 1's safeguarding condition.
    RECOGNISED_LEGITIMATE_INTERESTS = "art6_1ea_recognised_legitimate_interests"


class SpecialCategoryCircumstance(StrEnum):
    """DPA 2018 Schedule 1 paragraph 18(2): why special category data went without consent."""

    CANNOT_BE_GIVEN = "consent_cannot_be_given"
    CANNOT_REASONABLY_BE_OBTAINED = "consent_cannot_reasonably_be_obtained"
    WOULD_PREJUDICE_PROTECTION = "consent_would_prejudice_protection"


class IdentifierAbsent(StrEnum):
    """Why a share about a child carries no NHS number (CWSA 2026 s.16LC)."""

    UNKNOWN = "unknown"
    MORE_DETRIMENTAL = "more_detrimental"


class NoShareReason(StrEnum):
    """Why information was considered and not shared (golden rule 7; CA 2004 s.16LA)."""

    MORE_DETRIMENTAL = "more_detrimental_to_child"
    NOT_NECESSARY_OR_PROPORTIONATE = "not_necessary_or_proportionate"
    COULD_PREJUDICE_ENQUIRY = "could_prejudice_enquiry"
    ALREADY_HELD = "another_agency_already_holds_it"
    OTHER = "other"


NO_SHARE_REASON_LABELS = {
    NoShareReason.MORE_DETRIMENTAL: "More detrimental to the child",
    NoShareReason.NOT_NECESSARY_OR_PROPORTIONATE: "Not necessary or proportionate",
    NoShareReason.COULD_PREJUDICE_ENQUIRY: "Could prejudice an enquiry",
    NoShareReason.ALREADY_HELD: "Another agency already holds it",
    NoShareReason.OTHER: "Other",
}


class Outcome(StrEnum):
    """What the receiving agency did with what it was sent (the loop closed to the sender)."""

    NO_FURTHER_ACTION = "no_further_action"
    ADDED_TO_ASSESSMENT = "added_to_assessment"
    STRATEGY_DISCUSSION = "strategy_discussion"
    REFERRAL_MADE = "referral_made"
    OTHER = "other"


OUTCOME_LABELS = {
    Outcome.NO_FURTHER_ACTION: "No further action",
    Outcome.ADDED_TO_ASSESSMENT: "Added to assessment",
    Outcome.STRATEGY_DISCUSSION: "Strategy discussion",
    Outcome.REFERRAL_MADE: "Referral made",
    Outcome.OTHER: "Other",
}


class Consent(StrEnum):
    GIVEN = "given"
    NOT_SOUGHT = "not_sought"  # with the reason
    REFUSED = "refused"  # with why sharing went ahead


class Priority(StrEnum):
    STANDARD = "standard"
    URGENT = "urgent"


class ConcernState(StrEnum):
    AWAITING = "awaiting_response"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    NOT_NEEDED = "no_response_needed"


OPEN_CONCERN_STATES = (ConcernState.AWAITING.value, ConcernState.ACKNOWLEDGED.value)

# What people read for each code (forms, pages, the printed evidence pack).
METHOD_LABELS = {
    ShareMethod.PHONE: "Phone",
    ShareMethod.SECURE_EMAIL: "Secure email",
    ShareMethod.MEETING: "Meeting",
    ShareMethod.STRATEGY_DISCUSSION: "Strategy discussion",
    ShareMethod.MULTI_AGENCY_HUB: "Multi-agency safeguarding hub",
    ShareMethod.PORTAL: "Portal",
    ShareMethod.LETTER: "Letter",
    ShareMethod.OTHER: "Other",
}
LAWFUL_BASIS_LABELS = {
    LawfulBasis.PUBLIC_TASK: "Public task (UK GDPR Article 6(1)(e))",
    LawfulBasis.LEGAL_OBLIGATION: "Legal obligation (Article 6(1)(c))",
    LawfulBasis.VITAL_INTERESTS: "Vital interests (Article 6(1)(d))",
    LawfulBasis.CONSENT: "Consent (Article 6(1)(a))",
    LawfulBasis.LEGITIMATE_INTERESTS: "Legitimate interests (Article 6(1)(f)): not for a public "
    "authority's tasks",
    LawfulBasis.RECOGNISED_LEGITIMATE_INTERESTS: "Recognised legitimate interests, safeguarding "
    "(Article 6(1)(ea)): not for a public authority's tasks",
    LawfulBasis.CONTRACT: "Contract (Article 6(1)(b))",
}
CIRCUMSTANCE_LABELS = {
    SpecialCategoryCircumstance.CANNOT_BE_GIVEN: "Consent cannot be given",
    SpecialCategoryCircumstance.CANNOT_REASONABLY_BE_OBTAINED: "Consent cannot reasonably be "
    "obtained",
    SpecialCategoryCircumstance.WOULD_PREJUDICE_PROTECTION: "Obtaining consent would prejudice "
    "the child's protection",
}
IDENTIFIER_ABSENT_LABELS = {
    IdentifierAbsent.UNKNOWN: "Not known",
    IdentifierAbsent.MORE_DETRIMENTAL: "Including it would be more detrimental to the child",
}
CONSENT_LABELS = {
    Consent.GIVEN: "Consent given",
    Consent.NOT_SOUGHT: "Consent not sought",
    Consent.REFUSED: "Consent refused, but shared",
}
PRIORITY_LABELS = {Priority.STANDARD: "Standard", Priority.URGENT: "Urgent"}
CONCERN_STATE_LABELS = {
    ConcernState.AWAITING: "Awaiting response",
    ConcernState.ACKNOWLEDGED: "Acknowledged",
    ConcernState.RESPONDED: "Responded",
    ConcernState.NOT_NEEDED: "No response needed",
}


class Share(db.Model):
    """One act of information sharing about a child. Its content lives in versions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    from_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    # Recorded by the sharer ("sent") or by a receiving agency ("received").
    recorded_as: Mapped[str] = mapped_column(String(10))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    needs_response: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.STANDARD.value)
    # A rating from the procedure file's concern timescales (e.g. red/amber/green); None uses
    # the priority's working days.
    rating: Mapped[str | None] = mapped_column(String(20))
    # A decision not to share that this share revisits (the same information, shared after all).
    revisits_decision_id: Mapped[int | None] = mapped_column(ForeignKey("no_share_decision.id"))

    case: Mapped[Case] = relationship()
    from_agency: Mapped[Agency] = relationship(foreign_keys=[from_agency_id], lazy="joined")
    recorded_by: Mapped[Person] = relationship(foreign_keys=[recorded_by_id])
    versions: Mapped[list[ShareVersion]] = relationship(
        back_populates="share", order_by="ShareVersion.number"
    )
    recipients: Mapped[list[Concern]] = relationship(back_populates="share", order_by="Concern.id")

    __table_args__ = (Index("ix_share_case", "case_id", "id"),)

    @property
    def current(self) -> ShareVersion:
        return self.versions[-1]

    @property
    def amended(self) -> bool:
        return len(self.versions) > 1


class ShareVersion(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("share.id"))
    number: Mapped[int]
    shared_at: Mapped[datetime]
    from_person_name: Mapped[str | None] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(30))
    summary: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    lawful_basis: Mapped[str] = mapped_column(String(40))
    # UK GDPR special category data: shared under DPA 2018 Schedule 1 paragraph 18.
    special_category: Mapped[bool] = mapped_column(default=False)
    special_category_circumstance: Mapped[str | None] = mapped_column(String(50))
    # The child's NHS number travels with the share (from the case); if the case holds none,
    # why it is absent (IdentifierAbsent).
    identifier_absent: Mapped[str | None] = mapped_column(String(30))
    consent: Mapped[str] = mapped_column(String(20))
    consent_reason: Mapped[str | None] = mapped_column(Text)
    themes: Mapped[str] = mapped_column(String(200), default="")  # comma-separated Theme values
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was amended (None for the first)

    share: Mapped[Share] = relationship(back_populates="versions")
    recorded_by: Mapped[Person] = relationship()

    __table_args__ = (UniqueConstraint("share_id", "number"),)

    @property
    def theme_list(self) -> list[Theme]:
        return [Theme(t) for t in self.themes.split(",") if t]


class Concern(db.Model):
    """A receiving agency of a share; when a response is needed, it is the concern they owe.
    (Its table was share_recipient until migration 0018. Audit events and alert keys written
    before and since still say "share_recipient": they are stored names, kept as they are.)"""

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("share.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    people_names: Mapped[str | None] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    responded_at: Mapped[datetime | None]
    # The loop closed to the sender: first opened by someone of this agency, and what it did.
    viewed_at: Mapped[datetime | None]
    viewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    outcome: Mapped[str | None] = mapped_column(String(30))
    outcome_detail: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None]
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    share: Mapped[Share] = relationship(back_populates="recipients")
    agency: Mapped[Agency] = relationship(lazy="joined")
    acknowledged_by: Mapped[Person | None] = relationship(foreign_keys=[acknowledged_by_id])
    viewed_by: Mapped[Person | None] = relationship(foreign_keys=[viewed_by_id])
    outcome_by: Mapped[Person | None] = relationship(foreign_keys=[outcome_by_id])
    responses: Mapped[list[ConcernResponse]] = relationship(
        back_populates="recipient", order_by="ConcernResponse.number"
    )

    __table_args__ = (
        UniqueConstraint("share_id", "agency_id"),
        # "awaiting our response" per agency, and the sweep / partnership list of open concerns.
        Index("ix_concern_agency_state_due", "agency_id", "state", "due_at"),
        Index("ix_concern_state_due", "state", "due_at"),
    )

    @property
    def response(self) -> ConcernResponse | None:
        return self.responses[-1] if self.responses else None


class ConcernResponse(db.Model):
    """What a receiving agency did or decided; amended by adding a version with a reason."""

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("concern.id"))
    number: Mapped[int]
    action_taken: Mapped[str] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    reason: Mapped[str | None] = mapped_column(Text)

    recipient: Mapped[Concern] = relationship(back_populates="responses")
    recorded_by: Mapped[Person] = relationship()

    __table_args__ = (UniqueConstraint("recipient_id", "number"),)


class NoShareDecision(db.Model):
    """A recorded decision not to share (golden rule 7). Never edited: a later share cites it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    information: Mapped[str] = mapped_column(Text)  # what was considered
    reason_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    decided_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    decided_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)

    case: Mapped[Case] = relationship()
    decided_by: Mapped[Person] = relationship()
    decided_by_agency: Mapped[Agency] = relationship(lazy="joined")
    considered_for: Mapped[list[NoShareDecisionAgency]] = relationship(
        order_by="NoShareDecisionAgency.id"
    )
    revisited_by: Mapped[list[Share]] = relationship(order_by="Share.id", viewonly=True)

    __table_args__ = (Index("ix_no_share_decision_case", "case_id", "id"),)

    @property
    def reason_label(self) -> str:
        return NO_SHARE_REASON_LABELS[NoShareReason(self.reason_code)]

    @property
    def revisited(self) -> bool:
        return bool(self.revisited_by)


class NoShareDecisionAgency(db.Model):
    """An agency the information was considered for (and not shared with)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("no_share_decision.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))

    agency: Mapped[Agency] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("decision_id", "agency_id"),)
