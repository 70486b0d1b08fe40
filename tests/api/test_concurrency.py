"""The guards hold when calls arrive at once, as from several gunicorn workers: the rate limit is
one counter in the database, and an Idempotency-Key is claimed by exactly one call."""

from __future__ import annotations

import threading
from datetime import date, datetime

from sqlalchemy import func, select

from tests.api.conftest import share_body
from tracker.extensions import db
from tracker.models import ApiToken, Share
from tracker.services import api_tokens

WORKERS = 16


def at_once(app, work) -> list:
    """Run `work()` in WORKERS threads released together, each a worker of its own (own app
    context, session and connection); their results."""
    db.session.commit()  # SQLite: the test's session must not hold the write lock meanwhile
    start = threading.Barrier(WORKERS)
    results: list = []
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                start.wait()
                results.append(work())
            except BaseException as error:  # noqa: BLE001 (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    return results


def test_the_rate_limit_is_one_counter_for_concurrent_workers(app, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0, 5))
    app.config["API_RATE_LIMIT"] = 10
    token_id = api_tokens.create(world.worker_a, "System", date(2027, 1, 1))[0].id

    def call():
        return api_tokens.count_request(db.session.get(ApiToken, token_id))

    results = at_once(app, call)
    assert results.count(None) == 10  # exactly the limit let through, however they interleave
    assert sorted(r for r in results if r is not None) == [55] * (WORKERS - 10)


def test_concurrent_retries_claim_one_key_once(app, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))
    token_id = api_tokens.create(world.worker_a, "System", date(2027, 1, 1))[0].id

    def call():
        claim = api_tokens.claim_key(
            db.session.get(ApiToken, token_id), "csc-race-1", "POST", "/api/v1/x", {"a": 1}
        )
        return claim.outcome

    outcomes = at_once(app, call)
    # One call goes ahead; every other is told it is still running: the share is recorded once.
    assert sorted(outcomes) == ["in_progress"] * (WORKERS - 1) + ["new"]


def test_concurrent_retries_through_the_api_record_one_share(app, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))
    _, secret = api_tokens.create(world.worker_a, "System", date(2027, 1, 1))
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "csc-race-2"}
    url, body = f"/api/v1/cases/{world.case.id}/shares", share_body(world)

    def call():
        return app.test_client().post(url, headers=headers, json=body).status_code

    statuses = at_once(app, call)
    # Each retry got the first answer, or was told the first call is still running: never twice.
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert db.session.scalar(select(func.count()).select_from(Share)) == 1
