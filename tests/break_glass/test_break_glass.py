"""Break-glass (issue 16, part 4) and who looked at a case (part 5).

Worker C's agency is not involved in world.case (agencies A and B are; A leads it)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import add_person, sign_in_as
from tests.helpers import assert_form_error, error_summary, page_text
from tracker.extensions import db
from tracker.models import (
    Alert,
    AlertKind,
    AuditEvent,
    BreakGlassGrant,
    GrantReview,
    Role,
)
from tracker.services import api_tokens, break_glass

MORNING = datetime(2026, 11, 24, 10, 0)  # UTC, a Tuesday
REASON = "Police called: the child is at our school and says she cannot go home"


@pytest.fixture
def now(frozen):
    return frozen(MORNING)


def ask(client, person, case_text, reason=REASON):
    sign_in_as(client, person)
    return client.post("/emergency-access/", data={"case": case_text, "reason": reason})


def alerts_of(kind: AlertKind) -> list[tuple[int, str]]:
    return sorted(
        db.session.execute(
            select(Alert.recipient_id, Alert.event).where(Alert.kind == kind.value)
        ).all()
    )


def test_break_glass_reads_never_changes_and_expires_back_to_404(client, world, now, frozen):
    case_url = f"/cases/{world.case.id}"
    sign_in_as(client, world.worker_c)
    assert client.get(case_url).status_code == 404

    response = ask(client, world.worker_c, world.case.reference.lower())
    assert response.status_code == 302 and response.headers["Location"].endswith(case_url)
    page = client.get(case_url)
    assert page.status_code == 200
    text = page_text(page)
    assert "Child One" in text and "emergency (break-glass) access until" in text
    assert "Close or reopen" not in text and "Record a share" not in text
    assert client.get(f"{case_url}/chronology").status_code == 200

    # Never a change: every form and POST on the case is refused, and the API's too.
    for path in ("status", "agencies/add", "siblings", "shares/new", "notes/new", "threshold"):
        assert client.get(f"{case_url}/{path}").status_code == 403, path
        assert client.post(f"{case_url}/{path}", data={}).status_code == 403, path
    token = api_tokens.create(world.worker_c, "C system", MORNING.date() + timedelta(days=30))[1]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1{case_url}", headers=bearer).status_code == 200
    assert client.post(f"/api/v1{case_url}/shares", headers=bearer, json={}).status_code == 403

    # Every read under it is marked in the audit trail (in the action, which the leaf covers).
    marked = db.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.person_id == world.worker_c.id, AuditEvent.case_id == world.case.id
        )
    ).all()
    assert {"case.view.break_glass", "chronology.view.break_glass"} <= set(marked)
    assert not {"case.view", "chronology.view"} & set(marked)
    grant = db.session.scalar(select(BreakGlassGrant))
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "case.view.break_glass")
    )
    assert f'"break_glass_grant_id":[null,{grant.id}]' in event.changes
    sign_in_as(client, world.auditor)
    assert "Emergency access" in page_text(client.get(f"/audit/?reference={world.case.reference}"))

    # One minute before expiry it still reads; at expiry the case is not found again.
    sign_in_as(client, world.worker_c)
    frozen(MORNING + timedelta(hours=3) - timedelta(minutes=1))
    assert client.get(case_url).status_code == 200
    frozen(MORNING + timedelta(hours=3))
    assert client.get(case_url).status_code == 404
    assert client.get(f"/api/v1{case_url}", headers=bearer).status_code == 404
    assert client.get(f"{case_url}/status").status_code == 404


def test_the_setting_sets_how_long_it_lasts(app, client, world, now, frozen):
    app.config["BREAK_GLASS_HOURS"] = 1
    ask(client, world.worker_c, world.case.reference)
    frozen(MORNING + timedelta(hours=1))
    assert client.get(f"/cases/{world.case.id}").status_code == 404


def test_leads_are_alerted_once_per_grant_and_the_lead_agency_on_opening(
    client, world, now, frozen, password_hash
):
    ask(client, world.worker_c, world.case.reference)
    grant = db.session.scalar(select(BreakGlassGrant))
    # The involved agencies' leads at once (A and B), not their workers nor the outsider.
    assert alerts_of(AlertKind.BREAK_GLASS) == sorted(
        [(world.lead_a.id, f"break_glass:{grant.id}"), (world.lead_b.id, f"break_glass:{grant.id}")]
    )
    assert alerts_of(AlertKind.BREAK_GLASS_OPENED) == []
    # Asking again while it is live: the same access, nothing new.
    response = ask(client, world.worker_c, world.case.reference, "Asked again")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(BreakGlassGrant)) == 1
    assert len(alerts_of(AlertKind.BREAK_GLASS)) == 2
    again = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "break_glass.asked_again")
    )
    assert again.reason == "Asked again" and again.object_id == grant.id

    # Opening it tells the lead agency's (A's) leads, once however often it is opened.
    client.get(f"/cases/{world.case.id}")
    client.get(f"/cases/{world.case.id}")
    assert alerts_of(AlertKind.BREAK_GLASS_OPENED) == [
        (world.lead_a.id, f"break_glass_opened:{grant.id}")
    ]
    alert = db.session.scalar(select(Alert).where(Alert.kind == AlertKind.BREAK_GLASS.value))
    # Emailed: who and what kind, never the child.
    assert "Child One" not in alert.subject and "Worker C" in alert.subject
    assert alert.link == f"/cases/{world.case.id}"

    # After it expires, a new request is a new grant, alerted again.
    frozen(MORNING + timedelta(hours=4))
    ask(client, world.worker_c, world.case.reference)
    assert db.session.scalar(select(func.count()).select_from(BreakGlassGrant)) == 2
    assert len(alerts_of(AlertKind.BREAK_GLASS)) == 4


def test_with_no_lead_in_any_involved_agency_the_auditors_are_alerted(client, world, now):
    world.lead_a.active = world.lead_b.active = False
    ask(client, world.worker_c, world.case.reference)
    assert [r for r, _ in alerts_of(AlertKind.BREAK_GLASS)] == [world.auditor.id]


def test_two_requests_at_once_make_one_grant(app, world, now):
    from tests.api.test_concurrency import WORKERS, at_once

    person_id, case_id = world.worker_c.id, world.case.id

    def request():
        from tracker.models import Case, Person

        person, case = db.session.get(Person, person_id), db.session.get(Case, case_id)
        return break_glass.request_access(person, case, REASON)[1]

    results = at_once(app, request)
    assert sorted(results) == [False] * (WORKERS - 1) + [True]
    assert db.session.scalar(select(func.count()).select_from(BreakGlassGrant)) == 1
    assert len(alerts_of(AlertKind.BREAK_GLASS)) == 2


def test_an_auditor_reviews_each_use_once(client, world, now, password_hash):
    lead_c = add_person("Lead C", world.agency_c, Role.LEAD, password_hash)
    ask(client, world.worker_c, world.case.reference)
    client.get(f"/cases/{world.case.id}")
    grant = db.session.scalar(select(BreakGlassGrant))

    sign_in_as(client, world.auditor)
    queue = page_text(client.get("/emergency-access/reviews"))
    assert world.case.reference in queue and "Worker C" in queue and "Awaiting review" in queue
    review_url = f"/emergency-access/{grant.id}/review"
    page = page_text(client.get(review_url))
    assert REASON in page and "case.view.break_glass" in page

    response = client.post(review_url, data={})
    assert response.status_code == 400
    assert set(error_summary(response)) == {
        "Select whether the access was appropriate",
        "Enter the reason for your decision",
    }
    response = client.post(
        review_url, data={"decision": "referred", "reason": "No emergency was recorded"}
    )
    assert response.status_code == 302
    db.session.refresh(grant)
    assert grant.review_status == GrantReview.REFERRED.value
    assert grant.reviewed_by_id == world.auditor.id
    assert grant.review_reason == "No emergency was recorded"
    # A referral goes to the leads of the person's agency, who may not read the case: the
    # alert links to their inbox and does not name the case.
    assert [r for r, _ in alerts_of(AlertKind.BREAK_GLASS_REFERRED)] == [lead_c.id]
    referral = db.session.scalar(
        select(Alert).where(Alert.kind == AlertKind.BREAK_GLASS_REFERRED.value)
    )
    assert referral.case_id is None and referral.link == "/inbox/"
    assert "Nothing is waiting for review" in page_text(client.get("/emergency-access/reviews"))

    # A second review (a twin click, another auditor) changes nothing.
    response = client.post(review_url, data={"decision": "appropriate", "reason": "Fine"})
    assert_form_error(response, "already reviewed (referred) by Auditor")
    db.session.refresh(grant)
    assert grant.review_status == GrantReview.REFERRED.value
    assert (
        db.session.scalar(select(func.count()).where(AuditEvent.action == "break_glass.review"))
        == 1
    )

    # Only auditors review.
    with pytest.raises(break_glass.BreakGlassError):
        break_glass.review(world.lead_a, grant, "appropriate", "Fine")


def test_the_request_form_shows_every_problem_at_once(client, world, now):
    response = ask(client, world.worker_c, "", "")
    assert response.status_code == 400
    assert set(error_summary(response)) == {
        "Enter the case reference or the child's NHS number",
        "Enter why you need to see this case now",
    }
    response = ask(client, world.worker_c, "SSCP-1999-99999", "")
    assert set(error_summary(response)) == {
        "No case has this reference or NHS number",
        "Enter why you need to see this case now",
    }
    assert_form_error(ask(client, world.worker_c, world.case.reference, "x" * 2001), "2000")
    assert_form_error(
        ask(client, world.worker_a, world.case.reference), "Your agency is involved in"
    )
    assert db.session.scalar(select(func.count()).select_from(BreakGlassGrant)) == 0


def test_the_identifier_check_leads_to_a_request_by_nhs_number(client, world, now):
    world.case.nhs_number = "9434765919"
    db.session.commit()
    sign_in_as(client, world.worker_c)
    response = client.post(
        "/cases/new",
        data={
            "child_name": "Another Name",
            "date_of_birth": ["17", "5", "2018"],
            "lead_agency_id": str(world.agency_c.id),
            "lead_professional_id": "0",
            "nhs_number": "943 476 5919",
        },
    )
    assert "A case with this identifier exists" in " ".join(error_summary(response))
    assert 'href="/emergency-access/"' in response.get_data(as_text=True)
    assert world.case.reference not in response.get_data(as_text=True)

    response = ask(client, world.worker_c, "943 476 5919")
    assert response.headers["Location"].endswith(f"/cases/{world.case.id}")


def test_who_looked_shows_involved_leads_and_auditors_only(client, world, now):
    ask(client, world.worker_c, world.case.reference)
    client.get(f"/cases/{world.case.id}")
    sign_in_as(client, world.worker_a)
    client.get(f"/cases/{world.case.id}")

    for lead in (world.lead_a, world.lead_b):
        sign_in_as(client, lead)
        text = page_text(client.get(f"/cases/{world.case.id}"))
        assert "Who looked at this case" in text
        assert "Worker C Agency C School Agency worker" in text
        assert "case.view.break_glass Emergency access" in text
        assert "Worker A Agency A Social Care Agency worker" in text
        assert "Everyone who looked at this case" not in text  # the full list: auditors
    for person in (world.worker_a, world.worker_c):
        sign_in_as(client, person)
        assert "Who looked at this case" not in page_text(client.get(f"/cases/{world.case.id}"))

    sign_in_as(client, world.auditor)
    assert "Everyone who looked at this case" in page_text(client.get(f"/cases/{world.case.id}"))
    full = page_text(client.get(f"/emergency-access/cases/{world.case.id}/who-looked"))
    assert "Worker C" in full and "Emergency access" in full and "Lead B" in full


def test_who_looked_is_the_last_25_newest_first(world, now):
    from tracker.services import audit

    events = [
        audit.record("case.view", case_id=world.case.id, actor=world.lead_b) for _ in range(30)
    ]
    db.session.commit()
    shown = break_glass.recent_accesses(world.case)
    assert len(shown) == break_glass.RECENT_ACCESSES == 25
    assert [a.person_name for a in shown] == ["Lead B"] * 25  # not the older case.create
    newest = db.session.get(AuditEvent, events[-1].id)
    assert shown[0].at == newest.at and not any(a.break_glass for a in shown)
