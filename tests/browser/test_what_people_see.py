"""What a practitioner, a lead and an auditor see (issue 14), in a real browser as a person
would use it: found by label and role, axe and the CSP checking every page on the way."""

from __future__ import annotations

import io
from datetime import datetime

import pyotp
from pypdf import PdfReader

from tests.browser.test_journeys import enrol_with_key, sign_in, sign_in_with_code
from tracker import clock
from tracker.extensions import db
from tracker.services import break_glass, challenges, leads, sharing

A4_WIDTH_POINTS = 595.3  # 210 mm


def error_summary_links(page) -> list[str]:
    summary = page.get_by_role("alert")
    return [link.inner_text().strip() for link in summary.get_by_role("link").all()]


def test_a_worker_records_a_share_in_one_round_and_home_says_what_to_do(journey, world, frozen):
    frozen(datetime(2026, 12, 2, 12, 0))  # a Wednesday: 12:00 in London
    case_id, reference = world.case.id, world.case.reference
    worker_a = world.worker_a.email
    db.session.commit()

    a = journey()
    sign_in(a, worker_a)
    a.visit(f"/cases/{case_id}/shares/new")
    page = a.page
    # Defaults: now, in local time; the only other agency ticked; priority only once asked.
    assert page.get_by_label("Day", exact=True).input_value() == "02"
    assert page.get_by_label("Time shared").input_value() == "12:00"
    assert page.get_by_label("Agency B Police", exact=True).is_checked()
    assert not page.get_by_label("Urgent", exact=True).is_visible()
    page.get_by_label("Yes, a response is needed").check()
    assert page.get_by_label("Urgent", exact=True).is_visible()

    # Everything wrong at once, cross-field rules included: one round, one summary.
    page.get_by_label("Agency B Police", exact=True).uncheck()
    page.get_by_label("Day", exact=True).fill("3")  # tomorrow
    page.get_by_label("Consent refused, but shared").check()
    a.submit("Record share", status=400)
    problems = error_summary_links(page)
    for expected in (
        "Select at least one agency it was shared with",
        "The date and time shared must be now or in the past",
        "Enter why the information was shared when consent was refused",
        "Enter what was shared",
        "Select the lawful basis for sharing",
    ):
        assert expected in problems, problems

    # Put right in one go, it is recorded.
    page.get_by_label("Agency B Police", exact=True).check()
    page.get_by_label("Day", exact=True).fill("2")
    page.get_by_label("Time shared").fill("09:00")
    page.get_by_label("Phone", exact=True).check()
    page.get_by_label("What was shared").fill("Mother said the father is back at home")
    page.get_by_label("Why was it shared?").fill("So police can check his bail conditions")
    page.get_by_label("Public task (UK GDPR Article 6(1)(e))").check()
    page.get_by_label(
        "If consent was not sought, why not; if it was refused, why it was shared anyway"
    ).fill("Mother refused; the child's safety comes first")
    page.get_by_label("Yes, a response is needed").check()
    a.submit("Record share")
    assert page.get_by_text("Share recorded").is_visible()
    assert page.get_by_text("Response needed by").is_visible()

    # Home: a line of counts first, each a link to its list.
    a.follow("Home")
    counts = page.get_by_role("list", name="What needs doing")
    assert counts.get_by_role("link", name="1 waiting on others").is_visible()
    assert counts.get_by_role("link", name="0 overdue for us to answer").is_visible()
    a.follow("1 waiting on others")
    assert page.get_by_role("heading", name="Waiting on other agencies").is_visible()
    assert page.get_by_role("link", name="Mother said the father is back at home").is_visible()
    assert page.get_by_role("link", name=reference).is_visible()


def test_a_raiser_is_told_who_acts_her_inbox_names_each_case_and_an_auditor_prints_the_pack(
    journey, world, password_hash, frozen
):
    from tests.challenges.support import name_leads, raise_one

    frozen(datetime(2026, 12, 2, 12, 0))
    name_leads(world, password_hash)
    # The demo's trap: the raiser is her agency's deputy at the line managers' stage.
    leads.assign(world.admin, world.agency_a, 2, world.lead_a.id, world.worker_a.id)
    sharing.record_share(  # the widest table of the pack: a share with long, unbroken words
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id, "DC Morgan")],
        details=sharing.ShareDetails(
            shared_at=datetime(2026, 12, 2, 9, 0),
            method="secure_email",
            summary="Mother said the father is back at home. " + "Unbroken" * 30,
            purpose="So police can check his bail conditions",
            lawful_basis="art6_1e_public_task",
            consent="not_sought",
            consent_reason="Asking would put the child at risk",
        ),
        needs_response=True,
    )
    challenge = raise_one(world)
    challenges.escalate(world.worker_b, challenge, "No agreement between practitioners")
    case_id, reference, challenge_id = world.case.id, world.case.reference, challenge.id
    worker_a, auditor = world.worker_a.email, world.auditor.email
    auditor_key = enrol_with_key(world.auditor)
    db.session.commit()

    a = journey()
    sign_in(a, worker_a)
    a.visit(f"/challenges/{challenge_id}")
    page = a.page
    assert page.get_by_role("link", name="Escalate to stage 3").count() == 0
    assert page.get_by_text("You raised this challenge").is_visible()
    assert page.get_by_text("Lead A (Agency A Social Care)").is_visible()

    # Her inbox: the case, the kind and who it is from; one link a row; mark all read.
    a.follow("Inbox (", exact=False)
    row = page.get_by_role("row").filter(has_text="escalated to stage 2")
    assert reference in row.inner_text() and "Worker B, Agency B Police" in row.inner_text()
    assert "Challenge escalated" in row.inner_text()
    assert row.get_by_role("link").count() + row.get_by_role("button").count() == 1
    a.submit("Mark all as read")
    assert page.get_by_text("alerts marked as read").is_visible()
    assert page.get_by_role("link", name="Inbox", exact=True).is_visible()

    # The auditor goes from the case page to its history and its evidence pack, and prints it.
    audit = journey()
    sign_in_with_code(audit, auditor, auditor_key)
    audit.visit(f"/cases/{case_id}")
    audit.follow("Full history of this case", exact=False)
    assert audit.page.get_by_role("heading", name="Full history of").is_visible()
    audit.page.go_back()
    audit.follow("Evidence pack", exact=False)
    pack = audit.page
    assert pack.get_by_role("heading", name="Summary").is_visible()
    assert pack.get_by_text("Verifies against").is_visible()
    widest = pack.locator("table").filter(has_text="Reason for amendment")
    expected = widest.locator("tbody tr").first.locator("td").last.inner_text().split()[-1]
    pdf = pack.pdf(format="A4", print_background=False)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1
    words: list[tuple[str, float]] = []
    for sheet in reader.pages:
        assert abs(float(sheet.mediabox.width) - A4_WIDTH_POINTS) < 1  # A4 portrait
        assert float(sheet.mediabox.height) > float(sheet.mediabox.width)

        def keep(text, cm, tm, font, size):
            if text.strip():
                words.append((text.strip(), cm[4] + tm[4] * cm[0]))

        sheet.extract_text(visitor_text=keep)
    printed = " ".join(text for text, _ in words)
    # The last column of the widest table (its audit events) is on the paper, inside the page.
    assert expected in printed, expected
    assert all(x < A4_WIDTH_POINTS for _, x in words)
    assert "Verifies against" in printed and reference in printed
    assert "art6_1e_public_task" not in printed and "Secure email" in printed
    assert pyotp  # the auditor signed in with a code from the app's own clock
    assert clock.now() == datetime(2026, 12, 2, 12, 0)


def test_every_other_page_passes_axe_with_the_csp_on(journey, world, password_hash, frozen):
    """The pages the journeys do not pass through, each checked by axe as it loads."""
    from tests.challenges.support import name_leads, raise_one
    from tracker.models import AuditEvent
    from tracker.services import notes

    frozen(datetime(2026, 12, 2, 12, 0))
    name_leads(world, password_hash)
    share = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id)],
        details=sharing.ShareDetails(
            shared_at=datetime(2026, 11, 20, 9, 0),
            method="phone",
            summary="Mother said the father is back at home",
            purpose="Safety",
            lawful_basis="art6_1e_public_task",
            consent="given",
        ),
        needs_response=True,
    )
    note = notes.record_note(
        world.worker_a,
        world.case,
        kind="lived_experience",
        occurred_on=datetime(2026, 12, 1).date(),
        text="She said she likes school.",
        themes=[],
    )
    challenge = raise_one(world)
    grant, _ = break_glass.request_access(world.worker_c, world.case, "Told of a call-out")
    # Records governance: an item in the disposal review queue, and a legal hold to lift.
    from tracker.models import DisposalReview
    from tracker.services import retention

    item = DisposalReview(
        case_id=world.case.id,
        rule="default",
        rule_label="Everything else",
        retain_until=datetime(2026, 1, 1).date(),
    )
    db.session.add(item)
    retention.set_hold(world.auditor, world.case.id, "Needed for a practice review")
    item_id = item.id
    from tracker.services import subject_access

    sar = subject_access.record_request(
        world.auditor,
        requester_name="Parent One",
        requester_relationship="Parent",
        case=world.case,
        person_named=None,
        received_on=datetime(2026, 12, 1).date(),
    )
    subject_access.assemble(world.auditor, sar)
    sar_id, sar_item_id = sar.id, sar.items[0].id
    case_id, share_id, note_id, challenge_id = world.case.id, share.id, note.id, challenge.id
    grant_id, worker_c = grant.id, world.worker_c.email
    worker_a, auditor, reference = world.worker_a.email, world.auditor.email, world.case.reference
    auditor_key = enrol_with_key(world.auditor)
    admin_email, admin_key = world.admin.email, enrol_with_key(world.admin)
    lead_email, lead_key = world.lead_a.email, enrol_with_key(world.lead_a)
    db.session.commit()
    event_id = db.session.scalar(db.select(db.func.max(AuditEvent.id)))
    db.session.commit()  # read before the server takes over: no transaction left open

    a = journey()
    sign_in(a, worker_a)
    for path in (
        "/concerns/theirs",
        "/concerns/theirs?due=overdue",
        f"/cases/{case_id}/chronology",
        f"/cases/{case_id}/notes/new?kind=lived_experience",
        f"/cases/{case_id}/notes/{note_id}",
        f"/cases/{case_id}/notes/{note_id}/amend",
        f"/cases/{case_id}/threshold",
        f"/cases/{case_id}/shares/received",
        f"/shares/{share_id}/amend",
        f"/challenges/{challenge_id}/discussion",
        f"/challenges/{challenge_id}/resolve",
        f"/challenges/{challenge_id}/withdraw",
        "/challenges/awaiting",
        "/inbox/",
        "/inbox/digest",
        "/account/api-tokens",
        "/api/guide",
        f"/cases/{case_id}/no-share/new",
        "/emergency-access/",
        f"/retention/cases/{case_id}/looked-after",
        f"/shares/{share_id}/protected-sources/new",
        f"/cases/{case_id}/notes/{note_id}/protected-sources/new",
    ):
        a.visit(path)
    a.submit_form(status=400)  # the emergency-access request's error summary
    a.visit(f"/cases/{case_id}/challenges/new")
    a.page.get_by_label("Yes", exact=True).check()
    a.submit("Continue")  # the immediate-risk page, with its numbers
    assert a.page.get_by_text("01632 960000").is_visible()
    a.visit(f"/cases/{case_id}/threshold")
    a.submit_form(status=400)  # an error summary on another form

    audit = journey()
    sign_in_with_code(audit, auditor, auditor_key)
    for path in (
        "/audit/",
        f"/audit/?reference={reference}",
        f"/audit/events/{event_id}",
        f"/cases/{case_id}",
        f"/shares/{share_id}",
        f"/challenges/{challenge_id}",
        "/concerns/unanswered",
        "/challenges/",
        "/reports/",
        "/audit/checkpoint",
        "/emergency-access/reviews",
        f"/emergency-access/{grant_id}/review",
        f"/emergency-access/cases/{case_id}/who-looked",
        "/retention/",
        "/retention/disposed",
        f"/retention/items/{item_id}",
        f"/retention/cases/{case_id}/hold/lift",
        "/subject-access/",
        "/subject-access/new",
        f"/subject-access/{sar_id}",
        f"/subject-access/{sar_id}/extend",
        f"/subject-access/{sar_id}/items/{sar_item_id}",
        f"/subject-access/{sar_id}/pack",
    ):
        audit.visit(path)
    audit.visit("/subject-access/new")
    audit.submit_form(status=400)  # the request form's error summary
    outsider = journey()  # break-glass: the case page under emergency access
    sign_in(outsider, worker_c)
    outsider.visit(f"/cases/{case_id}")

    # The pages of the golden rules, four eyes and providers that no journey passes through.
    admin = journey()
    sign_in_with_code(admin, admin_email, admin_key)
    for path in (
        "/admin/closure-days",
        "/admin/approvals",
        "/admin/identity-providers",
        "/admin/identity-providers/new",
    ):
        admin.visit(path)
    lead = journey()
    sign_in_with_code(lead, lead_email, lead_key)
    lead.visit("/approvals/")
    lead.visit(f"/cases/{case_id}")  # who looked at it
    assert len(a.checked) + len(audit.checked) + len(admin.checked) + len(lead.checked) >= 34
