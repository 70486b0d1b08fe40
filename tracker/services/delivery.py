"""Email delivery of alerts, from the alerts table itself (the outbox), over SMTP.

Each message moves pending -> sending (committed BEFORE the SMTP call) -> sent. A claim is
stamped with its own time and a random token; only the holder of the token may finish it (sent,
retry, failed), so concurrent deliverers never finish each other's messages nor count them. A
crash between the commit and the send leaves at most that one row in "sending"; once its claim is
older than MAIL_SENDING_TIMEOUT_SECONDS it goes back to pending and is sent again, so a crash can
resend one message, never a batch, and never loses one.
A failed send goes back to pending with exponential backoff, and after MAIL_MAX_ATTEMPTS to
"failed", where admins see it. With no MAIL_SERVER, messages are written as .eml files to
instance/mail/ (one file per alert, so a resend overwrites rather than doubles).

The email says who it is for, what kind of alert it is and a link: never a child's name or any
case detail (the reader signs in to see more).
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import Connection, func, select, text, update

from tracker import clock
from tracker.extensions import db
from tracker.models import Alert, DeliveryStatus
from tracker.services import audit, locks, settings, workdays

BACKOFF_CAP = timedelta(hours=6)
log = logging.getLogger("tracker.delivery")


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "released": self.released,
        }


def mail_dir() -> Path:
    return Path(settings.get("INSTANCE_DIR")) / "mail"


def message_for(alert: Alert) -> EmailMessage:
    """The email for one alert: who, what kind, a link. Nothing else."""
    config = settings.mapping()
    partnership = config["PARTNERSHIP_NAME"]
    url = config["BASE_URL"].rstrip("/") + alert.link
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = alert.recipient.email
    message["Subject"] = f"{'Urgent: ' if alert.urgent else ''}{alert.subject}"
    message["Date"] = format_datetime(clock.now().replace(tzinfo=UTC))
    # A stable id: a resend after a crash is recognisable as the same message.
    domain = config["MAIL_FROM"].rpartition("@")[2] or "tracker.invalid"
    message["Message-ID"] = f"<alert-{alert.id}@{domain}>"
    message["X-Tracker-Alert"] = str(alert.id)
    message.set_content(
        f"Dear {alert.recipient.name},\n\n"
        f"You have a new alert in the {partnership} tracker: {alert.kind_label}.\n\n"
        f"Sign in to read it:\n{url}\n\n"
        "This email carries no case details on purpose. Please do not reply to it.\n"
    )
    return message


class _Outbox:
    """One SMTP connection per delivery run (or the .eml folder when no server is set)."""

    def __init__(self) -> None:
        self.config = settings.mapping()
        self.smtp: smtplib.SMTP | None = None

    def send(self, alert_id: int, message: EmailMessage) -> None:
        if not self.config["MAIL_SERVER"]:
            folder = mail_dir()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"alert-{alert_id:08d}.eml"
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(bytes(message))
            temporary.replace(path)  # atomic: the admin page never lists half a message
            return
        if self.smtp is None:
            self.smtp = self._connect()
        self.smtp.send_message(message)

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(
            self.config["MAIL_SERVER"],
            self.config["MAIL_PORT"],
            timeout=self.config["MAIL_TIMEOUT_SECONDS"],
        )
        if self.config["MAIL_USE_STARTTLS"]:
            smtp.starttls()
        if self.config["MAIL_USERNAME"]:
            smtp.login(self.config["MAIL_USERNAME"], self.config["MAIL_PASSWORD"])
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


class _Liveness:
    """Is the sender of a claim still alive? PostgreSQL knows: a sender holds a session advisory
    lock on each message while it sends it (on a connection of its own, outside the session's
    transactions), and the server drops the lock the moment the sender's connection dies. So a
    live sender's claim is never taken back, however slow its send. Elsewhere (SQLite: one host,
    one small office) the claim's age alone decides.
    """

    NAMESPACE = locks.lock_key("alert-claim") & 0x7FFFFFFF  # pg's two-key locks take int4s
    HOLD = text("SELECT pg_advisory_lock(:namespace, :alert_id)")
    LET_GO = text("SELECT pg_advisory_unlock(:namespace, :alert_id)")
    TRY = text("SELECT pg_try_advisory_lock(:namespace, :alert_id)")

    def __init__(self) -> None:
        self.connection: Connection | None = None
        if db.engine.dialect.name == "postgresql":
            self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _run(self, statement, alert_id: int) -> bool:
        """The statement's answer on PostgreSQL; elsewhere nobody holds anything: True."""
        if self.connection is None:
            return True
        values = {"namespace": self.NAMESPACE, "alert_id": alert_id}
        return bool(self.connection.execute(statement, values).scalar())

    def sending(self, alert_id: int) -> None:
        """This sender is now sending the message (held until `done`, or until it dies)."""
        self._run(self.HOLD, alert_id)

    def done(self, alert_id: int) -> None:
        self._run(self.LET_GO, alert_id)

    @contextmanager
    def sender_gone(self, alert_id: int) -> Iterator[bool]:
        """True if nobody is sending the message now (and nobody starts until the block ends)."""
        gone = self._run(self.TRY, alert_id)
        try:
            yield gone
        finally:
            if gone:
                self.done(alert_id)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()  # ends the session: any lock still held goes with it
            self.connection = None


def release_stale(liveness: _Liveness | None = None) -> int:
    """Put back "sending" rows whose sender died, so they are sent again.

    Staleness counts from each claim's own time, never from when some delivery run began: a
    claim taken a moment ago by a run that started long before is alive and is left alone. A
    live sender holds one claim only for one SMTP send, far shorter than the timeout (keep
    MAIL_SENDING_TIMEOUT_SECONDS well above a few MAIL_TIMEOUT_SECONDS); on PostgreSQL a claim
    whose sender is alive is never released at all (see _Liveness). Each release names the
    claim it ends, so a claim taken again meanwhile is not ended by mistake.
    """
    own = liveness is None
    liveness = liveness or _Liveness()
    try:
        return _release_stale(liveness)
    finally:
        if own:
            liveness.close()


def _release_stale(liveness: _Liveness) -> int:
    now = clock.now()
    cutoff = now - timedelta(seconds=settings.get("MAIL_SENDING_TIMEOUT_SECONDS"))
    # Rows left "sending" before claims carried their own time used next_attempt_at for it.
    claimed = func.coalesce(Alert.claimed_at, Alert.next_attempt_at)
    stale = db.session.execute(
        select(Alert.id, Alert.claim_token, claimed.label("claimed"))
        .where(Alert.status == DeliveryStatus.SENDING.value, claimed < cutoff)
        .order_by(Alert.id)
    ).all()
    released = 0
    for alert_id, token, claimed_at in stale:
        with liveness.sender_gone(alert_id) as gone:
            if not gone:
                continue  # its sender is alive, only slow: it finishes the message itself
            if not _move(
                alert_id,
                token,
                {"status": DeliveryStatus.PENDING.value, "next_attempt_at": now},
            ):
                db.session.commit()
                continue  # finished or released by someone else since we looked
            _audit_release(alert_id, claimed_at)
            db.session.commit()
            released += 1
    db.session.commit()
    return released


def _audit_release(alert_id: int, claimed_at: datetime) -> None:
    audit.record(
        "alert.claim_released",
        object_kind="alert",
        object_id=alert_id,
        changes={"status": [DeliveryStatus.SENDING.value, DeliveryStatus.PENDING.value]},
        reason=(
            f"Its sender claimed it at {claimed_at:%Y-%m-%d %H:%M:%S} UTC and did not "
            "finish in time (it stopped): it will be sent again"
        ),
        actor_label="scheduler",
    )


def _due_ids(now: datetime, limit: int) -> list[int]:
    query = select(Alert.id).where(
        Alert.status == DeliveryStatus.PENDING.value, Alert.next_attempt_at <= now
    )
    if settings.get("MAIL_QUIET_HOURS") and not workdays.is_working_hours(now):
        query = query.where(Alert.urgent)
    return list(db.session.scalars(query.order_by(Alert.next_attempt_at, Alert.id).limit(limit)))


@dataclass(frozen=True)
class Claim:
    """One message this sender alone may send and finish, until its claim goes stale."""

    alert_id: int
    token: str
    attempts: int  # including this one
    message: EmailMessage


def _claim(alert_id: int) -> Claim | None:
    """pending -> sending, stamped now with a fresh token and committed with the message built;
    None if another deliverer won it.

    The commit ends the transaction, so none (on SQLite: no write lock) is held during the send.
    """
    token = secrets.token_hex(16)
    claimed = db.session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.status == DeliveryStatus.PENDING.value)
        .values(status=DeliveryStatus.SENDING.value, claimed_at=clock.now(), claim_token=token)
        .execution_options(synchronize_session=False)
    ).rowcount
    claim = None
    if claimed:
        alert = db.session.get(Alert, alert_id, populate_existing=True)
        claim = Claim(alert_id, token, alert.attempts + 1, message_for(alert))
    db.session.commit()
    return claim


def _move(alert_id: int, token: str | None, values: dict) -> bool:
    """Move a "sending" row on, only while the claim named by `token` still holds it."""
    return bool(
        db.session.execute(
            update(Alert)
            .where(
                Alert.id == alert_id,
                Alert.status == DeliveryStatus.SENDING.value,
                # NULL only for rows claimed before claims carried tokens
                Alert.claim_token.is_(None) if token is None else Alert.claim_token == token,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _lost(claim: Claim) -> None:
    """Our claim was released as stale while we were still sending: the message may go twice;
    the sender that holds it now counts it, not us."""
    log.warning(
        "alert %s: claim lost before it finished (raise MAIL_SENDING_TIMEOUT_SECONDS); "
        "not counted here",
        claim.alert_id,
    )


def _record_failure(claim: Claim, error: Exception, result: DeliveryResult) -> None:
    config = settings.mapping()
    message = f"{type(error).__name__}: {error}"[:1000]
    result.errors.append(message)
    attempts = claim.attempts
    if attempts >= config["MAIL_MAX_ATTEMPTS"]:
        finished = _move(
            claim.alert_id,
            claim.token,
            {"status": DeliveryStatus.FAILED.value, "attempts": attempts, "last_error": message},
        )
        if finished:
            audit.record(
                "alert.delivery_failed",
                object_kind="alert",
                object_id=claim.alert_id,
                changes={"status": [DeliveryStatus.SENDING.value, DeliveryStatus.FAILED.value]},
                reason=message,
                actor_label="scheduler",
            )
            result.failed += 1
    else:
        wait = min(
            timedelta(seconds=config["MAIL_RETRY_SECONDS"] * 2 ** (attempts - 1)), BACKOFF_CAP
        )
        finished = _move(
            claim.alert_id,
            claim.token,
            {
                "status": DeliveryStatus.PENDING.value,
                "attempts": attempts,
                "last_error": message,
                "next_attempt_at": clock.now() + wait,
            },
        )
        if finished:
            result.retrying += 1
    if not finished:
        _lost(claim)
    db.session.commit()


def _record_sent(claim: Claim, result: DeliveryResult) -> None:
    sent = _move(
        claim.alert_id,
        claim.token,
        {
            "status": DeliveryStatus.SENT.value,
            "attempts": claim.attempts,
            "sent_at": clock.now(),
            "last_error": None,
        },
    )
    db.session.commit()
    if sent:
        result.sent += 1
    else:
        _lost(claim)


def deliver() -> DeliveryResult:
    """Send what is due, in batches, one message per claim. Stops early if the server is down.

    The clock is read again for each batch, and for every claim, retry and release, so a long run
    never ages its own claims.
    """
    result = DeliveryResult()
    outbox = _Outbox()
    liveness = _Liveness()
    batch_size = settings.get("MAIL_BATCH_SIZE")
    try:
        while True:
            result.released += release_stale(liveness)
            ids = _due_ids(clock.now(), batch_size)
            if not ids:
                break
            for alert_id in ids:
                if (claim := _claim(alert_id)) is None:
                    continue
                liveness.sending(alert_id)
                try:
                    try:
                        outbox.send(alert_id, claim.message)
                    except (smtplib.SMTPException, OSError) as error:
                        _record_failure(claim, error, result)
                        outbox.close()
                        if not isinstance(error, smtplib.SMTPRecipientsRefused):
                            return result  # the server or network is down: try again next run
                        continue
                    _record_sent(claim, result)
                finally:
                    liveness.done(alert_id)
    finally:
        outbox.close()
        liveness.close()
    return result


def failed_alerts():
    """Alerts delivery gave up on, newest first (admins see these)."""
    return (
        select(Alert).where(Alert.status == DeliveryStatus.FAILED.value).order_by(Alert.id.desc())
    )


def mail_files(limit: int = 200) -> list[dict]:
    """The newest .eml files written when no SMTP server is set (for the admin page)."""
    folder = mail_dir()
    if not folder.is_dir():
        return []
    paths = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    files = []
    for path in paths:
        headers = _headers(path)
        files.append(
            {
                "name": path.name,
                "to": headers.get("to", ""),
                "subject": headers.get("subject", ""),
                "written": datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None),
            }
        )
    return files


def _headers(path: Path) -> dict[str, str]:
    message = message_from_bytes(path.read_bytes())
    return {key.lower(): str(value) for key, value in message.items()}


def mail_file(name: str) -> str | None:
    """One .eml file's text, by its plain name (no paths)."""
    if "/" in name or "\\" in name or not name.endswith(".eml"):
        return None
    path = mail_dir() / name
    return path.read_text(errors="replace") if path.is_file() else None
