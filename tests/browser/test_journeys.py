"""Journeys through the app in a real browser; axe checks every page on the way."""

from __future__ import annotations

import pyotp
import pytest

from tests.conftest import PASSWORD
from tracker.extensions import db
from tracker.services import clock


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
    lead_tab.fill("Code from your authenticator app", pyotp.TOTP(key).now())
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
    admin_tab.fill("Security code", pyotp.TOTP(admin_key).now())
    admin_tab.submit("Continue")
    assert admin_tab.page.url.endswith("/admin/")
    admin_tab.visit("/admin/agencies/new")
    admin_tab.submit("Save agency", status=400)
    admin_tab.visit(f"/admin/agencies/{agency_id}")
    admin_tab.visit("/admin/people")
    admin_tab.visit(f"/admin/people/{admin_id}")
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
