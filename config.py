"""Settings, read from the environment once at start.

Every number the partnership owns (timescales, windows, hours) is a setting here so a partnership
can change it without a code change. Defaults are the ones in ../shared/DESIGN.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("TRACKER_INSTANCE_DIR", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """A setting is missing or wrong: the app refuses to start, with a one-line reason."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _working_day() -> tuple[str, str, str]:
    """The time zone and the working day's hours, checked now rather than at the first deadline."""
    from datetime import time
    from zoneinfo import ZoneInfo

    zone = os.environ.get("TRACKER_TIMEZONE", "Europe/London")
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        raise ConfigError(f"TRACKER_TIMEZONE must be a time zone name, not {zone!r}") from None
    hours = []
    for name, default in (("TRACKER_WORKDAY_START", "09:00"), ("TRACKER_WORKDAY_END", "17:00")):
        raw = os.environ.get(name, default)
        try:
            hours.append(time.fromisoformat(raw))
        except ValueError:
            raise ConfigError(f"{name} must be a time like 09:00, not {raw!r}") from None
    if hours[0] >= hours[1]:
        raise ConfigError("TRACKER_WORKDAY_START must be before TRACKER_WORKDAY_END")
    return zone, hours[0].strftime("%H:%M"), hours[1].strftime("%H:%M")


def _verifier_keys(name: str) -> tuple[str, ...]:
    """C2SP verifier keys separated by white space, each checked now."""
    from tracker.verify_pack import NoteError, VerifierKey

    keys = tuple(os.environ.get(name, "").split())
    for key in keys:
        try:
            VerifierKey.parse(key)
        except NoteError as error:
            raise ConfigError(f"{name}: {key!r} is not a verifier key ({error})") from None
    return keys


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _development_secret_key(instance_dir: Path) -> str:
    """Generate the development secret once and keep it, so sessions survive restarts."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _audit_signing_key(instance_dir: Path, production: bool, origin: str) -> str:
    """The audit log's signing key file: required in production, generated in development."""
    from tracker.services import signing

    path = os.environ.get("TRACKER_AUDIT_SIGNING_KEY_FILE", "")
    if production and not path:
        raise ConfigError(
            "TRACKER_AUDIT_SIGNING_KEY_FILE must name the audit signing key when "
            "TRACKER_ENV=production (create one with `flask tracker audit keygen`)"
        )
    if not path:
        path = str(instance_dir / "audit-signing.key")
        if not Path(path).exists():
            signing.write(signing.generate(origin), path)
    try:
        signing.load(path)
    except (OSError, ValueError) as error:
        raise ConfigError(f"TRACKER_AUDIT_SIGNING_KEY_FILE {path}: {error}") from None
    return path


def from_environment(**overrides) -> dict:
    """Build the Flask config mapping from the environment (plus explicit overrides, for tests)."""
    env = os.environ.get("TRACKER_ENV", "development")
    production = env == "production"
    instance_dir = Path(overrides.get("INSTANCE_DIR", INSTANCE_DIR))

    secret_key = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY must be set when TRACKER_ENV=production")
        secret_key = _development_secret_key(instance_dir)
    if production and os.environ.get("TRACKER_TEST_CHEAP_PASSWORD_HASHING"):
        # Hashes a stolen database would give up in microseconds each: for test runs only.
        raise ConfigError(
            "TRACKER_TEST_CHEAP_PASSWORD_HASHING must not be set when TRACKER_ENV=production"
        )
    if production and os.environ.get("TRACKER_CLOCK_OFFSET_SECONDS"):
        # A moved clock is for tests only: in production it would misdate every record.
        raise ConfigError(
            "TRACKER_CLOCK_OFFSET_SECONDS must not be set when TRACKER_ENV=production"
        )

    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'tracker.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    # Shown to someone who fears a child is at immediate risk: a wrong number there is dangerous,
    # so production has no default at all. Elsewhere (the demo, tests) the defaults are Ofcom's
    # numbers reserved for drama, which reach nobody.
    phones = {}
    for key, name, drama in (
        ("FRONT_DOOR_PHONE", "TRACKER_FRONT_DOOR_PHONE", "01632 960000"),
        ("EMERGENCY_PHONE", "TRACKER_EMERGENCY_PHONE", "01632 960999"),
    ):
        phones[key] = overrides.get(key) or os.environ.get(name, "").strip()
        if not phones[key]:
            if production:
                raise ConfigError(f"{name} must be set when TRACKER_ENV=production")
            phones[key] = drama

    zone, workday_start, workday_end = _working_day()

    two_factor_for = os.environ.get("TRACKER_TWO_FACTOR_FOR", "leads").strip().lower()
    if two_factor_for not in {"leads", "everyone", "nobody"}:
        raise ConfigError(
            f"TRACKER_TWO_FACTOR_FOR must be leads, everyone or nobody, not {two_factor_for!r}"
        )

    # Emergency access is for an emergency: at least an hour, at most a day (a longer need is
    # for the case's agencies to involve the agency properly).
    break_glass_hours = _int("TRACKER_BREAK_GLASS_HOURS", 3)
    if not 1 <= break_glass_hours <= 24:
        raise ConfigError(
            f"TRACKER_BREAK_GLASS_HOURS must be from 1 to 24, not {break_glass_hours}"
        )

    base_url = os.environ.get("TRACKER_BASE_URL", "http://127.0.0.1:5000")
    audit_origin = os.environ.get("TRACKER_AUDIT_ORIGIN") or (
        (urlsplit(base_url).netloc or "tracker.invalid") + "/audit"
    )
    signing_key_file = overrides.get("AUDIT_SIGNING_KEY_FILE") or _audit_signing_key(
        instance_dir, production, audit_origin
    )

    config = {
        "ENV_NAME": env,
        "PRODUCTION": production,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Cookies: never readable from script, never sent with any cross-site request (Strict:
        # a link from elsewhere, even a top-level GET, arrives signed out and cannot make a view
        # event under the reader's name), HTTPS-only in production.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "PERMANENT_SESSION_LIFETIME": _int("TRACKER_SESSION_HOURS", 8) * 3600,
        "WTF_CSRF_TIME_LIMIT": None,  # bound to the session instead; a long form must not expire
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "PARTNERSHIP_NAME": os.environ.get(
            "TRACKER_PARTNERSHIP_NAME", "Safeguarding Children Partnership"
        ),
        "CASE_REFERENCE_PREFIX": os.environ.get("TRACKER_CASE_PREFIX", "SSCP"),
        "PAGE_SIZE": _int("TRACKER_PAGE_SIZE", 25),
        # Working days
        "TIMEZONE": zone,
        "HOLIDAY_COUNTRY": os.environ.get("TRACKER_HOLIDAY_COUNTRY", "GB"),
        "HOLIDAY_REGION": os.environ.get("TRACKER_HOLIDAY_REGION", "ENG"),
        "WORKDAY_START": workday_start,
        "WORKDAY_END": workday_end,
        # Concerns and case notes
        "CONCERN_DAYS_STANDARD": _int("TRACKER_CONCERN_DAYS_STANDARD", 3),
        "CONCERN_DAYS_URGENT": _int("TRACKER_CONCERN_DAYS_URGENT", 1),
        "LIVED_EXPERIENCE_STALE_DAYS": _int("TRACKER_LIVED_EXPERIENCE_STALE_DAYS", 28),
        "THRESHOLD_LEVELS": [
            level.strip()
            for level in os.environ.get(
                "TRACKER_THRESHOLD_LEVELS",
                "Universal|Early help|Targeted / child in need|Specialist / child protection",
            ).split("|")
            if level.strip()
        ],
        # Professional challenge
        "PROCEDURE_FILE": os.environ.get("TRACKER_PROCEDURE_FILE", ""),
        **phones,  # FRONT_DOOR_PHONE, EMERGENCY_PHONE
        # Records governance: the retention schedule file, and the years after closure that
        # records no rule of it covers are kept.
        "RETENTION_FILE": os.environ.get("TRACKER_RETENTION_FILE", ""),
        "RETENTION_DEFAULT_YEARS": _int("TRACKER_RETENTION_DEFAULT_YEARS", 15),
        # Sign-in throttling: failures counted over a window, per account and per address.
        "SIGNIN_WINDOW_MINUTES": _int("TRACKER_SIGNIN_WINDOW_MINUTES", 15),
        "SIGNIN_MAX_PER_ACCOUNT": _int("TRACKER_SIGNIN_MAX_PER_ACCOUNT", 5),
        "SIGNIN_MAX_PER_ADDRESS": _int("TRACKER_SIGNIN_MAX_PER_ADDRESS", 20),
        "INVITE_HOURS": _int("TRACKER_INVITE_HOURS", 72),
        # A reset link for someone who already has a password (forgotten, or lost authenticator).
        "RESET_LINK_MINUTES": _int("TRACKER_RESET_LINK_MINUTES", 60),
        # The API: calls per token per fixed window (counted in the database), token lifetime.
        "API_RATE_LIMIT": _int("TRACKER_API_RATE_LIMIT", 300),
        "API_RATE_WINDOW_SECONDS": _int("TRACKER_API_RATE_WINDOW_SECONDS", 60),
        "API_TOKEN_MAX_DAYS": _int("TRACKER_API_TOKEN_MAX_DAYS", 365),
        "API_TOKEN_MAX_LIVE": _int("TRACKER_API_TOKEN_MAX_LIVE", 5),
        # Calls with a wrong bearer token from one address, per sign-in window, before refusing
        # every bearer token from it until the window passes.
        "API_AUTH_MAX_FAILURES": _int("TRACKER_API_AUTH_MAX_FAILURES", 20),
        # Two-factor sign-in: "leads" (named leads, auditors, admins), "everyone" or "nobody".
        "TWO_FACTOR_FOR": two_factor_for,
        # Signed out after this long without a request (a shared or unlocked computer).
        "IDLE_MINUTES": _int("TRACKER_IDLE_MINUTES", 30),
        # Break-glass: how long a worker's emergency read access to a case not theirs lasts.
        "BREAK_GLASS_HOURS": break_glass_hours,
        # Sign-in through agencies' identity providers (OpenID Connect): how often a session begun
        # there is checked with the provider (a refused refresh signs the person out), and how
        # long the tracker waits for a provider.
        "IDENTITY_REFRESH_MINUTES": _int("TRACKER_IDENTITY_REFRESH_MINUTES", 15),
        "IDENTITY_TIMEOUT_SECONDS": _int("TRACKER_IDENTITY_TIMEOUT_SECONDS", 10),
        # Scheduler and alerts
        "SWEEP_SECONDS": _int("TRACKER_SWEEP_SECONDS", 60),
        "MAIL_SERVER": os.environ.get(
            "MAIL_SERVER", ""
        ),  # empty: write .eml files to instance/mail
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USE_STARTTLS": _bool("MAIL_USE_STARTTLS", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "tracker@partnership.invalid"),
        "BASE_URL": base_url,
        # Alert delivery: retries back off (RETRY_SECONDS doubling) up to MAX_ATTEMPTS, then
        # "failed"; a "sending" row older than SENDING_TIMEOUT was interrupted and goes back.
        "MAIL_BATCH_SIZE": _int("MAIL_BATCH_SIZE", 50),
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 8),
        "MAIL_RETRY_SECONDS": _int("MAIL_RETRY_SECONDS", 60),
        "MAIL_SENDING_TIMEOUT_SECONDS": _int("MAIL_SENDING_TIMEOUT_SECONDS", 300),
        "MAIL_TIMEOUT_SECONDS": _int("MAIL_TIMEOUT_SECONDS", 30),
        # Quiet hours: non-urgent email waits for working hours.
        "MAIL_QUIET_HOURS": _bool("MAIL_QUIET_HOURS", True),
        # The sweep reminds a receiving agency this many working hours before a concern is due.
        "CONCERN_REMINDER_HOURS": _int("TRACKER_CONCERN_REMINDER_HOURS", 8),
        # The audit log: the sealer's interval (the merge delay is at most twice this), the
        # signing key and the append-only copy of every checkpoint, both outside the database.
        "AUDIT_SEAL_SECONDS": _int("TRACKER_AUDIT_SEAL_SECONDS", 5),
        "AUDIT_SEAL_BATCH": _int("TRACKER_AUDIT_SEAL_BATCH", 10_000),
        "AUDIT_ORIGIN": audit_origin,
        "AUDIT_SIGNING_KEY_FILE": signing_key_file,
        "AUDIT_CHECKPOINT_LOG": os.environ.get("TRACKER_AUDIT_CHECKPOINT_LOG")
        or str(instance_dir / "audit-checkpoints.log"),
        # After a key rotation, the verifier keys that signed the older checkpoints (published,
        # so not secret), kept outside the database as the key is.
        "AUDIT_PREVIOUS_VERIFIER_KEYS": _verifier_keys("TRACKER_AUDIT_PREVIOUS_VERIFIER_KEYS"),
        # A share nobody at a receiving agency has opened after this many working days reminds
        # that agency's people (once).
        "SHARE_UNVIEWED_WORKING_DAYS": _int("TRACKER_SHARE_UNVIEWED_WORKING_DAYS", 1),
        # How many reverse proxies sit in front (for the client address in audit and throttling).
        "PROXY_COUNT": _int("TRACKER_PROXY_COUNT", 0),
    }
    config.update(overrides)
    return config
