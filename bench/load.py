"""Load run (issue 7): simulated workers recording shares and reading cases on a real server.

    .venv/bin/python bench/load.py --database sqlite --users 50 --seconds 60
    .venv/bin/python bench/load.py --database postgresql --users 50 --seconds 60

It builds a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database
`tracker_load` on 127.0.0.1:5432, dropped and recreated), runs `flask db upgrade` and
`flask tracker demo`, starts the app under gunicorn (development settings) on a free port in
8400-8499, and runs N users for the set time. Each user signs in through the form with its CSRF
token as one of the demo workers (workers need no second factor), then loops: open a case its
agency can see, record a share on it (every third one needing a response), read the share, the
case and its chronology. Afterwards it stops the server and checks that the new Share rows are
exactly the shares the server said it created, that no request failed, and that
`flask tracker audit verify` says ok. The scheduler runs beside the server, sealing the audit log
every TRACKER_AUDIT_SEAL_SECONDS (5 s), as in production. Exit status 1 if anything is lost or any request failed.

Plain threads and urllib (one cookie jar per user) rather than locust: nothing to install.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = "tracker_load"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 (the demo's printed password)  # nosec B105

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CASE_LINK = re.compile(r'href="/cases/(\d+)"')
RECIPIENT = re.compile(r'name="recipient_agency_ids"[^>]*value="(\d+)"')
SHARE_LOCATION = re.compile(r"/shares/(\d+)$")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Keep 302s visible: a created share is known by its redirect to the share."""

    def redirect_request(self, *args, **kwargs):
        return None


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.failures: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []
        self.created_share_ids: list[int] = []

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def fail(self, kind: str, message: str) -> None:
        with self.lock:
            self.failures[kind] += 1
            if len(self.errors) < 20:
                self.errors.append(f"{kind}: {message}")

    def created(self, share_id: int) -> None:
        with self.lock:
            self.created_share_ids.append(share_id)


class User:
    """One simulated practitioner with its own cookie jar."""

    def __init__(self, base: str, email: str, results: Results, rng: random.Random) -> None:
        self.base = base
        self.email = email
        self.results = results
        self.rng = rng
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(
        self, kind: str, path: str, data: list[tuple[str, str]] | None = None, expect: int = 200
    ) -> tuple[int, str, str] | None:
        """One timed request; anything but the expected status is a failure."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        started = time.perf_counter()
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                status, text = response.status, response.read().decode()
                location = response.headers.get("Location", "")
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            status, text = error.code, error.read().decode(errors="replace")
            location = error.headers.get("Location", "")
        except OSError as error:
            self.results.fail(kind, f"{path}: {error!r}")
            return None
        elapsed = time.perf_counter() - started
        if status != expect:
            hint = "database is locked" if "database is locked" in text else ""
            self.results.fail(kind, f"{path}: HTTP {status} (expected {expect}) {hint}".strip())
            return None
        self.results.ok(kind, elapsed)
        return status, text, location

    def sign_in(self) -> list[int]:
        page = self.request("sign-in page", "/sign-in")
        if page is None:
            return []
        form = [
            ("csrf_token", CSRF.search(page[1]).group(1)),
            ("email", self.email),
            ("password", DEMO_PASSWORD),
        ]
        if self.request("sign in", "/sign-in", form, expect=302) is None:
            return []
        listing = self.request("case list", "/cases/")
        return sorted({int(i) for i in CASE_LINK.findall(listing[1])}) if listing else []

    def record_share(self, case_id: int, number: int) -> None:
        page = self.request("share form", f"/cases/{case_id}/shares/new")
        if page is None:
            return
        recipients = RECIPIENT.findall(page[1])
        if not recipients:
            return  # no other agency on this case to share with
        when = datetime.now(ZoneInfo("Europe/London")) - timedelta(days=1)
        needs_response = number % 3 == 0
        form = [
            ("csrf_token", CSRF.search(page[1]).group(1)),
            ("from_person_name", ""),
            ("shared_on", str(when.day)),
            ("shared_on", str(when.month)),
            ("shared_on", str(when.year)),
            ("shared_time", "10:30"),
            ("method", self.rng.choice(["phone", "secure_email", "meeting"])),
            ("summary", f"Load run share {number} from {self.email}: attendance dropped."),
            ("purpose", "So the school and health visitor know before the review."),
            ("lawful_basis", "art6_1e_public_task"),
            ("consent", "not_sought"),
            ("consent_reason", "Seeking consent could place the child at risk."),
            ("needs_response", "yes" if needs_response else "no"),
            ("priority", "urgent" if number % 6 == 0 else "standard"),
            ("recipient_agency_ids", self.rng.choice(recipients)),
        ]
        created = self.request("record share", f"/cases/{case_id}/shares/new", form, expect=302)
        if created is None:
            return
        match = SHARE_LOCATION.search(urllib.parse.urlparse(created[2]).path)
        if match is None:
            self.results.fail("record share", f"redirected to {created[2]!r}, not a share")
            return
        self.results.created(int(match.group(1)))
        self.request("read share", f"/shares/{match.group(1)}")

    def run(self, until: float) -> None:
        case_ids = self.sign_in()
        if not case_ids:
            self.results.fail("sign in", f"{self.email} signed in to no visible cases")
            return
        number = 0
        while time.monotonic() < until:
            case_id = self.rng.choice(case_ids)
            self.request("read case", f"/cases/{case_id}")
            self.record_share(case_id, number)
            self.request("read chronology", f"/cases/{case_id}/chronology")
            number += 1


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 (our own venv's flask)  # nosec B603
        [str(VENV_BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return (done.stdout + done.stderr).strip()


def free_port() -> int:
    for port in range(8400, 8500):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    sys.exit("no free port in 8400-8499")


def fresh_database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'load.sqlite3'}"
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"{PG_SERVER}/{PG_DATABASE}"


def database_facts(env: dict[str, str]) -> tuple[list[str], set[int], str]:
    """Demo worker emails, every share id, and the database version, read through the app."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select, text

    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import Person, Role, Share

    app = create_app()
    with app.app_context():
        workers = db.session.scalars(
            select(Person.email)
            .where(Person.role == Role.WORKER.value, Person.email.like("%@%.example.org"))
            .order_by(Person.id)
        ).all()
        share_ids = set(db.session.scalars(select(Share.id)))
        if db.engine.dialect.name == "sqlite":
            version = "SQLite " + db.session.scalar(text("select sqlite_version()"))
        else:
            version = db.session.scalar(text("select version()")).split(" on ")[0]
        db.session.remove()
        db.engine.dispose()
    return list(workers), share_ids, version


def start_server(env: dict[str, str], port: int, workers: int, threads: int, log: Path):
    server = subprocess.Popen(  # noqa: S603 (our own venv's gunicorn)  # nosec B603
        [
            str(VENV_BIN / "gunicorn"),
            f"--workers={workers}",
            f"--threads={threads}",
            f"--bind=127.0.0.1:{port}",
            "--timeout=120",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn stopped at start:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/sign-in", timeout=5):  # nosec B310
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    sys.exit("gunicorn did not answer within 60 seconds")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(results: Results, seconds: float) -> int:
    kinds = sorted(set(results.latencies) | set(results.failures))
    print("| request | ok | failed | median ms | p95 ms | per second |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    all_latencies: list[float] = []
    for kind in kinds:
        done = results.latencies.get(kind, [])
        all_latencies += done
        median = f"{statistics.median(done) * 1000:.0f}" if done else "-"
        p95 = f"{percentile(done, 0.95) * 1000:.0f}" if done else "-"
        print(
            f"| {kind} | {len(done)} | {results.failures.get(kind, 0)} | {median} | {p95} "
            f"| {len(done) / seconds:.1f} |"
        )
    failed = sum(results.failures.values())
    median = statistics.median(all_latencies) * 1000 if all_latencies else 0
    p95 = percentile(all_latencies, 0.95) * 1000 if all_latencies else 0
    print(
        f"| **all** | {len(all_latencies)} | {failed} | {median:.0f} | {p95:.0f} "
        f"| {len(all_latencies) / seconds:.1f} |"
    )
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="tracker_load_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "DATABASE_"))}
    env |= {
        "DATABASE_URL": fresh_database(args.database, folder),
        "TRACKER_INSTANCE_DIR": str(folder / "instance"),
        "SECRET_KEY": secrets.token_hex(32),  # one key for every gunicorn worker
        "FLASK_APP": "wsgi:app",
    }
    flask(env, "db", "upgrade")
    flask(env, "tracker", "demo")
    workers, shares_before, version = database_facts(env)
    print(f"{args.database}: {version}; {len(workers)} demo workers; {len(shares_before)} shares")

    port = free_port()
    log = folder / "gunicorn.log"
    server = start_server(env, port, args.workers, args.threads, log)
    # The scheduler seals the audit log every TRACKER_AUDIT_SEAL_SECONDS while the load runs, as
    # in production (its sweep once an hour here: the load is about requests).
    scheduler_log = (folder / "scheduler.log").open("w")
    scheduler = subprocess.Popen(  # noqa: S603 (our own venv's flask)  # nosec B603
        [str(VENV_BIN / "flask"), "tracker", "scheduler"],
        cwd=ROOT,
        env={**env, "TRACKER_SWEEP_SECONDS": "3600"},
        stdout=scheduler_log,
        stderr=subprocess.STDOUT,
    )
    results = Results()
    started = time.monotonic()
    until = started + args.seconds
    users = [
        User(
            f"http://127.0.0.1:{port}",
            workers[n % len(workers)],
            results,
            random.Random(n),  # noqa: S311 (repeatable load, not security)  # nosec B311
        )
        for n in range(args.users)
    ]
    threads = [threading.Thread(target=user.run, args=(until,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    server.terminate()
    server.wait(timeout=60)
    scheduler.terminate()
    scheduler.wait(timeout=60)
    flask(env, "tracker", "audit", "seal")  # what the scheduler had not reached yet

    _, shares_after, _ = database_facts(env)
    stored = shares_after - shares_before
    created = set(results.created_share_ids)
    verify = subprocess.run(  # noqa: S603  # nosec B603
        [str(VENV_BIN / "flask"), "tracker", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    audit_line = (verify.stdout + verify.stderr).strip()

    print(
        f"\n{args.users} users, {elapsed:.1f} s, gunicorn {args.workers} workers x "
        f"{args.threads} threads, port {port}\n"
    )
    failed = report(results, elapsed)
    print(
        f"\nshares created (302 to the share): {len(results.created_share_ids)}; "
        f"new Share rows: {len(stored)}; same ids: {stored == created}"
    )
    print(f"audit verify: {audit_line}")
    server_errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
    print(f"server tracebacks in the gunicorn log: {len(server_errors)}")
    for error in results.errors:
        print(f"  failure: {error}")
    lost = stored != created or len(results.created_share_ids) != len(created)
    if failed or lost or verify.returncode != 0 or server_errors or not created:
        print(f"NOT OK (log kept in {log})")
        return 1
    print("OK: no errors, nothing lost, the audit log verifies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
