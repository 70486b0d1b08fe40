"""Two-factor sign-in: TOTP enrolment and checks, one-use recovery codes, and who must use it.

Sign-in is password, then second factor: tracker.services.people.authenticate checks the
password; `verify` here checks the code and completes the sign-in. Failed codes count towards the
same per-account and per-address throttle as failed passwords. A code's time-step is remembered
so the same code cannot be used twice (replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import select

from tracker import clock
from tracker.extensions import db
from tracker.models import Person, RecoveryCode, Role, SignInAttempt
from tracker.services import accounts, api_tokens, audit, settings

STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
# Roles that must use two factors when TWO_FACTOR_FOR is "leads": those with wide reach.
WIDE_REACH_ROLES = (Role.LEAD, Role.AUDITOR, Role.ADMIN)


class TwoFactorError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def required_for(person: Person) -> bool:
    setting = settings.get("TWO_FACTOR_FOR")
    if setting == "everyone":
        return True
    if setting == "nobody":
        return False
    return person.has_role(*WIDE_REACH_ROLES)


def asked_for(person: Person) -> bool:
    """Whether sign-in needs a second step: required, or the person has enrolled anyway."""
    return person.has_two_factor or required_for(person)


def start_enrolment(person: Person) -> str:
    """The secret to put in an authenticator; the same one until confirmed, so a reload of the
    page does not invalidate a QR code already scanned."""
    if person.has_two_factor:
        raise TwoFactorError("code", "Two-factor sign-in is already set up")
    if not person.totp_secret:
        person.totp_secret = pyotp.random_base32()
        audit.record(
            "two_factor.enrolment_started", object_kind="person", object_id=person.id, actor=person
        )
        db.session.commit()
    return person.totp_secret


def provisioning_uri(person: Person) -> str:
    return pyotp.TOTP(person.totp_secret).provisioning_uri(
        name=person.email, issuer_name=settings.get("PARTNERSHIP_NAME")
    )


def qr_code_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI for an <img> (the CSP allows data: images, not inline SVG
    styles), rendered on the server so no script is needed."""
    image = qrcode.make(
        text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=4
    )
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def _current_step() -> int:
    return int(clock.now().replace(tzinfo=UTC).timestamp()) // STEP_SECONDS


def _matching_step(secret: str, code: str) -> int | None:
    """The time-step (now, or one either side for clock drift) whose code this is."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = _current_step()
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()[:64]


def _recovery_hash(code: str) -> str:
    # The codes carry 50 random bits each, so a plain SHA-256 is enough (no guessing dictionary).
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _new_recovery_codes(person: Person) -> list[str]:
    for old in db.session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None)
        )
    ):
        old.used_at = clock.now()  # replaced codes stop working; the rows stay as history
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(person_id=person.id, code_hash=_recovery_hash(raw)))
    return codes


def confirm_enrolment(person: Person, code: str) -> list[str]:
    """Confirm the authenticator with its first code; return the recovery codes (shown once)."""
    if person.has_two_factor:
        raise TwoFactorError("code", "Two-factor sign-in is already set up")
    if not person.totp_secret:
        raise TwoFactorError("code", "Start setting up two-factor sign-in again")
    step = _matching_step(person.totp_secret, _normalise(code))
    if step is None:
        raise TwoFactorError(
            "code", "Enter the 6-digit code your authenticator app shows now for this account"
        )
    person.totp_confirmed_at = clock.now()
    person.totp_last_step = step
    codes = _new_recovery_codes(person)
    enrolled = audit.record(
        "two_factor.enrolled", object_kind="person", object_id=person.id, actor=person
    )
    accounts.tell(person, "two-factor sign-in was set up", enrolled)
    audit.record("signin", object_kind="person", object_id=person.id, actor=person)
    db.session.commit()
    return codes


def verify(person: Person, code: str, address: str) -> accounts.SignInResult:
    """The second step of sign-in: an authenticator code, or an unused recovery code."""
    address = (address or "unknown")[:64]
    if accounts.is_throttled(person.email, address):
        return accounts.SignInResult(None, throttled=True)
    code = _normalise(code)
    action = "signin"
    ok = False
    if person.has_two_factor and person.active:
        step = _matching_step(person.totp_secret, code)
        if step is not None and step > (person.totp_last_step or -1):
            person.totp_last_step = step
            ok = True
        elif step is not None:
            action = "signin.code_replayed"
        else:
            recovery = db.session.scalar(
                select(RecoveryCode).where(
                    RecoveryCode.person_id == person.id,
                    RecoveryCode.code_hash == _recovery_hash(code),
                    RecoveryCode.used_at.is_(None),
                )
            )
            if recovery is not None:
                recovery.used_at = clock.now()
                action = "signin.recovery_code"
                ok = True
    db.session.add(SignInAttempt(email=person.email, address=address, succeeded=ok))
    if not ok and action == "signin":
        action = "signin.code_failed"
    audit.record(action, object_kind="person", object_id=person.id, actor=person)
    db.session.commit()
    return accounts.SignInResult(person if ok else None)


def recovery_codes_left(person: Person) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def clear(person: Person) -> None:
    """A lost authenticator, cleared through the person's own emailed link (an administrator
    can only send the link: tracker.services.people.send_reset_link): they enrol again at their
    next sign-in, and are signed out everywhere now, every API token revoked. The caller
    commits."""
    person.totp_secret = None
    person.totp_confirmed_at = None
    person.totp_last_step = None
    for code in db.session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.person_id == person.id, RecoveryCode.used_at.is_(None)
        )
    ):
        code.used_at = clock.now()
    accounts.end_sessions(person)
    api_tokens.revoke_all(person, person, "two-factor reset")
    audit.record("two_factor.reset", object_kind="person", object_id=person.id, actor=person)
