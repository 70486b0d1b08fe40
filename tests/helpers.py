"""Assertions every page test uses."""

from __future__ import annotations

import os
import re
from datetime import UTC
from html import unescape


def page_text(response) -> str:
    html = response.get_data(as_text=True)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def error_summary(response) -> list[str]:
    """The messages in the GOV.UK error summary (empty if there is none)."""
    html = response.get_data(as_text=True)
    match = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    if not match:
        return []
    return [unescape(m.strip()) for m in re.findall(r"<a [^>]*>(.*?)</a>", match.group(0), re.S)]


def assert_form_error(response, message: str, status: int = 400) -> None:
    assert response.status_code == status, (response.status_code, error_summary(response))
    summary = error_summary(response)
    assert any(message in line for line in summary), summary


def emailed_link_token(person) -> str:
    """The token of the newest set-password link emailed to the person (their alert's link)."""
    from tracker.extensions import db
    from tracker.models import Alert, AlertKind

    link = db.session.scalar(
        db.select(Alert.link)
        .where(Alert.recipient_id == person.id, Alert.kind == AlertKind.ACCOUNT_LINK.value)
        .order_by(Alert.id.desc())
        .limit(1)
    )
    assert link and link.startswith("/set-password/"), link
    return link.removeprefix("/set-password/")


def approve_pending(person, by=None):
    """Decide the person's pending request as one of its approvers (the agency's lead when it
    has one), as a new worker or lead is before they can set a password."""
    from tracker.services import approvals, people

    approval = approvals.pending_approval(person)
    assert approval is not None, person
    people.decide(by or approvals.approvers(approval)[0], approval.id, approve=True)
    return person


def current_code(secret: str) -> str:
    """The authenticator code for the app's "now" (its clock is moved in tests, not the real one)."""
    import pyotp

    from tracker import clock

    return pyotp.TOTP(secret).at(int(clock.now().replace(tzinfo=UTC).timestamp()))


def seconds_ago(seconds: float) -> float:
    """A Unix time this many seconds before the real now, for a session's sign-in step or last
    request: the idle limit measures real time elapsed between requests, not the app's clock
    (which tests move by days). A duration, so the one place the tests read the wall clock."""
    import time

    return time.time() - seconds


def section(html: str, heading_id: str) -> str:
    """The HTML from the heading with this id up to the next h2 (one section of a page)."""
    after = html.split(f'id="{heading_id}"', 1)[1]
    return after.split("<h2", 1)[0]


def worker_ports(ports: range) -> list[int]:
    """The range, starting at a different place for each pytest-xdist worker ("gw3" -> 3), so
    parallel workers rarely probe the same port (a clash is still retried: see the callers)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = (int(worker) * 11) % len(ports) if worker.isdigit() else 0
    return [*ports[start:], *ports[:start]]


def postgresql_only() -> None:
    """Twin requests race only on PostgreSQL: SQLite runs each form post as one write
    transaction from its first read (tracker/database.py), so its twins take turns."""
    import pytest

    from tracker.extensions import db

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises each POST from its first read (BEGIN IMMEDIATE)")


def in_thread(app, target) -> tuple:
    """Start `target` on a thread of its own, as a request of its own is run (its own app
    context and session); the thread and the list its exception lands in, if it raises."""
    import threading

    from tracker.extensions import db

    errors: list[Exception] = []

    def run():
        with app.app_context():
            try:
                target()
            except Exception as error:  # noqa: BLE001 (reported by the test)
                errors.append(error)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors
