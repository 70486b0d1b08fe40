"""Alerts: one message to one named person about one event, shown in the inbox and emailed.

The unique key (event, recipient) makes an alert exactly-once whatever restarts, retries or
concurrent schedulers do. Delivery state lives on the same row so the outbox is the table itself.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.person import Person

if TYPE_CHECKING:
    from tracker.models.case import Case


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed and committed before the SMTP call
    SENT = "sent"
    FAILED = "failed"  # gave up after the retry limit; shown to admins


class AlertKind(StrEnum):
    CONCERN_DUE_SOON = "concern_due_soon"
    CONCERN_OVERDUE = "concern_overdue"
    CHALLENGE_RAISED = "challenge_raised"
    CHALLENGE_DUE_SOON = "challenge_due_soon"
    CHALLENGE_ESCALATED = "challenge_escalated"
    CHALLENGE_AT_LAST_STAGE = "challenge_at_last_stage"
    CHALLENGE_UPDATED = "challenge_updated"
    IMMEDIATE_RISK = "immediate_risk"
    WEEKLY_DIGEST = "weekly_digest"
    # About one's own account (no case detail): a single-use link, a change made, an approval.
    ACCOUNT_LINK = "account_link"
    ACCOUNT_CHANGED = "account_changed"
    ROLE_APPROVAL = "role_approval"
    # For administrators: an alert's email was given up on (tracker.services.delivery).
    EMAIL_FAILED = "alert_email_failed"
    # For administrators and auditors: the audit log refuses to sign a fork (a restore).
    AUDIT_LOG_STOPPED = "audit_log_stopped"
    SHARE_UNVIEWED = "share_unviewed"
    CASE_MATCH = "case_match"
    BREAK_GLASS = "break_glass"
    BREAK_GLASS_OPENED = "break_glass_opened"
    BREAK_GLASS_REFERRED = "break_glass_referred"
    OTHER = "other"

    @property
    def label(self) -> str:
        return ALERT_KIND_LABELS[self]


ALERT_KIND_LABELS = {
    AlertKind.CONCERN_DUE_SOON: "Concern due soon",
    AlertKind.CONCERN_OVERDUE: "Unanswered concern",
    AlertKind.CHALLENGE_RAISED: "Professional challenge raised",
    AlertKind.CHALLENGE_DUE_SOON: "Challenge stage due soon",
    AlertKind.CHALLENGE_ESCALATED: "Challenge escalated",
    AlertKind.CHALLENGE_AT_LAST_STAGE: "Challenge unresolved at the last stage",
    AlertKind.CHALLENGE_UPDATED: "Challenge updated",
    AlertKind.IMMEDIATE_RISK: "Immediate risk reported",
    AlertKind.SHARE_UNVIEWED: "Shared information not yet opened",
    AlertKind.CASE_MATCH: "A new case may match a known child",
    AlertKind.BREAK_GLASS: "Emergency access to a case",
    AlertKind.BREAK_GLASS_OPENED: "A case opened by an agency not involved",
    AlertKind.BREAK_GLASS_REFERRED: "Emergency access referred",
    AlertKind.WEEKLY_DIGEST: "Weekly digest",
    AlertKind.ACCOUNT_LINK: "A link to set your password",
    AlertKind.ACCOUNT_CHANGED: "A change to your account",
    AlertKind.ROLE_APPROVAL: "A new auditor or administrator",
    AlertKind.EMAIL_FAILED: "An alert email could not be sent",
    AlertKind.AUDIT_LOG_STOPPED: "The audit log has stopped sealing",
    AlertKind.OTHER: "Alert",
}


class Alert(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(40))
    # No child's name and no case detail here: subjects are emailed.
    subject: Mapped[str] = mapped_column(String(200))
    link: Mapped[str] = mapped_column(String(300))  # a path in the app, e.g. /cases/12
    case_id: Mapped[int | None] = mapped_column(ForeignKey("child_case.id"))
    # Who it is from (a person and agency, or None for the tracker's own sweep): shown in the
    # inbox only, never emailed.
    sender: Mapped[str | None] = mapped_column(String(200))
    # What happened, e.g. "concern:12:overdue"; with the recipient, the exactly-once key.
    event: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    read_at: Mapped[datetime | None]
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)  # every try (its backoff)
    # The tries the message itself failed (a 5xx refusal, a sender killed with it in hand): it is
    # given up after MAIL_MAX_ATTEMPTS of these. A relay down or saying "later" is not one.
    refusals: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    # While "sending": when this claim was taken (staleness counts from here, not from when the
    # delivery run began) and the claimer's token (only the claimer may finish or lose it).
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))

    recipient: Mapped[Person] = relationship(lazy="joined")
    case: Mapped[Case | None] = relationship()  # its reference, in the inbox

    __table_args__ = (
        UniqueConstraint("event", "recipient_id", name="uq_alert_event_recipient"),
        # The inbox: a person's unread first, newest first; and the header's unread count.
        Index("ix_alert_recipient_read", "recipient_id", "read_at", "id"),
        # Delivery: due pending rows, and "sending" rows, without scanning the sent ones.
        Index("ix_alert_status_next_attempt", "status", "next_attempt_at"),
    )

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def unread(self) -> bool:
        return self.read_at is None


def kind_label(kind: str) -> str:
    """What an alert kind is called, in words (a kind no longer in AlertKind too)."""
    try:
        return AlertKind(kind).label
    except ValueError:
        return kind.replace("_", " ").capitalize()
