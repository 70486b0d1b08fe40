"""Journeys through the app in a real browser; axe checks every page on the way."""

from __future__ import annotations

import pyotp
import pytest

from tests.conftest import PASSWORD
from tests.helpers import current_code
from tracker import clock
from tracker.extensions import db
from tracker.services import workdays


def sign_in(journey, email: str) -> None:
    journey.visit("/sign-in")
    journey.fill("Email address", email)
    journey.fill("Password", PASSWORD)
    journey.submit("Sign in")


def test_sign_in_with_two_factors_cases_search_and_administration(journey, world):
    # Everything the test needs from the database, read before the server takes over:
    # an open transaction here would hold SQLite's write lock.
    case_id, reference = world.case.id, world.case.reference
    lead, admin = world.lead_a.email, world.admin.email
    admin_id, agency_id = world.admin.id, world.agency_b.id
    admin_key = pyotp.random_base32()
    world.admin.totp_secret, world.admin.totp_confirmed_at = admin_key, clock.now()
    db.session.commit()

    lead_tab = journey()
    # A bad sign-in first: the error summary must be accessible too.
    lead_tab.visit("/sign-in")
    lead_tab.submit("Sign in", status=400)
    sign_in(lead_tab, lead)
    # A lead must set up two-factor sign-in after the password.
    assert lead_tab.page.url.endswith("/sign-in/set-up-two-factor")
    assert lead_tab.page.get_by_role("img", name="QR code").is_visible()
    lead_tab.fill("Code from your authenticator app", "000000")
    lead_tab.submit("Continue", status=400)
    key = lead_tab.page.locator("#setup-key").inner_text().replace(" ", "")
    lead_tab.fill("Code from your authenticator app", current_code(key))
    lead_tab.submit("Continue", status=200)
    assert lead_tab.page.locator("code").count() == 10  # the recovery codes, once
    lead_tab.follow("I have saved my recovery codes")
    lead_tab.follow("Cases")
    lead_tab.fill("Search by reference or child's name", reference)
    lead_tab.submit("Search")
    lead_tab.follow(reference)
    assert lead_tab.page.url.endswith(f"/cases/{case_id}")
    lead_tab.visit(f"/cases/{case_id}/status")
    lead_tab.visit(f"/cases/{case_id}/agencies/add")
    lead_tab.visit(f"/cases/{case_id}/siblings")
    lead_tab.visit("/cases/new")
    lead_tab.submit("Open case", status=400)
    lead_tab.visit("/no-such-page", status=404)
    lead_tab.visit("/admin/", status=403)
    lead_tab.submit("Sign out")

    admin_tab = journey()
    sign_in(admin_tab, admin)
    assert admin_tab.page.url.endswith("/sign-in/security-code")
    admin_tab.fill("Security code", current_code(admin_key))
    admin_tab.submit("Continue")
    assert admin_tab.page.url.endswith("/admin/")
    admin_tab.visit("/admin/agencies/new")
    admin_tab.submit("Save agency", status=400)
    admin_tab.visit(f"/admin/agencies/{agency_id}")
    admin_tab.visit("/admin/people")
    admin_tab.visit(f"/admin/people/{admin_id}")
    admin_tab.visit("/admin/approvals")
    admin_tab.visit("/admin/people/invite")
    admin_tab.submit("Invite", status=400)
    admin_tab.visit("/signed-out")
    assert len(lead_tab.checked) + len(admin_tab.checked) >= 25


def test_the_checks_catch_an_inaccessible_page_and_a_csp_breach(journey, world):
    db.session.commit()
    tab = journey()
    tab.visit("/sign-in")
    tab.page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/favicon.svg\">')"
    )
    with pytest.raises(pytest.fail.Exception, match="image-alt"):
        tab.check()
    assert list(tab.screenshots.glob("*.png"))  # the failing page was kept as a screenshot

    tab = journey()
    tab.visit("/sign-in")
    tab.page.evaluate(
        "const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        "document.body.appendChild(s)"
    )
    tab.page.wait_for_timeout(200)
    with pytest.raises(pytest.fail.Exception, match="Content Security Policy"):
        tab.check()


def enrol_with_key(person) -> str:
    key = pyotp.random_base32()
    person.totp_secret, person.totp_confirmed_at = key, clock.now()
    return key


def sign_in_with_code(journey, email: str, key: str) -> None:
    sign_in(journey, email)
    journey.fill("Security code", current_code(key))
    journey.submit("Continue")


def test_share_respond_challenge_escalate_inbox_and_evidence(journey, world, password_hash, frozen):
    from datetime import datetime

    from tests.challenges.support import name_leads
    from tracker.models import Alert, Challenge, Share

    frozen(datetime(2026, 12, 2, 12, 0))  # a working day, after the share's 09:00
    name_leads(world, password_hash)
    case_id, b = world.case.id, world.agency_b.id
    worker_a, worker_b = world.worker_a.email, world.worker_b.email
    lead_b, auditor = world.lead_b.email, world.auditor.email
    lead_b_key, auditor_key = enrol_with_key(world.lead_b), enrol_with_key(world.auditor)
    db.session.commit()
    # Shared "now" by the app's clock, in London time: whatever the time of day the test runs at.
    shared = workdays.to_local(clock.now())

    # Agency A records what it shared with B, asking for a response.
    a = journey()
    sign_in(a, worker_a)
    a.visit(f"/cases/{case_id}")
    a.visit(f"/cases/{case_id}/shares/new")
    a.fill_form(
        {
            "from_person_name": "Worker A",
            "recipient_agency_ids": str(b),
            f"people_{b}": "DC Morgan",
            "shared_on": [str(shared.day), str(shared.month), str(shared.year)],
            "shared_time": shared.strftime("%H:%M"),
            "method": "phone",
            "summary": "Mother disclosed the father has returned to the home",
            "purpose": "So police can check the father's bail conditions",
            "lawful_basis": "art6_1e_public_task",
            "consent": "not_sought",
            "consent_reason": "Asking would put the child at risk",
            "themes": "information_sharing",
            "needs_response": "yes",
            "priority": "standard",
        }
    )
    a.submit("Record share")
    share = db.session.scalar(db.select(Share))
    share_id, recipient_id = share.id, share.recipients[0].id
    db.session.commit()
    assert a.page.url.endswith(f"/shares/{share_id}")

    # Agency B answers it.
    b_tab = journey()
    sign_in(b_tab, worker_b)
    b_tab.visit(f"/shares/{share_id}")
    b_tab.visit(f"/shares/{share_id}/concerns/{recipient_id}/respond")
    b_tab.fill_form({"action_taken": "Bail conditions checked; officers visited"})
    b_tab.submit("Save response")
    b_tab.visit("/concerns/unanswered", status=403)  # a worker has no partnership lists

    # A raises a professional challenge about B, then escalates it.
    start = f"/cases/{case_id}/challenges/new"
    a.visit(start)
    a.fill_form({"immediate_risk": "no"})
    a.submit("Continue")
    a.fill_form(
        {
            "about_agency_id": str(b),
            "kind": "plan",
            "what_happened": "The plan leaves out school.",
            "outcome_wanted": "School joins the core group.",
            "urgent": "no",
        }
    )
    a.submit("Continue")
    a.submit("Raise the challenge")
    challenge_id = db.session.scalar(db.select(Challenge.id))
    db.session.commit()
    a.visit(f"/challenges/{challenge_id}")
    a.visit(f"/challenges/{challenge_id}/escalate")
    a.fill_form({"why": "No agreement at practitioner level."})
    a.submit_form()
    a.visit("/challenges/", status=403)  # the partnership list is for leads and auditors
    a.visit("/inbox/")

    # B's named lead is alerted at stage 2 and reads the alert in the inbox.
    lead = journey()
    sign_in_with_code(lead, lead_b, lead_b_key)
    assert db.session.scalar(db.select(db.func.count(Alert.id))) > 0
    db.session.commit()
    lead.visit("/inbox/")
    with lead.page.expect_navigation():
        lead.page.get_by_role("button", name="Mark all as read").click()
    lead.check()
    lead.visit("/challenges/awaiting")
    lead.visit("/challenges/")
    lead.visit("/concerns/unanswered")

    # The auditor pulls the evidence pack for the case.
    audit = journey()
    sign_in_with_code(audit, auditor, auditor_key)
    audit.visit(f"/audit/cases/{case_id}/evidence")
    audit.visit(f"/audit/cases/{case_id}")
    audit.visit("/reports/")


def test_a_new_worker_waits_for_their_agencys_lead(journey, world):
    """Issue 13: an administrator's invitation lets nobody in until the agency's lead, who
    already reads its cases, approves it on their own Approvals page."""
    lead, admin, agency_id = world.lead_a.email, world.admin.email, world.agency_a.id
    keys = {}
    for person in (world.lead_a, world.admin):
        keys[person.email] = pyotp.random_base32()
        person.totp_secret, person.totp_confirmed_at = keys[person.email], clock.now()
    db.session.commit()

    admin_tab = journey()
    sign_in_with_code(admin_tab, admin, keys[admin])
    admin_tab.visit("/admin/people/invite")
    admin_tab.fill_form(
        {
            "name": "Nina Patel",
            "email": "nina.patel@example.org",
            "agency_id": str(agency_id),
            "role": "worker",
        }
    )
    admin_tab.submit("Invite")
    assert "once a named lead of Agency A Social Care approves" in admin_tab.page.inner_text("main")
    admin_tab.visit("/admin/approvals")
    assert "Waits for a named lead" in admin_tab.page.inner_text("main")
    admin_tab.submit("Sign out")

    lead_tab = journey()
    sign_in_with_code(lead_tab, lead, keys[lead])
    lead_tab.follow("Approvals")
    assert "nina.patel@example.org" in lead_tab.page.inner_text("main")
    lead_tab.submit("Approve Nina Patel (nina.patel@example.org)")
    assert "Nina Patel: Agency worker approved" in lead_tab.page.inner_text("main")
    assert "Nothing is waiting for your approval" in lead_tab.page.inner_text("main")
