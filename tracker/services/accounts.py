"""What every way into an account builds on: passwords, throttled sign-in attempts, sessions, and
telling the person about a change. People (tracker.services.people), two-factor sign-in, API tokens
and identity providers each use these; none of them is used here.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST
from sqlalchemy import func, select

from tracker import clock
from tracker.extensions import db
from tracker.models import AlertKind, AuditEvent, Person, SignInAttempt
from tracker.services import alerts, audit, settings

# The test suite signs in thousands of times, each a second of argon2 at its real cost on a busy
# machine: tests ask for the cheapest parameters (tests/conftest.py). Production refuses the
# variable at start (config.py), so no real password is ever hashed this way.
_hasher = (
    PasswordHasher.from_parameters(CHEAPEST)
    if os.environ.get("TRACKER_TEST_CHEAP_PASSWORD_HASHING") == "1"
    else PasswordHasher()
)
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """With no hash, the same work against a dummy one (and False), so timing does not reveal
    whether an account exists."""
    try:
        ok = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def tell(person: Person, what: str, event: AuditEvent) -> None:
    """Email the person about a change to their account (who did it is in the audit trail),
    so a change they did not expect is noticed. Runs in the caller's transaction."""
    alerts.raise_alert(
        actor=db.session.get(Person, event.person_id) if event.person_id else None,
        event=f"account:{event.id}",
        recipients=[person],
        kind=AlertKind.ACCOUNT_CHANGED.value,
        subject=f"Your account: {what}",
        link=alerts.app_path("main.home"),
        urgent=True,
        even_if_inactive=True,  # "you can no longer sign in" is news to a deactivated person
    )


@dataclass(frozen=True)
class SignInResult:
    person: Person | None
    throttled: bool = False


def _recent_failures(column, value: str) -> int:
    since = clock.now() - timedelta(minutes=settings.get("SIGNIN_WINDOW_MINUTES"))
    return db.session.scalar(
        select(func.count(SignInAttempt.id)).where(
            column == value, SignInAttempt.at >= since, SignInAttempt.succeeded.is_(False)
        )
    )


def is_throttled(email: str, address: str) -> bool:
    """Too many recent failures (passwords and second-factor codes alike); audited and
    committed when so.

    An address with too many failures is refused outright. An account with too many failures is
    refused only from addresses that have failed recently themselves: a guesser elsewhere cannot
    lock the real person out, who signs in from an address with a clean record (README: sign-in
    throttling)."""
    address_failures = _recent_failures(SignInAttempt.address, address)
    if address_failures >= settings.get("SIGNIN_MAX_PER_ADDRESS") or (
        address_failures
        and _recent_failures(SignInAttempt.email, email) >= settings.get("SIGNIN_MAX_PER_ACCOUNT")
    ):
        audit.record("signin.throttled", object_kind="person", changes={"email": [None, email]})
        db.session.commit()
        return True
    return False


def confirms_password(person: Person, password: str, address: str) -> bool:
    """The person's own password, asked again to confirm something (linking an identity
    provider's account): throttled and counted with sign-in failures, so it is no side door
    for guessing. The caller audits and commits."""
    address = (address or "unknown")[:64]
    if not person.password_hash or is_throttled(person.email, address):
        return False
    ok = password_matches(person.password_hash, password)
    db.session.add(SignInAttempt(email=person.email, address=address, succeeded=ok))
    return ok


def end_sessions(person: Person) -> None:
    """Every session the person holds stops working at its next request (the session cookie
    carries this token; tracker.auth.views.load_person compares it), server-side, whoever holds
    a copy of the cookie. The caller commits."""
    person.session_token = secrets.token_hex(16)
