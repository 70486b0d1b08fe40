"""Subject access requests: due dates, the review of each item, and the pack."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime

import pytest

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, error_summary, page_text
from tracker.extensions import db
from tracker.models import AuditEvent, SubjectAccessRequest
from tracker.services import notes, protected_sources, sharing, subject_access

NOTE_TEXT = "Child said her uncle shouts at night and her teacher Ms Grey helps her."
WITHHELD_TEXT = "Strategy discussion notes about the father's bail conditions"


@pytest.mark.parametrize(
    "received, months, due",
    [
        (date(2026, 1, 15), 1, date(2026, 2, 15)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # no 31 February: the month's last day
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # extended by two further months
        (date(2026, 12, 1), 1, date(2027, 1, 1)),
    ],
)
def test_due_dates_are_calendar_months(received, months, due):
    assert subject_access.add_months(received, months) == due


@pytest.fixture
def records(world, frozen):
    """A's note, B's share to A, and A's decision not to share, on the world's case."""
    frozen(datetime(2026, 11, 24, 10, 0))
    note = notes.record_note(
        world.worker_a,
        world.case,
        kind="lived_experience",
        occurred_on=date(2026, 11, 20),
        text=NOTE_TEXT,
        themes=[],
    )
    share = sharing.record_share(
        world.worker_b,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_b.id,
        recipients=[sharing.Recipient(agency_id=world.agency_a.id)],
        details=sharing.ShareDetails(
            shared_at=datetime(2026, 11, 21, 9, 0),
            method="phone",
            summary=WITHHELD_TEXT,
            purpose="Informant Rita Moss reported the father back at the address",
            lawful_basis="art6_1e_public_task",
            consent="not_sought",
            consent_reason="Seeking consent could place the child at risk",
        ),
        needs_response=False,
    )
    db.session.commit()
    protected_sources.mark(
        world.worker_b,
        "share",
        share,
        name="Rita Moss",
        passages="",
        reason="Her safety",
    )
    return note, share


def record(client, world, **changes):
    data = {
        "requester_name": "Alex One",
        "requester_relationship": "Parent",
        "case_reference": world.case.reference,
        "person_named": "",
        "received_on": ["24", "11", "2026"],
    }
    data.update(changes)
    sign_in_as(client, world.auditor)
    return client.post("/subject-access/new", data=data)


def test_a_request_is_recorded_with_its_due_date(client, world, records):
    response = record(client, world)
    assert response.status_code == 302
    request = db.session.scalar(db.select(SubjectAccessRequest))
    assert request.case_id == world.case.id and request.due_on == date(2026, 12, 24)
    assert "24 December 2026" in page_text(client.get(response.headers["Location"]))
    assert db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "subject_access.record")
    )


def test_request_form_errors_come_in_one_round(client, world, records):
    response = record(
        client,
        world,
        requester_name="",
        requester_relationship="",
        case_reference="",
        received_on=["", "", ""],
    )
    summary = error_summary(response)
    assert response.status_code == 400
    assert "Enter who made the request" in summary
    assert any(line.startswith("Enter who they are") for line in summary)
    assert "Enter the date the request was received" in summary
    assert_form_error(record(client, world, case_reference="NOPE-1"), "No case has that reference")
    assert_form_error(
        record(client, world, person_named="Child One"),
        "Give a case reference or a person's name, not both",
    )
    assert_form_error(
        record(client, world, received_on=["1", "1", "2027"]),
        "The date received must be today or in the past",
    )
    assert_form_error(record(client, world, received_on=["31", "2", "2026"]), "Enter a real date")
    # The rules that need the database or today come with the form's own, not a round later.
    summary = error_summary(
        record(
            client,
            world,
            requester_name="",
            case_reference="NOPE-1",
            received_on=["1", "1", "2027"],
        )
    )
    assert summary == [
        "Enter who made the request",
        "No case has that reference",
        "The date received must be today or in the past",
    ], summary
    summary = error_summary(
        record(client, world, requester_relationship="", person_named="Child One")
    )
    assert summary == [
        "Enter who they are (the child, a parent, someone acting for them)",
        "Give a case reference or a person's name, not both",
    ], summary
    assert db.session.scalar(db.select(db.func.count(SubjectAccessRequest.id))) == 0


def gathered(client, world) -> SubjectAccessRequest:
    record(client, world)
    request = db.session.scalar(db.select(SubjectAccessRequest))
    assert client.post(f"/subject-access/{request.id}/assemble").status_code == 302
    db.session.refresh(request)
    return request


def item_for(request, text: str) -> subject_access.ItemView:
    return next(v for v in subject_access.item_views(request) if text in v.text)


def test_the_pack_has_no_protected_source_no_withheld_item_and_records_exemptions(
    client, world, records
):
    request = gathered(client, world)
    kinds = sorted(i.kind for i in request.items)
    assert kinds == ["case", "note", "share"]
    url = f"/subject-access/{request.id}/items"
    note_item = item_for(request, "Ms Grey")
    share_item = item_for(request, WITHHELD_TEXT)
    case_item = item_for(request, "Child One")
    # The protected source is gone before anyone reviews the item.
    assert "Rita Moss" not in share_item.text and "[protected source]" in share_item.text
    assert client.get(f"{url}/{share_item.item.id}").status_code == 200
    # Producing the pack before every item is reviewed is refused, with the reason.
    assert_form_error(
        client.post(f"/subject-access/{request.id}/complete"), "Review every item first: 3"
    )
    assert (
        client.post(
            f"{url}/{note_item.item.id}",
            data={
                "decision": "redacted",
                "exemption": "sch2_part3_third_party",
                "passages": "her teacher Ms Grey",
            },
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"{url}/{share_item.item.id}",
            data={"decision": "withheld", "exemption": "sch2_part1_crime", "passages": ""},
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"{url}/{case_item.item.id}", data={"decision": "released", "passages": ""}
        ).status_code
        == 302
    )
    assert client.post(f"/subject-access/{request.id}/complete").status_code == 302

    page = page_text(client.get(f"/subject-access/{request.id}/pack"))
    zipped = client.get(f"/subject-access/{request.id}/pack.zip")
    assert zipped.status_code == 200
    with zipfile.ZipFile(io.BytesIO(zipped.get_data())) as pack:
        manifest = json.loads(pack.read("manifest.json"))
        files = "".join(pack.read(n).decode() for n in pack.namelist())
    for text in (page, files):
        assert "Child said her uncle shouts at night and [redacted]" in text
        assert "Ms Grey" not in text and "Rita Moss" not in text
        assert WITHHELD_TEXT not in text and "bail" not in text  # withheld: not in the pack
        assert "Prevention or detection of crime" not in text  # nor why it was withheld
    # The pack is in date order. The case item is dated when the world's case was opened (the
    # test clock's start, TRACKER_TEST_NOW), the note 20 Nov: which comes first follows the clock.
    in_date_order = sorted(
        [
            (case_item.item.occurred_at, case_item.item.id, "released"),
            (note_item.item.occurred_at, note_item.item.id, "redacted"),
        ]
    )
    assert [i["decision"] for i in manifest["items"]] == [d for _, _, d in in_date_order]
    [redacted] = [i for i in manifest["items"] if i["decision"] == "redacted"]
    assert redacted["exemptions"] == [
        "Information identifying a third party (DPA 2018 Schedule 2 Part 3 paragraph 16)"
    ]
    assert redacted["redactions"] == 1 and redacted["reviewed_by"] == "Auditor"
    assert "Schedule 2 Part 3 paragraph 16" in page
    # What was withheld and why stays in the tracker.
    body = page_text(client.get(f"/subject-access/{request.id}"))
    assert "Withheld" in body and "Prevention or detection of crime" in body
    # The decisions are final once the pack is produced.
    assert_form_error(
        client.post(
            f"{url}/{case_item.item.id}",
            data={"decision": "withheld", "exemption": "sch2_part1_crime"},
        ),
        "The pack has been produced: its decisions are final",
    )
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.object_kind == "subject_access_request")
    ).all()
    assert {
        "subject_access.review",
        "subject_access.complete",
        "subject_access.pack_export",
    } <= set(actions)


def test_review_errors_come_in_one_round(client, world, records):
    request = gathered(client, world)
    note_item = item_for(request, "Ms Grey")
    url = f"/subject-access/{request.id}/items/{note_item.item.id}"
    response = client.post(url, data={"decision": "redacted", "passages": ""})
    assert_form_error(response, "Choose the exemption that applies")
    assert_form_error(response, "Enter the passages to redact, one a line")
    assert_form_error(
        client.post(
            url,
            data={
                "decision": "redacted",
                "exemption": "sch2_part3_third_party",
                "passages": "Mr Black",
            },
        ),
        "Copy each passage exactly from the item",
    )
    assert_form_error(client.post(url, data={}), "Choose release, redact or withhold")
    assert_form_error(
        client.post(url, data={"decision": "withheld", "exemption": "made_up"}),
        "Choose the exemption that applies",
    )
    assert_form_error(client.post(url, data={"decision": "withheld"}), "Choose the exemption")
    db.session.refresh(note_item.item)
    assert note_item.item.decision == "pending"


def test_gathering_twice_adds_only_what_is_new(client, world, records):
    request = gathered(client, world)
    assert subject_access.assemble(world.auditor, request) == 0
    notes.record_note(
        world.worker_a,
        world.case,
        kind="significant_event",
        occurred_on=date(2026, 11, 24),
        text="Moved to her grandmother's",
        themes=[],
    )
    assert subject_access.assemble(world.auditor, request) == 1
    assert len(request.items) == 4


def test_a_request_about_a_person_named_finds_records_across_cases(client, world, records):
    sign_in_as(client, world.auditor)
    record(client, world, case_reference="", person_named="ms grey")
    request = db.session.scalar(db.select(SubjectAccessRequest))
    subject_access.assemble(world.auditor, request)
    assert [i.kind for i in request.items] == ["note"]


def test_overdue_requests_show_on_the_auditors_home_page_and_reports(
    client, world, records, frozen
):
    record(client, world)
    request = db.session.scalar(db.select(SubjectAccessRequest))
    frozen(datetime(2026, 12, 24, 12, 0))  # the due day itself: not yet overdue
    assert "No subject access request is past its due date" in page_text(client.get("/"))
    frozen(datetime(2026, 12, 29, 12, 0))
    home = page_text(client.get("/"))
    assert f"SAR-{request.id}" in home and "Overdue" in home
    assert f"SAR-{request.id}" in page_text(client.get("/reports/"))
    # Past its month it can no longer be extended (Article 12(3)): it stays overdue.
    assert_form_error(
        client.post(
            f"/subject-access/{request.id}/extend",
            data={"months": "1", "reason": "Records held by four agencies"},
        ),
        "An extension must be made by 24 December 2026, within one month of receiving the request",
    )
    assert f"SAR-{request.id}" in page_text(client.get("/"))
    # Extended by a month (with a reason) within its month, it is not overdue on the 29th.
    frozen(datetime(2026, 12, 23, 12, 0))
    assert_form_error(
        client.post(f"/subject-access/{request.id}/extend", data={"months": "3"}),
        "Choose one or two further months",
    )
    response = client.post(
        f"/subject-access/{request.id}/extend",
        data={"months": "1", "reason": "Records held by four agencies"},
    )
    assert response.status_code == 302
    db.session.refresh(request)
    assert request.extended_to == date(2027, 1, 24)
    frozen(datetime(2026, 12, 29, 12, 0))
    assert f"SAR-{request.id}" not in page_text(client.get("/"))
    # Nobody but an auditor sees the block.
    sign_in_as(client, world.lead_a)
    assert "Subject access" not in page_text(client.get("/"))


def test_twin_clicks_gather_once_and_produce_the_pack_once(app, client, world, records):
    """Several workers at once: the items are gathered once, and the pack produced once."""
    from tests.api.test_concurrency import WORKERS, at_once
    from tracker.models import Person, SubjectAccessItem

    record(client, world)
    request_id = db.session.scalar(db.select(SubjectAccessRequest.id))
    auditor_id = world.auditor.id

    def gather():
        request = db.session.get(SubjectAccessRequest, request_id)
        return subject_access.assemble(db.session.get(Person, auditor_id), request)

    assert sorted(at_once(app, gather)) == [0] * (WORKERS - 1) + [3]
    assert db.session.scalar(db.select(db.func.count(SubjectAccessItem.id))) == 3
    request = db.session.get(SubjectAccessRequest, request_id)
    for view in subject_access.item_views(request):
        subject_access.review(
            world.auditor, request, view, decision="released", exemption=None, passages=""
        )

    def produce():
        request = db.session.get(SubjectAccessRequest, request_id)
        try:
            subject_access.complete(db.session.get(Person, auditor_id), request)
        except subject_access.SubjectAccessError as error:
            return str(error)
        return "produced"

    results = at_once(app, produce)
    assert results.count("produced") == 1
    assert set(results) == {"produced", "The pack has already been produced"}
    completions = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "subject_access.complete")
    ).all()
    assert len(completions) == 1
