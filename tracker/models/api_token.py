"""API access for agency systems: per-person tokens, idempotency keys and rate-limit windows.

A token's secret is shown once; only its sha256 is kept (the secret is 256 random bits, so a fast
hash is enough: there is nothing to guess). Revoking sets revoked_at and keeps the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker import clock
from tracker.extensions import db
from tracker.models.person import Person


class ApiToken(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the secret's first characters, to tell apart
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    person: Mapped[Person] = relationship()

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class ApiAuthFailure(db.Model):
    """A call with a bearer token that is not (or no longer) valid, for throttling per address."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now)
    address: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_api_auth_failure_address_at", "address", "at"),)


class IdempotencyRecord(db.Model):
    """A create call made with an Idempotency-Key: a retry gets this stored answer back.

    The row is claimed (status None) before the change is made, so two concurrent retries cannot
    both record it; the answer is stored once the change has committed.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    __table_args__ = (UniqueConstraint("person_id", "key"),)


class ApiRateWindow(db.Model):
    """Requests made with one token in one fixed window: a counter every worker shares."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"))
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        UniqueConstraint("token_id", "window_start"),
        Index("ix_api_rate_window_start", "window_start"),
    )
