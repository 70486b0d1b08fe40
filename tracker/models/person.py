from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.agency import Agency


class Role(StrEnum):
    WORKER = "worker"
    LEAD = "lead"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {
            "worker": "Agency worker",
            "lead": "Named lead",
            "auditor": "Auditor",
            "admin": "Administrator",
        }[self.value]


class Person(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # Marked away, a named lead's alerts go to their deputy.
    away: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Set-password link: only the hash is kept, so the link is shown once and cannot be re-read.
    invite_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invite_expires_at: Mapped[datetime | None]
    # The link was sent for a lost authenticator: using it also clears two-factor sign-in.
    invite_clears_two_factor: Mapped[bool] = mapped_column(default=False)
    # Changing it signs the person out everywhere (deactivation, role or password change).
    session_token: Mapped[str] = mapped_column(String(64))
    # Two-factor sign-in (TOTP). The secret is set when enrolment starts and counts only once
    # confirmed with a code; the last accepted time-step refuses a replayed code.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    agency: Mapped[Agency] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:
        """May sign in and act: active, in an agency still in the partnership (an agency made
        inactive has left it). Checked by every way in: session, password, provider, token."""
        return self.active and self.agency.active

    @property
    def has_two_factor(self) -> bool:
        return self.totp_confirmed_at is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    def has_role(self, *roles: Role) -> bool:
        return self.role in {r.value for r in roles}

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.email}>"


class RoleApproval(db.Model):
    """Four eyes: one administrator asks, someone else approves or refuses; until then nothing
    changes. Either a person is to become able to read cases (invited, reactivated, or given a
    role: `role`), or an identity provider's sign-in settings are to take effect
    (`identity_provider_id`). Who decides is tracker.services.approvals.approvers. A newer request
    for the same person or provider replaces a pending one; decided rows stay as history."""

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(20))
    identity_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_provider.id"), index=True
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    requested_at: Mapped[datetime] = mapped_column(default=clock.now)
    # None while pending; then "approved", "refused" or "replaced".
    outcome: Mapped[str | None] = mapped_column(String(10))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None]

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])
    identity_provider = relationship("IdentityProvider", foreign_keys=[identity_provider_id])
    requested_by: Mapped[Person] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else "identity provider"


class SignInAttempt(db.Model):
    """Every sign-in attempt, for throttling per account and per address."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool]

    __table_args__ = (
        Index("ix_sign_in_attempt_email_at", "email", "at"),
        Index("ix_sign_in_attempt_address_at", "address", "at"),
    )
