"""Alert delivery under faults (relay outages, kills mid-send).

Frozen clocks and a real SMTP server in the test process (tests/services/sweep_support.py);
no sleeps, no timings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.services.sweep_support import mailbox_fixture  # noqa: F401
from tracker.extensions import db
from tracker.models import Alert, AuditEvent, DeliveryStatus
from tracker.services import alerts, delivery

TUESDAY_10 = datetime(2026, 12, 1, 10, 0)  # a working day, in working hours (GMT = UTC)


def _raise(world, event: str, people) -> list[Alert]:
    created = alerts.raise_alert(
        event=event,
        recipients=people,
        kind="concern_overdue",
        subject="Information shared with your agency is overdue for a response",
        link=f"/cases/{world.case.id}",
        case_id=world.case.id,
    )
    db.session.commit()
    return created


def _statuses() -> dict[str, int]:
    return dict(db.session.execute(select(Alert.status, func.count()).group_by(Alert.status)).all())


def test_a_relay_outage_of_a_few_hours_does_not_turn_alerts_into_never_sent(
    app, world, mailbox, frozen
):
    """The relay is down for three hours (maintenance, a network fault): the scheduler keeps
    running every SWEEP_SECONDS. Nothing is wrong with any message. Once the relay is back,
    every alert raised during the outage must still be emailed: a transient outage of the
    relay must not be counted against each message until it is "failed" for good (there is
    no way to resend a failed alert)."""
    now = frozen(TUESDAY_10)
    created = _raise(world, "outage:long", [world.lead_a, world.lead_b, world.worker_b])
    mailbox.go_down()
    for _ in range(3 * 60):  # one scheduled run a minute for three hours
        delivery.deliver()
        now = frozen(now + timedelta(seconds=app.config["SWEEP_SECONDS"]))
    mailbox.come_back()
    for _ in range(4):
        now = frozen(now + timedelta(hours=6))  # past any backoff
        delivery.deliver()

    # And the administrators' notice that the relay was failing (test below), sent once back.
    assert _statuses() == {DeliveryStatus.SENT.value: len(created) + 1}
    assert set(a.id for a in created) < set(mailbox.alert_ids())


def test_a_message_whose_sender_is_killed_every_time_is_not_retried_without_end(
    app, world, mailbox, frozen, monkeypatch
):
    """A sender killed mid-send leaves its message "sending"; once stale it is released and
    sent again. If that keeps happening to the same message (the process is killed each time
    it is in hand), each release is a fresh try that is never counted: no backoff, no
    MAIL_MAX_ATTEMPTS, never "failed", so no administrator ever hears of it, and every kill
    may deliver it once more."""
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    now = frozen(TUESDAY_10)
    [alert] = _raise(world, "poison:1", [world.lead_b])

    def killed(self, alert_id, message):
        raise KeyboardInterrupt("process killed mid-send")  # nothing in deliver handles it

    monkeypatch.setattr(delivery._Outbox, "send", killed)
    timeout = app.config["MAIL_SENDING_TIMEOUT_SECONDS"]
    for _ in range(10):
        try:
            delivery.deliver()
        except KeyboardInterrupt:
            db.session.rollback()
        now = frozen(now + timedelta(seconds=timeout + 1) + timedelta(hours=6))
    db.session.refresh(alert)
    # Ten kills with this message in hand, three attempts allowed: it must have been given up
    # on (and shown to admins), or at least have its attempts counted.
    assert alert.attempts >= app.config["MAIL_MAX_ATTEMPTS"], (alert.status, alert.attempts)
    assert alert.status == DeliveryStatus.FAILED.value
    assert db.session.scalar(
        select(func.count()).select_from(Alert).where(Alert.recipient_id == world.admin.id)
    ), "no administrator was told"


def test_the_database_going_away_mid_request_gives_the_error_page_and_the_next_request_works(
    app, world, client, database_url, monkeypatch
):
    """PostgreSQL ends the request's connection (pg_terminate_backend, a failover) between two
    statements of a page: the page is the service's own error page, and the next request
    works on a fresh connection."""
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    from sqlalchemy import text

    from tests.conftest import sign_in_as
    from tracker.services import audit

    sign_in_as(client, world.worker_a)
    real = audit.record
    killed = []

    def dies_first_time(*args, **kwargs):
        if not killed:
            killed.append(True)
            db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "record", dies_first_time)
    page = client.get(f"/cases/{world.case.id}")
    assert killed
    assert page.status_code == 500
    assert b"Sorry, there is a problem with the service" in page.data
    assert b"Traceback" not in page.data
    again = client.get(f"/cases/{world.case.id}")
    assert again.status_code == 200


def test_an_alert_email_given_up_on_is_told_to_someone(app, world, mailbox, frozen):
    """An alert whose email can never go (the relay refuses the recipient for good) ends
    "failed". Someone must find out without having to look: today the only trace is a list
    under Administration > Alert emails (and an audit event); no administrator, nor the
    recipient's agency lead, is alerted in the tracker."""
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    now = frozen(TUESDAY_10)
    mailbox.refused = frozenset({world.lead_b.email, world.admin.email})
    [alert] = _raise(world, "never:1", [world.lead_b])
    for _ in range(3):
        delivery.deliver()
        now = frozen(now + timedelta(hours=6))
    db.session.refresh(alert)
    assert alert.status == DeliveryStatus.FAILED.value
    told = db.session.scalars(
        select(Alert).where(Alert.id != alert.id, Alert.recipient_id == world.admin.id)
    ).all()
    assert told, "no administrator was told that an alert email was given up on"
    # The administrators' own notice given up on in turn (their mail refused too) raises no
    # further notice: otherwise each would raise the next, without end.
    [notice] = told
    for _ in range(3):
        delivery.deliver()
        now = frozen(now + timedelta(hours=6))
    db.session.refresh(notice)
    assert notice.status == DeliveryStatus.FAILED.value
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 2


def test_an_urgent_alert_is_emailed_before_a_backlog_of_routine_ones(app, world, mailbox, frozen):
    """Quiet hours hold routine emails overnight; at 09:00 they are all due. An urgent alert
    raised at 09:00 (immediate risk, an urgent challenge) must not wait behind that backlog:
    delivery takes due messages oldest first whatever their urgency."""
    app.config["MAIL_QUIET_HOURS"] = True
    app.config["MAIL_BATCH_SIZE"] = 2
    frozen(datetime(2026, 12, 1, 19, 0))  # Tuesday evening: routine alerts held
    routine = []
    for n in range(6):
        routine += _raise(world, f"routine:{n}", [world.lead_a])
    assert delivery.deliver().sent == 0
    frozen(datetime(2026, 12, 2, 9, 0))  # Wednesday 09:00
    urgent = alerts.raise_alert(
        event="urgent:1",
        recipients=[world.lead_b],
        kind="concern_overdue",
        subject="Urgent",
        link=f"/cases/{world.case.id}",
        case_id=world.case.id,
        urgent=True,
    )
    db.session.commit()
    delivery.deliver()
    assert mailbox.alert_ids()[0] == urgent[0].id, mailbox.alert_ids()


def test_a_sweep_whose_lock_connection_dies_neither_overlaps_a_twin_nor_crashes(
    app, world, database_url, frozen, monkeypatch
):
    """PostgreSQL: the sweep's one-at-a-time lock is a session advisory lock on a connection of
    its own, idle for the whole pass. If that connection alone dies mid-pass (a TCP reset, a
    proxy or firewall dropping an idle connection, pg_terminate_backend), the server drops the
    lock: a twin scheduler's sweep then runs beside the first one, which goes on with its
    remaining steps regardless, and the first crashes at its very end (pg_advisory_unlock on a dead connection) after doing all its work, so the
    scheduler logs "sweep failed"."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the sweep lock is PostgreSQL's")
    import threading

    from sqlalchemy import text

    from tests.services.sweep_support import share_concern
    from tracker.services import locks, sweep

    shared = datetime(2026, 11, 23, 10, 0)
    frozen(shared)
    share_concern(world, shared)
    now = frozen(TUESDAY_10)

    paused, resume = threading.Event(), threading.Event()
    first_pause = []

    def pause() -> None:
        if not first_pause and threading.current_thread() is not threading.main_thread():
            first_pause.append(True)
            paused.set()
            assert resume.wait(60)

    monkeypatch.setattr(sweep, "_pause", pause)
    after_kill: list[str] = []  # the steps the first sweep began after its lock was gone

    def watched(step):
        def run(*args):
            if first_pause and threading.current_thread() is not threading.main_thread():
                after_kill.append(step.__name__)
            return step(*args)

        return run

    monkeypatch.setattr(sweep, "STEPS", [watched(step) for step in sweep.STEPS])
    outcome: dict = {}

    def first_sweep() -> None:
        with app.app_context():
            try:
                outcome["result"] = sweep.run_sweep(now)
            except Exception as error:  # noqa: BLE001
                outcome["error"] = error
            finally:
                db.session.remove()

    thread = threading.Thread(target=first_sweep)
    thread.start()
    try:
        assert paused.wait(60), "the first sweep never reached its first batch"
        key = locks.lock_key("sweep")
        with db.engine.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                    " AND classid = 0 AND objid = :key AND objsubid = 1"
                ),
                {"key": key},
            ).all()
        assert killed, "no backend held the sweep lock"
        sweep.run_sweep(now)  # a second scheduler's sweep, while the first is mid-pass
        db.session.commit()
    finally:
        resume.set()
        thread.join(60)
    problems = []
    if after_kill:
        problems.append(f"the first sweep went on without its lock, beside a twin: {after_kill}")
    if "error" in outcome:
        problems.append(f"the first sweep crashed: {outcome['error']!r}"[:300])
    assert not problems, problems


def test_one_kill_after_a_long_outage_does_not_give_the_message_up(
    app, world, mailbox, frozen, monkeypatch
):
    """A relay down for five hours runs up many tries of each message; a single kill (a
    redeploy) with one in hand afterwards must not then fail it for good: only refusals of
    the message itself and kills count against it."""
    now = frozen(TUESDAY_10)
    [alert] = _raise(world, "outage-then-kill:1", [world.lead_b])
    mailbox.go_down()
    for _ in range(5 * 60):
        delivery.deliver()
        now = frozen(now + timedelta(minutes=1))
    mailbox.come_back()
    db.session.refresh(alert)
    assert alert.attempts > app.config["MAIL_MAX_ATTEMPTS"] and alert.refusals == 0
    real_send = delivery._Outbox.send
    kills = []

    def killed_once(self, alert_id, message):
        if not kills:
            kills.append(alert_id)
            raise KeyboardInterrupt("redeploy mid-send")
        return real_send(self, alert_id, message)

    monkeypatch.setattr(delivery._Outbox, "send", killed_once)
    for _ in range(4):
        try:
            delivery.deliver()
        except KeyboardInterrupt:
            db.session.rollback()
        now = frozen(now + timedelta(hours=6, minutes=5))
    db.session.refresh(alert)
    assert kills and alert.refusals == 1
    assert alert.status == DeliveryStatus.SENT.value, (alert.status, alert.last_error)
    released = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "alert.claim_released", AuditEvent.object_id == alert.id)
    )
    assert released == 1


def test_administrators_are_told_the_same_day_when_the_relay_fails(app, world, mailbox, frozen):
    """A relay down, refusing our sign-in (a rotated password) or saying "later" fails no
    message for days; the administrators hear of it within minutes instead, once a day."""
    now = frozen(TUESDAY_10)
    _raise(world, "relay:1", [world.lead_b, world.worker_b])
    mailbox.go_down()
    for _ in range(60):  # an hour of runs, a minute apart
        delivery.deliver()
        now = frozen(now + timedelta(minutes=1))
    notices = db.session.scalars(select(Alert).where(Alert.recipient_id == world.admin.id)).all()
    assert [n.subject for n in notices] == [
        "Alert emails are not going out: the mail relay is failing. See Administration, "
        "Alert emails"
    ]
    assert _statuses()[DeliveryStatus.PENDING.value] == 3  # the notice too, all still to go
