"""Signing in through an agency's own identity provider: providers, links, provider sessions.

- An admin sets up each provider (issuer, client, allowed email domains, whether its own
  multi-factor sign-in stands in for the tracker's TOTP).
- The first sign-in links the provider's subject (iss + sub) to the person of the provider's
  agency with the same verified email; later sign-ins go by the subject alone. A subject never
  moves to another person, nor so to another agency. Nobody is ever created here.
- Leavers: a back-channel logout, or a refresh the provider refuses, ends the person's sessions.

The views hold the OpenID Connect exchange (Authlib needs the request); what they learn (validated
ID token claims, the token response) comes here, where the rules are and the audit is written.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client.errors import OAuthError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tracker import clock, oidc
from tracker.extensions import db
from tracker.models import (
    Agency,
    IdentityLink,
    IdentityProvider,
    Person,
    ProviderSession,
    RoleApproval,
)
from tracker.services import accounts, approvals, audit, settings, two_factor

MFA_AMR = "mfa"
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class IdentityError(ValueError):
    """A provider setting the rules refuse; the message is shown on the form's field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# --- providers (admin) --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderSettings:
    agency_id: int
    name: str
    issuer: str
    client_id: str
    client_secret: str  # blank on an edit: keep the stored secret
    email_domains: str
    mfa_satisfies: bool
    mfa_acr_values: str
    active: bool = True


def parse_domains(text: str) -> list[str]:
    """Domains one per line (commas and spaces also separate); each a plain DNS name."""
    domains = [d.strip().lower().lstrip("@") for d in re.split(r"[\s,;]+", text or "") if d]
    return list(dict.fromkeys(d for d in domains if d))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(settings: ProviderSettings) -> list[IdentityError]:
    problems = []
    if db.session.get(Agency, settings.agency_id) is None:
        problems.append(IdentityError("agency_id", "Select an agency from the list"))
    parts = urlsplit(settings.issuer.strip())
    if parts.scheme != "https" and not (
        parts.scheme == "http" and _is_loopback(parts.hostname or "")
    ):
        problems.append(
            IdentityError(
                "issuer",
                "Enter the issuer URL starting with https://, like "
                "https://login.microsoftonline.com/<tenant id>/v2.0",
            )
        )
    elif parts.query or parts.fragment or not parts.hostname:
        problems.append(IdentityError("issuer", "Enter the issuer URL with no ? or # part"))
    domains = parse_domains(settings.email_domains)
    bad = [d for d in domains if not DOMAIN.match(d)]
    if not domains:
        problems.append(IdentityError("email_domains", "Enter at least one email domain"))
    elif bad:
        problems.append(
            IdentityError(
                "email_domains", f"Enter domains like northshire.gov.uk, not {', '.join(bad[:3])}"
            )
        )
    elif len(domains) > 50:
        problems.append(IdentityError("email_domains", "Enter 50 domains or fewer"))
    return problems


def _snapshot(provider: IdentityProvider) -> dict[str, Any]:
    # Never the secret itself: only whether it changed (see update_provider).
    return {
        "agency_id": provider.agency_id,
        "name": provider.name,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "email_domains": provider.email_domains,
        "mfa_satisfies": provider.mfa_satisfies,
        "mfa_acr_values": provider.mfa_acr_values,
        "active": provider.active,
    }


def _apply(provider: IdentityProvider, settings: ProviderSettings) -> None:
    provider.agency_id = settings.agency_id
    provider.name = settings.name.strip()
    provider.issuer = settings.issuer.strip()
    provider.client_id = settings.client_id.strip()
    provider.email_domains = "\n".join(parse_domains(settings.email_domains))
    provider.mfa_satisfies = settings.mfa_satisfies
    provider.mfa_acr_values = " ".join(settings.mfa_acr_values.split())
    provider.active = settings.active


# The settings that decide whose accounts a provider signs in to (an administrator whose own
# issuer could assert any worker's email would sign in as them), and whether its sign-in stands
# in for the tracker's own second factor (so that one administrator cannot waive two-factor for
# an agency). A new provider, or a change to one of these, waits for a second administrator
# (approvals.approvers) before it is used.
APPROVED_SETTINGS = (
    "agency_id",
    "issuer",
    "client_id",
    "email_domains",
    "mfa_satisfies",
    "mfa_acr_values",
)


def pending_approval(provider: IdentityProvider) -> RoleApproval | None:
    return db.session.scalar(
        select(RoleApproval).where(
            RoleApproval.identity_provider_id == provider.id, RoleApproval.outcome.is_(None)
        )
    )


def _request_approval(actor: Person, provider: IdentityProvider) -> RoleApproval:
    """Take the provider out of use until a second administrator approves its settings (a
    newer request replaces a pending one). In the caller's transaction."""
    pending = pending_approval(provider)
    if pending is not None:
        pending.outcome = "replaced"
        pending.decided_by_id = actor.id
        pending.decided_at = clock.now()
    provider.awaiting_approval = True
    approval = RoleApproval(
        identity_provider_id=provider.id, requested_by_id=actor.id, requested_at=clock.now()
    )
    db.session.add(approval)
    db.session.flush()
    audit.record(
        "identity_provider.approval_requested",
        object_kind="identity_provider",
        object_id=provider.id,
        changes={"approval_id": [None, approval.id]},
        actor=actor,
    )
    approvals.alert_approval(approval, "requested")
    return approval


def _lock(provider: IdentityProvider) -> None:
    """Hold the provider's row to the end of the transaction, and read it as it is now."""
    db.session.execute(
        select(IdentityProvider.id).where(IdentityProvider.id == provider.id).with_for_update()
    )
    db.session.refresh(provider)


def lock_for_decision(approval: RoleApproval) -> None:
    """Before a decision claims the request: hold the provider's row, so an edit that raced the
    decision either lands first (and replaces the request: the decision then finds it decided)
    or waits and asks again; never approved settings nobody saw."""
    if approval.identity_provider_id is not None:
        _lock(approval.identity_provider)


def decided(actor: Person, approval: RoleApproval, *, approve: bool) -> None:
    """people.decide has claimed the request (one decision only); this applies it. Refused, the
    provider stays out of use until an administrator changes it (a new request)."""
    provider = approval.identity_provider
    if approve:
        provider.awaiting_approval = False
        provider.version += 1  # every worker builds a client with the approved settings
    audit.record(
        "identity_provider.approved" if approve else "identity_provider.refused",
        object_kind="identity_provider",
        object_id=provider.id,
        changes={
            "approval_id": [None, approval.id],
            "requested_by_id": [None, approval.requested_by_id],
            **(audit.changes_between({}, _snapshot(provider)) if approve else {}),
        },
        actor=actor,
    )


def create_provider(actor: Person, settings: ProviderSettings) -> IdentityProvider:
    problems = _check(settings)
    if not settings.client_secret:
        problems.append(IdentityError("client_secret", "Enter the client secret"))
    if problems:
        raise ExceptionGroup("provider settings", problems)
    provider = IdentityProvider(client_secret=settings.client_secret.strip())
    _apply(provider, settings)
    db.session.add(provider)
    db.session.flush()
    audit.record(
        "identity_provider.create",
        object_kind="identity_provider",
        object_id=provider.id,
        changes=audit.changes_between({}, _snapshot(provider)),
        actor=actor,
    )
    _request_approval(actor, provider)
    db.session.commit()
    return provider


def update_provider(
    actor: Person, provider: IdentityProvider, settings: ProviderSettings
) -> IdentityProvider:
    problems = _check(settings)
    if problems:
        raise ExceptionGroup("provider settings", problems)
    # Hold the row against a decision on its approval (lock_for_decision), and see its state.
    _lock(provider)
    if settings.agency_id != provider.agency_id and db.session.scalar(
        select(IdentityLink.id).where(IdentityLink.provider_id == provider.id).limit(1)
    ):
        # Its linked subjects belong to this agency's people: moving it would move them.
        raise ExceptionGroup(
            "provider settings",
            [
                IdentityError(
                    "agency_id",
                    "People have signed in with this provider: it stays with its agency "
                    "(set it up again for the other agency)",
                )
            ],
        )
    before = _snapshot(provider)
    _apply(provider, settings)
    changes = audit.changes_between(before, _snapshot(provider))
    if settings.client_secret and settings.client_secret.strip() != provider.client_secret:
        provider.client_secret = settings.client_secret.strip()
        changes["client_secret"] = ["(kept)", "(replaced)"]
    if not changes:
        db.session.commit()  # nothing to save: end the transaction that holds the row
        return provider
    provider.version += 1  # every worker builds a new client with the new settings
    audit.record(
        "identity_provider.update",
        object_kind="identity_provider",
        object_id=provider.id,
        changes=changes,
        actor=actor,
    )
    if any(key in changes for key in APPROVED_SETTINGS) or (
        provider.awaiting_approval and pending_approval(provider) is None
    ):
        _request_approval(actor, provider)
    if not provider.active:
        _end_provider_sessions(
            select(ProviderSession).where(ProviderSession.provider_id == provider.id),
            "provider_off",
        )
    db.session.commit()
    return provider


def all_providers() -> list[IdentityProvider]:
    return list(
        db.session.scalars(
            select(IdentityProvider)
            .join(Agency, IdentityProvider.agency_id == Agency.id)
            .order_by(Agency.name, IdentityProvider.name)
        )
    )


def provider_summaries() -> list[tuple[IdentityProvider, int, Any]]:
    """Each provider with how many people are linked and when anyone last signed in with it."""
    from sqlalchemy import func

    stats = dict(
        (row.provider_id, (row.linked, row.last))
        for row in db.session.execute(
            select(
                IdentityLink.provider_id,
                func.count(IdentityLink.id).label("linked"),
                func.max(IdentityLink.last_sign_in_at).label("last"),
            ).group_by(IdentityLink.provider_id)
        )
    )
    return [(p, *stats.get(p.id, (0, None))) for p in all_providers()]


def in_use(provider: IdentityProvider) -> bool:
    """Offered for signing in, and its callback and logout answered."""
    return provider.active and provider.agency.active and not provider.awaiting_approval


def providers_for_sign_in() -> list[IdentityProvider]:
    return [p for p in all_providers() if in_use(p)]


def active_provider(provider_id: int) -> IdentityProvider | None:
    provider = db.session.get(IdentityProvider, provider_id)
    if provider is None or not in_use(provider):
        return None
    return provider


def links_for_person(person: Person) -> list[IdentityLink]:
    return list(
        db.session.scalars(
            select(IdentityLink)
            .where(IdentityLink.person_id == person.id)
            .order_by(IdentityLink.id)
        )
    )


def links_for_provider(provider: IdentityProvider) -> list[IdentityLink]:
    return list(
        db.session.scalars(
            select(IdentityLink)
            .where(IdentityLink.provider_id == provider.id)
            .order_by(IdentityLink.last_sign_in_at.desc().nulls_last(), IdentityLink.id)
        )
    )


# --- signing in ---------------------------------------------------------------------------------

# What a refused sign-in tells the person; the audit records the precise reason.
UNKNOWN = "unknown"  # no invited person to link to: ask the agency's administrator
WRONG_DOMAIN = "wrong_domain"  # an email domain this provider does not sign in for
UNVERIFIED = "unverified"  # the provider did not vouch for the email address
INACTIVE = "inactive"  # the linked person cannot sign in (deactivated)
INVALID = "invalid"  # the exchange or the ID token failed a check


@dataclass(frozen=True)
class PendingLink:
    """A first sign-in waiting for the person's own tracker password before it is linked."""

    provider_id: int
    person_id: int
    issuer: str
    subject: str


@dataclass(frozen=True)
class ProviderSignIn:
    person: Person | None = None
    refusal: str | None = None
    provider_session_id: int | None = None
    needs_second_factor: bool = False
    to_confirm: PendingLink | None = None


def _link_changes(provider: IdentityProvider, issuer: str, subject: str) -> dict[str, list]:
    return {"provider": [None, provider.name], "issuer": [None, issuer], "subject": [None, subject]}


def _add_link(
    provider: IdentityProvider, person: Person, issuer: str, subject: str, *, confirmed=False
) -> IdentityLink | None:
    """Link the subject to the person, audited; None when the person is already linked to
    another subject here. In the caller's transaction."""
    link = IdentityLink(
        person_id=person.id, provider_id=provider.id, issuer=issuer, subject=subject
    )
    try:
        with db.session.begin_nested():
            db.session.add(link)
    except IntegrityError:
        # The unique keys decide, so a concurrent twin cannot slip past a check: either a
        # twin sign-in of this subject linked it a moment ago (go by what it stored), or the
        # person is linked to another subject here, and a new account at the agency with
        # the same email must not take over the old one silently.
        link = db.session.scalar(
            select(IdentityLink).where(
                IdentityLink.issuer == issuer, IdentityLink.subject == subject
            )
        )
        return link if link is not None and link.person_id == person.id else None
    changes = _link_changes(provider, issuer, subject)
    if confirmed:
        changes["confirmed_with_password"] = [None, True]
    audit.record(
        "identity.linked", object_kind="person", object_id=person.id, changes=changes, actor=person
    )
    return link


class LinkRefused(ValueError):
    """The password did not confirm the link (or too many tries); the message says which."""


def confirm_link(pending: PendingLink, password: str, address: str) -> None:
    """The person typed their tracker password: link the provider's subject to them (once;
    later sign-ins go by the link). Throttled and recorded as sign-in attempts are."""
    provider = active_provider(pending.provider_id)
    person = db.session.get(Person, pending.person_id)
    if provider is None or person is None or not person.is_active:
        raise LinkRefused("This sign-in can no longer be linked: start again")
    if not accounts.confirms_password(person, password, address):
        audit.record(
            "identity.link_refused",
            object_kind="person",
            object_id=person.id,
            changes=_link_changes(provider, pending.issuer, pending.subject),
        )
        db.session.commit()
        raise LinkRefused("Enter the password of your account on this service")
    if _add_link(provider, person, pending.issuer, pending.subject, confirmed=True) is None:
        db.session.rollback()
        raise LinkRefused("Your account is already linked to another account at this provider")
    db.session.commit()


def mfa_satisfied(provider: IdentityProvider, claims: dict[str, Any]) -> bool:
    """The provider's multi-factor sign-in counts only where the admin said it does, and only
    when this sign-in used it: amr lists "mfa", or acr is one of the configured levels."""
    if not provider.mfa_satisfies:
        return False
    amr = claims.get("amr")
    if isinstance(amr, list) and MFA_AMR in amr:
        return True
    return isinstance(claims.get("acr"), str) and claims["acr"] in provider.acr_values


def _email_verified(claims: dict[str, Any]) -> bool:
    # email_verified is the standard claim; Entra ID says the same with xms_edov (the email's
    # domain is verified by the tenant), which it sends when configured as an optional claim.
    return claims.get("email_verified") is True or claims.get("xms_edov") is True


def refuse(
    provider: IdentityProvider | None, reason: str, detail: str, claims: dict | None = None
) -> ProviderSignIn:
    """Audit a refused sign-in (what the provider said, never the tokens) and say why."""
    claims = claims or {}
    changes = {"reason": [None, f"{reason}: {detail}"[:300]]}
    for key in ("iss", "sub", "email"):
        if isinstance(claims.get(key), str):
            changes[key] = [None, claims[key][:254]]
    audit.record(
        "signin.provider_refused",
        object_kind="identity_provider",
        object_id=provider.id if provider else None,
        changes=changes,
    )
    db.session.commit()
    return ProviderSignIn(refusal=reason)


def _link_for(claims: dict[str, Any]) -> IdentityLink | None:
    return db.session.scalar(
        select(IdentityLink).where(
            IdentityLink.issuer == claims["iss"], IdentityLink.subject == claims["sub"]
        )
    )


def _person_to_link(
    provider: IdentityProvider, claims: dict[str, Any]
) -> tuple[Person | None, str]:
    """The invited person of the provider's agency this first sign-in is for, or why none."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None, UNKNOWN
    email = accounts.normalise_email(email)
    if email.rpartition("@")[2] not in provider.domains:
        return None, WRONG_DOMAIN
    if not _email_verified(claims):
        return None, UNVERIFIED
    person = db.session.scalar(
        select(Person).where(Person.email == email, Person.agency_id == provider.agency_id)
    )
    return person, UNKNOWN


def sign_in(
    provider: IdentityProvider, claims: dict[str, Any], token: dict[str, Any]
) -> ProviderSignIn:
    """A validated ID token's claims (and the token response, for the refresh token): link on
    first sign-in, then sign in, or refuse. Audited either way; nothing else is created."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 255 or len(claims.get("iss", "")) > 500:
        # OpenID Connect Core 2: sub is at most 255 ASCII characters; the columns hold that.
        return refuse(provider, INVALID, "sub missing or longer than 255 characters", claims)
    link = _link_for(claims)
    if link is not None and link.person.agency_id != provider.agency_id:
        return refuse(provider, UNKNOWN, "subject linked in another agency", claims)
    if link is None:
        person, reason = _person_to_link(provider, claims)
        if person is None:
            return refuse(provider, reason, "no person to link", claims)
        if not person.is_active:
            return refuse(provider, INACTIVE, "person deactivated", claims)
        if person.password_hash is not None:
            # Account linking: an account that already has a password is linked only once its
            # person types that password. A provider asserting the email (or whoever controls
            # the provider's issuer) is not enough to take it over.
            audit.record(
                "identity.link_confirmation_asked",
                object_kind="person",
                object_id=person.id,
                changes=_link_changes(provider, claims["iss"], claims["sub"]),
            )
            db.session.commit()
            return ProviderSignIn(
                to_confirm=PendingLink(provider.id, person.id, claims["iss"], claims["sub"])
            )
        link = _add_link(provider, person, claims["iss"], claims["sub"])
        if link is None:
            return refuse(provider, UNKNOWN, "person linked to another subject", claims)
    person = link.person
    if not person.is_active:
        return refuse(provider, INACTIVE, "person deactivated", claims)
    link.last_sign_in_at = clock.now()
    mfa = mfa_satisfied(provider, claims)
    needs_second_factor = two_factor.asked_for(person) and not mfa
    provider_session = ProviderSession(
        person_id=person.id,
        provider_id=provider.id,
        sid=sid if isinstance(sid := claims.get("sid"), str) and len(sid) <= 255 else None,
        refresh_token=token.get("refresh_token"),
    )
    db.session.add(provider_session)
    db.session.flush()
    audit.record(
        "signin.provider_first_factor" if needs_second_factor else "signin.provider",
        object_kind="person",
        object_id=person.id,
        changes={"provider": [None, provider.name], "provider_mfa": [None, mfa]},
        actor=person,
    )
    db.session.commit()
    return ProviderSignIn(
        person=person,
        provider_session_id=provider_session.id,
        needs_second_factor=needs_second_factor,
    )


# --- leavers: refresh and back-channel logout ---------------------------------------------------


def _end_provider_sessions(query, reason: str) -> set[int]:
    """End the provider sessions the query finds; return their people's ids."""
    ended = set()
    for provider_session in db.session.scalars(query.where(ProviderSession.ended_at.is_(None))):
        provider_session.ended_at = clock.now()
        provider_session.end_reason = reason
        provider_session.refresh_token = None  # no longer needed: not kept
        ended.add(provider_session.person_id)
    return ended


def _sign_out_everywhere(person: Person, action: str, changes: dict) -> None:
    accounts.end_sessions(person)
    _end_provider_sessions(
        select(ProviderSession).where(ProviderSession.person_id == person.id), action
    )
    audit.record(action, object_kind="person", object_id=person.id, changes=changes, actor=person)


def session_is_live(provider_session_id: int, person_id: int) -> bool:
    """Whether a session begun through a provider may go on. Every IDENTITY_REFRESH_MINUTES one
    request asks the provider (refresh); a refusal ends the person's sessions everywhere.

    Two requests due at once: the one whose update moves checked_at forward asks; the other
    goes on (a rotated refresh token used twice would make the provider revoke the grant).
    """
    provider_session = db.session.get(ProviderSession, provider_session_id)
    if (
        provider_session is None
        or provider_session.ended_at is not None
        or provider_session.person_id != person_id
    ):
        return False
    provider = provider_session.provider
    if not in_use(provider):  # switched off, or settings nobody has approved yet
        return False
    now = clock.now()
    due = now - timedelta(minutes=settings.get("IDENTITY_REFRESH_MINUTES"))
    if provider_session.checked_at > due:
        return True
    claimed = db.session.execute(
        update(ProviderSession)
        .where(
            ProviderSession.id == provider_session.id,
            ProviderSession.ended_at.is_(None),
            ProviderSession.checked_at <= due,
        )
        .values(checked_at=now)
    ).rowcount
    db.session.commit()
    if not claimed:
        return True
    db.session.refresh(provider_session)
    person = db.session.get(Person, provider_session.person_id)
    changes = {"provider": [None, provider.name]}
    if not provider_session.refresh_token:
        # No refresh token: the provider cannot be asked, so a fresh sign-in (usually one click
        # at the provider) shows the account is still live.
        _end_provider_sessions(
            select(ProviderSession).where(ProviderSession.id == provider_session.id), "no_refresh"
        )
        audit.record(
            "signout.provider_no_refresh",
            object_kind="person",
            object_id=person.id,
            changes=changes,
            actor=person,
        )
        db.session.commit()
        return False
    try:
        token = oidc.refresh(provider, provider_session.refresh_token)
    except OAuthError as error:
        changes["error"] = [None, str(error.error or "refused")[:100]]
        _sign_out_everywhere(person, "signout.provider_refused_refresh", changes)
        db.session.commit()
        return False
    except (requests.RequestException, ValueError) as error:
        # The provider is unreachable: work goes on (a safeguarding service must not stop with a
        # provider outage); it is asked again at the next interval, and the gap is audited.
        changes["error"] = [None, type(error).__name__]
        audit.record(
            "identity.refresh_unreachable",
            object_kind="person",
            object_id=person.id,
            changes=changes,
            actor=person,
        )
        db.session.commit()
        return True
    if token.get("refresh_token"):
        provider_session.refresh_token = token["refresh_token"]  # the provider rotated it
    audit.record(
        "identity.refreshed",
        object_kind="person",
        object_id=person.id,
        changes=changes,
        actor=person,
    )
    db.session.commit()
    return True


def session_ended(provider_session_id: int | None, reason: str) -> None:
    """The person signed out (or went idle): the provider session ends with the tracker's."""
    if provider_session_id is None:
        return
    _end_provider_sessions(
        select(ProviderSession).where(ProviderSession.id == provider_session_id), reason
    )
    db.session.commit()


def backchannel_logout(provider: IdentityProvider, logout_token: str) -> int:
    """Validate the provider's logout token and end the sessions it names: by sid, the people of
    those provider sessions; by sub, the linked person. Every session of theirs ends (the
    tracker's session token changes), not only the one begun there. Returns how many people."""
    try:
        claims = oidc.validate_logout_token(provider, logout_token)
    except oidc.ProviderError as error:
        audit.record(
            "identity.backchannel_logout_refused",
            object_kind="identity_provider",
            object_id=provider.id,
            changes={"reason": [None, str(error)[:300]]},
        )
        db.session.commit()
        raise
    person_ids: set[int] = set()
    if claims.get("sid"):
        person_ids |= set(
            db.session.scalars(
                select(ProviderSession.person_id).where(
                    ProviderSession.provider_id == provider.id,
                    ProviderSession.sid == claims["sid"],
                )
            )
        )
    if claims.get("sub"):
        link = db.session.scalar(
            select(IdentityLink).where(
                IdentityLink.issuer == provider.issuer,
                IdentityLink.subject == claims["sub"],
                IdentityLink.provider_id == provider.id,
            )
        )
        if link is not None:
            person_ids.add(link.person_id)
    changes = {
        "provider": [None, provider.name],
        "sid": [None, claims.get("sid")],
        "sub": [None, claims.get("sub")],
    }
    if not person_ids:
        audit.record(
            "identity.backchannel_logout",
            object_kind="identity_provider",
            object_id=provider.id,
            changes={**changes, "people": [None, 0]},
        )
    for person_id in sorted(person_ids):
        _sign_out_everywhere(
            db.session.get(Person, person_id), "signout.provider_backchannel", changes
        )
    db.session.commit()
    return len(person_ids)
