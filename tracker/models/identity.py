"""Sign-in through an agency's own identity provider (OpenID Connect).

- IdentityProvider: one provider an agency's people sign in with, set up by an admin.
- IdentityLink: a provider's stable subject (iss + sub) linked to one person, for good.
- ProviderSession: one tracker session begun through a provider, kept to check with the provider
  (refresh) that the person's account is still live, and to end it when the provider says so
  (back-channel logout).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.agency import Agency
from tracker.models.person import Person


class IdentityProvider(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    # Shown on the button: "Sign in with <name>".
    name: Mapped[str] = mapped_column(String(120))
    # The issuer identifier; its discovery document is <issuer>/.well-known/openid-configuration.
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    # Never shown after saving (the form leaves it blank; blank keeps the stored one).
    client_secret: Mapped[str] = mapped_column(String(500))
    # Lower-case domains, one per line: only people whose email is in one of them sign in here.
    email_domains: Mapped[str] = mapped_column(Text)
    # Whether the provider's own multi-factor sign-in stands in for the tracker's TOTP.
    mfa_satisfies: Mapped[bool] = mapped_column(default=False)
    # acr values that mean multi-factor at this provider (space separated); amr "mfa" always does.
    mfa_acr_values: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)
    # New, or its issuer, client id or email domains changed: not offered, and its callback
    # refuses, until a second administrator approves (an issuer decides who signs in as whom).
    awaiting_approval: Mapped[bool] = mapped_column(default=False)
    # Bumped on every change, so each web worker rebuilds its client for this provider.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    agency: Mapped[Agency] = relationship(lazy="joined")

    @property
    def domains(self) -> list[str]:
        return [d for d in self.email_domains.split() if d]

    @property
    def acr_values(self) -> list[str]:
        return [v for v in (self.mfa_acr_values or "").split() if v]

    def __repr__(self) -> str:
        return f"<IdentityProvider {self.id} {self.name!r}>"


class IdentityLink(db.Model):
    """A subject at an issuer belongs to one person; a person's agency never changes, so a
    subject never moves between agencies."""

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_provider.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_sign_in_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship(lazy="joined")
    provider: Mapped[IdentityProvider] = relationship(lazy="joined")

    __table_args__ = (
        UniqueConstraint("issuer", "subject", name="uq_identity_link_issuer_subject"),
        UniqueConstraint("person_id", "provider_id", name="uq_identity_link_person_provider"),
    )


class ProviderSession(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_provider.id"))
    # The provider's session id (the ID token's sid), for back-channel logout by session.
    sid: Mapped[str | None] = mapped_column(String(255))
    # Kept only to ask the provider, now and then, whether the account is still live.
    refresh_token: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    # When the provider was last asked; a refresh claims the session by moving this forward.
    checked_at: Mapped[datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))

    provider: Mapped[IdentityProvider] = relationship(lazy="joined")

    __table_args__ = (Index("ix_provider_session_provider_sid", "provider_id", "sid"),)
