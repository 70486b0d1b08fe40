"""API tokens for agency systems, and the two guards every API call passes: a rate limit per
token and idempotency keys on create calls.

- `create(person, name, expires_on)` returns the token and its secret (shown once, never stored).
- `authenticate(secret)` finds a usable token (not expired, not revoked, person active).
- `count_request(token)` counts the call in a fixed window held in the database, so the limit
  holds however many gunicorn workers or hosts serve the API (an in-process counter would give
  each worker its own allowance). The window row is upserted atomically on both databases.
- `claim_key(...)` / `store_answer(...)` / `release_key(...)`: the key is claimed (a committed row)
  before the change is made, so a retry arriving while the first call runs cannot record twice.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from tracker import clock
from tracker.extensions import db
from tracker.models import ApiAuthFailure, ApiRateWindow, ApiToken, IdempotencyRecord, Person
from tracker.services import accounts, audit, locks, settings, workdays

SECRET_PREFIX = "sct_"  # noqa: S105  (a marker that says what the string is, not a secret)  # nosec B105
NAME_MAX = 80
KEY_MAX = 200


class TokenError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def max_days() -> int:
    return settings.get("API_TOKEN_MAX_DAYS")


def create(person: Person, name: str, expires_on: date | None) -> tuple[ApiToken, str]:
    """A new token for the person; the secret is returned once and only its hash is kept."""
    name = (name or "").strip()
    if not name:
        raise TokenError("name", "Enter a name for the token, such as the system that will use it")
    if len(name) > NAME_MAX:
        raise TokenError("name", f"Name must be {NAME_MAX} characters or fewer")
    today = workdays.today()
    if expires_on is None:
        raise TokenError("expires_on", "Enter the date the token expires")
    if expires_on <= today:
        raise TokenError("expires_on", "The expiry date must be in the future")
    if expires_on > today + timedelta(days=max_days()):
        raise TokenError(
            "expires_on", f"The expiry date must be within {max_days()} days from today"
        )
    # One at a time per person, so two concurrent creates cannot both pass the cap.
    locks.serialise(f"api_tokens:{person.id}")
    if len(live_tokens(person)) >= max_live():
        raise TokenError(
            "name",
            f"You already have {max_live()} tokens in use: revoke one you no longer need first",
        )
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        person_id=person.id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[: len(SECRET_PREFIX) + 6],
        created_at=clock.now(),
        # Valid to the end of the expiry day, in the partnership's time.
        expires_at=workdays.to_utc(datetime.combine(expires_on + timedelta(days=1), time.min)),
    )
    db.session.add(token)
    db.session.flush()
    created = audit.record(
        "api_token.create",
        object_kind="api_token",
        object_id=token.id,
        changes=audit.changes_between(
            {}, {"name": name, "prefix": token.prefix, "expires_at": token.expires_at}
        ),
        actor=person,
    )
    # A token made by someone else in a stolen session is then noticed by its owner.
    accounts.tell(person, "an API token was created (see API tokens)", created)
    db.session.commit()
    return token, secret


def max_live() -> int:
    return settings.get("API_TOKEN_MAX_LIVE")


def live_tokens(person: Person) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(
                ApiToken.person_id == person.id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > clock.now(),
            )
        )
    )


def revoke_all(person: Person, actor: Person, reason: str) -> None:
    """Revoke every live token of the person (a role change: a token never outlives the role
    it was made under). In the caller's transaction."""
    for token in live_tokens(person):
        token.revoked_at = clock.now()
        audit.record(
            "api_token.revoke",
            object_kind="api_token",
            object_id=token.id,
            changes={"revoked_at": [None, token.revoked_at]},
            reason=reason,
            actor=actor,
        )


def tokens_for(person: Person) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.person_id == person.id).order_by(ApiToken.id.desc())
        )
    )


def revoke(person: Person, token_id: int) -> ApiToken:
    """Only the token's owner revokes it; a revoked token stays listed, marked revoked."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.person_id != person.id:
        raise TokenError("token", "That token is not one of yours")
    if token.revoked_at is not None:
        raise TokenError("token", "That token has already been revoked")
    token.revoked_at = clock.now()
    audit.record(
        "api_token.revoke",
        object_kind="api_token",
        object_id=token.id,
        changes={"revoked_at": [None, token.revoked_at]},
        actor=person,
    )
    db.session.commit()
    return token


def _failure_window_start() -> datetime:
    return clock.now() - timedelta(minutes=settings.get("SIGNIN_WINDOW_MINUTES"))


def address_throttled(address: str) -> bool:
    """Too many wrong bearer tokens from this address lately: refuse every token from it (a
    right one too, or guessing could go on) until the window passes."""
    failures = db.session.scalar(
        select(func.count(ApiAuthFailure.id)).where(
            ApiAuthFailure.address == address[:64], ApiAuthFailure.at >= _failure_window_start()
        )
    )
    return failures >= settings.get("API_AUTH_MAX_FAILURES")


def record_failure(address: str) -> None:
    """One wrong bearer token from the address (older ones beyond the window are dropped)."""
    address = address[:64]
    db.session.execute(
        delete(ApiAuthFailure).where(
            ApiAuthFailure.address == address, ApiAuthFailure.at < _failure_window_start()
        )
    )
    db.session.add(ApiAuthFailure(address=address, at=clock.now()))
    db.session.commit()


def authenticate(secret: str) -> ApiToken | None:
    """The token for this secret if it may be used now, its last use noted (once a minute)."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    now = clock.now()
    if token is None or not token.usable(now) or not token.person.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
        db.session.commit()
    return token


# --- Rate limit ---------------------------------------------------------------------------------


def rate_limit() -> tuple[int, int]:
    """(requests, window seconds) per token."""
    return (
        settings.get("API_RATE_LIMIT"),
        settings.get("API_RATE_WINDOW_SECONDS"),
    )


def count_request(token: ApiToken) -> int | None:
    """Count one call; None if within the limit, else the seconds until the window ends."""
    limit, seconds = rate_limit()
    now = clock.now()
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % seconds)
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(ApiRateWindow)
        .values(token_id=token.id, window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=["token_id", "window_start"],
            set_={"count": ApiRateWindow.count + 1},
        )
        .returning(ApiRateWindow.count)
    )
    count = db.session.execute(statement).scalar_one()
    if count == 1:  # a new window: forget this token's old ones
        db.session.execute(
            delete(ApiRateWindow).where(
                ApiRateWindow.token_id == token.id, ApiRateWindow.window_start < start
            )
        )
    db.session.commit()
    if count <= limit:
        return None
    return max(1, int((start + timedelta(seconds=seconds) - now).total_seconds() + 0.999))


# --- Idempotency keys ---------------------------------------------------------------------------


def request_hash(method: str, path: str, body: object) -> str:
    return hashlib.sha256(audit.canonical_json([method, path, body]).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Claim:
    """What a key means for this call: run it (new), answer as before (replay), or refuse."""

    outcome: str  # "new", "replay", "mismatch" or "in_progress"
    record: IdempotencyRecord


def claim_key(token: ApiToken, key: str, method: str, path: str, body: object) -> Claim:
    digest = request_hash(method, path, body)
    record = IdempotencyRecord(
        person_id=token.person_id,
        token_id=token.id,
        key=key,
        method=method,
        path=path,
        request_hash=digest,
        created_at=clock.now(),
    )
    db.session.add(record)
    try:
        db.session.commit()
        return Claim("new", record)
    except IntegrityError:
        db.session.rollback()
    existing = db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.person_id == token.person_id, IdempotencyRecord.key == key
        )
    )
    if existing.request_hash != digest:
        return Claim("mismatch", existing)
    if existing.response_status is None:
        return Claim("in_progress", existing)
    return Claim("replay", existing)


def store_answer(record: IdempotencyRecord, status: int, body: object) -> None:
    db.session.rollback()  # whatever the failed call left behind is not ours to keep
    record = db.session.get(IdempotencyRecord, record.id)
    record.response_status = status
    record.response_body = json.dumps(body)
    db.session.commit()


def release_key(record: IdempotencyRecord) -> None:
    """The call failed unexpectedly and recorded nothing: the key may be used again."""
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record.id))
    db.session.commit()
