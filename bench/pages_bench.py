"""Pages against the layout: a bare signed-in route (login and session only), /healthz, the
layout-only page (a signed-in 404), the home page and a case page, on the demo partnership, for
this tree and another (the commit before) in one run, each tree on a database it built itself.

    .venv/bin/python bench/pages_bench.py --database sqlite \\
        --tree base=/tmp/base17b --tree new=.
    .venv/bin/python bench/pages_bench.py --database postgresql \\
        --tree base=/tmp/base17b --tree new=.
    .venv/bin/python bench/pages_bench.py --database sqlite --tree new=. --profile /cases/1

Each request goes through the test client signed in as a demo worker, CSRF on, one app context
per request as in production. A page's time is the median of --repeat requests; the rounds are
interleaved between the trees so load on the machine falls on both alike. Ratios are to the
layout-only page (home, case) and to the bare signed-in route (layout-only page).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from search_bench import _median_ms  # noqa: E402  (bench/ is this script's folder)

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PAGES = ("bare", "healthz", "layout", "home", "case")


def _database_url(database: str, label: str) -> str:
    if database == "sqlite":
        path = Path(f"/tmp/pages_bench_{label}.sqlite3")
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()
        return f"sqlite:///{path}"
    from sqlalchemy import create_engine, text

    name = f"pages_bench_{label}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_SERVER}/{name}"


def _app(url: str):
    """The tree's app on a migrated demo database, with a bare signed-in route beside it."""
    from flask_login import login_required
    from flask_migrate import upgrade

    from tracker import create_app
    from tracker.extensions import db

    try:
        from tracker.fixtures import demo
    except ImportError:  # before issue 18 (the base of the issue 17 comparison)
        from tracker import demo

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench" * 8})
    app.add_url_rule("/bench-bare", "bench_bare", login_required(lambda: "ok"))
    with app.app_context():
        upgrade()
        if not demo.is_loaded():
            demo.load()
        db.session.remove()
    return app


def _urls(app) -> tuple[object, dict[str, str]]:
    from sqlalchemy import select

    from tracker import access
    from tracker.extensions import db
    from tracker.models import Person, Role
    from tracker.services import cases

    with app.app_context():
        worker = db.session.scalar(
            select(Person).where(Person.role == Role.WORKER.value).order_by(Person.id)
        )
        case = db.session.scalars(cases.recent_for(worker)).first()
        assert access.can_read_case(worker, case)
        user_id = worker.get_id()
        urls = {
            "bare": "/bench-bare",
            "healthz": "/healthz",
            "layout": "/no-such-page",
            "home": "/",
            "case": f"/cases/{case.id}",
        }
        db.session.remove()
    return user_id, urls


def _get(app, user_id: str):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True

    def get(url: str):
        with client.session_transaction() as session:
            session["last_seen"] = time.time()  # never idle-signed-out mid-benchmark
        response = client.get(url)
        if response.status_code not in (200, 404):
            raise SystemExit(f"{url}: {response.status_code}")
        return response

    return get


def measure(url: str, repeat: int) -> dict[str, float]:
    app = _app(url)
    user_id, urls = _urls(app)
    get = _get(app, user_id)
    results = {}
    for page, path in urls.items():
        get(path)  # warm: templates compiled, caches filled
        results[page] = _median_ms(lambda path=path: get(path), repeat)
    return results


def profile(url: str, path: str, repeat: int) -> None:
    import cProfile
    import pstats

    app = _app(url)
    user_id, urls = _urls(app)
    get = _get(app, user_id)
    path = urls.get(path, path)
    get(path)
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [get(path) for _ in range(repeat)])
    pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), required=True)
    parser.add_argument("--tree", action="append", required=True, help="LABEL=PATH")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--profile", help="cProfile this page (a name or a path), first tree")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # a child: this URL, print JSON
    args = parser.parse_args()
    if args.measure:
        if args.profile:
            profile(args.measure, args.profile, args.repeat)
        else:
            print(json.dumps(measure(args.measure, args.repeat)))
        return

    trees = [spec.split("=", 1) for spec in args.tree]
    urls = {label: _database_url(args.database, label) for label, _ in trees}

    def child(label: str, tree: str, extra: list[str]) -> str:
        tree_path = Path(tree).resolve()
        return subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--database", args.database]
            + ["--tree", "x=x", "--repeat", str(args.repeat), "--measure", urls[label], *extra],
            cwd=tree_path,
            env={**os.environ, "PYTHONPATH": str(tree_path)},
            capture_output=not args.profile,
            text=True,
            check=True,
        ).stdout

    if args.profile:
        child(*trees[0], ["--profile", args.profile])
        return
    print(f"{args.database}; load average at start: {os.getloadavg()}")
    rounds: dict[str, list[dict]] = {}
    for number in range(args.rounds):
        for label, tree in trees:
            rounds.setdefault(label, []).append(json.loads(child(label, tree, []).splitlines()[-1]))
        print(f"round {number + 1} done, load average {os.getloadavg()}", flush=True)

    print("\n| tree | " + " | ".join(f"{p} ms" for p in PAGES) + " | layout / bare | home / layout"
          " | case / layout |")  # fmt: skip
    print("| --- |" + " ---: |" * (len(PAGES) + 3))
    for label, results in rounds.items():
        ms = {p: statistics.median(r[p] for r in results) for p in PAGES}
        ratios = (ms["layout"] / ms["bare"], ms["home"] / ms["layout"], ms["case"] / ms["layout"])
        print(
            f"| {label} | "
            + " | ".join(f"{ms[p]:.2f}" for p in PAGES)
            + " | "
            + " | ".join(f"{r:.2f}" for r in ratios)
            + " |"
        )
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
