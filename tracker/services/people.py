"""People: invitations, passwords, sign-in with throttling, roles and deactivation."""

from __future__ import annotations

import gzip
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy import update as sa_update

from tracker.extensions import db
from tracker.models import (
    Agency,
    AlertKind,
    AuditEvent,
    Person,
    Role,
    RoleApproval,
    SignInAttempt,
)
from tracker.services import audit, clock

# The test suite signs in thousands of times, each a second of argon2 at its real cost on a busy
# machine: tests ask for the cheapest parameters (tests/conftest.py). Production refuses the
# variable at start (config.py), so no real password is ever hashed this way.
_hasher = (
    PasswordHasher.from_parameters(CHEAPEST)
    if os.environ.get("TRACKER_TEST_CHEAP_PASSWORD_HASHING") == "1"
    else PasswordHasher()
)
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


# Roles that reach everything (an auditor reads every case; an administrator manages people):
# giving one needs a second administrator's approval.
WIDE_ROLES = (Role.AUDITOR.value, Role.ADMIN.value)
# Roles that read their own agency's cases: giving one needs someone who already reads them
# (approvers), or an administrator could invite themselves in under an address they control.
CASE_ROLES = (Role.WORKER.value, Role.LEAD.value)


def _link_lifetime(person: Person) -> timedelta:
    """An invitation waits days; a reset for someone who already has a password, an hour."""
    config = current_app.config
    if person.password_hash is None:
        return timedelta(hours=config["INVITE_HOURS"])
    return timedelta(minutes=config["RESET_LINK_MINUTES"])


def _send_link(person: Person, *, clears_two_factor: bool = False) -> None:
    """Email the person (and only them) a single-use, short-lived set-password link. Nobody
    else ever sees it: only its hash is kept, and it is not shown to the administrator who asked.
    Runs in the caller's transaction."""
    from tracker.services import alerts  # alerts builds on the people of this module

    token = secrets.token_urlsafe(32)
    lifetime = _link_lifetime(person)
    person.invite_token_hash = _token_hash(token)
    person.invite_expires_at = clock.now() + lifetime
    person.invite_clears_two_factor = clears_two_factor
    hours = lifetime.total_seconds() / 3600
    within = (
        f"{int(hours)} hours" if hours >= 2 else f"{int(lifetime.total_seconds() // 60)} minutes"
    )
    alerts.raise_alert(
        event=f"account_link:{person.invite_token_hash}",
        recipients=[person],
        kind=AlertKind.ACCOUNT_LINK.value,
        subject=f"Set your password: the link in this email works once, within {within}",
        link=alerts.app_path("auth.set_password", token=token),
        urgent=True,  # quiet hours must not hold a short-lived link until it has expired
    )


def tell(person: Person, what: str, event: AuditEvent) -> None:
    """Email the person about a change to their account (who did it is in the audit trail),
    so a change they did not expect is noticed. Runs in the caller's transaction."""
    from tracker.services import alerts

    alerts.raise_alert(
        event=f"account:{event.id}",
        recipients=[person],
        kind=AlertKind.ACCOUNT_CHANGED.value,
        subject=f"Your account: {what}",
        link=alerts.app_path("main.home"),
        urgent=True,
        even_if_inactive=True,  # "you can no longer sign in" is news to a deactivated person
    )


def invite_problems(email: str | None, agency_id: int | None) -> list[PeopleError]:
    """A new person's email address is not taken, and their agency exists."""
    problems = []
    email = normalise_email(email or "")
    if email and db.session.scalar(select(Person.id).where(Person.email == email)) is not None:
        problems.append(PeopleError("email", "A person with this email address already exists"))
    if agency_id is not None and db.session.get(Agency, agency_id) is None:
        problems.append(PeopleError("agency_id", "Select an agency from the list"))
    return problems


def invite(actor: Person, *, name: str, email: str, agency_id: int, role: str) -> Person:
    """Create a person with no password, unable to sign in until their role is approved
    (`approvers` says by whom; `decide` then emails them a set-password link)."""
    problems = invite_problems(email, agency_id)
    if problems:
        raise problems[0]
    email = normalise_email(email)
    role = Role(role).value
    person = Person(
        name=name.strip(),
        email=email,
        agency_id=agency_id,
        role=role,
        active=False,
        session_token=secrets.token_hex(16),
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
    _request_role(actor, person, role)
    db.session.commit()
    return person


def send_reset_link(actor: Person, person: Person, *, clears_two_factor: bool = False) -> None:
    """A forgotten password, or a lost authenticator (clears_two_factor): a fresh single-use
    link goes to the person's own email (any earlier link stops working). Nothing changes until
    they use it, and the administrator never sees it."""
    if not person.active:
        raise PeopleError("person", "This person cannot sign in: make them active first")
    if clears_two_factor and not person.has_two_factor:
        raise PeopleError("person", "This person has not set up two-factor sign-in")
    _send_link(person, clears_two_factor=clears_two_factor)
    audit.record(
        "two_factor.reset_link_sent" if clears_two_factor else "person.reset_link_sent",
        object_kind="person",
        object_id=person.id,
        changes={"expires_at": [None, person.invite_expires_at]},
        actor=actor,
    )
    db.session.commit()


def person_for_invite(token: str) -> Person | None:
    person = db.session.scalar(select(Person).where(Person.invite_token_hash == _token_hash(token)))
    if person is None or not person.active or person.invite_expires_at < clock.now():
        return None
    return person


def set_password(person: Person, password: str) -> None:
    """The person, through their emailed link: a new password (and, for a lost authenticator,
    two-factor sign-in cleared to set up again). The link is then spent and every session ends."""
    from tracker.services import two_factor  # it builds on this module

    problem = password_problem(password)
    if problem:
        raise PeopleError("password", problem)
    clears_two_factor = person.invite_clears_two_factor
    person.password_hash = hash_password(password)
    person.invite_token_hash = None
    person.invite_expires_at = None
    person.invite_clears_two_factor = False
    end_sessions(person)
    event = audit.record(
        "person.password_set", object_kind="person", object_id=person.id, actor=person
    )
    what = "your password was set"
    if clears_two_factor and person.has_two_factor:
        two_factor.clear(person)
        what += ", and two-factor sign-in was cleared (set it up again when you sign in)"
    tell(person, what, event)
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
    """Too many recent failures (passwords and second-factor codes alike); audited and
    committed when so.

    An address with too many failures is refused outright. An account with too many failures is
    refused only from addresses that have failed recently themselves: a guesser elsewhere cannot
    lock the real person out, who signs in from an address with a clean record (README: sign-in
    throttling)."""
    config = current_app.config
    address_failures = _recent_failures(SignInAttempt.address, address)
    if address_failures >= config["SIGNIN_MAX_PER_ADDRESS"] or (
        address_failures
        and _recent_failures(SignInAttempt.email, email) >= config["SIGNIN_MAX_PER_ACCOUNT"]
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


def confirms_password(person: Person, password: str, address: str) -> bool:
    """The person's own password, asked again to confirm something (linking an identity
    provider's account): throttled and counted with sign-in failures, so it is no side door
    for guessing. The caller audits and commits."""
    address = (address or "unknown")[:64]
    if not person.password_hash or is_throttled(person.email, address):
        return False
    try:
        ok = _hasher.verify(person.password_hash, password)
    except (VerificationError, InvalidHashError):
        ok = False
    db.session.add(SignInAttempt(email=person.email, address=address, succeeded=ok))
    return ok


def end_sessions(person: Person) -> None:
    """Every session the person holds stops working at its next request (the session cookie
    carries this token; tracker.auth.views.load_person compares it), server-side, whoever holds
    a copy of the cookie. The caller commits."""
    person.session_token = secrets.token_hex(16)


def record_sign_out(person: Person, *, inactive: bool = False) -> None:
    """Signing out ends every session of the person, so a copied cookie is useless afterwards.
    An idle time-out ends only the idle session (the cookie's own time stamp does that)."""
    action = "signout.inactive" if inactive else "signout"
    if not inactive:
        end_sessions(person)
    audit.record(action, object_kind="person", object_id=person.id, actor=person)
    db.session.commit()


def pending_approval(person: Person) -> RoleApproval | None:
    return db.session.scalar(
        select(RoleApproval).where(
            RoleApproval.person_id == person.id, RoleApproval.outcome.is_(None)
        )
    )


def pending_approvals() -> list[RoleApproval]:
    return list(
        db.session.scalars(
            select(RoleApproval).where(RoleApproval.outcome.is_(None)).order_by(RoleApproval.id)
        )
    )


def approvals_for(person: Person) -> list[RoleApproval]:
    """The pending requests this person may decide (a lead's page: their agency's new people)."""
    return [a for a in pending_approvals() if may_decide(person, a)]


def _needs_approval(person: Person, role: str, active: bool) -> bool:
    """Gaining a power one did not hold: becoming an active auditor or administrator who was
    not one already, or becoming an active worker or lead (invited, reactivated, or moved from
    another role), who then reads their agency's cases."""
    if not active:
        return False
    if role in WIDE_ROLES:
        return not (person.active and person.role == role)
    return not (person.active and person.role in CASE_ROLES)


def _active_people(*conditions) -> list[Person]:
    return list(db.session.scalars(select(Person).where(Person.active, *conditions)))


def approvers(approval: RoleApproval) -> list[Person]:
    """Who may decide a request: the one home for "who approves what". Never the one who
    asked, nor the person it is about.

    - A new or returning worker or lead: an active lead of their agency (who already reads its
      cases, and knows its staff); only when the agency has none, a second administrator.
    - An auditor, an administrator, or an identity provider's settings: a second administrator.
    """
    excluded = [approval.requested_by_id]
    if approval.person_id is not None:
        excluded.append(approval.person_id)
    if approval.role in CASE_ROLES:
        leads = _active_people(
            Person.agency_id == approval.person.agency_id,
            Person.role == Role.LEAD.value,
            Person.id.not_in(excluded),
        )
        if leads:
            return leads
    return _active_people(Person.role == Role.ADMIN.value, Person.id.not_in(excluded))


def may_decide(person: Person, approval: RoleApproval) -> bool:
    return approval.outcome is None and person.id in {p.id for p in approvers(approval)}


def decided_by_whom(approval: RoleApproval) -> str:
    """For the page and message that say who the request now waits for."""
    if approval.role in CASE_ROLES and any(p.role == Role.LEAD.value for p in approvers(approval)):
        return f"a named lead of {approval.person.agency.name}"
    return "a second administrator"


def _close_pending(person: Person, outcome: str, actor: Person) -> None:
    pending = pending_approval(person)
    if pending is not None:
        pending.outcome = outcome
        pending.decided_by_id = actor.id
        pending.decided_at = clock.now()


def _partnership_leads() -> list[Person]:
    """The named leads of the partnership's own agencies (its business unit)."""
    from tracker.services import leads

    return list(
        db.session.scalars(
            select(Person).where(
                Person.agency_id.in_(leads.partnership_agency_ids()),
                Person.role == Role.LEAD.value,
                Person.active,
            )
        )
    )


def alert_approval(approval: RoleApproval, stage: str) -> None:
    """A request goes to those who may decide it (an administrator's link to Approvals, a
    lead's to their own page); a new auditor or administrator, asked for or approved, is also
    told to the partnership's leads. No case detail, as in every alert. Caller's transaction."""
    from tracker.services import alerts

    what = approval.role_label if approval.role else "identity provider settings"
    subject = {
        "requested": f"A request waits for your approval: {what}",
        "approved": f"A request was approved: {what}",
    }[stage]
    recipients: list[tuple[list[Person], str]] = []
    if stage == "requested":
        deciders = approvers(approval)
        recipients += [
            ([p for p in deciders if p.role == Role.ADMIN.value], "admin.approvals"),
            ([p for p in deciders if p.role == Role.LEAD.value], "approvals.index"),
        ]
    if approval.role in WIDE_ROLES:
        recipients.append((_partnership_leads(), "inbox.index"))
    for people_, link in recipients:
        alerts.raise_alert(
            event=f"role_approval:{approval.id}:{stage}:{link}",
            recipients=people_,
            kind=AlertKind.ROLE_APPROVAL.value,
            subject=subject,
            link=alerts.app_path(link),
            urgent=True,
        )


def _request_role(actor: Person, person: Person, role: str) -> RoleApproval:
    _close_pending(person, "replaced", actor)
    approval = RoleApproval(
        person_id=person.id, role=role, requested_by_id=actor.id, requested_at=clock.now()
    )
    db.session.add(approval)
    db.session.flush()
    audit.record(
        "person.role_requested",
        object_kind="person",
        object_id=person.id,
        changes={"role": [person.role, role], "approval_id": [None, approval.id]},
        actor=actor,
    )
    alert_approval(approval, "requested")
    return approval


def update(
    actor: Person, person: Person, *, role: str, active: bool, away: bool
) -> RoleApproval | None:
    """Change role, active or away. A change of role or deactivation signs them out everywhere
    and revokes their API tokens (minted under the old role). Making someone an active auditor or
    administrator, or an active worker or lead who was not one, is only asked for: it waits for
    approval (returned; `approvers` says whose)."""
    from tracker.services import api_tokens

    role = Role(role).value
    if person.id == actor.id and (not active or role != person.role):
        raise PeopleError("role", "You cannot change your own role or deactivate yourself")
    before = _snapshot(person)
    approval = None
    if _needs_approval(person, role, active):
        approval = _request_role(actor, person, role)
        role, active = person.role, person.active  # unchanged until approved
    elif role != person.role or active != person.active:
        _close_pending(person, "replaced", actor)  # the request no longer matches the person
    person.role = role
    person.active = active
    person.away = away
    changes = audit.changes_between(before, _snapshot(person))
    if changes:
        permission = "role" in changes or "active" in changes
        if permission:
            end_sessions(person)
            api_tokens.revoke_all(person, actor, "role or access changed")
        event = audit.record(
            "person.permission_change" if permission else "person.update",
            object_kind="person",
            object_id=person.id,
            changes=changes,
            actor=actor,
        )
        tell(person, _describe(changes), event)
    db.session.commit()
    return approval


def _describe(changes: dict) -> str:
    said = []
    if "role" in changes:
        said.append(f"your role is now {Role(changes['role'][1]).label}")
    if "active" in changes:
        said.append(
            "you can sign in again" if changes["active"][1] else "you can no longer sign in"
        )
    if "away" in changes:
        said.append("marked away" if changes["away"][1] else "no longer marked away")
    return ", ".join(said) or "details changed"


class ApprovalError(PeopleError):
    pass


def decide(actor: Person, approval_id: int, *, approve: bool) -> RoleApproval:
    """One of the request's `approvers` approves or refuses (never the one who asked, nor the
    person it is about); a request decided (or replaced) meanwhile, say by a twin click or
    another approver, is not decided twice."""
    from tracker.services import api_tokens, identity

    approval = db.session.get(RoleApproval, approval_id)
    if approval is None:
        raise ApprovalError("approval", "There is no such request")
    identity.lock_for_decision(approval)
    if approval.outcome is None and not may_decide(actor, approval):
        raise ApprovalError(
            "approval",
            f"Only {decided_by_whom(approval)}, not the one who asked, may decide this request",
        )
    outcome = "approved" if approve else "refused"
    now = clock.now()
    # Guarded update: of two concurrent decisions exactly one finds the request still pending.
    claimed = db.session.execute(
        sa_update(RoleApproval)
        .where(RoleApproval.id == approval_id, RoleApproval.outcome.is_(None))
        .values(outcome=outcome, decided_by_id=actor.id, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise ApprovalError("approval", "This request has already been decided or replaced")
    db.session.refresh(approval)
    if approval.identity_provider_id is not None:
        identity.decided(actor, approval, approve=approve)
        db.session.commit()
        return approval
    person = approval.person
    if approve:
        before = _snapshot(person)
        person.role = approval.role
        person.active = True
        end_sessions(person)
        api_tokens.revoke_all(person, actor, "role approved")
        event = audit.record(
            "person.role_approved",
            object_kind="person",
            object_id=person.id,
            changes={
                **audit.changes_between(before, _snapshot(person)),
                "approval_id": [None, approval.id],
                "requested_by_id": [None, approval.requested_by_id],
            },
            actor=actor,
        )
        alert_approval(approval, "approved")
        if person.password_hash is None:
            _send_link(person)  # a new person: now they may set a password
        else:
            tell(person, f"your role is now {approval.role_label}", event)
    else:
        audit.record(
            "person.role_refused",
            object_kind="person",
            object_id=person.id,
            changes={"approval_id": [None, approval.id], "role": [None, approval.role]},
            actor=actor,
        )
    db.session.commit()
    return approval


# On the server, `create-user` makes this many administrators; more need four eyes in the app.
SERVER_MADE_ADMINS = 2


def create_first_admin(*, name: str, email: str, agency_name: str, password: str) -> Person:
    """For `flask tracker create-user` on a real install: an admin with a password. Only the
    first two (so that one can approve what the other asks); after that a new administrator is
    invited in the app and needs a second administrator's approval."""
    admins = db.session.scalar(
        select(func.count(Person.id)).where(Person.role == Role.ADMIN.value, Person.active)
    )
    if admins >= SERVER_MADE_ADMINS:
        raise PeopleError(
            "email",
            f"There are already {admins} administrators: invite a new one in the app, "
            "where a second administrator approves it",
        )
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
