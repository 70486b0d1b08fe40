"""The browser driven by labels and roles, as a person (or an independent check) uses it, with
the real CSP and CSRF on: selects that choose nothing, paging that keeps a date, error links that
reach a date's boxes, line breaks within a length limit, the idle warning, names that tell
buttons and links apart."""

from __future__ import annotations

import threading

import pytest

from tests.browser.conftest import _bind_server
from tests.browser.test_journeys import enrol_with_key, sign_in, sign_in_with_code
from tests.conftest import make_app
from tracker.extensions import db


@pytest.fixture
def live_server(database_url, tmp_path, app):
    """The browser tests' own server (CSRF on, CSP on), with pages of 2 rows so a small world
    has a second page."""
    live = make_app(
        database_url, tmp_path / "live", WTF_CSRF_ENABLED=True, TESTING=False, PAGE_SIZE=2
    )
    server = _bind_server(live)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    with live.app_context():
        db.engine.dispose()


def test_the_audit_trails_next_page_keeps_the_date_searched_for(journey, world):
    """An auditor searches the trail from a date and presses Next: page 2 must be the same
    search, not a 400 'Enter a real date' with the date cut to its day box."""
    auditor, key = world.auditor.email, enrol_with_key(world.auditor)
    db.session.commit()

    audit = journey()
    sign_in_with_code(audit, auditor, key)
    audit.visit("/audit/")
    page = audit.page
    since = page.get_by_role("group", name="From")
    since.get_by_label("Day").fill("1")
    since.get_by_label("Month").fill("1")
    since.get_by_label("Year").fill("2026")
    audit.submit("Search", status=200)
    assert page.get_by_text("Showing 1 to 2 of").is_visible()

    with page.expect_navigation() as navigation:
        page.get_by_role("link", name="Next").click()
    assert navigation.value.status == 200, page.locator(".govuk-error-summary").all_inner_texts()
    assert page.get_by_text("Showing 3 to").is_visible()
    since = page.get_by_role("group", name="From")
    assert [since.get_by_label(box).input_value() for box in ("Day", "Month", "Year")] == [
        "1",
        "1",
        "2026",
    ]
    audit.check()


def test_pressing_add_agency_without_choosing_one_adds_no_agency_to_the_case(journey, world):
    """The Add an agency page offers a select whose first agency is pre-chosen: pressing the
    button as the page loads must ask which agency, not let a third agency read the child's
    record (the form's own 'Select an agency to add' check can never fire)."""
    from tracker.models import Case

    case_id, worker_a = world.case.id, world.worker_a.email
    involved_before = set(world.case.involved_agency_ids)
    db.session.commit()

    a = journey()
    sign_in(a, worker_a)
    a.visit(f"/cases/{case_id}/agencies/add")
    page = a.page
    chosen = page.get_by_label("Agency", exact=True)
    assert chosen.is_visible()
    a.submit("Add agency")
    db.session.expire_all()
    involved_after = set(db.session.get(Case, case_id).involved_agency_ids)
    db.session.commit()
    assert involved_after == involved_before, "an agency was added that nobody chose"
    assert page.title().startswith("Error: ")
    assert "Select an agency to add" in page.get_by_role("alert").inner_text()


@pytest.mark.parametrize(
    "path, field",
    [
        ("/cases/new", "Date of birth"),
        ("/account/api-tokens", None),
    ],
)
def test_a_date_in_the_error_summary_takes_focus_to_its_day_box(journey, world, path, field):
    """GOV.UK's error summary: each link moves focus to the field at fault. A date's link
    points at the boxes' wrapper (a div), so focus stays on the link and a keyboard or screen
    reader user is not taken to the date at all."""
    worker_a = world.worker_a.email
    db.session.commit()

    a = journey()
    sign_in(a, worker_a)
    a.visit(path)
    a.submit_form(status=400)
    summary = a.page.get_by_role("alert")
    date_links = [
        link for link in summary.get_by_role("link").all() if "date" in link.inner_text().lower()
    ]
    assert date_links, summary.inner_text()
    for link in date_links:
        link.click()
        focused = a.page.evaluate(
            "() => [document.activeElement.tagName, document.activeElement.id]"
        )
        assert focused[0] == "INPUT" and focused[1].endswith("-day"), (link.inner_text(), focused)


def test_a_summary_of_5000_characters_in_paragraphs_is_within_the_5000_limit(
    journey, world, frozen
):
    """A browser sends each line break of a textarea as CR LF: the limit must count what the
    person typed (5,000 characters here, in ten paragraphs), not refuse it as over 5,000."""
    from datetime import datetime

    from tracker.models import Share

    frozen(datetime(2026, 12, 2, 12, 0))
    case_id, worker_a = world.case.id, world.worker_a.email
    db.session.commit()

    a = journey()
    sign_in(a, worker_a)
    a.visit(f"/cases/{case_id}/shares/new")
    page = a.page
    summary = ("x" * 499 + "\n") * 10
    page.get_by_label("Agency B Police", exact=True).check()
    page.get_by_label("Phone", exact=True).check()
    page.get_by_label("What was shared").fill(summary)
    assert page.get_by_label("What was shared").evaluate("e => e.value.length") == 5000
    page.get_by_label("Why was it shared?").fill("So police can check his bail conditions")
    page.get_by_label("Public task (UK GDPR Article 6(1)(e))").check()
    page.get_by_label("Consent given").check()
    page.get_by_label("No", exact=True).check()
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Record share").click()
    problems = page.locator(".govuk-error-summary").all_inner_texts()
    assert navigation.value.status == 200, problems
    assert page.get_by_text("Share recorded").is_visible()
    stored = db.session.scalar(db.select(Share)).current.summary
    db.session.commit()
    assert stored.replace("\r\n", "\n") == summary.strip()


@pytest.fixture
def short_session_server(database_url, tmp_path, app):
    """The app as in production (CSRF and CSP on, the 30-minute idle limit) with a sign-in
    that lasts 40 minutes, standing in for TRACKER_SESSION_HOURS' 8 hours."""
    live = make_app(
        database_url,
        tmp_path / "session",
        WTF_CSRF_ENABLED=True,
        TESTING=False,
        IDLE_MINUTES=30,
        PERMANENT_SESSION_LIFETIME=40 * 60,
    )
    server = _bind_server(live)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    with live.app_context():
        db.engine.dispose()


def test_a_practitioner_writing_a_share_is_warned_before_each_sign_out(
    browser, short_session_server, world, tmp_path
):
    """WCAG 2.2.1 (Timing adjustable, level A): typing makes no request, so a worker writing a
    long share would be signed out unwarned and lose it. Two minutes before the idle limit the
    page warns (a modal dialog, checked by axe with the CSP on), and "Stay signed in" is a
    request that keeps the session. Two minutes before the sign-in's whole lifetime ends it
    warns again, with nothing to put that off. The page's clock is Playwright's, so nothing
    here waits for real time."""
    from playwright.sync_api import expect

    from tests.browser.conftest import Journey
    from tests.conftest import PASSWORD
    from tracker.models import Share

    case_id, worker_a = world.case.id, world.worker_a.email
    db.session.commit()
    context = browser.new_context(base_url=short_session_server)
    context.set_default_timeout(30_000)
    try:
        journey = Journey(context.new_page(), short_session_server, tmp_path / "screenshots")
        page = journey.page
        page.clock.install()
        page.goto("/sign-in")
        page.get_by_label("Email address", exact=True).fill(worker_a)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        journey.visit(f"/cases/{case_id}/shares/new")
        typed = "Mother said the father is back at home; the child was frightened."
        page.get_by_label("What was shared").fill(typed)
        warning = page.get_by_role("dialog", name="You are about to be signed out")
        page.clock.run_for("27:50")
        expect(warning).to_be_hidden()
        page.clock.run_for("00:15")  # 28 minutes in: two before the 30-minute idle limit
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("You have not used the service for a while")
        journey.check()
        with page.expect_response(lambda r: r.url.endswith("/session/keep-alive")) as kept:
            warning.get_by_role("button", name="Stay signed in").click()
        assert kept.value.status == 204
        expect(warning).to_be_hidden()
        page.clock.run_for("10:00")  # 38 minutes in: two before the sign-in's 40 run out
        expect(warning).to_be_visible()
        expect(warning).to_contain_text("as long as one sign-in lasts")
        expect(warning.get_by_role("button", name="Stay signed in")).to_be_hidden()
        journey.check()
        warning.get_by_role("button", name="Continue").click()
        expect(warning).to_be_hidden()
        assert page.get_by_label("What was shared").input_value() == typed
        page.get_by_label("Phone", exact=True).check()
        page.get_by_label("Why was it shared?").fill("So police can check his bail conditions")
        page.get_by_label("Public task (UK GDPR Article 6(1)(e))").check()
        page.get_by_label("Consent given").check()
        page.get_by_label("No", exact=True).check()
        journey.submit("Record share")
        assert page.get_by_text("Share recorded").is_visible()
        assert db.session.scalar(db.select(Share)).current.summary == typed
        db.session.commit()
    finally:
        context.close()


def test_each_change_link_on_check_your_answers_names_its_answer(journey, world):
    """Check your answers: a screen reader's list of links must tell the Change links apart.
    Six of them are all called 'Change details'."""
    case_id, worker_a = world.case.id, world.worker_a.email
    db.session.commit()

    a = journey()
    sign_in(a, worker_a)
    a.visit(f"/cases/{case_id}/challenges/new")
    page = a.page
    page.get_by_label("No", exact=True).check()
    a.submit("Continue")
    page.get_by_label("Agency B Police", exact=True).check()
    page.get_by_label("Plan or actions").check()
    page.get_by_label("What happened").fill("The plan leaves out school.")
    page.get_by_label("What outcome do you want?").fill("School joins the core group.")
    page.get_by_label("No, standard timescales").check()
    a.submit("Continue")
    assert page.get_by_role("heading", name="Check your answers").is_visible()
    names = [
        " ".join(link.text_content().split())
        for link in page.get_by_role("link", name="Change").all()
    ]
    assert len(names) == 7, names
    assert len(set(names)) == len(names), names


def test_a_leads_approve_and_refuse_buttons_say_whom_they_decide(journey, world):
    """Two people wait for Lead A's approval: a screen reader (or anyone moving by buttons)
    hears 'Approve', 'Refuse', 'Approve', 'Refuse'. Approving the wrong one lets a stranger
    read the agency's cases, so each button must name the person it decides."""
    from tracker.services import people

    for name in ("Nina Patel", "Omar Farouk"):
        people.invite(
            world.admin,
            name=name,
            email=name.lower().replace(" ", ".") + "@example.org",
            agency_id=world.agency_a.id,
            role="worker",
        )
    lead, key = world.lead_a.email, enrol_with_key(world.lead_a)
    db.session.commit()

    tab = journey()
    sign_in_with_code(tab, lead, key)
    tab.follow("Approvals")
    page = tab.page
    for verb in ("Approve", "Refuse"):
        names = [
            " ".join(button.text_content().split())
            for button in page.get_by_role("button", name=verb).all()
        ]
        assert len(names) == 2 and len(set(names)) == 2, names
    page.get_by_role("button", name="Approve Omar Farouk").click()
    page.wait_for_load_state()
    assert page.get_by_text("Omar Farouk: Agency worker approved").is_visible()
    assert "nina.patel@example.org" in page.inner_text("main")


def test_inviting_someone_without_choosing_their_agency_asks_for_it(journey, world):
    """Same pattern as Add an agency: the Agency select starts on the first agency, so an
    invitation sent without choosing one goes to whichever agency sorts first (its lead is then
    asked to let a stranger read its cases). 'Select the person's agency' never shows."""
    from tracker.models import Person

    admin, key = world.admin.email, enrol_with_key(world.admin)
    db.session.commit()

    tab = journey()
    sign_in_with_code(tab, admin, key)
    tab.visit("/admin/people/invite")
    page = tab.page
    page.get_by_label("Full name").fill("Nina Patel")
    page.get_by_label("Work email address").fill("nina.patel@example.org")
    page.get_by_label("Agency worker", exact=True).check()
    tab.submit("Invite")
    invited = db.session.scalar(db.select(Person).where(Person.email == "nina.patel@example.org"))
    db.session.commit()
    assert invited is None, f"invited into {invited.agency.name}, an agency nobody chose"
    assert "Select the person's agency" in page.get_by_role("alert").inner_text()
