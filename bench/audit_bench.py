"""Audit log benchmarks (issue 12): concurrent writers, and sealing cost against tree size.

    # 16 concurrent writers, this tree and another checkout (e.g. the commit before the change):
    .venv/bin/python bench/audit_bench.py writers --database sqlite --tree . --tree /tmp/base
    .venv/bin/python bench/audit_bench.py writers --database postgresql --tree . --tree /tmp/base
    # sealing 10k new events onto 10k vs 1M existing leaves (this tree only):
    .venv/bin/python bench/audit_bench.py seal --database sqlite
    .venv/bin/python bench/audit_bench.py seal --database postgresql

`writers` runs each tree in a subprocess of its own (its own code on sys.path) on a fresh database
(a SQLite file in a temporary folder, or the scratch PostgreSQL database tracker_audit_bench on
127.0.0.1:5432, dropped and recreated), migrated by that tree's migrations. 16 processes (as 16
gunicorn workers on one or several hosts would be), each with its own app and connection, write
audit events through that tree's `audit.record` and commit each one, for the set time; events/s
counts commits.

`seal` fills the log with N sealed leaves (inserted in bulk with their content and leaf hashes,
then sealed in batches), then three times inserts 10,000 new events and times one `seal()` of
them. It prints the median for 10k and for 1M existing leaves, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = "tracker_audit_bench"


def fresh_database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"{PG_SERVER}/{PG_DATABASE}"


def make_app(tree: Path, url: str, folder: Path):
    sys.path.insert(0, str(tree))
    from tracker import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://"),
            "SECRET_KEY": "bench",
            "INSTANCE_DIR": str(folder),
        }
    )


def _writer_process(tree: str, url: str, folder: str, number: int, seconds: float, barrier, out):
    """One writer: a process of its own (as a gunicorn worker is), with its own app and pool."""
    app = make_app(Path(tree), url, Path(folder))
    from tracker.extensions import db
    from tracker.services import audit

    count, error = 0, None
    with app.app_context():
        db.session.execute(db.text("SELECT 1"))  # connect before the clock starts
        db.session.rollback()
        barrier.wait()
        stop_at = time.monotonic() + seconds
        try:
            while time.monotonic() < stop_at:
                audit.record(
                    "bench.write",
                    object_kind="writer",
                    object_id=number,
                    changes={"n": [None, count]},
                    reason="benchmark",
                    actor_label=f"writer {number}",
                )
                db.session.commit()
                count += 1
        except Exception as failure:  # noqa: BLE001 (reported)
            error = repr(failure)[:200]
        finally:
            db.session.remove()
    out.put((count, error))


def run_writers(tree: Path, kind: str, writers: int, seconds: float) -> dict:
    """Migrate a fresh database with `tree`'s code, then `writers` processes write for `seconds`."""
    import multiprocessing

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        url = fresh_database(kind, folder)
        app = make_app(tree, url, folder)
        from flask_migrate import upgrade

        from tracker.extensions import db
        from tracker.services import audit

        with app.app_context():
            upgrade()
            db.engine.dispose()
        context = multiprocessing.get_context("spawn")
        barrier, out = context.Barrier(writers + 1), context.Queue()
        processes = [
            context.Process(
                target=_writer_process,
                args=(str(tree), url, str(folder), n, seconds, barrier, out),
            )
            for n in range(writers)
        ]
        for process in processes:
            process.start()
        barrier.wait()
        began = time.monotonic()
        results = [out.get(timeout=seconds + 300) for _ in processes]
        elapsed = time.monotonic() - began
        for process in processes:
            process.join()
        events = sum(count for count, _ in results)
        with app.app_context():
            verified = str(audit.verify())
            db.engine.dispose()
        return {
            "events": events,
            "seconds": round(elapsed, 2),
            "per_second": round(events / elapsed, 1),
            "errors": [e for _, e in results if e][:3],
            "verify": verified[:120],
        }


def bulk_leaves(count: int, batch: int = 20_000) -> None:
    """Insert `count` events with content and leaf hashes, as audit.record would, in bulk."""
    import secrets

    from tracker import clock
    from tracker.extensions import db
    from tracker.models import AuditContent, AuditEvent
    from tracker.services import audit
    from tracker.verify_pack import content_commitment

    start = (db.session.scalar(db.select(db.func.max(AuditEvent.id))) or 0) + 1
    now = clock.now()
    for offset in range(0, count, batch):
        events, contents = [], []
        for i in range(start + offset, start + min(count, offset + batch)):
            content = audit.canonical_json(
                {
                    "person_name": "bench",
                    "address": None,
                    "user_agent": None,
                    "changes": {"n": [None, i]},
                    "reason": None,
                }
            )
            salt = secrets.token_hex(16)
            row = AuditEvent(
                id=i,
                at=now,
                person_id=None,
                agency_id=None,
                role=None,
                action="bench.bulk",
                object_kind=None,
                object_id=i,
                case_id=None,
                content_commitment=content_commitment(salt, content),
            )
            events.append(
                {
                    **{f: getattr(row, f) for f in audit.LEAF_FIELDS},
                    "leaf_hash": audit.event_leaf_hash(row),
                    "leaf_index": None,
                }
            )
            contents.append({"event_id": i, "salt": salt, "content": content})
        db.session.execute(db.insert(AuditEvent.__table__), events)
        db.session.execute(db.insert(AuditContent.__table__), contents)
        db.session.commit()
    if db.engine.dialect.name == "postgresql":  # the sequence must move past the bulk ids
        db.session.execute(
            db.text("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), :n)"),
            {"n": start + count - 1},
        )
        db.session.commit()


def run_seal(kind: str, sizes: list[int], new: int, rounds: int) -> dict:
    results = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            url = fresh_database(kind, folder)
            app = make_app(HERE, url, folder)
            from flask_migrate import upgrade

            from tracker.extensions import db
            from tracker.services import transparency

            with app.app_context():
                upgrade()
                began = time.monotonic()
                bulk_leaves(size)
                transparency.seal(batch=50_000)
                fill = time.monotonic() - began
                times = []
                for _ in range(rounds):
                    bulk_leaves(new)
                    began = time.monotonic()
                    result = transparency.seal(batch=new)
                    times.append(time.monotonic() - began)
                    assert result.sealed == new, result
                verified = str(transparency.verify([]))
                db.engine.dispose()
            results[size] = {
                "fill_seconds": round(fill, 1),
                "seal_seconds": [round(t, 3) for t in times],
                "median": round(statistics.median(times), 3),
                "verify": verified[:100],
            }
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["writers", "seal", "_writers_child"])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--tree", action="append", default=[])
    parser.add_argument("--writers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    if args.what == "_writers_child":
        tree = Path(args.tree[0]).resolve()
        print(json.dumps(run_writers(tree, args.database, args.writers, args.seconds)))
        return 0
    if args.what == "writers":
        for tree in args.tree or ["."]:
            tree = Path(tree).resolve()
            commit = subprocess.run(
                ["git", "-C", str(tree), "log", "-1", "--format=%h %s"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            child = subprocess.run(  # noqa: S603 (this script, another tree's code)
                [
                    sys.executable,
                    __file__,
                    "_writers_child",
                    "--database",
                    args.database,
                    "--tree",
                    str(tree),
                    "--writers",
                    str(args.writers),
                    "--seconds",
                    str(args.seconds),
                ],
                capture_output=True,
                text=True,
                cwd=tree,
                env={**os.environ, "PYTHONPATH": str(tree)},
            )
            line = (
                child.stdout.strip().splitlines()[-1]
                if child.stdout.strip()
                else child.stderr[-2000:]
            )
            print(f"{args.database} | {commit[:60]} | {args.writers} writers | {line}", flush=True)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    results = run_seal(args.database, sizes, args.new, args.rounds)
    for size, result in results.items():
        print(f"{args.database} | {size:,} existing leaves | seal {args.new:,} new: {result}")
    if len(sizes) == 2:
        ratio = results[sizes[1]]["median"] / results[sizes[0]]["median"]
        print(f"{args.database} | ratio {sizes[1]:,} vs {sizes[0]:,}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
