"""`flask tracker sweep | deliver | scheduler`: the scheduled side of the tracker.

The scheduler is its own process (`make run` starts one beside the web app; a deployment runs
exactly one, and a second is harmless). Web workers never start it: APScheduler's job stores are
not shared between processes, and the sweep's own lock and the alerts' unique keys are what make
running twice safe.
"""

from __future__ import annotations

import json
import logging
import signal
from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from tracker import clock
from tracker.extensions import db
from tracker.services import delivery, retention, transparency, workdays
from tracker.services.sweep import run_sweep

log = logging.getLogger("tracker.scheduler")


def _moment(value: datetime | None) -> datetime:
    """--at is local wall-clock time (as people say it); stored times are naive UTC."""
    return workdays.to_utc(value) if value else clock.now()


def sweep_once(now: datetime | None = None) -> dict:
    """One pass; with `now` (sweep --at), everything it does is as at that moment: what it
    opens, escalates and audits carries that time, not the process clock's."""
    try:
        if now is None:
            return run_sweep(clock.now())
        with clock.restoring():
            clock.freeze(now)
            return run_sweep(now)
    finally:
        db.session.remove()


def review_retention_once(now: datetime | None = None) -> dict:
    try:
        return retention.review(now)
    finally:
        db.session.remove()


def seal_once() -> dict:
    try:
        return transparency.seal().as_dict()
    finally:
        db.session.remove()


def _seal_tick(app) -> None:
    """One sealing run; a failure is logged and the next run (AUDIT_SEAL_SECONDS on) retries."""
    with app.app_context():
        try:
            result = seal_once()
            if result["sealed"]:
                log.info("seal %s", json.dumps(result))
        except Exception:
            log.exception("seal failed; the next run will try again")


def deliver_once() -> dict:
    try:
        return delivery.deliver().as_dict()
    finally:
        db.session.remove()


def at_option(what: str, example: str):
    """--at: a local wall-clock time, as people say it (see _moment)."""
    return click.option(
        "--at",
        "at",
        type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
        help=f"{what} as at this local time, e.g. {example} (default: now).",
    )


@click.command("sweep")
@at_option("Sweep", "2026-12-31T09:00")
@with_appcontext
def sweep_command(at: datetime | None) -> None:
    """Run the sweep once and print what it did as one JSON line."""
    click.echo(json.dumps(sweep_once(_moment(at))))


@click.command("deliver")
@with_appcontext
def deliver_command() -> None:
    """Send the alert emails that are due, once, and print what happened as one JSON line."""
    click.echo(json.dumps(deliver_once()))


def _tick(app) -> None:
    """One scheduled run: sweep, then deliver what it raised. A failure is logged, not fatal."""
    with app.app_context():
        for name, job in (("sweep", sweep_once), ("deliver", deliver_once)):
            try:
                log.info("%s %s", name, json.dumps(job()))
            except Exception:
                log.exception("%s failed; the next run will try again", name)


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the sweep and delivery every SWEEP_SECONDS, and the audit sealer every
    AUDIT_SEAL_SECONDS, until stopped (Ctrl-C)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line a run is ours
    app = current_app._get_current_object()
    seconds = app.config["SWEEP_SECONDS"]
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        _tick,
        "interval",
        seconds=seconds,
        args=[app],
        id="sweep_and_deliver",
        coalesce=True,  # missed runs (a long sweep, a sleeping laptop) run once, not in a burst
        max_instances=1,
        next_run_time=datetime.now(UTC),  # the first run at once, not after one interval
        misfire_grace_time=None,
    )
    add_seal_job(scheduler, app)
    add_retention_job(scheduler, app)
    click.echo(
        f"Scheduler: sweep and delivery every {seconds}s, audit sealing every "
        f"{app.config['AUDIT_SEAL_SECONDS']}s, the retention review daily at "
        f"{RETENTION_HOUR:02d}:00 (Ctrl-C stops it)"
    )

    # Ctrl-C and SIGTERM stop the scheduler from a handler rather than as KeyboardInterrupt: an
    # exception raised wherever the main thread happens to be can leave one of APScheduler's
    # locks held, and the process then hangs at exit waiting for the worker thread, which waits
    # for that lock (seen under load: the fault tests' schedulers never stopped). The run in
    # hand finishes (its batch commits) before the process exits.
    def stop(signum, frame) -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        else:  # not started yet, or a second Ctrl-C while the run in hand finishes
            raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    scheduler.start()


def add_seal_job(scheduler, app) -> None:
    """The sealer: its interval bounds the merge delay (README, "The audit log")."""
    scheduler.add_job(
        _seal_tick,
        "interval",
        seconds=app.config["AUDIT_SEAL_SECONDS"],
        args=[app],
        id="audit_seal",
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),
        misfire_grace_time=None,
    )


# The disposal review queue fills once a day, in the quiet of the night (local time).
RETENTION_HOUR = 2


def _retention_tick(app) -> None:
    """The daily retention review; a failure is logged and tomorrow's run tries again (a run
    that finds nothing new due adds nothing, so a rerun by hand is always safe)."""
    with app.app_context():
        try:
            log.info("retention review %s", json.dumps(review_retention_once()))
        except Exception:
            log.exception("retention review failed; the next run will try again")


def add_retention_job(scheduler, app) -> None:
    scheduler.add_job(
        _retention_tick,
        "cron",
        hour=RETENTION_HOUR,
        timezone=app.config["TIMEZONE"],
        args=[app],
        id="retention_review",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        # And once at start: a scheduler that was down at 02:00 (a redeploy, a restart) would
        # otherwise skip that day's review. A run that finds nothing new adds nothing.
        next_run_time=datetime.now(UTC),
    )


def register(group) -> None:
    for command in (sweep_command, deliver_command, scheduler_command):
        group.add_command(command)
