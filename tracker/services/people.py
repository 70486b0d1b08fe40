"""People: invitations, passwords, sign-in with throttling, roles and deactivation."""

from __future__ import annotations

import gzip
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Agency, Person, Role, SignInAttempt
from tracker.services import audit, clock

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12


class PeopleError(ValueError):
    """A request the rules refuse; the message is shown to the person, keyed by form field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def common_passwords() -> frozenset[str]:
    """The passwords attackers try first (tracker/data/README.md says where the list is from)."""
    path = Path(__file__).parent.parent / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def password_problem(password: str) -> str | None:
    """NCSC guidance: length and a block-list of common passwords, no composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be {MIN_PASSWORD_LENGTH} characters or more"
    if len(password) > 256:
        return "Password must be 256 characters or fewer"
    if password.strip().lower() in common_passwords():
        return (
            "This password is one of the most common passwords: choose one that is harder to guess"
        )
    return None


def _snapshot(person: Person) -> dict:
    return {
        "name": person.name,
        "email": person.email,
        "agency_id": person.agency_id,
        "role": person.role,
        "active": person.active,
        "away": person.away,
    }


def invite_problems(email: str | None, agency_id: int | None) -> list[PeopleError]:
    """A new person's email address is not taken, and their agency exists."""
    problems = []
    email = normalise_email(email or "")
    if email and db.session.scalar(select(Person.id).where(Person.email == email)) is not None:
        problems.append(PeopleError("email", "A person with this email address already exists"))
    if agency_id is not None and db.session.get(Agency, agency_id) is None:
        problems.append(PeopleError("agency_id", "Select an agency from the list"))
    return problems


def invite(
    actor: Person, *, name: str, email: str, agency_id: int, role: str
) -> tuple[Person, str]:
    """Create a person with no password; return them and the set-password token (shown once)."""
    problems = invite_problems(email, agency_id)
    if problems:
        raise problems[0]
    email = normalise_email(email)
    token = secrets.token_urlsafe(32)
    person = Person(
        name=name.strip(),
        email=email,
        agency_id=agency_id,
        role=Role(role).value,
        session_token=secrets.token_hex(16),
        invite_token_hash=_token_hash(token),
        invite_expires_at=clock.now() + timedelta(hours=current_app.config["INVITE_HOURS"]),
    )
    db.session.add(person)
    db.session.flush()
    audit.record(
        "person.invite",
        object_kind="person",
        object_id=person.id,
        changes=audit.changes_between({}, _snapshot(person)),
        actor=actor,
    )
    db.session.commit()
    return person, token


def renew_invite(actor: Person, person: Person) -> str:
    """A fresh set-password link (the old one stops working), e.g. for a forgotten password."""
    token = secrets.token_urlsafe(32)
    person.invite_token_hash = _token_hash(token)
    person.invite_expires_at = clock.now() + timedelta(hours=current_app.config["INVITE_HOURS"])
    audit.record("person.invite_renewed", object_kind="person", object_id=person.id, actor=actor)
    db.session.commit()
    return token


def person_for_invite(token: str) -> Person | None:
    person = db.session.scalar(select(Person).where(Person.invite_token_hash == _token_hash(token)))
    if person is None or not person.active or person.invite_expires_at < clock.now():
        return None
    return person


def set_password(person: Person, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise PeopleError("password", problem)
    person.password_hash = hash_password(password)
    person.invite_token_hash = None
    person.invite_expires_at = None
    person.session_token = secrets.token_hex(16)
    audit.record("person.password_set", object_kind="person", object_id=person.id, actor=person)
    db.session.commit()


@dataclass(frozen=True)
class SignInResult:
    person: Person | None
    throttled: bool = False


def _recent_failures(column, value: str) -> int:
    since = clock.now() - timedelta(minutes=current_app.config["SIGNIN_WINDOW_MINUTES"])
    return db.session.scalar(
        select(func.count(SignInAttempt.id)).where(
            column == value, SignInAttempt.at >= since, SignInAttempt.succeeded.is_(False)
        )
    )


def is_throttled(email: str, address: str) -> bool:
    """Too many recent failures (passwords and second-factor codes alike) for the account or
    the address; audited and committed when so."""
    config = current_app.config
    if (
        _recent_failures(SignInAttempt.email, email) >= config["SIGNIN_MAX_PER_ACCOUNT"]
        or _recent_failures(SignInAttempt.address, address) >= config["SIGNIN_MAX_PER_ADDRESS"]
    ):
        audit.record("signin.throttled", object_kind="person", changes={"email": [None, email]})
        db.session.commit()
        return True
    return False


def authenticate(email: str, password: str, address: str) -> SignInResult:
    """Check a sign-in, throttled per account and per address. Every attempt is audited.

    For people who sign in with two factors the password is only the first step: it is audited
    as "signin.password" and tracker.services.two_factor completes the sign-in.
    """
    from tracker.services import two_factor  # it builds on this module

    email = normalise_email(email)[:254]
    address = (address or "unknown")[:64]
    if is_throttled(email, address):
        return SignInResult(None, throttled=True)

    person = db.session.scalar(select(Person).where(Person.email == email))
    ok = False
    if person is not None and person.active and person.password_hash:
        try:
            ok = _hasher.verify(person.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # Same work whether or not the account exists, so timing does not reveal accounts.
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
    db.session.add(SignInAttempt(email=email, address=address, succeeded=ok))
    if ok:
        if _hasher.check_needs_rehash(person.password_hash):
            person.password_hash = hash_password(password)
        action = "signin.password" if two_factor.asked_for(person) else "signin"
        audit.record(action, object_kind="person", object_id=person.id, actor=person)
    else:
        audit.record(
            "signin.failed",
            object_kind="person",
            object_id=person.id if person else None,
            changes={"email": [None, email]},
        )
    db.session.commit()
    return SignInResult(person if ok else None)


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def record_sign_out(person: Person, *, inactive: bool = False) -> None:
    action = "signout.inactive" if inactive else "signout"
    audit.record(action, object_kind="person", object_id=person.id, actor=person)
    db.session.commit()


def update(actor: Person, person: Person, *, role: str, active: bool, away: bool) -> None:
    """Change role, active or away. A change of role or deactivation signs them out everywhere."""
    before = _snapshot(person)
    if person.id == actor.id and (not active or role != person.role):
        raise PeopleError("role", "You cannot change your own role or deactivate yourself")
    person.role = Role(role).value
    person.active = active
    person.away = away
    after = _snapshot(person)
    changes = audit.changes_between(before, after)
    if not changes:
        return
    if "role" in changes or "active" in changes:
        person.session_token = secrets.token_hex(16)
    audit.record(
        "person.permission_change" if "role" in changes or "active" in changes else "person.update",
        object_kind="person",
        object_id=person.id,
        changes=changes,
        actor=actor,
    )
    db.session.commit()


def create_first_admin(*, name: str, email: str, agency_name: str, password: str) -> Person:
    """For `flask tracker create-user` on a real install: an admin with a password."""
    problem = password_problem(password)
    if problem:
        raise PeopleError("password", problem)
    email = normalise_email(email)
    if db.session.scalar(select(Person.id).where(Person.email == email)) is not None:
        raise PeopleError("email", "A person with this email address already exists")
    agency = db.session.scalar(select(Agency).where(Agency.name == agency_name))
    if agency is None:
        agency = Agency(name=agency_name, kind="partnership", secure_mailbox=email)
        db.session.add(agency)
        db.session.flush()
        audit.record("agency.create", object_kind="agency", object_id=agency.id, actor_label="cli")
    person = Person(
        name=name,
        email=email,
        agency_id=agency.id,
        role=Role.ADMIN.value,
        password_hash=hash_password(password),
        session_token=secrets.token_hex(16),
    )
    db.session.add(person)
    db.session.flush()
    audit.record(
        "person.create",
        object_kind="person",
        object_id=person.id,
        changes=audit.changes_between({}, _snapshot(person)),
        actor_label="cli",
    )
    db.session.commit()
    return person
