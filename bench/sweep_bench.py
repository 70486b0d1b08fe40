"""Benchmark: the sweep's cost follows the open items, not the history; alerts a second over SMTP.

    .venv/bin/python bench/sweep_bench.py                 # SQLite file in a temporary folder
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python \
        bench/sweep_bench.py                              # also PostgreSQL (creates a scratch DB)

For each history size (closed concerns on closed cases, each with a sent alert, as years of use
leave behind) the same open set (on CASES open cases) is swept: OPEN_OVERDUE concerns past due (alerts + an auto-opened challenge each)
and OPEN_DUE_SOON concerns due within the reminder window. It reports the first sweep (which does
the work), a steady-state sweep (what every scheduled run costs: nothing new to do) and the SQL
statements each issued. Then it raises ALERTS alerts and delivers them to a local aiosmtpd server.
Not a test: numbers depend on the machine. Results: bench/RESULTS.md.

Issue 17 (`--issue17`): ms and statements per action of the first sweep (an action: an alert
raised, a challenge opened or escalated), and delivery's statements per message and its rate as
a share of a plain smtplib loop over one connection to the same aiosmtpd sink (bench/smtp_sink.py,
in a process of its own as a real mail server is; the floor is measured either side of the
delivery and averaged).
`--compare BASE` runs that in BASE (another checkout, e.g. `git worktree add --detach
/tmp/base17 36b061c`, .venv linked) and in this one, alternately, and prints one table:

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/sweep_bench.py --compare /tmp/base17 --rounds 3

BENCH_SMTP_SINK=PipeliningSink makes the sink offer PIPELINING (RFC 2920), as most mail servers
do (aiosmtpd by itself does not); the floor, a plain smtplib loop, never pipelines.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, insert, make_url, text

# BENCH_TREE: measure another checkout's tracker with this script (issue 17: main vs a branch).
sys.path.insert(0, os.environ.get("BENCH_TREE") or str(Path(__file__).resolve().parents[1]))

from aiosmtpd.controller import Controller  # noqa: E402

from tracker import create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import (  # noqa: E402
    Agency,
    Alert,
    Case,
    CaseAgency,
    Person,
    Share,
    ShareVersion,
)

# The names before issue 18 (the base of the issue 17 comparison, 36b061c).
try:
    from tracker import clock  # noqa: E402
    from tracker.models import Concern  # noqa: E402
except ImportError:
    from tracker.models import ShareRecipient as Concern  # noqa: E402
    from tracker.services import clock  # noqa: E402
from tracker.services import alerts, delivery  # noqa: E402
from tracker.services.sweep import run_sweep  # noqa: E402

HISTORY_SIZES = (1_000, 100_000)
OPEN_OVERDUE = 100
OPEN_DUE_SOON = 100
CASES = 200
HISTORY_PER_CASE = 5  # closed concerns per closed case
ALERTS = 2_000
SMTP_PORT = 8190
NOW = datetime(2026, 12, 7, 10, 0)  # Monday, working hours (GMT)


def _app(url: str, folder: Path):
    from flask_migrate import upgrade

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "INSTANCE_DIR": str(folder),
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": SMTP_PORT,
            "MAIL_QUIET_HOURS": False,
            "MAIL_BATCH_SIZE": 200,
        }
    )
    with app.app_context():
        upgrade(revision="heads")
    return app


def _seed(history: int) -> None:
    """A partnership of two agencies, CASES open cases, `history` closed concerns, the open set."""
    a = Agency(name="Agency A", kind="childrens_social_care", secure_mailbox="a@example.org")
    b = Agency(name="Agency B", kind="police", secure_mailbox="b@example.org")
    db.session.add_all([a, b])
    db.session.flush()
    people = [
        Person(
            name=f"Person {n}",
            email=f"person{n}@example.org",
            agency_id=agency.id,
            role=role,
            session_token=f"t{n}",
        )
        for n, (agency, role) in enumerate([(a, "worker"), (a, "lead"), (b, "worker"), (b, "lead")])
    ]
    db.session.add_all(people)
    db.session.flush()
    worker_a = people[0]
    # The open cases, then the closed cases the history belongs to (HISTORY_PER_CASE each).
    closed_cases = history // HISTORY_PER_CASE
    db.session.execute(
        insert(Case),
        [
            {
                "id": n + 1,
                "reference": f"BENCH-{n:06d}",
                "child_name": f"Child {n}",
                "date_of_birth": date(2018, 1, 1),
                "lead_agency_id": a.id,
                "lead_professional_id": worker_a.id,
                "status": "open" if n < CASES else "closed",
                "created_at": NOW - timedelta(days=400),
                "created_by_id": worker_a.id,
            }
            for n in range(CASES + closed_cases)
        ],
    )
    db.session.execute(
        insert(CaseAgency),
        [
            {
                "case_id": n + 1,
                "agency_id": agency.id,
                "added_at": NOW - timedelta(days=400),
                "added_by_id": worker_a.id,
            }
            for n in range(CASES + closed_cases)
            for agency in (a, b)
        ],
    )
    total = history + OPEN_OVERDUE + OPEN_DUE_SOON
    for start in range(0, total, 20_000):
        chunk = range(start, min(start + 20_000, total))
        shares, versions, recipients, sent = [], [], [], []
        for n in chunk:
            closed = n < history
            if closed:
                shared_at = NOW - timedelta(days=30 + n % 700)
                due_at, state = shared_at + timedelta(days=3), "responded"
            elif n < history + OPEN_OVERDUE:
                shared_at = NOW - timedelta(days=10)
                due_at, state = shared_at + timedelta(days=3), "awaiting_response"
            else:
                shared_at = NOW - timedelta(days=2)
                due_at, state = NOW + timedelta(hours=3), "awaiting_response"
            shares.append(
                {
                    "id": n + 1,
                    "case_id": CASES + n // HISTORY_PER_CASE + 1 if closed else n % CASES + 1,
                    "from_agency_id": a.id,
                    "recorded_as": "sent",
                    "recorded_by_id": worker_a.id,
                    "recorded_by_agency_id": a.id,
                    "recorded_at": shared_at,
                    "needs_response": True,
                    "priority": "standard",
                }
            )
            versions.append(
                {
                    "share_id": n + 1,
                    "number": 1,
                    "shared_at": shared_at,
                    "method": "phone",
                    "summary": "Benchmark share",
                    "purpose": "Benchmark",
                    "lawful_basis": "art6_1e_public_task",
                    "special_category": False,
                    "consent": "given",
                    "themes": "",
                    "recorded_by_id": worker_a.id,
                    "recorded_at": shared_at,
                }
            )
            recipients.append(
                {
                    "id": n + 1,
                    "share_id": n + 1,
                    "agency_id": b.id,
                    "state": state,
                    "due_at": due_at,
                    "responded_at": due_at if closed else None,
                }
            )
            if closed:
                sent.append(
                    {
                        "recipient_id": people[3].id,
                        "kind": "concern_overdue",
                        "subject": "History",
                        "link": "/",
                        "event": f"concern:{n + 1}:overdue",
                        "created_at": due_at,
                        "urgent": False,
                        "status": "sent",
                        "attempts": 1,
                        "next_attempt_at": due_at,
                        "sent_at": due_at,
                    }
                )
        for model, rows in (
            (Share, shares),
            (ShareVersion, versions),
            (Concern, recipients),
            (Alert, sent),
        ):
            if rows:
                db.session.execute(insert(model), rows)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


class _Statements:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args) -> None:
        self.count += 1


def _timed_sweep() -> tuple[float, int, dict]:
    counter = _Statements()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        started = time.perf_counter()
        result = run_sweep(NOW)
        elapsed = time.perf_counter() - started
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return elapsed, counter.count, result


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.count += 1
        return "250 OK"


def _raise_alerts() -> None:
    """ALERTS alerts to deliver, spread over everyone."""
    recipients = db.session.query(Person).all()
    for n in range(ALERTS // len(recipients)):
        alerts.raise_alert(
            event=f"bench:{n}",
            recipients=recipients,
            kind="other",
            subject="Benchmark alert",
            link="/inbox/",
        )
        if n % 100 == 0:
            db.session.commit()
    db.session.commit()


def _smtp_rate() -> str:
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        _raise_alerts()
        pending = db.session.query(Alert).filter(Alert.status == "pending").count()
        started = time.perf_counter()
        result = delivery.deliver(NOW)
        elapsed = time.perf_counter() - started
    finally:
        controller.stop()
    assert sink.count == result.sent == pending, (sink.count, result.as_dict(), pending)
    return f"delivered {result.sent} alerts in {elapsed:.2f}s: {result.sent / elapsed:.0f} alerts/s"


def _backend(name: str, url_for_db) -> None:
    print(f"## {name}")
    print()
    print("| closed concerns (history) | open set | first sweep | SQL | steady sweep | SQL |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for history in HISTORY_SIZES:
        with tempfile.TemporaryDirectory() as folder:
            url, drop = url_for_db(history, Path(folder))
            app = _app(url, Path(folder))
            with app.app_context():
                clock.freeze(NOW)
                _seed(history)
                first, first_sql, result = _timed_sweep()
                steady, steady_sql, again = _timed_sweep()
                assert result["concern_overdue_alerts"] and not again["concern_overdue_alerts"]
                print(
                    f"| {history:,} | {OPEN_OVERDUE} overdue + {OPEN_DUE_SOON} due soon "
                    f"| {first:.2f}s | {first_sql} | {steady * 1000:.0f} ms | {steady_sql} |"
                )
                if history == HISTORY_SIZES[-1]:
                    rate = _smtp_rate()
                clock.freeze(None)
                db.session.remove()
                db.engine.dispose()
            drop()
    print()
    print(f"SMTP (aiosmtpd on 127.0.0.1:{SMTP_PORT}, one connection a run): {rate}")
    print()


# --- issue 17: per action and per message, this checkout against another ----------------------

ISSUE17_HISTORY = 1_000


def _free_port() -> int:
    with socket.socket() as probe:  # others may run benchmarks on the fixed port meanwhile
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _counted(run):
    counter = _Statements()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        started = time.perf_counter()
        value = run()
        elapsed = time.perf_counter() - started
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return value, elapsed, counter.count


def _floor(port: int, count: int) -> float:
    """A plain smtplib loop over one connection: the same number of small prebuilt messages."""
    messages = [
        (
            f"From: tracker@partnership.invalid\nTo: person{n}@example.org\nSubject: Floor\n"
            f"Message-ID: <floor-{n}@partnership.invalid>\n\nDear Person,\n\nhttp://x/\n"
        ).encode()
        for n in range(count)
    ]
    smtp = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for n, message in enumerate(messages):
        smtp.sendmail("tracker@partnership.invalid", [f"person{n}@example.org"], message)
    elapsed = time.perf_counter() - started
    smtp.quit()
    return elapsed


class _SinkProcess:
    """bench/smtp_sink.py on a free port, for one measurement; `stop()` says how many it took."""

    def __init__(self) -> None:
        self.port = _free_port()
        here = Path(__file__).resolve().parent
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}"]
            + ["-c", f"smtp_sink.{os.environ.get('BENCH_SMTP_SINK', 'CountingSink')}"],
            env={**os.environ, "PYTHONPATH": str(here)},
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the SMTP sink did not start") from None
                time.sleep(0.05)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=30)
        return int(out.split()[-1])


def _issue17_measure(url: str, folder: Path) -> dict:
    app = _app(url, folder)
    with app.app_context():
        clock.freeze(NOW)
        _seed(ISSUE17_HISTORY)
        result, sweep_s, sweep_sql = _counted(lambda: run_sweep(NOW))
        actions = sum(v for k, v in result.items() if k != "at")
        _raise_alerts()
        pending = db.session.query(Alert).filter(Alert.status == "pending").count()
        sink = _SinkProcess()
        app.config["MAIL_PORT"] = sink.port
        try:
            # the floor either side of the delivery, averaged: the machine's drift falls on both
            floor_s = _floor(sink.port, pending)
            sent, deliver_s, deliver_sql = _counted(lambda: delivery.deliver(NOW))
            floor_s = (floor_s + _floor(sink.port, pending)) / 2
        finally:
            accepted = sink.stop()
        assert sent.sent == pending and accepted == 3 * pending, (sent.as_dict(), accepted)
        clock.freeze(None)
        db.session.remove()
        db.engine.dispose()
    return {
        "actions": actions,
        "sweep_ms_per_action": sweep_s * 1000 / actions,
        "sweep_statements_per_action": sweep_sql / actions,
        "messages": pending,
        "delivery_statements_per_message": deliver_sql / pending,
        "delivery_per_s": pending / deliver_s,
        "floor_per_s": pending / floor_s,
        "ratio_to_floor": floor_s / deliver_s,
    }


def _issue17(as_json: bool) -> None:
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        out["sqlite"] = _issue17_measure(f"sqlite:///{folder}/bench.sqlite3", Path(folder))
    pg = os.environ.get("BENCH_DATABASE_URL")
    if pg:
        from sqlalchemy import create_engine

        base = make_url(pg).set(drivername="postgresql+psycopg")
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        name = f"tracker_issue17_bench_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            with tempfile.TemporaryDirectory() as folder:
                url = base.set(database=name).render_as_string(hide_password=False)
                out["postgresql"] = _issue17_measure(url, Path(folder))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(json.dumps(out) if as_json else json.dumps(out, indent=2))


def _compare(base: str, rounds: int) -> None:
    """Alternate runs of BASE and this checkout (each a fresh process), then one table."""
    here = str(Path(__file__).resolve().parents[1])
    runs: dict[str, list[dict]] = {"main": [], "branch": []}
    for _ in range(rounds):
        for label, tree in (("main", base), ("branch", here)):
            load = os.getloadavg()
            done = subprocess.run(
                [sys.executable, __file__, "--issue17", "--json"],
                env={**os.environ, "BENCH_TREE": tree},
                capture_output=True,
                text=True,
                check=True,
            )
            runs[label].append({"load": load, **json.loads(done.stdout.strip().splitlines()[-1])})
    commits = {
        label: subprocess.run(
            ["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        for label, tree in (("main", base), ("branch", here))
    }

    def median(label: str, backend: str, key: str) -> float:
        values = sorted(r[backend][key] for r in runs[label] if backend in r)
        return values[len(values) // 2]

    print(f"main {commits['main']} vs branch {commits['branch']}, {rounds} alternating rounds")
    print()
    print("| database | measure | main | branch |")
    print("| --- | --- | ---: | ---: |")
    for backend in ("sqlite", "postgresql"):
        if backend not in runs["branch"][0]:
            continue
        for key, form in (
            ("sweep_ms_per_action", "{:.2f}"),
            ("sweep_statements_per_action", "{:.2f}"),
            ("delivery_statements_per_message", "{:.2f}"),
            ("delivery_per_s", "{:.0f}"),
            ("floor_per_s", "{:.0f}"),
            ("ratio_to_floor", "{:.2f}"),
        ):
            row = [form.format(median(label, backend, key)) for label in ("main", "branch")]
            print(f"| {backend} | {key.replace('_', ' ')} | {row[0]} | {row[1]} |")
    print()
    print("Per run (load averages 1/5/15 min at its start):")
    for label in ("main", "branch"):
        for run in runs[label]:
            load = "/".join(f"{x:.1f}" for x in run["load"])
            cells = ", ".join(
                f"{b}: {run[b]['sweep_ms_per_action']:.2f} ms/action, "
                f"ratio {run[b]['ratio_to_floor']:.2f}"
                for b in ("sqlite", "postgresql")
                if b in run
            )
            print(f"- {label} (load {load}): {cells}")


def main() -> None:
    if "--issue17" in sys.argv:
        _issue17("--json" in sys.argv)
        return
    if "--compare" in sys.argv:
        at = sys.argv.index("--compare")
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
        _compare(sys.argv[at + 1], rounds)
        return

    def sqlite(history: int, folder: Path):
        return f"sqlite:///{folder / 'bench.sqlite3'}", lambda: None

    _backend("SQLite (file)", sqlite)
    pg = os.environ.get("BENCH_DATABASE_URL")
    if pg:
        from sqlalchemy import create_engine

        base = make_url(pg).set(drivername="postgresql+psycopg")
        admin = create_engine(base, isolation_level="AUTOCOMMIT")

        def postgresql(history: int, folder: Path):
            name = f"tracker_sweep_bench_{history}"
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))

            def drop() -> None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

            return base.set(database=name).render_as_string(hide_password=False), drop

        _backend("PostgreSQL", postgresql)


if __name__ == "__main__":
    main()
