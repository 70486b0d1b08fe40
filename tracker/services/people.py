"""People: invitations, setting a password, signing in, roles and deactivation.

What every way into an account builds on (passwords, throttling, sessions) is
tracker.services.accounts; who may approve a request, tracker.services.approvals.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
from datetime import timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy import update as sa_update

from tracker import clock
from tracker.extensions import db
from tracker.models import (
    Agency,
    AgencyKind,
    AlertKind,
    Person,
    Role,
    RoleApproval,
    SignInAttempt,
)
from tracker.services import accounts, alerts, api_tokens, audit, identity, settings, two_factor
from tracker.services.accounts import end_sessions, hash_password, normalise_email, tell
from tracker.services.approvals import (
    CASE_ROLES,
    WIDE_ROLES,
    alert_approval,
    decided_by_whom,
    may_decide,
    pending_approval,
)

MIN_PASSWORD_LENGTH = 12


class PeopleError(ValueError):
    """A request the rules refuse; the message is shown to the person, keyed by form field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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


def _link_lifetime(person: Person) -> timedelta:
    """An invitation waits days; a reset for someone who already has a password, an hour."""
    if person.password_hash is None:
        return timedelta(hours=settings.get("INVITE_HOURS"))
    return timedelta(minutes=settings.get("RESET_LINK_MINUTES"))


def _send_link(actor: Person, person: Person, *, clears_two_factor: bool = False) -> None:
    """Email the person (and only them) a single-use, short-lived set-password link. Nobody
    else ever sees it: only its hash is kept, and it is not shown to the administrator who asked.
    Runs in the caller's transaction."""
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
        actor=actor,
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
    _send_link(actor, person, clears_two_factor=clears_two_factor)
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
    two-factor sign-in cleared to set up again). The link is then spent, every session ends and
    every API token is revoked."""
    problem = password_problem(password)
    if problem:
        raise PeopleError("password", problem)
    clears_two_factor = person.invite_clears_two_factor
    person.password_hash = hash_password(password)
    person.invite_token_hash = None
    person.invite_expires_at = None
    person.invite_clears_two_factor = False
    end_sessions(person)
    # The link is how an account is taken back: what was minted in a stolen session goes too.
    api_tokens.revoke_all(person, person, "password reset")
    event = audit.record(
        "person.password_set", object_kind="person", object_id=person.id, actor=person
    )
    what = "your password was set"
    if clears_two_factor and person.has_two_factor:
        two_factor.clear(person)
        what += ", and two-factor sign-in was cleared (set it up again when you sign in)"
    tell(person, what, event)
    db.session.commit()


def authenticate(email: str, password: str, address: str) -> accounts.SignInResult:
    """Check a sign-in, throttled per account and per address. Every attempt is audited.

    For people who sign in with two factors the password is only the first step: it is audited
    as "signin.password" and tracker.services.two_factor completes the sign-in.
    """
    email = normalise_email(email)[:254]
    address = (address or "unknown")[:64]
    if accounts.is_throttled(email, address):
        return accounts.SignInResult(None, throttled=True)

    person = db.session.scalar(select(Person).where(Person.email == email))
    ok = False
    if person is not None and person.is_active and person.password_hash:
        ok = accounts.password_matches(person.password_hash, password)
    else:
        accounts.password_matches(None, password)  # the same work: timing reveals no account
    db.session.add(SignInAttempt(email=email, address=address, succeeded=ok))
    if ok:
        if accounts.needs_rehash(person.password_hash):
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
    return accounts.SignInResult(person if ok else None)


def record_sign_out(person: Person, *, inactive: bool = False) -> None:
    """Signing out ends every session of the person, so a copied cookie is useless afterwards.
    An idle time-out ends only the idle session (the cookie's own time stamp does that)."""
    action = "signout.inactive" if inactive else "signout"
    if not inactive:
        end_sessions(person)
    audit.record(action, object_kind="person", object_id=person.id, actor=person)
    db.session.commit()


def _needs_approval(person: Person, role: str, active: bool) -> bool:
    """Gaining a power one did not hold: becoming an active auditor or administrator who was
    not one already, or a lead of the partnership's business unit (who reads every challenge:
    access.reads_partnership_wide), or becoming an active worker or lead (invited, reactivated,
    or moved from another role), who then reads their agency's cases."""
    if not active:
        return False
    partnership_lead = (
        role == Role.LEAD.value and person.agency.kind == AgencyKind.PARTNERSHIP.value
    )
    if role in WIDE_ROLES or partnership_lead:
        return not (person.active and person.role == role)
    return not (person.active and person.role in CASE_ROLES)


def _close_pending(person: Person, outcome: str, actor: Person) -> None:
    pending = pending_approval(person)
    if pending is not None:
        pending.outcome = outcome
        pending.decided_by_id = actor.id
        pending.decided_at = clock.now()


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
    role = Role(role).value
    if person.id == actor.id and (not active or role != person.role):
        raise PeopleError("role", "You cannot change your own role or deactivate yourself")
    if active and not person.active and not person.agency.active:
        # They could not sign in, yet would be alerted and asked to approve as if they could.
        raise PeopleError("active", f"{person.agency.name} is inactive: make it active first")
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
            _send_link(actor, person)  # a new person: now they may set a password
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
