"""Case search at 100k cases: the case list's query (services.cases.search, first page and count as
the view runs them) against the same SQL run raw on the driver's cursor (the floor), for this
tree and another (the commit before), each on a database its own migrations built, in one run.

Build the databases (the base tree's migrations and generator, then a copy upgraded by this tree;
see bench/RESULTS.md for the exact commands), then:

    .venv/bin/python bench/search_bench.py \\
        --run base=/tmp/base17b=sqlite:////tmp/bench17b/base.sqlite3 \\
        --run new=.=sqlite:////tmp/bench17b/new.sqlite3 \\
        --run base=/tmp/base17b=postgresql+psycopg://postgres@127.0.0.1:5432/bench17b_base \\
        --run new=.=postgresql+psycopg://postgres@127.0.0.1:5432/bench17b_new

Each tree is measured in its own process (its own code on sys.path), rounds interleaved so load
on the machine falls on both alike. A query's time is the median of --repeat runs, each in a
fresh session (as a request has).
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


def _median_ms(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(url: str, repeat: int) -> dict:
    """In the tree's own process: each search as the view runs it, and its SQL raw."""
    from sqlalchemy import event, select

    from tracker import create_app, inputs
    from tracker.extensions import db
    from tracker.models import Case, Person, Role
    from tracker.services import cases

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    results = {}
    with app.app_context():
        auditor = db.session.scalar(select(Person).where(Person.role == Role.AUDITOR.value))
        worker = db.session.scalar(
            select(Person).where(Person.role == Role.WORKER.value).order_by(Person.id)
        )
        sample = db.session.get(Case, 4242)
        terms = {
            "full name": sample.child_name,
            "surname": sample.child_name.split()[-1],
            "reference": db.session.get(Case, 77777).reference,
            "2 characters": sample.child_name[1:3],
        }
        searches = [(f"{what}, auditor", auditor.id, term) for what, term in terms.items()]
        searches.append(("full name, worker", worker.id, terms["full name"]))
        db.session.remove()

        for label, person_id, term in searches:
            statements: list[tuple[str, object]] = []

            person = db.session.get(Person, person_id)  # a request has it from the sign-in
            db.session.expunge(person)

            def page(person=person, term=term):
                with app.test_request_context("/cases/"):  # the view's own paginate
                    result = inputs.paginate(cases.search(cases.recent_for(person), term))
                names = [c.child_name for c in result.items]
                db.session.remove()
                return names, result.total

            def capture(conn, cursor, statement, parameters, context, many, statements=statements):
                statements.append((statement, parameters))

            page()  # warm: plans, caches
            event.listen(db.engine, "before_cursor_execute", capture)
            shown, total = page()
            event.remove(db.engine, "before_cursor_execute", capture)
            searched = [(s, p) for s, p in statements if "child_case" in s]
            raw = db.engine.raw_connection()

            def floor(raw=raw, searched=searched):
                cursor = raw.cursor()
                for statement, parameters in searched:
                    cursor.execute(statement, parameters)
                    cursor.fetchall()
                cursor.close()
                raw.rollback()

            floor()
            page_ms = _median_ms(page, repeat)
            floor_ms = _median_ms(floor, repeat)
            raw.close()
            results[label] = {
                "term": term,
                "page_ms": page_ms,
                "floor_ms": floor_ms,
                "shown": len(shown),
                "total": total,
                "statements": len(searched),
            }
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", required=True, help="LABEL=TREE=DATABASE_URL")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # a child: this URL, print JSON
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat)))
        return

    runs = [tuple(spec.split("=", 2)) for spec in args.run]
    rounds: dict[tuple[str, str], list[dict]] = {}
    print(f"load average at start: {os.getloadavg()}")
    for number in range(args.rounds):
        for label, tree, url in runs:
            tree_path = Path(tree).resolve()
            output = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--run", "x=x=x"]
                + ["--repeat", str(args.repeat), "--measure", url],
                cwd=tree_path,
                env={**os.environ, "PYTHONPATH": str(tree_path)},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rounds.setdefault((label, url), []).append(json.loads(output.splitlines()[-1]))
        print(f"round {number + 1} done, load average {os.getloadavg()}", flush=True)

    print("\n| database | search | tree | rows shown / total | page ms | floor ms | page / floor |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for (label, url), results in rounds.items():
        database = url.split(":", 1)[0].split("+")[0]
        for search in results[0]:
            page = statistics.median(r[search]["page_ms"] for r in results)
            floor = statistics.median(r[search]["floor_ms"] for r in results)
            first = results[0][search]
            print(
                f"| {database} | {search} ({first['term']!r}) | {label} | "
                f"{first['shown']} / {first['total']} | {page:.2f} | {floor:.2f} | "
                f"{page / floor:.2f} |"
            )
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
