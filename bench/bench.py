"""Partnership-scale benchmark: each page through the real Flask view against the raw SQL that
fetches the same rows (the floor), and the sweep at two history sizes with the same open set.

Run on databases filled by `flask tracker generate` (see bench/RESULTS.md for the commands):

    .venv/bin/python bench/bench.py \\
        --db sqlite=sqlite:////tmp/bench/1m.db --small sqlite=sqlite:////tmp/bench/10k.db \\
        --db postgresql=postgresql://postgres@127.0.0.1:5432/tracker_bench_1m \\
        --small postgresql=postgresql://postgres@127.0.0.1:5432/tracker_bench_10k \\
        --write bench/RESULTS.md

For each database it prints a table: median wall time of the page (test client, signed in, one
request = one app context as in production), the time its SQL took (a before/after_cursor_execute
listener), the number of queries, the floor's median, and the ratios page/floor and SQL/floor.
The clock is frozen at the generator's `now` (read from its audit event) so every run sees the
same open set. The sweep runs inside a transaction that is rolled back (the session joins it with
savepoints), so repeated runs repeat the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, select, text
from sqlalchemy.orm import scoped_session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker import clock, create_app  # noqa: E402
from tracker.extensions import db  # noqa: E402
from tracker.models import AgencyKind, AuditEvent, Case, Person, Role  # noqa: E402

OPEN = "('awaiting_response', 'acknowledged')"


@dataclass
class Result:
    name: str
    page_ms: float
    sql_ms: float
    queries: int
    floor_ms: float
    rows: int
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.page_ms / self.floor_ms

    @property
    def sql_ratio(self) -> float:
        return self.sql_ms / self.floor_ms


@dataclass
class Counter:
    queries: int = 0
    seconds: float = 0.0
    started: list[float] = field(default_factory=list)


def _median(run: Callable[[], object], runs: int) -> float:
    run()  # warm caches (the database's and the app's): a steady state, not a cold start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


class Bench:
    def __init__(self, url: str, runs: int, sweep_runs: int = 3) -> None:
        os.environ.setdefault("TRACKER_ENV", "development")
        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(url),
                "SECRET_KEY": secrets.token_hex(16),
                "WTF_CSRF_ENABLED": False,
                "INSTANCE_DIR": "/tmp/bench/instance",
            }
        )
        self.runs = runs
        self.sweep_runs = sweep_runs
        self.counter = Counter()
        with self.app.app_context():
            engine = db.engine
            self.dialect = engine.dialect.name
            event.listen(engine, "before_cursor_execute", self._before)
            event.listen(engine, "after_cursor_execute", self._after)
            run = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "generate.run"))
            if run is None:
                raise SystemExit(f"{url}: not a generated database (no generate.run event)")
            self.plan = {k: v[1] for k, v in json.loads(run.changes).items()}
            self.now = datetime.fromisoformat(self.plan["now"])
            self.people = self._people()
            self.chronology_case = db.session.scalar(select(Case.id).order_by(Case.id).limit(1))
            self.entries = None
        clock.freeze(self.now)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self.counter.started.append(time.perf_counter())

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        """Every statement counts as a query; only the page's reads count towards "its reads"
        (the floor only reads: the audit event, its chain head, lock and BEGIN are auditing)."""
        self.counter.queries += 1
        elapsed = time.perf_counter() - self.counter.started.pop()
        auditing = "audit_event" in statement or "pg_advisory" in statement
        if statement.lstrip()[:6].upper() == "SELECT" and not auditing:
            self.counter.seconds += elapsed

    def _people(self) -> dict[str, Person]:
        """A worker of the busiest agency (most open concerns), and a partnership lead."""
        busiest = db.session.execute(
            text(
                "SELECT sr.agency_id FROM concern sr "
                f"WHERE sr.state IN {OPEN} GROUP BY sr.agency_id ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar()
        worker = db.session.scalar(
            select(Person)
            .where(Person.agency_id == busiest, Person.role == Role.WORKER.value)
            .order_by(Person.id)
            .limit(1)
        )
        from tracker.models import Agency

        lead = db.session.scalar(
            select(Person)
            .join(Agency, Agency.id == Person.agency_id)
            .where(Agency.kind == AgencyKind.PARTNERSHIP.value, Person.role == Role.LEAD.value)
            .order_by(Person.id)
            .limit(1)
        )
        chronology_worker = db.session.scalar(
            select(Person)
            .join(Case, Case.lead_agency_id == Person.agency_id)
            .where(Person.role == Role.WORKER.value)
            .order_by(Case.id, Person.id)
            .limit(1)
        )
        db.session.expunge_all()
        return {"worker": worker, "lead": lead, "chronology": chronology_worker}

    # --- pages ----------------------------------------------------------------------------------

    def _client(self, person: Person):
        client = self.app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = person.get_id()
            session["_fresh"] = True
            session["last_seen"] = time.time()
        return client

    def page(self, name: str, person: str, url: str, floor: Callable, note: str = "") -> Result:
        client = self._client(self.people[person])

        def get():
            session = client.session_transaction()
            with session as values:
                values["last_seen"] = time.time()  # never idle-signed-out mid-benchmark
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
            return response

        get()
        self.counter = Counter()
        page_ms = _median(get, self.runs)
        runs = self.runs + 1  # the warm-up counted too
        queries = round(self.counter.queries / runs)
        sql_ms = self.counter.seconds * 1000 / runs
        with self.app.app_context():
            connection = db.engine.connect()
            try:
                rows = sum(len(rows) for rows in floor(connection))
                floor_ms = _median(lambda: floor(connection), self.runs)
            finally:
                connection.close()
        return Result(name, page_ms, sql_ms, queries, floor_ms, rows, note)

    def _fetch(self, connection, sql: str, **params) -> list:
        return connection.execute(text(sql), params).fetchall()

    def floor_unanswered(self, connection) -> list[list]:
        return [
            self._fetch(
                connection,
                "SELECT sr.id, sr.agency_id, sr.state, sr.due_at, s.id, s.priority, "
                "s.from_agency_id, c.id, c.reference, c.child_name, v.summary "
                "FROM concern sr JOIN share s ON s.id = sr.share_id "
                "JOIN child_case c ON c.id = s.case_id "
                "JOIN share_version v ON v.share_id = s.id AND v.number = 1 "
                f"WHERE sr.state IN {OPEN} AND sr.due_at < :now "
                "ORDER BY sr.due_at, sr.id LIMIT 25",
                now=self.now,
            ),
            self._fetch(
                connection,
                f"SELECT count(*) FROM concern sr WHERE sr.state IN {OPEN} AND sr.due_at < :now",
                now=self.now,
            ),
        ]

    def floor_home(self, connection) -> list[list]:
        agency = self.people["worker"].agency_id
        involved = (
            "EXISTS (SELECT 1 FROM case_agency ca WHERE ca.case_id = c.id "
            "AND ca.agency_id = :agency AND ca.removed_at IS NULL)"
        )
        concern = (
            "SELECT sr.id, sr.state, sr.due_at, s.id, s.priority, c.reference, c.child_name "
            "FROM concern sr JOIN share s ON s.id = sr.share_id "
            f"JOIN child_case c ON c.id = s.case_id WHERE sr.state IN {OPEN} AND {{}} "
            f"AND {involved} ORDER BY sr.due_at, sr.id LIMIT 25"
        )
        count = (
            "SELECT count(*) FROM concern sr JOIN share s ON s.id = sr.share_id "
            f"JOIN child_case c ON c.id = s.case_id WHERE sr.state IN {OPEN} AND {{}} "
            f"AND {involved}"
        )
        ours, theirs = "sr.agency_id = :agency", "s.from_agency_id = :agency"
        return [
            self._fetch(
                connection,
                "SELECT c.id, c.reference, c.child_name, c.created_at, c.status "
                f"FROM child_case c WHERE {involved} ORDER BY c.created_at DESC, c.id DESC "
                "LIMIT 10",
                agency=agency,
            ),
            self._fetch(connection, concern.format(ours), agency=agency),
            self._fetch(connection, count.format(ours), agency=agency),
            self._fetch(connection, concern.format(theirs), agency=agency),
            self._fetch(connection, count.format(theirs), agency=agency),
            self._fetch(
                connection,
                "SELECT id, case_id, stage, stage_due_at FROM challenge WHERE status = 'open' "
                "AND (raised_by_agency_id = :agency OR about_agency_id = :agency) "
                "ORDER BY stage_due_at, id LIMIT 10",
                agency=agency,
            ),
        ]

    def floor_chronology(self, connection) -> list[list]:
        case = self.chronology_case
        latest = "(SELECT max(number) FROM {0} WHERE {1} = {2})"
        return [
            self._fetch(
                connection,
                "SELECT s.id, s.from_agency_id, s.needs_response, s.priority, v.shared_at, "
                "v.method, v.summary, v.purpose, v.consent, v.consent_reason, v.themes, p.name "
                "FROM share s JOIN share_version v ON v.share_id = s.id "
                f"AND v.number = {latest.format('share_version', 'share_id', 's.id')} "
                "JOIN person p ON p.id = v.recorded_by_id WHERE s.case_id = :case",
                case=case,
            ),
            self._fetch(
                connection,
                "SELECT sr.share_id, sr.agency_id, sr.people_names, sr.due_at, sr.responded_at "
                "FROM concern sr JOIN share s ON s.id = sr.share_id "
                "WHERE s.case_id = :case",
                case=case,
            ),
            self._fetch(
                connection,
                "SELECT r.recipient_id, r.number, r.action_taken, r.next_steps, r.recorded_at, "
                "p.name FROM concern_response r JOIN concern sr ON sr.id = r.recipient_id "
                "JOIN share s ON s.id = sr.share_id JOIN person p ON p.id = r.recorded_by_id "
                "WHERE s.case_id = :case",
                case=case,
            ),
            self._fetch(
                connection,
                "SELECT n.id, n.kind, n.agency_id, v.occurred_on, v.text, v.themes, p.name "
                "FROM case_note n JOIN case_note_version v ON v.note_id = n.id "
                f"AND v.number = {latest.format('case_note_version', 'note_id', 'n.id')} "
                "JOIN person p ON p.id = v.recorded_by_id WHERE n.case_id = :case",
                case=case,
            ),
            self._fetch(
                connection,
                "SELECT t.id, t.agency_id, t.level, t.reason, t.recorded_at, p.name "
                "FROM threshold_view t JOIN person p ON p.id = t.recorded_by_id "
                "WHERE t.case_id = :case",
                case=case,
            ),
            self._fetch(
                connection,
                "SELECT e.id, e.kind, e.at, e.text, e.from_stage, e.to_stage, c.id "
                "FROM challenge_event e JOIN challenge c ON c.id = e.challenge_id "
                "WHERE c.case_id = :case",
                case=case,
            ),
            self._fetch(connection, "SELECT id, name FROM agency"),
        ]

    def floor_search(self, term: str) -> Callable:
        def floor(connection) -> list[list]:
            agency = self.people["worker"].agency_id
            where = (
                "EXISTS (SELECT 1 FROM case_agency ca WHERE ca.case_id = c.id "
                "AND ca.agency_id = :agency AND ca.removed_at IS NULL) "
                "AND (lower(c.reference) LIKE :term OR lower(c.child_name) LIKE :term)"
            )
            return [
                self._fetch(
                    connection,
                    "SELECT c.id, c.reference, c.child_name, c.created_at, c.status "
                    f"FROM child_case c WHERE {where} ORDER BY c.created_at DESC, c.id DESC "
                    "LIMIT 25",
                    agency=agency,
                    term=f"%{term}%",
                ),
                self._fetch(
                    connection,
                    f"SELECT count(*) FROM child_case c WHERE {where}",
                    agency=agency,
                    term=f"%{term}%",
                ),
            ]

        return floor

    # --- the sweep ------------------------------------------------------------------------------

    @contextmanager
    def rolled_back(self) -> Iterator[None]:
        """The sweep's session joins an outer transaction with savepoints; all rolled back."""
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = scoped_session(
            sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        )
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()

    def sweep_once(self) -> tuple[float, dict]:
        from tracker.services import sweep

        clock.freeze(self.now)
        start = time.perf_counter()
        with self.app.app_context(), self.rolled_back():
            done = sweep.run_sweep(self.now)
        return (time.perf_counter() - start) * 1000, done

    def sweeps(self, other: Bench | None, runs: int) -> dict:
        """Median sweep here and, interleaved run by run so both meet the same machine load, on
        the database with the small history."""
        self.sweep_once()  # warm-up
        if other:
            other.sweep_once()
        self.counter = Counter()
        mine, theirs, done, their_done = [], [], {}, {}
        for _ in range(runs):
            ms, done = self.sweep_once()
            mine.append(ms)
            if other:
                ms, their_done = other.sweep_once()
                theirs.append(ms)
        return {
            "ms": statistics.median(mine),
            "sql_ms": self.counter.seconds * 1000 / runs,
            "queries": round(self.counter.queries / runs),
            "done": done,
            "small_ms": statistics.median(theirs) if theirs else None,
            "small_done": their_done,
            "all_ms": mine,
            "all_small_ms": theirs,
        }

    def floor_sweep(self, connection) -> list[list]:
        """The open set the sweep reads: open concerns due within its horizon or overdue, and
        open challenges (every other read the sweep makes is per item)."""
        return [
            self._fetch(
                connection,
                "SELECT sr.id, sr.agency_id, sr.due_at, s.id, s.case_id, s.priority "
                "FROM concern sr JOIN share s ON s.id = sr.share_id "
                "JOIN child_case c ON c.id = s.case_id "
                f"WHERE sr.state IN {OPEN} AND s.needs_response AND c.status = 'open' "
                "ORDER BY sr.due_at, sr.id",
            ),
            self._fetch(
                connection,
                "SELECT id, case_id, stage, stage_due_at FROM challenge WHERE status = 'open' "
                "ORDER BY stage_due_at, id",
            ),
        ]

    def run(self, small: str | None) -> dict:
        # No app context is held here: each request pushes its own, as in production.
        term = "patel"
        results = [
            self.page(
                "Unanswered concerns (partnership list, page 1)",
                "lead",
                "/concerns/unanswered",
                self.floor_unanswered,
            ),
            self.page("Agency home page", "worker", "/", self.floor_home),
            self.page(
                "Case chronology (1,000 entries)",
                "chronology",
                f"/cases/{self.chronology_case}/chronology",
                self.floor_chronology,
            ),
            self.page(
                f"Case list search ('{term}')",
                "worker",
                f"/cases/?q={term}",
                self.floor_search(term),
            ),
            # No rows to show, but every case the agency may see is checked for the term.
            self.page(
                "Case list search, no match (every case checked)",
                "worker",
                "/cases/?q=zzzz",
                self.floor_search("zzzz"),
            ),
        ]
        other = Bench(small, self.runs) if small else None
        sweep = self.sweeps(other, self.sweep_runs)
        with self.app.app_context():
            connection = db.engine.connect()
            try:
                floor_rows = sum(len(r) for r in self.floor_sweep(connection))
                floor_ms = _median(lambda: self.floor_sweep(connection), self.runs)
            finally:
                connection.close()
            counts_text = _counts(sweep["done"])
            sizes = self._sizes()
            version = self._version()
        results.append(
            Result(
                "Sweep (rolled back)",
                sweep["ms"],
                sweep["sql_ms"],
                sweep["queries"],
                floor_ms,
                floor_rows,
            )
        )
        small_sizes = None
        if other:
            with other.app.app_context():
                small_sizes = other._sizes()
        return {
            "results": results,
            "sweep_counts": counts_text,
            "sizes": sizes,
            "small_sizes": small_sizes,
            "small_sweep_ms": sweep["small_ms"],
            "sweep_ms": sweep["ms"],
            "sweep_runs": sweep["all_ms"],
            "small_sweep_runs": sweep["all_small_ms"],
            "small_sweep_counts": _counts(sweep["small_done"]),
            "version": version,
        }

    def _sizes(self) -> dict:
        counts = {}
        for table in ("child_case", "share", "concern", "challenge", "audit_event"):
            counts[table] = db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
        counts["open concerns"] = db.session.execute(
            text(f"SELECT count(*) FROM concern WHERE state IN {OPEN}")
        ).scalar()
        counts["open challenges"] = db.session.execute(
            text("SELECT count(*) FROM challenge WHERE status = 'open'")
        ).scalar()
        return counts

    def _version(self) -> str:
        if self.dialect == "sqlite":
            return "SQLite " + db.session.execute(text("SELECT sqlite_version()")).scalar()
        return db.session.execute(text("SHOW server_version")).scalar().join(["PostgreSQL ", ""])


def _counts(done: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in done.items() if k != "at")


def _sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _pairs(values: list[str]) -> dict[str, str]:
    return dict(value.split("=", 1) for value in values)


def table(label: str, outcome: dict) -> str:
    lines = [
        f"#### {label} ({outcome['version']})",
        "",
        "| measure | page / run (ms) | its reads (ms) | queries | floor (ms) | page / floor | "
        "reads / floor |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in outcome["results"]:
        lines.append(
            f"| {r.name} | {r.page_ms:.1f} | {r.sql_ms:.1f} | {r.queries} | {r.floor_ms:.2f} | "
            f"{r.ratio:.1f}x | {r.sql_ratio:.1f}x |"
        )
    lines.append("")
    lines.append(f"Sweep did: {outcome['sweep_counts']}.")
    sizes = ", ".join(f"{k} {v:,}" for k, v in outcome["sizes"].items())
    lines.append(f"Database: {sizes}.")
    if outcome["small_sweep_ms"]:
        small = ", ".join(f"{k} {v:,}" for k, v in outcome["small_sizes"].items())
        ratio = outcome["sweep_ms"] / outcome["small_sweep_ms"]
        runs = ", ".join(
            f"{a:.0f}/{b:.0f}"
            for a, b in zip(outcome["sweep_runs"], outcome["small_sweep_runs"], strict=True)
        )
        lines.append(
            f"Sweep, full history {outcome['sweep_ms']:.0f} ms vs small history "
            f"{outcome['small_sweep_ms']:.0f} ms (medians; interleaved runs, ms: {runs}): "
            f"**ratio {ratio:.2f}**. Small-history database: {small}. Its sweep did: "
            f"{outcome['small_sweep_counts']}."
        )
    lines.append("")
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit} on {cpu}, "
        f"{os.cpu_count()} cores, {int(memory) // 1024 // 1024} GB memory, "
        f"Python {platform.python_version()}, {platform.platform()}."
    )


def write(path: Path, label: str, body: str) -> None:
    """Replace this database's results in RESULTS.md (between its markers), keeping the rest."""
    start, end = f"<!-- scale-bench:{label}:start -->", f"<!-- scale-bench:{label}:end -->"
    old = path.read_text() if path.exists() else ""
    section = f"{start}\n{body}\n{end}"
    if start in old:
        new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, old, flags=re.S)
    else:
        new = old.rstrip() + ("\n\n" if old else "") + section + "\n"
    path.write_text(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", required=True, help="label=DATABASE_URL")
    parser.add_argument("--small", action="append", default=[], help="label=URL (small history)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per page")
    parser.add_argument("--sweep-runs", type=int, default=3, help="timed runs of each sweep")
    parser.add_argument("--write", type=Path, help="update this RESULTS.md's section")
    args = parser.parse_args()
    small = _pairs(args.small)
    for label, url in _pairs(args.db).items():
        outcome = Bench(url, args.runs, args.sweep_runs).run(small.get(label))
        body = f"{table(label, outcome)}\n{machine()}\n"
        print(body, flush=True)
        if args.write:
            write(args.write, label, body)


if __name__ == "__main__":
    main()
