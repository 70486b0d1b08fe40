"""The home-page lists and the partnership list: paginated, filtered, counted in working days."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from sqlalchemy import event, select

from tests.conftest import add_person, sign_in_as
from tests.helpers import error_summary, page_text
from tracker.extensions import db
from tracker.models import AuditContent, AuditEvent, Role
from tracker.services import cases, sharing


def concern(
    world, shared_at: datetime, *, priority="standard", case=None, to=None, summary="Concern"
):
    return sharing.record_share(
        world.worker_a,
        case or world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(to or world.agency_b.id)],
        details=sharing.ShareDetails(
            shared_at=shared_at,
            method="phone",
            summary=summary,
            purpose="Safety",
            lawful_basis="art6_1e_public_task",
            consent="given",
        ),
        needs_response=True,
        priority=priority,
    )


def showing(html: str) -> list[str]:
    return re.findall(r"Showing (\d+ to \d+ of \d+)", re.sub(r"\s+", " ", html))


def test_home_shows_the_first_few_and_each_full_list_is_paginated(client, app, world, frozen):
    frozen(datetime(2026, 11, 16, 10, 0))
    for _ in range(7):
        concern(world, datetime(2026, 11, 16, 9, 0))
    app.config["PAGE_SIZE"] = 5
    sign_in_as(client, world.worker_a)
    home = page_text(client.get("/"))
    assert "7 waiting on others" in home and "See all 7 waiting on others" in home
    sign_in_as(client, world.worker_b)
    assert showing(client.get("/concerns/ours").get_data(as_text=True)) == ["1 to 5 of 7"]
    page_two = client.get("/concerns/ours?page=2").get_data(as_text=True)
    assert showing(page_two) == ["6 to 7 of 7"]
    sign_in_as(client, world.worker_a)
    html = client.get("/concerns/theirs?page=2").get_data(as_text=True)
    assert showing(html) == ["6 to 7 of 7"]
    assert showing(client.get("/concerns/ours").get_data(as_text=True)) == []  # A owes nothing


def test_home_reads_each_list_with_its_total_at_once_and_writes_its_views_in_one_go(
    client, world, frozen
):
    """Each list is one statement with its total (no COUNT of its own), and the page's view
    events go in one INSERT after every read, so on SQLite the write lock is not held while the
    page reads; the events still say which rows each list showed."""
    frozen(datetime(2026, 11, 16, 10, 0))
    overdue = [concern(world, datetime(2026, 11, 2, 9, 0)) for _ in range(6)]
    due_soon = concern(world, datetime(2026, 11, 13, 9, 0), priority="urgent")
    sign_in_as(client, world.worker_b)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(" ".join(statement.split()).upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        home = page_text(client.get("/"))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert "6 overdue for us to answer" in home and "See all 6 overdue for us to answer" in home
    assert "1 due soon" in home
    counts = [s for s in statements if s.startswith("SELECT COUNT(")]
    assert len(counts) == 1 and "FROM ALERT" in counts[0]  # the layout's unread alerts only
    writes = [i for i, s in enumerate(statements) if s.startswith("INSERT INTO AUDIT_EVENT")]
    assert len(writes) == 1
    assert not any("FROM CONCERN" in s or "FROM CHILD_CASE" in s for s in statements[writes[0] :])
    db.session.rollback()
    rows = db.session.execute(
        select(AuditEvent.action, AuditContent.content)
        .join(AuditContent, AuditContent.event_id == AuditEvent.id)
        .where(AuditEvent.person_id == world.worker_b.id)
        .order_by(AuditEvent.id)
    ).all()
    shown = {a: json.loads(c)["changes"]["shown"][1] for a, c in rows if a.endswith(".list")}
    assert shown["case.list"] == [world.case.id]
    expected = [s.recipients[0].id for s in overdue[:5]] + [due_soon.recipients[0].id]
    assert shown["concern.list"] == expected


def test_partnership_list_filters(client, app, world, frozen, password_hash):
    frozen(datetime(2026, 11, 2, 9, 0))
    # Every agency's rows: a partnership-wide reader (the partnership's own lead).
    partnership_lead = add_person("Partnership Lead", world.partnership, Role.LEAD, password_hash)
    db.session.commit()
    other = cases.create(
        world.worker_a,
        child_name="Second Child",
        date_of_birth=date(2017, 3, 3),
        lead_agency_id=world.agency_a.id,
        lead_professional_id=None,
        other_agency_ids=[world.agency_c.id],
    )
    # Due Thu 5 Nov 17:00 (standard, 3 days) and Tue 3 Nov 17:00 (urgent, 1 day).
    concern(world, datetime(2026, 11, 2, 8, 0))
    concern(world, datetime(2026, 11, 2, 8, 0), priority="urgent")
    concern(world, datetime(2026, 11, 2, 8, 0), case=other, to=world.agency_c.id)
    concern(world, datetime(2026, 11, 2, 8, 0))
    answered = concern(world, datetime(2026, 11, 2, 8, 0))
    sharing.respond(world.worker_b, answered.recipients[0], action_taken="Done")

    # Monday 9 November: standard ones 2 working days overdue, the urgent one 4.
    frozen(datetime(2026, 11, 9, 10, 0))
    sign_in_as(client, partnership_lead)

    def listed(query: str = "") -> str:
        response = client.get(f"/concerns/unanswered{query}")
        assert response.status_code == 200
        return page_text(response)

    assert "Showing 1 to 4 of 4" in listed()
    assert "Showing 1 to 4 of 4" in listed("?min_days=1")
    assert "Showing 1 to 1 of 1" in listed("?min_days=3")
    assert "No unanswered concerns match" in listed("?min_days=5")
    assert "Showing 1 to 1 of 1" in listed("?priority=urgent")
    assert "Showing 1 to 1 of 1" in listed(f"?agency={world.agency_c.id}")
    assert "Showing 1 to 4 of 4" in listed(f"?agency={world.agency_a.id}")  # as the sender
    assert other.reference in listed(f"?agency={world.agency_c.id}")
    assert other.child_name not in listed()  # leads see references, not children's names
    # Nonsense filters are named in the error summary and left out, never a 500.
    nonsense = client.get("/concerns/unanswered?agency=x&min_days=y&priority=z")
    assert nonsense.status_code == 400 and "Showing 1 to 4 of 4" in page_text(nonsense)
    assert error_summary(nonsense) == [
        "Select an agency from the list",
        "Select how many working days overdue from the list",
        "Select a priority from the list",
    ]
    # A lead of another agency sees only the cases their agency is involved in.
    sign_in_as(client, world.lead_b)
    assert "Showing 1 to 3 of 3" in listed()
    assert other.reference not in listed() and "No unanswered" in listed(
        f"?agency={world.agency_c.id}"
    )
    sign_in_as(client, partnership_lead)
    app.config["PAGE_SIZE"] = 3
    assert "Showing 4 to 4 of 4" in listed("?page=2")
    # Working days overdue, as shown: 2 for standard, 4 for urgent.
    rows = listed("?priority=urgent")
    assert re.search(r"Urgent .*Overdue 4\b", rows)


def test_days_overdue_filter_matches_the_count(app, world, frozen):
    """The SQL cut-off and the per-concern count agree, across a bank holiday and a weekend."""
    frozen(datetime(2026, 12, 24, 10, 0))
    shares = [concern(world, datetime(2026, 12, 24, 9, 0), priority=p) for p in ("standard",) * 2]
    shares.append(concern(world, datetime(2026, 12, 24, 9, 0), priority="urgent"))
    for now in (datetime(2026, 12, 31, 18, 0), datetime(2027, 1, 4, 9, 0), datetime(2027, 1, 8)):
        for days in range(0, 7):
            listed = set(
                db.session.scalars(sharing.unanswered_concerns(now, min_days_overdue=days))
            )
            expected = {
                r
                for s in shares
                for r in s.recipients
                if sharing.is_unanswered(r, now) and sharing.days_overdue(r, now) >= days
            }
            assert listed == expected, (now, days)
