"""Protected sources: hidden from every other agency on every path that shows case text."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest

from tests.api.conftest import Api
from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, page_text
from tracker.extensions import db
from tracker.models import AuditEvent, Concern, ProtectedSource
from tracker.services import notes, protected_sources, sharing, subject_access

INFORMANT = "Janet Hollis"
PASSAGE = "the neighbour at number 12"
PLACEHOLDER = "[protected source]"


@pytest.fixture
def marked(client, world, frozen):
    """Police (B) record a share to social care (A) naming an informant, and protect her."""
    frozen(datetime(2026, 11, 24, 10, 0))
    share = sharing.record_share(
        world.worker_b,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_b.id,
        recipients=[sharing.Recipient(agency_id=world.agency_a.id, people_names="Sam Reid")],
        details=sharing.ShareDetails(
            shared_at=datetime(2026, 11, 24, 9, 0),
            method="phone",
            summary=f"{INFORMANT}, {PASSAGE}, heard shouting most nights",
            purpose=f"So social care knows what {INFORMANT.split()[0]} Hollis reported",
            lawful_basis="art6_1e_public_task",
            consent="not_sought",
            consent_reason="Seeking consent could place the child at risk",
        ),
        needs_response=True,
    )
    db.session.commit()
    sign_in_as(client, world.worker_b)
    response = client.post(
        f"/shares/{share.id}/protected-sources/new",
        data={"name": INFORMANT, "passages": PASSAGE, "reason": "She fears reprisals"},
    )
    assert response.status_code == 302, page_text(response)
    return share


def test_the_recording_agency_and_auditors_see_the_name(client, world, marked):
    for person in (world.worker_b, world.lead_b, world.auditor):
        body = page_text_of(client, person, f"/shares/{marked.id}")
        assert INFORMANT in body and PASSAGE in body
        assert "She fears reprisals" in body  # the mark, listed for those who may see it


def test_another_agency_sees_the_placeholder_on_every_page(client, world, marked):
    urls = [
        f"/shares/{marked.id}",
        f"/cases/{world.case.id}",
        f"/cases/{world.case.id}/chronology",
        f"/shares/{marked.id}/concerns/{marked.recipients[0].id}/respond",
        "/concerns/ours",
    ]
    for url in urls:
        body = page_text_of(client, world.worker_a, url)
        assert INFORMANT not in body and "Hollis" not in body and PASSAGE not in body, url
    assert PLACEHOLDER in page_text_of(client, world.worker_a, f"/shares/{marked.id}")
    # Nor the reason, nor that anyone was marked.
    assert "She fears reprisals" not in page_text_of(client, world.worker_a, f"/shares/{marked.id}")


def page_text_of(client, person, url: str) -> str:
    sign_in_as(client, person)
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return page_text(response)


def test_partnership_list_of_unanswered_concerns_hides_it(client, world, marked, frozen):
    frozen(datetime(2026, 12, 10, 10, 0))  # long overdue
    body = page_text_of(client, world.lead_a, "/concerns/unanswered")
    assert "heard shouting" in body and INFORMANT not in body


def test_chronology_csv_hides_it_from_another_agency(client, world, marked):
    sign_in_as(client, world.worker_a)
    csv_text = client.get(f"/cases/{world.case.id}/chronology.csv").get_data(as_text=True)
    assert "heard shouting" in csv_text
    assert INFORMANT not in csv_text and "Hollis" not in csv_text and PASSAGE not in csv_text
    assert PLACEHOLDER in csv_text
    sign_in_as(client, world.worker_b)
    assert INFORMANT in client.get(f"/cases/{world.case.id}/chronology.csv").get_data(as_text=True)


def test_api_hides_it_from_another_agency(client, world, marked):
    api = Api(client, {})
    for path in (
        f"/shares/{marked.id}",
        f"/cases/{world.case.id}/shares",
        f"/cases/{world.case.id}/chronology",
        "/concerns/awaiting-us",
    ):
        response = api.get(path, world.worker_a)
        assert response.status_code == 200, (path, response.status_code)
        body = response.get_data(as_text=True)
        assert INFORMANT not in body and "Hollis" not in body and PASSAGE not in body, path
    shown = api.get(f"/shares/{marked.id}", world.worker_a).get_json()
    assert shown["summary"] == f"{PLACEHOLDER}, {PLACEHOLDER}, heard shouting most nights"
    assert INFORMANT in api.get(f"/shares/{marked.id}", world.worker_b).get_data(as_text=True)


def test_an_agency_that_cannot_see_it_cannot_amend_it_nor_get_the_evidence_pack(
    client, world, marked
):
    """An amendment form would hold the hidden words. The evidence pack (which carries the audit
    log's content, so is not redacted) is for auditors only."""
    sign_in_as(client, world.worker_a)
    assert client.get(f"/shares/{marked.id}/amend").status_code == 403
    assert client.get(f"/audit/cases/{world.case.id}/evidence").status_code == 403
    assert client.get(f"/audit/cases/{world.case.id}/evidence.zip").status_code == 403
    sign_in_as(client, world.worker_b)
    assert client.get(f"/shares/{marked.id}/amend").status_code == 200


def test_subject_access_pack_never_holds_it(client, world, marked, frozen):
    request = subject_access.record_request(
        world.auditor,
        requester_name="Parent One",
        requester_relationship="Parent",
        case=world.case,
        person_named=None,
        received_on=date(2026, 11, 24),
    )
    subject_access.assemble(world.auditor, request)
    for view in subject_access.item_views(request):
        assert INFORMANT not in view.text and PASSAGE not in view.text
        subject_access.review(
            world.auditor, request, view, decision="released", exemption=None, passages=""
        )
    subject_access.complete(world.auditor, request)
    sign_in_as(client, world.auditor)
    body = client.get(f"/subject-access/{request.id}/pack").get_data(as_text=True)
    assert "heard shouting" in body and INFORMANT not in body and PASSAGE not in body
    data = client.get(f"/subject-access/{request.id}/pack.zip").get_data()
    with zipfile.ZipFile(io.BytesIO(data)) as pack:
        everything = "".join(pack.read(n).decode() for n in pack.namelist())
    assert "heard shouting" in everything
    assert INFORMANT not in everything and "Hollis" not in everything


def test_emails_and_inbox_carry_no_share_text(client, world, marked):
    """Alerts carry no case detail at all (invariant 4), so nothing to protect there either."""
    from tracker.models import Alert

    for alert in db.session.scalars(db.select(Alert)):
        assert INFORMANT not in alert.subject and "heard shouting" not in alert.subject
    sign_in_as(client, world.lead_a)
    assert INFORMANT not in client.get("/inbox").get_data(as_text=True)


def test_a_note_and_a_response_can_be_protected_by_their_recording_agency(client, world, marked):
    note = notes.record_note(
        world.worker_a,
        world.case,
        kind="lived_experience",
        occurred_on=date(2026, 11, 23),
        text="Child said Uncle Roy Tate told her to keep quiet.",
        themes=[],
    )
    recipient = db.session.get(Concern, marked.recipients[0].id)
    sharing.respond(world.worker_a, recipient, action_taken="Spoke with Uncle Roy Tate at home")
    sign_in_as(client, world.worker_b)  # not the recording agency of either
    assert (
        client.get(f"/cases/{world.case.id}/notes/{note.id}/protected-sources/new").status_code
        == 403
    )
    sign_in_as(client, world.worker_a)
    for url in (
        f"/cases/{world.case.id}/notes/{note.id}/protected-sources/new",
        f"/shares/{marked.id}/concerns/{recipient.id}/protected-sources/new",
    ):
        response = client.post(url, data={"name": "roy tate", "passages": "", "reason": "Risk"})
        assert response.status_code == 302, page_text(response)
    for url in (f"/cases/{world.case.id}/notes/{note.id}", f"/shares/{marked.id}"):
        body = page_text_of(client, world.worker_b, url)
        assert "Roy Tate" not in body and "Uncle [protected source]" in body
    assert "Roy Tate" in page_text_of(client, world.worker_a, f"/shares/{marked.id}")
    # The response's amendment form would hold B's hidden informant if the response named her.
    sharing.respond(world.worker_a, recipient, action_taken=f"Visited {INFORMANT}", reason="Fix")
    sign_in_as(client, world.worker_a)
    assert client.get(f"/shares/{marked.id}/concerns/{recipient.id}/respond").status_code == 403
    # One event per mark, in the trail.
    marks = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "protected_source.mark")
    ).all()
    assert len(marks) == 3


def test_form_errors_come_in_one_round(client, world, marked):
    sign_in_as(client, world.worker_b)
    url = f"/shares/{marked.id}/protected-sources/new"
    response = client.post(url, data={"name": "", "passages": "", "reason": ""})
    assert_form_error(response, "Enter the name of the person to protect")
    assert_form_error(response, "Enter why this person needs protecting")
    response = client.post(
        url, data={"name": "Nobody Here", "passages": "not in the record", "reason": "x"}
    )
    assert_form_error(response, "Enter a name exactly as this record gives it")
    assert_form_error(response, "Copy each passage exactly from the record")
    response = client.post(url, data={"name": "Jo", "passages": "", "reason": "x"})
    assert_form_error(response, "3 characters or more")
    assert db.session.scalar(db.select(db.func.count(ProtectedSource.id))) == 1


def test_a_name_is_hidden_as_a_whole_word_only(world, marked):
    redact = protected_sources.redactor_for(world.worker_a, world.case.id)
    assert redact("JANET HOLLIS said so") == f"{PLACEHOLDER} said so"
    assert redact("Janet Hollisworth") == "Janet Hollisworth"  # another person
    assert redact(None) is None
    assert protected_sources.redactor_for(world.auditor, world.case.id)(INFORMANT) == INFORMANT
    assert protected_sources.redactor_for(None, world.case.id)(INFORMANT) == PLACEHOLDER


def test_the_name_is_hidden_in_every_record_of_the_case(client, world, marked):
    """A name hidden in one record and left in the next protects nobody: challenges and
    decisions not to share on the case hide it too, on the page and through the API."""
    from tests.challenges.support import raise_one
    from tracker.services import no_share

    challenge = raise_one(world, what_happened=f"Police did not act on what {INFORMANT} said.")
    no_share.record_decision(
        world.worker_a,
        world.case,
        information=f"What {INFORMANT} told the school",
        agency_ids=[world.agency_b.id],
        reason_code="other",
        reason="Not needed",
        decided_at=datetime(2026, 11, 24, 9, 0),
    )
    for url in (f"/challenges/{challenge.id}", f"/cases/{world.case.id}"):
        assert INFORMANT not in page_text_of(client, world.worker_a, url), url
        assert INFORMANT in page_text_of(client, world.lead_b, url), url
    api = Api(client, {})
    for path in ("/challenges", f"/cases/{world.case.id}/no-share-decisions"):
        body = api.get(path, world.worker_a).get_data(as_text=True)
        assert INFORMANT not in body and PLACEHOLDER in body, path


def test_no_report_export_holds_it(client, world, marked, password_hash):
    """Reports are counts and references, never case text: a partnership lead (not an auditor)
    downloads every CSV and finds neither the name nor the passage."""
    from tests.conftest import add_person
    from tracker.models import Role
    from tracker.services import reports

    lead_p = add_person("Lead P", world.partnership, Role.LEAD, password_hash)
    db.session.commit()
    sign_in_as(client, lead_p)
    for name in reports.EXPORTS:
        response = client.get(f"/reports/{name}.csv")
        assert response.status_code == 200, name
        body = response.get_data(as_text=True)
        assert INFORMANT not in body and "Hollis" not in body and PASSAGE not in body, name
    assert "Subject access" not in page_text(client.get("/reports/"))  # auditors' only


def test_threshold_reasons_and_agreed_actions_hide_it(client, world, marked):
    """Golden rule 5 holds in every record of the case: another agency's threshold reason (and
    the challenge it prefills), a resolved challenge's agreed actions, and a decision not to
    share offered on the share form."""
    from tests.challenges.support import raise_one
    from tracker.services import challenges, no_share

    notes.record_threshold_view(
        world.worker_b,
        world.case,
        level=notes.threshold_levels()[0],
        reason=f"Based on what {INFORMANT} told us",
    )
    challenge = raise_one(world)
    challenges.resolve(
        world.worker_b,
        challenge,
        challenges.Resolution(
            agreed="Joint visit agreed",
            actions=[
                challenges.AgreedAction(
                    description=f"Police to speak to {INFORMANT} again",
                    owner=INFORMANT,
                    due_on=date(2026, 12, 4),
                )
            ],
            themes=[],
            practice_issue=False,
        ),
    )
    no_share.record_decision(
        world.worker_b,
        world.case,
        information=f"{INFORMANT}'s account of the night",
        agency_ids=[world.agency_a.id],
        reason_code="could_prejudice_enquiry",
        reason="Enquiry under way",
        decided_at=datetime(2026, 11, 24, 9, 30),
    )
    db.session.commit()
    urls = [
        f"/cases/{world.case.id}",
        f"/challenges/{challenge.id}",
        f"/cases/{world.case.id}/shares/new",
        f"/cases/{world.case.id}/shares/received",
    ]
    for url in urls:
        body = page_text_of(client, world.worker_a, url)
        assert INFORMANT not in body and "Hollis" not in body, url
        assert INFORMANT in page_text_of(client, world.worker_b, url), url
    assert "Joint visit agreed" in page_text_of(client, world.worker_a, urls[1])

    # A challenge about the level of need starts from Police's reason, as A may read it.
    sign_in_as(client, world.worker_a)
    client.get(f"/cases/{world.case.id}/challenges/new?from_threshold=1")
    client.post(f"/cases/{world.case.id}/challenges/new", data={"immediate_risk": "no"})
    body = page_text(client.get(f"/cases/{world.case.id}/challenges/new/details"))
    assert "Based on what [protected source] told us" in body and INFORMANT not in body
