"""The whole cycle of a concern in the browser: shared, awaited, overdue, answered, amended."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import sign_in_as
from tests.helpers import page_text, section
from tracker.extensions import db
from tracker.models import AuditEvent, Concern, ConcernState, Share


def share_data(world, **overrides) -> dict:
    data = {
        "from_person_name": "Worker A",
        "recipient_agency_ids": [str(world.agency_b.id)],
        f"people_{world.agency_b.id}": "DC Morgan",
        "shared_on": ["24", "12", "2026"],
        "shared_time": "10:00",
        "method": "phone",
        "summary": "Mother disclosed the father has returned to the home",
        "purpose": "So police can check the father's bail conditions",
        "lawful_basis": "art6_1e_public_task",
        "consent": "not_sought",
        "consent_reason": "Asking would put the child at risk",
        "themes": ["information_sharing", "significance_of_history"],
        "needs_response": "yes",
        "priority": "standard",
    }
    data.update(overrides)
    return data


def tags_in(html: str) -> tuple[bool, bool]:
    return "govuk-tag--red" in html, "govuk-tag--yellow" in html


def audit_actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_whole_cycle(client, world, frozen):
    # Thursday 24 December 2026, 10:30 (GMT): worker of A shares with B asking for a response.
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    response = client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world))
    assert response.status_code == 302, page_text(response)
    share = db.session.scalar(db.select(Share))
    recipient = share.recipients[0]
    # 25 and 28 December are bank holidays: + 3 working days is Thursday 31 December, 17:00.
    assert recipient.due_at == datetime(2026, 12, 31, 17, 0)
    assert recipient.state == ConcernState.AWAITING
    assert recipient.people_names == "DC Morgan"
    assert "share.record_sent" in audit_actions()

    page = client.get(response.headers["Location"])
    text = page_text(page)
    assert "31 Dec 2026 17:00" in text and "Awaiting response" in text and "DC Morgan" in text

    # A's home: waiting on others; B's list of what it owes. Not yet due soon: not on B's home.
    home_a = client.get("/").get_data(as_text=True)
    assert world.case.reference in section(home_a, "waiting-on-others")
    sign_in_as(client, world.worker_b)
    our_list = client.get("/concerns/ours").get_data(as_text=True)
    assert world.case.reference in our_list
    assert tags_in(our_list) == (False, False)
    home_b = client.get("/").get_data(as_text=True)
    assert world.case.reference not in section(home_b, "overdue") + section(home_b, "due-soon")

    # The morning of the due day: due within a working day, yellow, first on B's home.
    frozen(datetime(2026, 12, 31, 9, 0))
    home_b = client.get("/").get_data(as_text=True)
    assert world.case.reference in section(home_b, "due-soon")
    assert tags_in(section(home_b, "due-soon")) == (False, True)
    assert "1 due soon" in page_text(client.get("/"))

    # B acknowledges: still open.
    response = client.post(
        f"/shares/{share.id}/concerns/{recipient.id}/acknowledge", data={"acknowledge": "1"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert recipient.state == ConcernState.ACKNOWLEDGED

    # Monday 4 January 2027 (1 January a bank holiday): overdue, one working day.
    frozen(datetime(2027, 1, 4, 10, 0))
    our_list = section(client.get("/").get_data(as_text=True), "overdue")
    assert world.case.reference in our_list and tags_in(our_list) == (True, False)
    assert "1 overdue for us to answer" in page_text(client.get("/"))
    sign_in_as(client, world.worker_a)
    their_list = section(client.get("/").get_data(as_text=True), "waiting-on-others")
    assert world.case.reference in their_list and tags_in(their_list)[0]
    case_page = page_text(client.get(f"/cases/{world.case.id}"))
    assert "1 unanswered concern on this case" in case_page
    for person in (world.lead_a, world.auditor):
        sign_in_as(client, person)
        listed = client.get("/concerns/unanswered")
        assert listed.status_code == 200
        rows = page_text(listed)
        assert world.case.reference in rows and "Agency B Police" in rows
    assert "concern.list" in audit_actions()

    # B responds: the flag clears everywhere.
    sign_in_as(client, world.worker_b)
    response = client.post(
        f"/shares/{share.id}/concerns/{recipient.id}/respond",
        data={"action_taken": "Bail conditions checked; officers visited", "next_steps": "PNC"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert recipient.state == ConcernState.RESPONDED
    assert world.case.reference not in client.get("/concerns/ours").get_data(as_text=True)
    sign_in_as(client, world.lead_a)
    assert world.case.reference not in page_text(client.get("/concerns/unanswered"))
    assert "unanswered concern" not in page_text(client.get(f"/cases/{world.case.id}"))

    # A amends the share: the record says amended, and the original stays in its history.
    sign_in_as(client, world.worker_a)
    response = client.post(
        f"/shares/{share.id}/amend",
        data={
            **share_data(world),
            "summary": "Mother disclosed the father has returned to the home twice this week",
            "reason": "Mother called back with more detail",
        },
    )
    assert response.status_code == 302
    page = page_text(client.get(f"/shares/{share.id}"))
    assert "Amended" in page and "Version history" in page
    assert "twice this week" in page and "Mother called back with more detail" in page
    assert "What was shared Mother disclosed the father has returned to the home Why" in page
    assert "share.amend" in audit_actions() and "share.view" in audit_actions()
    # The concern was answered: amending the shared date must not reopen it.
    db.session.expire_all()
    assert recipient.state == ConcernState.RESPONDED


def test_response_amendment_keeps_the_first(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world))
    recipient = db.session.scalar(db.select(Concern))
    url = f"/shares/{recipient.share_id}/concerns/{recipient.id}/respond"
    sign_in_as(client, world.worker_b)
    assert client.post(url, data={"action_taken": "Visited"}).status_code == 302
    # Amending without a reason is refused; with one, both versions show.
    response = client.post(url, data={"action_taken": "Visited twice"})
    assert response.status_code == 400
    assert client.post(url, data={"action_taken": "Visited twice", "reason": "Typo"}).status_code
    page = page_text(client.get(f"/shares/{recipient.share_id}"))
    assert "Visited" in page and "Visited twice" in page and "Typo" in page
    db.session.expire_all()
    assert [r.action_taken for r in recipient.responses] == ["Visited", "Visited twice"]
