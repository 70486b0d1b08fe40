"""Professional challenges, their stage-by-stage history, and the named leads of each stage.

A challenge is never edited except for its current position (stage, deadline, status); every move
is a ChallengeEvent row saying who, when, why, from which stage to which, and the deadline set.
Named leads are kept as rows that end (ended_at) when replaced, so who led when stays visible.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from functools import cached_property

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.agency import Agency
from tracker.models.case import Case
from tracker.models.note import CaseNote
from tracker.models.person import Person
from tracker.models.procedure import Procedure
from tracker.models.share import Share, Theme


class ChallengeKind(StrEnum):
    THRESHOLD = "threshold"
    NO_RESPONSE = "no_response"
    CLOSURE = "closure"
    PLAN = "plan"
    NOT_SHARED = "not_shared"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CHALLENGE_KIND_LABELS[self]


CHALLENGE_KIND_LABELS = {
    ChallengeKind.THRESHOLD: "Threshold or level-of-need decision",
    ChallengeKind.NO_RESPONSE: "No response to information shared",
    ChallengeKind.CLOSURE: "Case closure or step-down",
    ChallengeKind.PLAN: "Plan or actions",
    ChallengeKind.NOT_SHARED: "Information not shared",
    ChallengeKind.OTHER: "Other",
}


class ChallengeStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"


class EventKind(StrEnum):
    RAISED = "raised"
    DISCUSSION = "discussion"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return {
            "raised": "Raised",
            "discussion": "Discussion recorded",
            "escalated": "Escalated",
            "resolved": "Resolved",
            "withdrawn": "Withdrawn",
        }[self.value]


class Challenge(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    raised_by_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    about_agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    raised_at: Mapped[datetime] = mapped_column(default=clock.now)
    kind: Mapped[str] = mapped_column(String(20))
    what_happened: Mapped[str] = mapped_column(Text)
    outcome_wanted: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(default=False)
    # Immediate risk bypasses the procedure: when the raiser said the child may be at immediate
    # risk, the app told them to contact the front door / emergency services, and when.
    immediate_risk: Mapped[bool] = mapped_column(default=False)
    risk_advice_shown_at: Mapped[datetime | None]
    stage: Mapped[int] = mapped_column(default=1)
    stage_started_at: Mapped[datetime] = mapped_column(default=clock.now)
    stage_due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default=ChallengeStatus.OPEN.value)
    closed_at: Mapped[datetime | None]
    procedure_version: Mapped[str] = mapped_column(String(64))
    procedure_snapshot: Mapped[str] = mapped_column(Text)  # JSON: the stages it follows
    # Where it came from: an unanswered concern, or another agency's threshold view.
    concern_id: Mapped[int | None] = mapped_column(ForeignKey("concern.id"))
    threshold_view_id: Mapped[int | None] = mapped_column(ForeignKey("threshold_view.id"))

    case: Mapped[Case] = relationship()
    raised_by: Mapped[Person] = relationship(foreign_keys=[raised_by_id])
    raised_by_agency: Mapped[Agency] = relationship(
        foreign_keys=[raised_by_agency_id], lazy="joined"
    )
    about_agency: Mapped[Agency] = relationship(foreign_keys=[about_agency_id], lazy="joined")
    events: Mapped[list[ChallengeEvent]] = relationship(
        back_populates="challenge", order_by="ChallengeEvent.id"
    )
    evidence: Mapped[list[ChallengeEvidence]] = relationship(order_by="ChallengeEvidence.id")

    __table_args__ = (
        # The sweep and the partnership list: open challenges by stage deadline.
        Index("ix_challenge_status_due", "status", "stage_due_at"),
        Index("ix_challenge_case", "case_id", "id"),
        Index("ix_challenge_raised_by_agency", "raised_by_agency_id", "status"),
        Index("ix_challenge_about_agency", "about_agency_id", "status"),
        # The sweep: "does this concern already have a challenge?" once per overdue concern.
        Index("ix_challenge_concern", "concern_id"),
    )

    @cached_property
    def procedure(self):
        """The procedure this challenge started under (not the file as it is now)."""
        return Procedure.from_snapshot(self.procedure_snapshot)

    @property
    def current_stage(self):
        return self.procedure.stage(self.stage)

    @property
    def is_open(self) -> bool:
        return self.status == ChallengeStatus.OPEN.value

    @property
    def kind_label(self) -> str:
        return ChallengeKind(self.kind).label

    @property
    def raised_automatically(self) -> bool:
        """Opened by the sweep for raised_by (who owns it on the raising side but did not
        raise it): its raised event is the scheduler's."""
        return bool(self.events) and self.events[0].automatic

    def __repr__(self) -> str:
        return f"<Challenge {self.id} stage {self.stage} {self.status}>"


class ChallengeEvidence(db.Model):
    """A share or a case note on the same case that the challenge points to."""

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"), index=True)
    share_id: Mapped[int | None] = mapped_column(ForeignKey("share.id"))
    note_id: Mapped[int | None] = mapped_column(ForeignKey("case_note.id"))

    share: Mapped[Share | None] = relationship()
    note: Mapped[CaseNote | None] = relationship()


class ChallengeEvent(db.Model):
    """One transition or discussion: who, when, why, from which stage to which, deadline set."""

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenge.id"))
    at: Mapped[datetime] = mapped_column(default=clock.now)
    kind: Mapped[str] = mapped_column(String(20))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    actor_label: Mapped[str | None] = mapped_column(String(60))  # "scheduler" when automatic
    automatic: Mapped[bool] = mapped_column(default=False)
    from_stage: Mapped[int | None]
    to_stage: Mapped[int | None]
    deadline_set: Mapped[datetime | None]
    text: Mapped[str] = mapped_column(Text)  # why / what was discussed / what was agreed
    # Where the other side had nobody named for the stage (it went to the partnership list).
    unnamed_warning: Mapped[str | None] = mapped_column(Text)
    # On resolution:
    learning_themes: Mapped[str | None] = mapped_column(String(200))  # comma-separated Themes
    practice_issue: Mapped[bool | None]

    challenge: Mapped[Challenge] = relationship(back_populates="events")
    person: Mapped[Person | None] = relationship()
    actions: Mapped[list[ChallengeAction]] = relationship(order_by="ChallengeAction.id")

    __table_args__ = (Index("ix_challenge_event_challenge", "challenge_id", "id"),)

    @property
    def kind_label(self) -> str:
        return EventKind(self.kind).label

    @property
    def who(self) -> str:
        if self.person:
            return f"{self.person.name}, {self.person.agency.name}"
        return self.actor_label or "Unknown"

    @property
    def theme_list(self) -> list[Theme]:
        return [Theme(t) for t in (self.learning_themes or "").split(",") if t]


class ChallengeAction(db.Model):
    """An action agreed on resolution: what, who owns it, by when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("challenge_event.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(120))
    due_on: Mapped[date]


class ChallengeDraft(db.Model):
    """A challenge being raised: one person's answers to its steps so far, on one case. Kept on
    the server, not in the session cookie, because they hold case text. Once raised, it names
    the challenge, so the same answers sent again open nothing more."""

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("child_case.id"))
    answers: Mapped[str] = mapped_column(Text)  # JSON
    saved_at: Mapped[datetime] = mapped_column(default=clock.now)
    raised_challenge_id: Mapped[int | None] = mapped_column(ForeignKey("challenge.id"))

    __table_args__ = (UniqueConstraint("person_id", "case_id"),)


class NamedLead(db.Model):
    """Who leads a stage for an agency (and their deputy). Replaced rows end; none is deleted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    stage: Mapped[int]
    lead_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    deputy_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    agency: Mapped[Agency] = relationship(lazy="joined")
    lead: Mapped[Person] = relationship(foreign_keys=[lead_id], lazy="joined")
    deputy: Mapped[Person | None] = relationship(foreign_keys=[deputy_id], lazy="joined")

    __table_args__ = (
        Index("ix_named_lead_agency_stage", "agency_id", "stage", "ended_at"),
        Index("ix_named_lead_lead", "lead_id", "ended_at"),
        Index("ix_named_lead_deputy", "deputy_id", "ended_at"),
    )
