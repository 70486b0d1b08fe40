"""Settings, read from the environment once at start.

Every number the partnership owns (timescales, windows, hours) is a setting here so a partnership
can change it without a code change. Defaults are the ones in ../shared/DESIGN.md.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

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

    two_factor_for = os.environ.get("TRACKER_TWO_FACTOR_FOR", "leads").strip().lower()
    if two_factor_for not in {"leads", "everyone", "nobody"}:
        raise ConfigError(
            f"TRACKER_TWO_FACTOR_FOR must be leads, everyone or nobody, not {two_factor_for!r}"
        )

    config = {
        "ENV_NAME": env,
        "PRODUCTION": production,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Cookies: never readable from script, never sent cross-site on POST, HTTPS-only in production.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
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
        "TIMEZONE": os.environ.get("TRACKER_TIMEZONE", "Europe/London"),
        "HOLIDAY_COUNTRY": os.environ.get("TRACKER_HOLIDAY_COUNTRY", "GB"),
        "HOLIDAY_REGION": os.environ.get("TRACKER_HOLIDAY_REGION", "ENG"),
        "WORKDAY_START": os.environ.get("TRACKER_WORKDAY_START", "09:00"),
        "WORKDAY_END": os.environ.get("TRACKER_WORKDAY_END", "17:00"),
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
        # Sign-in throttling: failures counted over a window, per account and per address.
        "SIGNIN_WINDOW_MINUTES": _int("TRACKER_SIGNIN_WINDOW_MINUTES", 15),
        "SIGNIN_MAX_PER_ACCOUNT": _int("TRACKER_SIGNIN_MAX_PER_ACCOUNT", 5),
        "SIGNIN_MAX_PER_ADDRESS": _int("TRACKER_SIGNIN_MAX_PER_ADDRESS", 20),
        "INVITE_HOURS": _int("TRACKER_INVITE_HOURS", 72),
        # The API: calls per token per fixed window (counted in the database), token lifetime.
        "API_RATE_LIMIT": _int("TRACKER_API_RATE_LIMIT", 300),
        "API_RATE_WINDOW_SECONDS": _int("TRACKER_API_RATE_WINDOW_SECONDS", 60),
        "API_TOKEN_MAX_DAYS": _int("TRACKER_API_TOKEN_MAX_DAYS", 365),
        # Two-factor sign-in: "leads" (named leads, auditors, admins), "everyone" or "nobody".
        "TWO_FACTOR_FOR": two_factor_for,
        # Signed out after this long without a request (a shared or unlocked computer).
        "IDLE_MINUTES": _int("TRACKER_IDLE_MINUTES", 30),
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
        "BASE_URL": os.environ.get("TRACKER_BASE_URL", "http://127.0.0.1:5000"),
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
        # How many reverse proxies sit in front (for the client address in audit and throttling).
        "PROXY_COUNT": _int("TRACKER_PROXY_COUNT", 0),
    }
    config.update(overrides)
    return config
