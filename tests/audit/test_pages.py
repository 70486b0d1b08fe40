"""The auditor's pages: who may see them, what the search finds, and that looking is recorded."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, page_text
from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import cases


def results(response) -> str:
    """The text of the results table only (the action list in the form names every action)."""
    assert response.status_code == 200, response.status_code
    return page_text(response).partition("Before → after Why")[2]


def latest_event() -> AuditEvent:
    db.session.expire_all()
    return db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


@pytest.mark.parametrize("who", ["worker_a", "lead_a", "worker_c", "admin"])
@pytest.mark.parametrize(
    "path",
    [
        "/audit/",
        "/audit/cases/{case}",
        "/audit/cases/{case}/evidence",
        "/audit/cases/{case}/evidence.zip",
    ],
)
def test_only_auditors_see_audit_pages(client, world, who, path):
    sign_in_as(client, getattr(world, who))
    before = latest_event().id
    assert client.get(path.format(case=world.case.id)).status_code == 403
    assert latest_event().id == before  # a refused request produced no evidence


def test_signed_out_people_are_sent_to_sign_in(client, world):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_nav_shows_audit_trail_to_auditors_only(client, world):
    sign_in_as(client, world.auditor)
    assert 'href="/audit/"' in client.get("/cases/").get_data(as_text=True)
    sign_in_as(client, world.lead_a)
    assert 'href="/audit/"' not in client.get("/cases/").get_data(as_text=True)


def make_history(world, frozen):
    """Events on two cases by different people on different days."""
    frozen(datetime(2026, 6, 1, 9, 0))
    other = cases.create(
        world.worker_b,
        child_name="Second Child",
        date_of_birth=date(2019, 1, 1),
        lead_agency_id=world.agency_b.id,
        lead_professional_id=None,
        other_agency_ids=[],
    )
    frozen(datetime(2026, 6, 3, 22, 30))  # 23:30 in London (BST): still 3 June locally
    cases.set_status(world.worker_a, world.case, "closed", "Family moved away")
    frozen(datetime(2026, 6, 5, 10, 0))
    return other


def test_search_by_case_person_agency_action_and_dates(client, world, frozen):
    other = make_history(world, frozen)
    sign_in_as(client, world.auditor)

    text = results(client.get("/audit/", query_string={"reference": other.reference.lower()}))
    assert "case.create" in text and "case.status_change" not in text
    assert "Second Child" in text  # the before -> after values of the creation

    response = client.get("/audit/", query_string={"person_id": world.worker_a.id})
    text = results(response)
    assert "case.status_change" in text and "Second Child" not in text
    assert "Status: open → closed" in text and "Family moved away" in text
    assert "Agency A Social Care" in text and "Agency worker" in text

    text = results(client.get("/audit/", query_string={"agency_id": world.agency_b.id}))
    assert "Second Child" in text and "case.status_change" not in text

    text = results(client.get("/audit/", query_string={"action": "case.status_change"}))
    assert "case.status_change" in text and "case.create" not in text

    day = ["3", "6", "2026"]
    text = results(client.get("/audit/", query_string={"from_date": day, "to_date": day}))
    assert "case.status_change" in text and "3 Jun 2026 23:30" in text  # local time
    assert "case.create" not in text


def test_search_is_itself_audited(client, world, frozen):
    make_history(world, frozen)
    sign_in_as(client, world.auditor)
    client.get(
        "/audit/", query_string={"action": "case.status_change", "agency_id": world.agency_a.id}
    )
    event = latest_event()
    assert event.action == "audit.search" and event.person_id == world.auditor.id
    changes = event.changes
    assert '"action":[null,"case.status_change"]' in changes
    assert f'"agency_id":[null,{world.agency_a.id}]' in changes


def test_case_history_shows_every_event_and_is_audited(client, world, frozen):
    make_history(world, frozen)
    sign_in_as(client, world.auditor)
    response = client.get(f"/audit/cases/{world.case.id}")
    assert response.status_code == 200
    text = page_text(response)
    assert "case.create" in text and "case.status_change" in text and "Second Child" not in text
    event = latest_event()
    assert (event.action, event.case_id) == ("audit.case_history", world.case.id)
    assert client.get(f"/audit/cases/{world.case.id + 99}").status_code == 404


def test_the_trail_is_paginated(client, world, app):
    app.config["PAGE_SIZE"] = 5
    for _ in range(12):
        cases.record_view(world.case)
    sign_in_as(client, world.auditor)
    first = page_text(client.get(f"/audit/cases/{world.case.id}"))
    assert "Showing 1 to 5 of 13 events" in first
    third = page_text(client.get(f"/audit/cases/{world.case.id}", query_string={"page": 3}))
    assert "Showing 11 to 14 of 14 events" in third  # the first look is now history too


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"reference": "SSCP-1999-99999"}, "No case with this reference"),
        ({"from_date": ["31", "2", "2026"]}, "Enter a real date"),
        (
            {"from_date": ["2", "6", "2026"], "to_date": ["1", "6", "2026"]},
            "must be the same as or after",
        ),
        ({"person_id": "nobody"}, "Select a person from the list"),
        ({"agency_id": "999999"}, "Select an agency from the list"),
        ({"action": "made.up"}, "Select an action from the list"),
    ],
)
def test_bad_search_gets_the_error_summary(client, world, query, message):
    sign_in_as(client, world.auditor)
    assert_form_error(client.get("/audit/", query_string=query), message)


def test_an_auditor_reaches_history_and_evidence_from_the_case_page(client, world):
    case_url = f"/cases/{world.case.id}"
    sign_in_as(client, world.auditor)
    html = client.get(case_url).get_data(as_text=True)
    for target in (f"/audit/cases/{world.case.id}", f"/audit/cases/{world.case.id}/evidence"):
        assert f'href="{target}"' in html
        assert client.get(target).status_code == 200
    sign_in_as(client, world.worker_a)  # a worker's case page has no audit links
    assert "/audit/cases/" not in client.get(case_url).get_data(as_text=True)


def test_the_evidence_page_reads_as_words_with_one_date_format_and_a_cover(client, world, frozen):
    import re
    from datetime import datetime

    from tests.services.test_evidence import build_case_history

    build_case_history(world, frozen)
    frozen(datetime(2026, 6, 10, 12, 0))
    sign_in_as(client, world.auditor)
    response = client.get(f"/audit/cases/{world.case.id}/evidence")
    text = page_text(response)
    main = text.split("Evidence pack for a case review", 1)[1]
    for code in ("art6_1e_public_task", "secure_email", "not_sought", "awaiting_response"):
        assert code not in main, code
    # One date format: no ISO dates and no seconds anywhere on the page.
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", main)
    assert not re.search(r"\b\d{2}:\d{2}:\d{2}\b", main)
    # The cover: the case, the period, the counts, the point of the chain it verifies against.
    cover = main.split("Download as a zip", 1)[0]
    assert world.case.reference in cover and "Period covered" in cover
    assert "Shares (versions):" in cover and "Audit events on the case:" in cover
    assert "Verifies against" in cover and "hash" in cover


def test_trail_rows_are_short_and_the_event_page_has_everything(client, world, frozen):
    from datetime import datetime

    from tracker.models import AuditEvent
    from tracker.services import audit

    frozen(datetime(2026, 6, 3, 10, 0))
    agent = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    )
    sign_in_as(client, world.auditor)
    client.get(f"/audit/cases/{world.case.id}/evidence", headers={"User-Agent": agent})
    produced = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "evidence.produce")
    ).one()
    assert produced.user_agent == agent
    row = audit.trail_rows([produced])[0]
    assert row.browser == "Chrome on Windows"
    text = results(client.get("/audit/?action=evidence.produce"))
    assert "Chrome on Windows" in text and "AppleWebKit" not in text
    assert "{'" not in text and '{"' not in text  # words, not a Python dict
    assert "Files: " in text  # the manifest in words (its first files, shortened)
    page = page_text(client.get(f"/audit/events/{produced.id}"))
    assert agent in page and produced.leaf_hash in page
    assert "Chrome on Windows" in page
