"""Delivery against its concurrent twins, as real `flask tracker deliver` processes over one
database and a slow SMTP server: deliverers started apart over a backlog that takes longer to
send than MAIL_SENDING_TIMEOUT_SECONDS, with and without SIGKILLs.

A claim's staleness counts from the claim itself, and only the claim's holder finishes it, so a
deliverer starting late never takes back a message another is still sending (zero duplicates,
no crash), a losing sender counts nothing, and a killed sender's one message in hand is the
most that goes twice. On PostgreSQL a live sender's claim is never taken back at all.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.services.sweep_support import (  # noqa: F401
    kill,
    mailbox_fixture,
    tracker_process,
    wait_for,
)
from tracker import clock
from tracker.extensions import db
from tracker.models import Alert, AuditEvent, DeliveryStatus
from tracker.services import alerts, transparency

TIMEOUT = 2  # MAIL_SENDING_TIMEOUT_SECONDS for the deliverers: far shorter than the backlog
SINK_DELAY = 0.05  # seconds the SMTP server takes to accept each message
LONG_AGO = datetime(2026, 1, 5, 9, 0)


def _backlog(world, events: int) -> int:
    """Four alerts an event, due long ago: due whatever clock the deliverers run on."""
    people = [world.worker_a, world.lead_a, world.worker_b, world.lead_b]
    with clock.restoring():
        clock.freeze(LONG_AGO)
        for n in range(events):
            alerts.raise_alert(
                event=f"backlog:{n}",
                recipients=people,
                kind="concern_overdue",
                subject="Information shared with your agency is overdue for a response",
                link=f"/cases/{world.case.id}",
                case_id=world.case.id,
            )
        db.session.commit()
    return events * len(people)


def _deliverer(database_url: str, tmp_path: Path, mailbox, name: str, timeout: int = TIMEOUT):
    log = tmp_path / f"{name}.log"
    process = tracker_process(
        ["deliver"],
        database_url,
        tmp_path,
        mailbox,
        log,
        MAIL_SENDING_TIMEOUT_SECONDS=timeout,
        MAIL_BATCH_SIZE=10,
    )
    return process, log


def _statuses() -> dict[str, int]:
    try:
        return dict(
            db.session.execute(select(Alert.status, func.count()).group_by(Alert.status)).all()
        )
    finally:
        db.session.commit()  # never hold SQLite's write lock while the deliverers work


def _result(log: Path) -> dict:
    """The deliverer's one JSON line (its log may hold warnings before it)."""
    return json.loads(log.read_text().strip().splitlines()[-1])


def _start_apart(database_url, tmp_path, mailbox, count: int, total: int) -> list:
    """Each deliverer after the last has been sending for longer than the timeout."""
    started = []
    for n in range(count):
        if started:
            before = mailbox.received()
            wait_for(lambda: mailbox.received() >= before + 10, 240, "the deliverers to progress")
            time.sleep(TIMEOUT + 0.5)
            # The point of the test: the earlier ones are still in the middle of the backlog.
            assert mailbox.received() < total, "the backlog ran out: make it longer"
        started.append(_deliverer(database_url, tmp_path, mailbox, f"deliverer-{n}"))
    return started


def test_deliverers_started_apart_over_a_long_backlog_send_each_message_once(
    app, world, mailbox, database_url, tmp_path
):
    mailbox.delay = SINK_DELAY
    total = _backlog(world, 100)
    deliverers = _start_apart(database_url, tmp_path, mailbox, 3, total)
    try:
        for process, log in deliverers:
            process.wait(timeout=120)
            assert process.returncode == 0, log.read_text()  # no crash
    finally:
        for process, _ in deliverers:
            kill(process)

    assert mailbox.duplicates() == 0
    assert sorted(set(mailbox.alert_ids())) == sorted(db.session.scalars(select(Alert.id)))
    assert _statuses() == {DeliveryStatus.SENT.value: total}
    # Each message counted once, by the one deliverer that sent it.
    assert sum(_result(log)["sent"] for _, log in deliverers) == total
    assert sum(_result(log)["released"] for _, log in deliverers) == 0
    assert transparency.verify().ok


def test_each_sigkill_resends_at_most_the_one_message_in_hand(
    app, world, mailbox, database_url, tmp_path
):
    mailbox.delay = SINK_DELAY
    total = _backlog(world, 60)
    first, second = _start_apart(database_url, tmp_path, mailbox, 2, total)
    survivor = None
    try:
        wait_for(lambda: mailbox.received() >= 30, 240, "the first messages")
        kill(first[0])
        before = mailbox.received()
        wait_for(lambda: mailbox.received() >= before + 10, 240, "the second deliverer to go on")
        kill(second[0])
        # A third picks up the rest; the killed claims go stale meanwhile or before a fourth.
        survivor = _deliverer(database_url, tmp_path, mailbox, "survivor")
        survivor[0].wait(timeout=120)
        assert survivor[0].returncode == 0, survivor[1].read_text()
        time.sleep(TIMEOUT + 0.5)
        last = _deliverer(database_url, tmp_path, mailbox, "last")
        last[0].wait(timeout=120)
        assert last[0].returncode == 0, last[1].read_text()
    finally:
        for process, _ in (first, second, *([survivor] if survivor else [])):
            kill(process)

    kills = 2
    assert mailbox.duplicates() <= kills
    assert sorted(set(mailbox.alert_ids())) == sorted(db.session.scalars(select(Alert.id)))
    assert _statuses() == {DeliveryStatus.SENT.value: total}
    released = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "alert.claim_released")
    )
    assert released <= kills  # only the killed senders' claims were ever taken back
    assert mailbox.duplicates() <= released
    assert transparency.verify().ok


def test_on_postgresql_a_live_sender_keeps_its_claim_however_slow_the_send(
    app, world, mailbox, database_url, tmp_path
):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no lock that outlives a transaction: there a claim's age decides")
    mailbox.delay = 5.0  # every send outlasts the 1-second timeout below
    total = _backlog(world, 1)
    slow = _deliverer(database_url, tmp_path, mailbox, "slow", timeout=1)
    wait_for(lambda: mailbox.received() >= 1, 240, "the first send to start")
    time.sleep(1.5)  # the message in hand is claimed longer ago than the timeout
    late = _deliverer(database_url, tmp_path, mailbox, "late", timeout=1)
    try:
        for process, log in (slow, late):
            process.wait(timeout=120)
            assert process.returncode == 0, log.read_text()
    finally:
        for process, _ in (slow, late):
            kill(process)

    assert mailbox.duplicates() == 0
    assert _statuses() == {DeliveryStatus.SENT.value: total}
    assert sum(_result(log)["sent"] for _, log in (slow, late)) == total
    assert sum(_result(log)["released"] for _, log in (slow, late)) == 0
