"""Email delivery of alerts, from the alerts table itself (the outbox), over SMTP.

Each message moves pending -> sending (committed BEFORE the SMTP call) -> sent. A claim is
stamped with its own time and a random token; only the holder of the token may finish it (sent,
retry, failed), so concurrent deliverers never finish each other's messages nor count them. A
crash between the commit and the send leaves at most that one row in "sending"; once its claim is
older than MAIL_SENDING_TIMEOUT_SECONDS it goes back to pending and is sent again, so a crash can
resend one message, never a batch, and never loses one.

Pipelined: a batch of due messages is read with its recipients in one query; recording one
message "sent" and claiming the next is one statement, committed on its own on the run's own
connection without waiting for the disk (see _Run: a power cut may resend the last few messages,
a crash of the deliverer still at most one). That statement runs on a writer thread while the
next message's envelope and DATA go to the server; its text goes only once the statement has
committed (the server takes a message only at its final line), so the promise above holds.
A server that offers PIPELINING (RFC 2920; most do) gets the envelope and DATA in one write.
The email is a template filled in, not built header by header.
A failed send goes back to pending with exponential backoff, and after MAIL_MAX_ATTEMPTS to
"failed", where admins see it. With no MAIL_SERVER, messages are written as .eml files to
instance/mail/ (one file per alert, so a resend overwrites rather than doubles).

The email says who it is for, what kind of alert it is and a link: never a child's name or any
case detail (the reader signs in to see more).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import smtplib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from smtplib import quoteaddr

from sqlalchemy import and_, bindparam, case, func, null, or_, select, text, update

from tracker import clock
from tracker.extensions import db
from tracker.models import Alert, AlertKind, DeliveryStatus, Person, Role
from tracker.models.alert import kind_label
from tracker.services import audit, locks, settings, workdays

BACKOFF_CAP = timedelta(hours=6)
ALERTS = Alert.__table__
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


def _header(name: str, value: str) -> str:
    """A header value with no line break of its own, RFC 2047-encoded when it is not ASCII."""
    value = " ".join(value.split())  # no line break can end the header early
    return value if value.isascii() else Header(value, "utf-8", header_name=name).encode()


def _address(value: str) -> str:
    """An address header, its display name encoded when it is not ASCII."""
    name, address = parseaddr(value)
    return formataddr((" ".join(name.split()), address), charset="utf-8")


@dataclass(frozen=True)
class Letter:
    """One email, ready to send: its envelope recipient, its bytes (as an .eml file holds
    them) and the same as SMTP's DATA carries them (made with the claim, off the send's path)."""

    to: str
    data: bytes
    wire: bytes

    @classmethod
    def of(cls, to: str, data: bytes) -> Letter:
        """CRLF line ends, a leading dot doubled, and the final "." line that makes the
        server take the message (RFC 5321 4.5.2)."""
        lines = LINE_END.sub(b"\r\n", data)
        if not lines.endswith(b"\r\n"):
            lines += b"\r\n"
        return cls(to, data, LEADING_DOT.sub(b"..", lines) + b".\r\n")

    def __bytes__(self) -> bytes:
        return self.data


LINE_END = re.compile(rb"\r\n|\r|\n")
LEADING_DOT = re.compile(rb"(?m)^\.")


TEMPLATE = (
    "From: {sender}\n"
    "To: {to}\n"
    "Subject: {subject}\n"
    "Date: {date}\n"
    "Message-ID: <alert-{id}@{domain}>\n"  # stable: a resend after a crash is the same message
    "X-Tracker-Alert: {id}\n"
    "MIME-Version: 1.0\n"
    'Content-Type: text/plain; charset="utf-8"\n'
    "Content-Transfer-Encoding: {encoding}\n"
    "\n"
)
BODY = (
    "Dear {name},\n\n"
    "You have a new alert in the {partnership} tracker: {kind}.\n\n"
    "Sign in to read it:\n{url}\n\n"
    "This email carries no case details on purpose. Please do not reply to it.\n"
)


@dataclass(frozen=True)
class _Due:
    """What one due message needs, read with the rest of its batch."""

    alert_id: int
    email: str
    name: str
    subject: str
    link: str
    urgent: bool
    kind: str


class _Letters:
    """Fills in the email for an alert: who it is for, what kind, a link. Nothing else. What
    is the same for every message is worked out once a run."""

    def __init__(self) -> None:
        config = settings.mapping()
        self.sender = _address(config["MAIL_FROM"])
        self.envelope_sender = parseaddr(config["MAIL_FROM"])[1]
        self.domain = config["MAIL_FROM"].rpartition("@")[2].rstrip(">") or "tracker.invalid"
        self.partnership = config["PARTNERSHIP_NAME"]
        self.base_url = config["BASE_URL"].rstrip("/")
        self._dated_at: datetime | None = None
        self._date_header = ""

    def _date(self) -> str:
        """The Date header, formatted once a second rather than once a message."""
        now = clock.now().replace(microsecond=0)
        if now != self._dated_at:
            self._dated_at, self._date_header = now, format_datetime(now.replace(tzinfo=UTC))
        return self._date_header

    def letter(self, due: _Due) -> Letter:
        body = BODY.format(
            name=due.name,
            partnership=self.partnership,
            kind=kind_label(due.kind),
            url=self.base_url + due.link,
        )
        if body.isascii():
            encoding, payload = "7bit", body
        else:
            encoding = "base64"
            payload = base64.encodebytes(body.encode("utf-8")).decode("ascii")
        head = TEMPLATE.format(
            sender=self.sender,
            to=due.email,  # a bare address: not ASCII only in an .eml file (see below)
            subject=_header("Subject", f"{'Urgent: ' if due.urgent else ''}{due.subject}"),
            date=self._date(),
            id=due.alert_id,
            domain=self.domain,
            encoding=encoding,
        )
        # UTF-8 only where an address itself is not ASCII (an .eml file may hold it; SMTP is
        # refused it in the envelope, see _Outbox.open); everything else is ASCII already.
        return Letter.of(due.email, (head + payload).encode("utf-8"))


class _Outbox:
    """One SMTP connection per delivery run (or the .eml folder when no server is set)."""

    def __init__(self, sender: str) -> None:
        self.config = settings.mapping()
        self.sender = sender  # the envelope's
        self.smtp: smtplib.SMTP | None = None
        self.in_message = False  # DATA said, the final line not yet sent

    def open(self, to: str) -> None:
        """The envelope (MAIL FROM, RCPT TO) and DATA: the server then waits for the message,
        and takes nothing until its final line (send). Started while the claim commits."""
        if not self.config["MAIL_SERVER"]:
            return
        # Forms and providers accept addresses beyond ASCII; plain SMTP cannot carry them. A line
        # break would end the command early and add one of its own (quoteaddr keeps it).
        if not (to.isascii() and to.isprintable()):
            raise smtplib.SMTPRecipientsRefused(
                {to: (553, b"5.1.3 Not an address SMTP can carry (printable ASCII), not sent")}
            )
        if self.smtp is None:
            self.smtp = self._connect()
        smtp = self.smtp
        smtp.ehlo_or_helo_if_needed()
        commands = (f"MAIL FROM:{quoteaddr(self.sender)}", f"RCPT TO:{quoteaddr(to)}", "DATA")
        if smtp.has_extn("pipelining"):
            # RFC 2920: the three in one write, their replies read in order after: one round
            # trip, not three. A server that refused MAIL or RCPT should refuse the DATA too.
            smtp.send("".join(f"{command}\r\n" for command in commands))
            mail, rcpt, data = [smtp.getreply() for _ in commands]
        else:
            skipped = (503, b"not sent: an earlier command was refused")
            mail = smtp.docmd(commands[0])
            rcpt = smtp.docmd(commands[1]) if mail[0] == 250 else skipped
            data = smtp.docmd(commands[2]) if rcpt[0] in (250, 251) else skipped
        # A server that took the DATA all the same waits for a message: close() must not QUIT.
        self.in_message = data[0] == 354
        if mail[0] != 250:
            raise smtplib.SMTPSenderRefused(*mail, self.sender)
        if rcpt[0] not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({to: rcpt})
        if data[0] != 354:
            raise smtplib.SMTPDataError(*data)

    def send(self, alert_id: int, message: Letter) -> None:
        """The message itself, once claimed: when the server answers, it is sent."""
        if not self.config["MAIL_SERVER"]:
            folder = mail_dir()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"alert-{alert_id:08d}.eml"
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(bytes(message))
            temporary.replace(path)  # atomic: the admin page never lists half a message
            return
        self.smtp.send(message.wire)
        self.in_message = False
        code, reply = self.smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)

    def abandon(self) -> None:
        """Drop a message opened but not to be sent: the connection closes without its final
        line (or a QUIT, which would be read as its text), so the server discards it."""
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None
        self.in_message = False

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
        if self.in_message:
            self.abandon()
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


@dataclass(frozen=True)
class _Compiled:
    """A statement compiled once a run for its database, then run as its SQL with its values.
    Running the statement object itself makes SQLAlchemy walk all of it for its compile cache
    key on every call: for the CASE update a message needs, a fifth of the statement's cost."""

    sql: str
    order: tuple[str, ...] | None  # positional drivers (SQLite): the names in their order
    constants: dict[str, object]  # the statement's own values ("sending", "sent"...)
    processors: dict[str, Callable]  # what the driver cannot take as it is (SQLite's datetimes)

    @classmethod
    def of(cls, statement, dialect) -> _Compiled:
        compiled = statement.compile(dialect=dialect)
        processors = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors[name] = process
        constants = {
            name: processors.get(name, lambda value: value)(bind.value)
            for name, bind in compiled.binds.items()
            if not bind.required
        }
        return cls(compiled.string, compiled.positiontup, constants, processors)

    def run(self, connection, values: dict) -> list:
        given = {
            name: self.processors[name](value) if name in self.processors else value
            for name, value in values.items()
        }
        merged = {**self.constants, **given}
        parameters = tuple(merged[name] for name in self.order) if self.order else merged
        return connection.exec_driver_sql(self.sql, parameters).all()


class _Run:
    """One delivery run's own database connection, for its claims and "sent" records.

    Each claim-and-record is one statement that commits itself (autocommit: no BEGIN or COMMIT
    round trips; on SQLite it takes and lets go of the write lock within the statement). Its commit is
    not flushed to disk before it returns (PostgreSQL synchronous_commit off, SQLite synchronous
    NORMAL, on this connection alone): it survives the deliverer's own crash like any commit,
    and what a power cut or a database server crash can take back is the last few records, whole
    and in order, so those messages go again: a duplicate, never a lost alert (the alerts were
    written by the sweep with full durability). Every other write keeps full durability. The
    connection is discarded after the run, so neither setting reaches another.

    Is the sender of a claim still alive? PostgreSQL knows: the run holds a session advisory
    lock named by its run id on this connection for as long as it runs, every claim it takes
    carries that id in its token, and the server drops the lock the moment the connection dies.
    So a live sender's claim is never taken back, however slow its send. Elsewhere (SQLite: one
    host, one small office) the claim's age alone decides.
    """

    NAMESPACE = locks.lock_key("alert-claim") & 0x7FFFFFFF  # pg's two-key locks take int4s
    HOLD = text("SELECT pg_advisory_lock(:namespace, :key)")
    LET_GO = text("SELECT pg_advisory_unlock(:namespace, :key)")
    TRY = text("SELECT pg_try_advisory_lock(:namespace, :key)")

    def __init__(self) -> None:
        self.run = secrets.token_hex(6)
        self.postgresql = db.engine.dialect.name == "postgresql"
        self.connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.compiled: dict[object, _Compiled] = {}
        if self.postgresql:
            self.connection.exec_driver_sql("SET synchronous_commit TO off")
            self._lock(self.HOLD, self._key(self.run))
        else:
            self.connection.exec_driver_sql("PRAGMA synchronous = NORMAL")

    def token(self) -> str:
        """A fresh claim token that names this run (31 characters: the column holds 32)."""
        return f"{self.run}.{secrets.token_hex(9)}"

    @staticmethod
    def _key(run: str) -> int:
        return int(run[:8], 16) & 0x7FFFFFFF

    def _lock(self, statement, key: int) -> bool:
        """The statement's answer on PostgreSQL; elsewhere nobody holds anything: True."""
        if not self.postgresql:
            return True
        values = {"namespace": self.NAMESPACE, "key": key}
        return bool(self.connection.execute(statement, values).scalar())

    @contextmanager
    def sender_gone(self, alert_id: int, token: str | None) -> Iterator[bool]:
        """True if the claim's run is over (and no run of that id starts until the block ends).

        A claim taken before tokens named their run (no "."; or no token at all) was guarded
        by a lock on its alert's id while it was sent."""
        run, dot, _ = (token or "").partition(".")
        key = self._key(run) if dot else alert_id
        gone = self._lock(self.TRY, key)
        try:
            yield gone
        finally:
            if gone:
                self._lock(self.LET_GO, key)

    def write(self, statement, values: dict) -> list:
        """Run one writing statement, which commits itself; its RETURNING rows."""
        if statement not in self.compiled:
            self.compiled[statement] = _Compiled.of(statement, self.connection.dialect)
        return self.compiled[statement].run(self.connection, values)

    def close(self) -> None:
        # Discarded, not pooled: the session ends (the run's lock goes with it) and the
        # relaxed durability goes with the connection.
        self.connection.invalidate()
        self.connection.close()


def release_stale(run: _Run | None = None) -> int:
    """Put back "sending" rows whose sender died, so they are sent again.

    Staleness counts from each claim's own time, never from when some delivery run began: a
    claim taken a moment ago by a run that started long before is alive and is left alone. A
    live sender holds one claim only for one SMTP send, far shorter than the timeout (keep
    MAIL_SENDING_TIMEOUT_SECONDS well above a few MAIL_TIMEOUT_SECONDS); on PostgreSQL a claim
    whose sender is alive is never released at all (see _Run). Each release names the
    claim it ends, so a claim taken again meanwhile is not ended by mistake.
    """
    own = run is None
    run = run or _Run()
    try:
        return _release_stale(run)
    finally:
        if own:
            run.close()


def _release_stale(run: _Run) -> int:
    now = clock.now()
    cutoff = now - timedelta(seconds=settings.get("MAIL_SENDING_TIMEOUT_SECONDS"))
    # Rows left "sending" before claims carried their own time used next_attempt_at for it.
    claimed = func.coalesce(Alert.claimed_at, Alert.next_attempt_at)
    stale = db.session.execute(
        select(Alert.id, Alert.claim_token, claimed.label("claimed"), Alert.refusals)
        .where(Alert.status == DeliveryStatus.SENDING.value, claimed < cutoff)
        .order_by(Alert.id)
    ).all()
    released = 0
    most = settings.get("MAIL_MAX_ATTEMPTS")
    for alert_id, token, claimed_at, refusals in stale:
        with run.sender_gone(alert_id, token) as gone:
            if not gone:
                continue  # its sender is alive, only slow: it finishes the message itself
            # A sender killed with the message in hand counts against the message (a message
            # that kills its sender every time is not resent without end), as a refusal does.
            refusals += 1
            if refusals >= most:
                reason = "Its sender stopped with it in hand each time: given up"
                values = {"status": DeliveryStatus.FAILED.value, "last_error": reason}
            else:
                values = {"status": DeliveryStatus.PENDING.value, "next_attempt_at": now}
            tried = {"refusals": refusals, "attempts": ALERTS.c.attempts + 1}  # a try, too
            if not _move(alert_id, token, {**values, **tried}):
                db.session.commit()
                continue  # finished or released by someone else since we looked
            if values["status"] == DeliveryStatus.FAILED.value:
                _audit_failed(alert_id, reason)
                _tell_admins(alert_id)
            else:
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


def _due(now: datetime, limit: int) -> list[_Due]:
    """The next batch of due messages, with what each email says (one query)."""
    query = (
        select(
            Alert.id,
            Person.email,
            Person.name,
            Alert.subject,
            Alert.link,
            Alert.urgent,
            Alert.kind,
        )
        .join(Person, Person.id == Alert.recipient_id)
        .where(Alert.status == DeliveryStatus.PENDING.value, Alert.next_attempt_at <= now)
    )
    if settings.get("MAIL_QUIET_HOURS") and not workdays.is_working_hours(now):
        query = query.where(Alert.urgent)
    rows = db.session.execute(
        query.order_by(Alert.urgent.desc(), Alert.next_attempt_at, Alert.id).limit(limit)
    )
    return [_Due(*row) for row in rows]


@dataclass(frozen=True)
class Claim:
    """One message this sender alone may send and finish, until its claim goes stale."""

    alert_id: int
    token: str
    attempts: int  # including this one
    message: Letter


def _claim_and_record():
    """The one statement a message: record `sent_id` sent (while `sent_token` still holds it)
    and claim `due_id` (while pending). Built once: building it is most of a message's cost.
    An id of 0 names no row (ids start at 1)."""
    done = ALERTS.c.id == bindparam("sent_id")
    now = bindparam("now", type_=ALERTS.c.sent_at.type)

    def either(if_sent, if_claimed):
        return case((done, if_sent), else_=if_claimed)

    return (
        update(ALERTS)  # the table, not the entity: no ORM bookkeeping a message
        .where(
            or_(
                and_(
                    done,
                    ALERTS.c.status == DeliveryStatus.SENDING.value,
                    ALERTS.c.claim_token == bindparam("sent_token"),
                ),
                and_(
                    ALERTS.c.id == bindparam("due_id"),
                    ALERTS.c.status == DeliveryStatus.PENDING.value,
                ),
            )
        )
        .values(
            status=either(DeliveryStatus.SENT.value, DeliveryStatus.SENDING.value),
            attempts=either(bindparam("sent_attempts"), ALERTS.c.attempts),
            sent_at=either(now, ALERTS.c.sent_at),
            last_error=either(null(), ALERTS.c.last_error),
            claimed_at=either(ALERTS.c.claimed_at, now),
            claim_token=either(ALERTS.c.claim_token, bindparam("token")),
        )
        .returning(ALERTS.c.id, ALERTS.c.attempts)
    )


CLAIM_AND_RECORD = _claim_and_record()


def _claim(
    run: _Run,
    due: _Due | None,
    sent: Claim | None,
    letters: _Letters,
    result: DeliveryResult,
) -> Claim | None:
    """Record the message sent before (`sent`, if any) and claim the next (`due`, if any:
    pending -> sending, stamped now with a fresh token) in one statement, committed before the
    next send: a crash leaves at most the message in hand unrecorded. None if there was nothing
    to claim or another deliverer won it. Runs on deliver's writer thread, outside the app
    context: it may use the run's connection and the clock, not the session or the settings.
    """
    token = run.token()
    attempts = dict(
        run.write(
            CLAIM_AND_RECORD,
            {
                "sent_id": sent.alert_id if sent else 0,
                "sent_token": sent.token if sent else "",
                "sent_attempts": sent.attempts if sent else 0,
                "due_id": due.alert_id if due else 0,
                "token": token,
                "now": clock.now(),
            },
        )
    )
    if sent is not None:
        if sent.alert_id in attempts:
            result.sent += 1
        else:
            _lost(sent)
    if due is None or due.alert_id not in attempts:
        return None
    return Claim(due.alert_id, token, attempts[due.alert_id] + 1, letters.letter(due))


def _held(alert_id: int, token: str | None):
    """The row of a "sending" message, while the claim named by `token` still holds it."""
    return and_(
        ALERTS.c.id == alert_id,
        ALERTS.c.status == DeliveryStatus.SENDING.value,
        # NULL only for rows claimed before claims carried tokens
        ALERTS.c.claim_token.is_(None) if token is None else ALERTS.c.claim_token == token,
    )


def _move(alert_id: int, token: str | None, values: dict) -> bool:
    """Move a "sending" row on, only while the claim named by `token` still holds it."""
    return bool(
        db.session.execute(update(ALERTS).where(_held(alert_id, token)).values(**values)).rowcount
    )


def _lost(claim: Claim) -> None:
    """Our claim was released as stale while we were still sending: the message may go twice;
    the sender that holds it now counts it, not us."""
    log.warning(
        "alert %s: claim lost before it finished (raise MAIL_SENDING_TIMEOUT_SECONDS); "
        "not counted here",
        claim.alert_id,
    )


GIVE_UP_AFTER = timedelta(days=5)  # a transient fault (relay down, 4xx) fails only this late
# After this many tries of one message failed by the relay (about three minutes with the default
# backoff), the administrators are told in the tracker that alert emails are not going out.
RELAY_NOTICE_AFTER = 3


def _transient(error: Exception) -> bool:
    """The relay, not the message: unreachable, dropped, or a 4xx reply (RFC 5321: try later)."""
    if isinstance(
        error,
        (
            smtplib.SMTPConnectError,
            smtplib.SMTPHeloError,
            smtplib.SMTPAuthenticationError,
            smtplib.SMTPNotSupportedError,
        ),
    ):
        return True  # the relay or our settings for it (a rotated password): no message's fault
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, (OSError, smtplib.SMTPServerDisconnected))


def _record_failure(claim: Claim, error: Exception, result: DeliveryResult) -> None:
    config = settings.mapping()
    message = f"{type(error).__name__}: {error}"[:1000]
    result.errors.append(message)
    attempts = claim.attempts
    created, refusals = db.session.execute(
        select(Alert.created_at, Alert.refusals).where(Alert.id == claim.alert_id)
    ).one()
    if _transient(error):
        give_up = clock.now() - created >= GIVE_UP_AFTER
        if attempts >= RELAY_NOTICE_AFTER:
            _tell_admins_of_the_relay(claim.alert_id)
    else:
        refusals += 1
        give_up = refusals >= config["MAIL_MAX_ATTEMPTS"]
    if give_up:
        finished = _move(
            claim.alert_id,
            claim.token,
            {
                "status": DeliveryStatus.FAILED.value,
                "attempts": attempts,
                "refusals": refusals,
                "last_error": message,
            },
        )
        if finished:
            _audit_failed(claim.alert_id, message)
            result.failed += 1
            _tell_admins(claim.alert_id)
    else:
        # (The doubling stops long before the cap could overflow a timedelta: a relay down
        # for days runs up many tries.)
        doubling = 2 ** min(attempts - 1, 30)
        wait = min(timedelta(seconds=config["MAIL_RETRY_SECONDS"] * doubling), BACKOFF_CAP)
        finished = _move(
            claim.alert_id,
            claim.token,
            {
                "status": DeliveryStatus.PENDING.value,
                "attempts": attempts,
                "refusals": refusals,
                "last_error": message,
                "next_attempt_at": clock.now() + wait,
            },
        )
        if finished:
            result.retrying += 1
    if not finished:
        _lost(claim)
    db.session.commit()


def _audit_failed(alert_id: int, reason: str) -> None:
    audit.record(
        "alert.delivery_failed",
        object_kind="alert",
        object_id=alert_id,
        changes={"status": [DeliveryStatus.SENDING.value, DeliveryStatus.FAILED.value]},
        reason=reason,
        actor_label="scheduler",
    )


def _tell_admins_of_the_relay(alert_id: int) -> None:
    """The relay is down, refuses our sign-in or says "try later": each message keeps its tries,
    so none is given up for days, but the administrators are told the same day (once a day)."""
    _notify_admins(
        alert_id,
        event=f"mail_relay:{workdays.today().isoformat()}",
        subject="Alert emails are not going out: the mail relay is failing. See Administration, "
        "Alert emails",
    )


def _tell_admins(alert_id: int) -> None:
    """An alert email given up on is told, in the tracker, to the administrators (once)."""
    _notify_admins(
        alert_id,
        event=f"alert:{alert_id}:email_failed",
        subject="An alert email could not be sent: see Administration, Alert emails",
    )


def _notify_admins(alert_id: int, *, event: str, subject: str) -> None:
    """An in-app alert to every active administrator, about the email of `alert_id`. Not when
    that email was itself such a notice: a relay refusing the administrators' mail would
    otherwise raise a new notice for each one given up on, without end."""
    from tracker.services import alerts

    kind = db.session.scalar(select(Alert.kind).where(Alert.id == alert_id))
    if kind == AlertKind.EMAIL_FAILED.value:
        return
    admins = db.session.scalars(
        select(Person).where(Person.role == Role.ADMIN.value, Person.active)
    ).all()
    alerts.raise_alert(
        event=event,
        recipients=admins,
        kind=AlertKind.EMAIL_FAILED.value,
        subject=subject,
        link="/admin/mail",
    )


def _send(outbox: _Outbox, due: _Due, claiming: Future) -> tuple[Claim | None, Exception | None]:
    """Send `due` once its claim, committing meanwhile, is ours: the envelope goes while the
    claim (and the record of the message before) commits, the message itself only after.
    The claim (None if another deliverer won it) and what went wrong, if anything."""
    try:
        outbox.open(due.email)
    except (smtplib.SMTPException, OSError) as error:
        return claiming.result(), error
    claim = claiming.result()
    if claim is None:
        outbox.abandon()
        return None, None
    try:
        outbox.send(due.alert_id, claim.message)
    except (smtplib.SMTPException, OSError) as error:
        return claim, error
    return claim, None


def deliver(now: datetime | None = None) -> DeliveryResult:
    """Send what is due, in batches, one message per claim. Stops early if the server is down.

    `now` fixes which alerts are due (default: the clock, read again for each batch); claims,
    retries and releases always use the clock, so a long run never ages its own claims.
    A message sent is recorded with the next claim, or alone after the batch's last, so a
    crash leaves at most the message in hand unrecorded. The writer thread runs those
    statements while the main thread talks to the server; one waits for the other at each
    message's text, so the result and the run's connection are never used by both at once.
    """
    result = DeliveryResult()
    letters = _Letters()
    outbox = _Outbox(letters.envelope_sender)
    run = _Run()
    writer = ThreadPoolExecutor(max_workers=1)
    batch_size = settings.get("MAIL_BATCH_SIZE")
    sent: Claim | None = None  # sent, not yet recorded
    try:
        while True:
            result.released += release_stale(run)
            batch = _due(now or clock.now(), batch_size)
            db.session.commit()  # hold no transaction (on SQLite: no write lock) while sending
            if not batch:
                break
            for due in batch:
                claiming = writer.submit(_claim, run, due, sent, letters, result)
                claim, error = _send(outbox, due, claiming)
                sent = None
                if error is not None:
                    outbox.close()
                    if claim is None:
                        continue
                    _record_failure(claim, error, result)
                    if not isinstance(error, smtplib.SMTPRecipientsRefused):
                        return result  # the server or network is down: try again next run
                    continue
                sent = claim
            if sent is not None:
                _claim(run, None, sent, letters, result)
                sent = None
    finally:
        writer.shutdown()
        outbox.close()
        run.close()
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
