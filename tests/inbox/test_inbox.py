"""The in-app inbox: newest first, paginated, mark read (audited), the header count, the digest."""

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


def test_inbox_lists_newest_first_and_counts_unread_in_the_header(world, client):
    first, second, third = (_raise(world, n) for n in (1, 2, 3))
    alerts.mark_read(world.lead_b, third)
    sign_in_as(client, world.lead_b)
    page = client.get("/inbox/")
    assert page.status_code == 200
    text = page_text(page)
    assert (
        text.index("Alert number 3") < text.index("Alert number 2") < text.index("Alert number 1")
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


def test_each_alert_names_its_case_kind_and_sender_with_one_link(world, client, password_hash):
    from tests.challenges.support import name_leads
    from tracker.services import challenges

    name_leads(world, password_hash)
    _raise(world, 1, person=world.worker_b)  # from the sweep: no person
    challenges.raise_challenge(
        world.worker_a,
        world.case,
        about_agency_id=world.agency_b.id,
        kind="plan",
        what_happened="The plan leaves out school.",
        outcome_wanted="School joins the core group.",
        urgent=False,
    )
    sign_in_as(client, world.worker_b)  # B's practitioner leads at stage 1
    response = client.get("/inbox/")
    html = response.get_data(as_text=True)
    rows = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    rows = rows.split("</tr>")[:-1]
    challenge_row, sweep_row = (page_text_of(r) for r in rows)
    assert "Professional challenge raised" in challenge_row
    assert world.case.reference in challenge_row
    assert "Worker A, Agency A Social Care" in challenge_row
    assert "Unanswered concern" in sweep_row and "The tracker (automatic)" in sweep_row
    for row in rows:  # one control per row: the subject, nothing else to press
        assert row.count("<a ") + row.count("<button") == 1, row
    # The email never carries who sent it or the case: only the subject and the link.
    from tracker.models import Alert as AlertModel

    alert = db.session.scalars(select(AlertModel).order_by(AlertModel.id.desc())).first()
    assert alert.sender == "Worker A, Agency A Social Care"


def page_text_of(html: str) -> str:
    import re
    from html import unescape

    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_mark_all_as_read_is_one_audited_step_and_a_twin_does_nothing(world, client):
    mine = [_raise(world, n) for n in (1, 2, 3)]
    theirs = _raise(world, 4, person=world.lead_a)
    sign_in_as(client, world.lead_b)
    assert "Mark all as read" in page_text(client.get("/inbox/"))
    response = client.post("/inbox/read-all")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox/")
    for alert in [*mine, theirs]:
        db.session.refresh(alert)
    assert all(a.read_at is not None for a in mine) and theirs.read_at is None
    assert client.post("/inbox/read-all").status_code == 302  # again: nothing left to mark
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "alert.read_all")
    ).all()
    assert len(events) == 1 and str(sorted(a.id for a in mine)).replace(" ", "") in events[
        0
    ].changes.replace(" ", "")
    assert "Mark all as read" not in page_text(client.get("/inbox/"))
