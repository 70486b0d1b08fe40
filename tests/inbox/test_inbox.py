"""The in-app inbox: unread first, paginated, mark read (audited), the header count, the digest."""

from __future__ import annotations

from sqlalchemy import event, func, select

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker.extensions import db
from tracker.models import Alert, AuditEvent
from tracker.services import alerts


def _raise(world, n: int, person=None) -> Alert:
    [alert] = alerts.raise_alert(
        event=f"inbox-test:{n}",
        recipients=[person or world.lead_b],
        kind="concern_overdue",
        subject=f"Alert number {n}",
        link=f"/cases/{world.case.id}",
        case_id=world.case.id,
    )
    db.session.commit()
    return alert


def test_inbox_lists_unread_first_and_counts_them_in_the_header(world, client):
    first, second, third = (_raise(world, n) for n in (1, 2, 3))
    alerts.mark_read(world.lead_b, third)
    sign_in_as(client, world.lead_b)
    page = client.get("/inbox/")
    assert page.status_code == 200
    text = page_text(page)
    assert (
        text.index("Alert number 2") < text.index("Alert number 1") < text.index("Alert number 3")
    )
    assert "Inbox (2 unread)" in text
    sign_in_as(client, world.lead_a)
    assert "You have no alerts" in page_text(client.get("/inbox/"))
    assert "Inbox (" not in page_text(client.get("/"))


def test_mark_read_is_audited_once_and_open_goes_to_the_link(world, client):
    alert = _raise(world, 1)
    sign_in_as(client, world.lead_b)
    response = client.post(f"/inbox/{alert.id}/read", data={"open": "Open"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cases/{world.case.id}"
    again = client.post(f"/inbox/{alert.id}/read", data={"read": "Mark as read"})
    assert again.status_code == 302 and again.headers["Location"].endswith("/inbox/")
    db.session.refresh(alert)
    assert alert.read_at is not None
    reads = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "alert.read")
    )
    assert reads == 1
    assert "Inbox (" not in page_text(client.get("/inbox/"))


def test_someone_elses_alert_is_not_found(world, client):
    alert = _raise(world, 1, person=world.lead_b)
    sign_in_as(client, world.worker_a)
    assert client.post(f"/inbox/{alert.id}/read", data={"read": "1"}).status_code == 404
    assert client.post("/inbox/999999/read", data={"read": "1"}).status_code == 404
    db.session.refresh(alert)
    assert alert.read_at is None


def test_inbox_is_paginated(app, world, client):
    for n in range(app.config["PAGE_SIZE"] + 3):
        _raise(world, n)
    sign_in_as(client, world.lead_b)
    first = page_text(client.get("/inbox/"))
    assert f"Showing 1 to {app.config['PAGE_SIZE']} of {app.config['PAGE_SIZE'] + 3}" in first
    second = page_text(client.get("/inbox/?page=2"))
    assert "Alert number 0" in second


def test_signed_out_pages_make_no_inbox_query(app, world, client):
    _raise(world, 1)
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get("/sign-in")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert not [s for s in statements if "alert" in s.lower()]
    assert client.get("/inbox/").status_code == 302  # sign in first


def test_digest_page_lists_the_flagged_cases_of_my_agency(world, client):
    sign_in_as(client, world.lead_a)
    page = client.get("/inbox/digest")
    assert page.status_code == 200
    text = page_text(page)
    assert "Child One" in text and "lived experience" in text
    sign_in_as(client, world.lead_b)  # agency B does not lead the case
    assert "Child One" not in page_text(client.get("/inbox/digest"))
    sign_in_as(client, world.admin)
    assert client.get("/inbox/digest").status_code == 403
