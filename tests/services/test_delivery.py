"""Email delivery of alerts to a real SMTP server: exactly once, no case detail, retries, faults."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select, update

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tests.services.sweep_support import (  # noqa: F401
    SUMMARY,
    mailbox_fixture,
    share_concern,
    wait_for,
)
from tracker.extensions import db
from tracker.models import Alert, AuditEvent, DeliveryStatus
from tracker.services import alerts, delivery, transparency
from tracker.services.sweep import run_sweep

TUESDAY_10 = datetime(2026, 12, 1, 10, 0)  # a working day, in working hours (GMT = UTC)


def _raise(world, event: str, *, urgent: bool = False, people=None) -> list[Alert]:
    created = alerts.raise_alert(
        event=event,
        recipients=people or [world.lead_a, world.lead_b, world.worker_b],
        kind="concern_overdue",
        subject="Information shared with your agency is overdue for a response",
        link=f"/cases/{world.case.id}",
        case_id=world.case.id,
        urgent=urgent,
    )
    db.session.commit()
    return created


def _statuses(engine=None) -> dict[str, int]:
    """Counted by the test's session, or on `engine` by a connection of its own (from another
    thread: what was committed)."""
    query = select(Alert.status, func.count()).group_by(Alert.status)
    if engine is None:
        return dict(db.session.execute(query).all())
    with engine.connect() as connection:
        return dict(connection.execute(query).all())


def test_each_alert_is_emailed_once_with_no_case_detail(world, mailbox, frozen):
    frozen(TUESDAY_10 - timedelta(days=7))
    share_concern(world, TUESDAY_10 - timedelta(days=7))
    frozen(TUESDAY_10)
    result = run_sweep(TUESDAY_10)
    assert result["concern_overdue_alerts"] == 2  # lead B (receiving) and worker A (sender)
    assert result["digest_alerts"] == 1  # lead A: the case has no lived-experience record
    assert result["unviewed_reminders"] == 2  # B's worker and lead: nobody at B opened it

    first = delivery.deliver()
    again = delivery.deliver()

    assert (first.sent, again.sent) == (5, 0)
    ids = [a.id for a in db.session.scalars(select(Alert))]
    assert sorted(mailbox.alert_ids()) == sorted(ids)
    for message in mailbox.messages:
        text = message.as_string()
        assert "Child One" not in text
        assert SUMMARY not in text and "violence" not in text
        assert world.case.reference not in text
        assert "http://127.0.0.1:5000/" in text  # a link to sign in and read
    recipients = sorted(m["To"] for m in mailbox.messages)
    assert recipients == sorted(
        [
            world.lead_a.email,
            world.lead_b.email,
            world.worker_a.email,
            world.worker_b.email,
            world.lead_b.email,
        ]
    )
    assert _statuses() == {"sent": 5}


def test_smtp_down_for_several_sweeps_then_back_delivers_each_once(app, world, mailbox, frozen):
    now = frozen(TUESDAY_10)
    created = _raise(world, "outage:1")
    mailbox.go_down()
    for _ in range(4):  # several scheduled runs with the server down
        result = delivery.deliver()
        assert result.sent == 0 and result.retrying == 1  # stops at the first refusal
        now = frozen(now + timedelta(hours=1))
    _raise(world, "outage:2", people=[world.worker_a])
    assert mailbox.messages == []
    states = db.session.scalars(select(Alert).order_by(Alert.id)).all()
    assert all(a.status == DeliveryStatus.PENDING.value for a in states)
    assert sum(a.attempts for a in states) == 4 and states[0].last_error  # one try a run

    mailbox.come_back()
    for _ in range(3):
        now = frozen(now + timedelta(hours=6))  # past any backoff
        delivery.deliver()

    assert sorted(mailbox.alert_ids()) == sorted([a.id for a in created] + [states[-1].id])
    assert _statuses() == {"sent": 4}


def test_gives_up_after_the_limit_and_admins_see_it(app, world, client, mailbox, frozen):
    """A refusal of the message itself (a 5xx) counts against its attempts; a relay that is
    down or says "try later" does not (test_review_faults)."""
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    now = frozen(TUESDAY_10)
    [alert] = _raise(world, "limit:1", people=[world.lead_b])
    mailbox.refused = frozenset({world.lead_b.email})
    for _ in range(3):
        delivery.deliver()
        now = frozen(now + timedelta(hours=6))
    db.session.refresh(alert)
    assert (alert.status, alert.attempts) == (DeliveryStatus.FAILED.value, 3)
    failed_audit = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "alert.delivery_failed")
    )
    assert failed_audit == 1
    mailbox.refused = frozenset()
    assert delivery.deliver().sent == 0  # failed stays failed

    sign_in_as(client, world.admin)
    page = client.get("/admin/mail")
    assert page.status_code == 200
    text = page_text(page)
    assert "Lead B" in text and "Failed" in text and "SMTPRecipientsRefused" in text


def test_backoff_doubles_between_attempts(app, world, mailbox, frozen):
    app.config["MAIL_RETRY_SECONDS"] = 60
    now = frozen(TUESDAY_10)
    [alert] = _raise(world, "backoff:1", people=[world.lead_b])
    mailbox.go_down()
    waits = []
    for _ in range(3):
        delivery.deliver()
        db.session.refresh(alert)
        waits.append((alert.next_attempt_at - now).total_seconds())
        now = frozen(alert.next_attempt_at)
    assert waits == [60, 120, 240]


def test_quiet_hours_hold_non_urgent_email_until_working_hours(app, world, mailbox, frozen):
    app.config["MAIL_QUIET_HOURS"] = True
    frozen(datetime(2026, 12, 4, 19, 0))  # Friday evening
    routine = _raise(world, "quiet:1", people=[world.lead_b])
    urgent = _raise(world, "quiet:2", people=[world.lead_b], urgent=True)

    assert delivery.deliver().sent == 1
    assert mailbox.alert_ids() == [urgent[0].id]
    frozen(datetime(2026, 12, 5, 10, 0))  # Saturday morning: still not a working day
    assert delivery.deliver().sent == 0
    frozen(datetime(2026, 12, 7, 9, 0))  # Monday 09:00
    assert delivery.deliver().sent == 1
    assert mailbox.alert_ids() == [urgent[0].id, routine[0].id]


def test_a_crash_mid_batch_resends_at_most_the_one_message_in_hand(
    app, world, mailbox, frozen, monkeypatch
):
    now = frozen(TUESDAY_10)
    created = _raise(
        world, "crash:1", people=[world.lead_a, world.lead_b, world.worker_a, world.worker_b]
    )
    real_send = delivery._Outbox.send
    calls = []

    def dies_on_the_third(self, alert_id, message):
        calls.append(alert_id)
        if len(calls) == 3:
            raise KeyboardInterrupt("process killed")  # not an SMTP error: nothing handles it
        return real_send(self, alert_id, message)

    monkeypatch.setattr(delivery._Outbox, "send", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        delivery.deliver()
    db.session.rollback()
    monkeypatch.setattr(delivery._Outbox, "send", real_send)

    assert _statuses() == {"sent": 2, "sending": 1, "pending": 1}
    delivery.deliver()  # the "sending" one is not yet stale: left alone
    assert _statuses() == {"sent": 3, "sending": 1}
    frozen(now + timedelta(seconds=app.config["MAIL_SENDING_TIMEOUT_SECONDS"] + 1))
    result = delivery.deliver()
    assert (result.released, result.sent) == (1, 1)
    assert sorted(mailbox.alert_ids()) == sorted(a.id for a in created)


def test_without_a_server_emails_are_files_listed_for_admins(app, world, client, frozen):
    app.config["MAIL_SERVER"] = ""
    frozen(TUESDAY_10)
    created = _raise(world, "files:1")
    assert delivery.deliver().sent == 3
    files = sorted(p.name for p in delivery.mail_dir().glob("*.eml"))
    assert files == [f"alert-{a.id:08d}.eml" for a in created]
    body = (delivery.mail_dir() / files[0]).read_text()
    assert "Child One" not in body and "/cases/" in body

    sign_in_as(client, world.admin)
    listing = page_text(client.get("/admin/mail"))
    assert files[0] in listing and world.lead_a.email in listing
    shown = client.get(f"/admin/mail/{files[0]}")
    assert shown.status_code == 200 and "Sign in to read it" in page_text(shown)
    assert client.get("/admin/mail/..%2Fsecret_key").status_code == 404
    sign_in_as(client, world.worker_a)
    assert client.get("/admin/mail").status_code == 403


def test_audit_chain_stays_whole(world, mailbox, frozen):
    frozen(TUESDAY_10)
    _raise(world, "chain:1")
    delivery.deliver()
    assert transparency.verify().ok


def test_a_long_run_never_ages_its_own_claims(app, world, mailbox, frozen, monkeypatch):
    """A twin starting during each send of a long run finds no stale claim: each claim counts
    from its own time, not from when the run began."""
    timeout = app.config["MAIL_SENDING_TIMEOUT_SECONDS"]
    moment = frozen(TUESDAY_10)
    created = _raise(world, "long:1")
    real_send = delivery._Outbox.send
    twins = []

    def slow_send(self, alert_id, message):
        nonlocal moment
        twins.append(delivery.release_stale())  # another deliverer starts now
        moment = frozen(moment + timedelta(seconds=timeout + 1))  # this send takes long
        return real_send(self, alert_id, message)

    monkeypatch.setattr(delivery._Outbox, "send", slow_send)
    result = delivery.deliver()
    assert twins == [0, 0, 0]
    assert (result.sent, result.released) == (3, 0)
    assert sorted(mailbox.alert_ids()) == sorted(a.id for a in created)


def test_a_sender_that_lost_its_claim_neither_finishes_nor_counts_the_message(
    app, world, mailbox, frozen, monkeypatch
):
    frozen(TUESDAY_10)
    [alert] = _raise(world, "lost:1", people=[world.lead_b])
    real_send = delivery._Outbox.send

    def taken_over(self, alert_id, message):
        # Meanwhile the claim was released and another sender claimed the message.
        db.session.execute(
            update(Alert).where(Alert.id == alert_id).values(claim_token="another sender")
        )
        db.session.commit()
        return real_send(self, alert_id, message)

    monkeypatch.setattr(delivery._Outbox, "send", taken_over)
    result = delivery.deliver()
    assert (result.sent, result.retrying, result.failed) == (0, 0, 0)
    db.session.refresh(alert)
    assert (alert.status, alert.claim_token, alert.sent_at) == ("sending", "another sender", None)


def test_a_message_left_sending_before_claims_had_tokens_is_released_once_stale(
    app, world, mailbox, frozen
):
    now = frozen(TUESDAY_10)
    [alert] = _raise(world, "legacy:1", people=[world.lead_b])
    db.session.execute(  # as the old code left it: "sending", claimed at next_attempt_at
        update(Alert).where(Alert.id == alert.id).values(status="sending", next_attempt_at=now)
    )
    db.session.commit()
    assert delivery.deliver().sent == 0  # not yet stale
    frozen(now + timedelta(seconds=app.config["MAIL_SENDING_TIMEOUT_SECONDS"] + 1))
    result = delivery.deliver()
    assert (result.released, result.sent) == (1, 1)
    assert mailbox.alert_ids() == [alert.id]
    released = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "alert.claim_released")
    )
    assert released.object_id == alert.id and released.person_name == "scheduler"


def test_names_and_subjects_beyond_ascii_arrive_encoded_and_read_back_exactly(
    app, world, mailbox, frozen
):
    """The email is a template filled in: its headers must still be correct RFC 5322/2047 (a
    non-ASCII display name or subject encoded, no line break let in) and its body UTF-8."""
    frozen(TUESDAY_10)
    app.config["MAIL_FROM"] = "Partneriaeth Diogelu Plant Caerdydd – Tracker <tracker@example.org>"
    app.config["PARTNERSHIP_NAME"] = "Bwrdd Diogelu Caerdydd a’r Fro"
    world.lead_b.name = "Siân Ó Briain-Łukasz"
    [alert] = alerts.raise_alert(
        event="unicode:1",
        recipients=[world.lead_b],
        kind="concern_overdue",
        subject="Gwybodaeth – heb ei hateb\r\nBcc: someone@example.org",
        link=f"/cases/{world.case.id}",
        urgent=True,
    )
    db.session.commit()
    assert delivery.deliver().sent == 1
    [raw] = mailbox.messages
    message = message_from_bytes(raw.as_bytes(), policy=policy.default)
    assert message["Subject"] == (
        "Urgent: Gwybodaeth – heb ei hateb Bcc: someone@example.org"  # one line, no new header
    )
    assert message["Bcc"] is None
    assert message["From"].addresses[0].display_name == (
        "Partneriaeth Diogelu Plant Caerdydd – Tracker"
    )
    assert message["From"].addresses[0].addr_spec == "tracker@example.org"
    assert message["To"].addresses[0].addr_spec == world.lead_b.email
    assert message["Message-ID"] == f"<alert-{alert.id}@example.org>"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content()
    assert "Dear Siân Ó Briain-Łukasz," in body
    assert "Bwrdd Diogelu Caerdydd a’r Fro tracker" in body
    assert f"/cases/{world.case.id}" in body
    assert all(len(line) <= 998 for line in raw.as_bytes().splitlines())
    # every header line is ASCII: the encoded words carry the rest
    head = raw.as_bytes().split(b"\n\n", 1)[0]
    assert head.isascii()


@pytest.mark.parametrize(
    ("address", "pipelining"),
    [
        ("siân@example.org", False),
        # quoteaddr keeps a line break, which would add a recipient (and, pipelined, a reply)
        (")\r\nRCPT TO:<someone.else@example.org>", True),
        (")\r\nRCPT TO:<someone.else@example.org>", False),
    ],
    ids=["not-ascii", "line-break-pipelined", "line-break-lockstep"],
)
def test_an_address_smtp_cannot_carry_fails_that_alert_alone(
    app, world, mailbox, frozen, address, pipelining
):
    """An admin's form accepts "siân@example.org", and so may a provider: SMTP without the
    SMTPUTF8 extension cannot name it in its envelope, nor any address with a line break in it.
    That alert is refused (retried, then failed where admins see it); the run goes on and sends
    the others, to their own recipients alone."""
    frozen(TUESDAY_10)
    mailbox.pipelining = pipelining
    world.lead_b.email = address
    db.session.commit()
    created = _raise(world, "not-ascii:1", people=[world.lead_a, world.lead_b, world.worker_b])
    result = delivery.deliver()
    assert (result.sent, result.retrying) == (2, 1)
    refused = next(a for a in created if a.recipient_id == world.lead_b.id)
    db.session.refresh(refused)
    assert refused.status == DeliveryStatus.PENDING.value
    assert "ASCII" in refused.last_error
    assert sorted(mailbox.alert_ids()) == sorted(a.id for a in created if a is not refused)
    assert mailbox.recipients == [[world.lead_a.email], [world.worker_b.email]]


@pytest.mark.parametrize("pipelining", [False, True], ids=["lockstep", "pipelining"])
def test_a_recipient_the_server_refuses_fails_that_alert_alone(
    app, world, mailbox, frozen, monkeypatch, pipelining
):
    """The server has no mailbox for one recipient. Offering PIPELINING (RFC 2920), it gets
    each envelope and DATA in one write and refuses the DATA of that message too (503): the
    message is neither sent nor counted, it is retried later, and the others all go."""
    frozen(TUESDAY_10)
    mailbox.pipelining = pipelining
    mailbox.refused = frozenset({world.worker_b.email})  # sent second: the run goes on after
    writes = []
    real_send = smtplib.SMTP.send

    def recorded(smtp, data):
        writes.append(data if isinstance(data, str) else data.decode("ascii", "replace"))
        return real_send(smtp, data)

    monkeypatch.setattr(smtplib.SMTP, "send", recorded)
    created = _raise(world, "refused-rcpt:1", people=[world.lead_a, world.lead_b, world.worker_b])
    result = delivery.deliver()
    assert (result.sent, result.retrying, result.failed) == (2, 1, 0)
    refused = next(a for a in created if a.recipient_id == world.worker_b.id)
    assert sorted(a.id for a in created).index(refused.id) == 1
    db.session.refresh(refused)
    assert (refused.status, refused.attempts) == (DeliveryStatus.PENDING.value, 1)
    assert "No such mailbox" in refused.last_error
    assert sorted(mailbox.alert_ids()) == sorted(a.id for a in created if a is not refused)
    envelopes = [w for w in writes if w.upper().startswith("MAIL FROM:")]
    assert len(envelopes) == 3
    if pipelining:  # one write a message: MAIL, RCPT and DATA together
        assert all(w.upper().endswith("\r\nDATA\r\n") for w in envelopes)
    else:  # MAIL alone, each command waiting for the last one's reply
        assert all(w.count("\r\n") == 1 for w in envelopes)
    assert _statuses() == {"sent": 2, "pending": 1}


def test_a_sent_message_is_recorded_with_the_next_claim_in_one_statement(
    app, world, mailbox, frozen, monkeypatch
):
    """Pipelined: one committed statement a message (claim this one, record the one before),
    plus one for the batch's last; a crash in a send still leaves only that message unrecorded."""
    frozen(TUESDAY_10)
    _raise(world, "pipelined:1", people=[world.lead_a, world.lead_b, world.worker_a])
    after_each = []
    real_write = delivery._Run.write
    engine = db.engine

    def counted(run, statement, values):
        rows = real_write(run, statement, values)
        after_each.append(_statuses(engine))  # read by another connection: it was committed
        return rows

    monkeypatch.setattr(delivery._Run, "write", counted)
    result = delivery.deliver()
    monkeypatch.undo()
    assert result.sent == 3
    assert after_each == [
        {"pending": 2, "sending": 1},
        {"pending": 1, "sending": 1, "sent": 1},
        {"sending": 1, "sent": 2},
        {"sent": 3},  # the batch's last, alone
    ]
    assert _statuses() == {"sent": 3}


def test_a_message_goes_only_once_its_claim_and_every_earlier_send_are_committed(
    app, world, mailbox, frozen, monkeypatch
):
    """The envelope of the next message goes while its claim commits (pipelined), its data
    never before: at each message's data the server could see, in the database, that message
    claimed by this sender and every message before it recorded sent."""
    frozen(TUESDAY_10)
    _raise(world, "claimed-first:1", people=[world.lead_a, world.lead_b, world.worker_a])
    _raise(world, "claimed-first:2", people=[world.lead_a, world.lead_b, world.worker_a])
    engine = db.engine
    seen = []
    received = mailbox.handle_DATA

    async def checked(server, session, envelope):
        alert_id = int(message_from_bytes(envelope.original_content)["X-Tracker-Alert"])
        with engine.connect() as connection:
            rows = connection.execute(select(Alert.id, Alert.status, Alert.claim_token)).all()
        seen.append(
            (
                {status for id_, status, _ in rows if id_ == alert_id},
                {status for id_, status, _ in rows if id_ < alert_id},
                all(token for id_, _, token in rows if id_ == alert_id),
            )
        )
        return await received(server, session, envelope)

    monkeypatch.setattr(mailbox, "handle_DATA", checked)
    assert delivery.deliver().sent == 6
    assert seen[0] == ({"sending"}, set(), True)
    assert seen[1:] == [({"sending"}, {"sent"}, True)] * 5


def test_a_message_opened_for_a_claim_another_sender_won_is_dropped_unsent(
    app, world, mailbox, frozen, monkeypatch
):
    """The envelope goes before the claim is known: when another deliverer won the claim,
    the opened message is dropped (the connection closes before its final line) and the run
    goes on with the next."""
    frozen(TUESDAY_10)
    created = _raise(world, "won-elsewhere:1", people=[world.lead_a, world.lead_b, world.worker_a])
    first = min(a.id for a in created)
    engine = db.engine
    real_write = delivery._Run.write
    taken = []

    def another_sender_first(run, statement, values):
        if not taken:  # between the batch's read and this run's first claim
            with engine.begin() as connection:
                connection.execute(
                    update(Alert)
                    .where(Alert.id == first)
                    .values(status=DeliveryStatus.SENDING.value, claim_token="elsewhere.1")
                )
            taken.append(first)
        return real_write(run, statement, values)

    monkeypatch.setattr(delivery._Run, "write", another_sender_first)
    assert delivery.deliver().sent == 2
    assert sorted(mailbox.alert_ids()) == sorted(a.id for a in created if a.id != first)
    assert db.session.get(Alert, first).claim_token == "elsewhere.1"  # left to its holder


def test_a_run_leaves_no_lock_and_no_relaxed_durability_behind(app, world, mailbox, frozen):
    """The run's own connection is discarded: its advisory lock (PostgreSQL) ends with it, and
    its commits that do not wait for the disk never become another connection's."""
    frozen(TUESDAY_10)
    _raise(world, "discarded:1", people=[world.lead_a, world.lead_b])
    held = []
    for _ in range(3):  # enough runs that a pooled connection would come back
        assert delivery.deliver().sent == (2 if not held else 0)
        held.append(True)
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
            # pg_locks spans the server (other test workers' databases run deliveries too);
            # the discarded session's backend lets go as it exits, a moment after the close.
            wait_for(
                lambda: (
                    connection.exec_driver_sql(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())",
                        (delivery._Run.NAMESPACE,),
                    ).scalar()
                    == 0
                ),
                timeout=30,
                what="the discarded run's advisory lock to go",
            )
        else:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        db.session.commit()


def test_a_run_after_a_page_that_only_read_still_records_its_sends(
    app, client, world, mailbox, frozen
):
    """The run's connection may be one a page's read transaction used last (SQLite marks such
    a connection "deferred"): it must not be taken for a page read again."""
    frozen(TUESDAY_10)
    _raise(world, "after-a-read:1", people=[world.lead_a, world.lead_b])
    for _ in range(3):
        assert client.get("/healthz").status_code == 200  # reads, writes nothing
    assert delivery.deliver().sent == 2
    assert _statuses() == {"sent": 2}
