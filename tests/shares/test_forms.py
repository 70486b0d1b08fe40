"""Every sharing form refuses bad input with the error summary and a 4xx, and saves nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error
from tests.shares.test_cycle import share_data
from tracker.extensions import db
from tracker.models import Concern, ConcernResponse, Share
from tracker.services import cases


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"recipient_agency_ids": []}, "Select at least one agency it was shared with"),
        ({"recipient_agency_ids": ["{a}"]}, "you cannot share with your own agency"),
        ({"recipient_agency_ids": ["{a}", "{b}"]}, "you cannot share with your own agency"),
        ({"recipient_agency_ids": ["{c}"]}, "Select agencies involved in this case"),
        ({"recipient_agency_ids": ["oops"]}, "Select agencies involved in this case"),
        ({"shared_on": ["25", "12", "2026"]}, "must be now or in the past"),
        ({"shared_on": ["24", "12", "2026"], "shared_time": "11:00"}, "now or in the past"),
        ({"shared_on": ["", "", ""]}, "Enter the date it was shared"),
        ({"shared_on": ["31", "2", "2026"]}, "Enter a real date"),
        ({"shared_time": ""}, "Enter the time it was shared"),
        ({"shared_time": "25:00"}, "Enter the time as hours and minutes"),
        ({"method": ""}, "Select how it was shared"),
        ({"method": "pigeon"}, "Select how it was shared"),
        ({"summary": ""}, "Enter what was shared"),
        ({"purpose": ""}, "Enter why it was shared"),
        ({"lawful_basis": "because"}, "Select the lawful basis for sharing"),
        ({"consent": ""}, "Select whether consent was given"),
        ({"consent": "refused", "consent_reason": ""}, "Enter why the information was shared"),
        ({"consent": "not_sought", "consent_reason": "  "}, "Enter why consent was not sought"),
        ({"themes": ["gossip"]}, "Select learning themes from the list"),
        ({"needs_response": ""}, "Select whether a response is needed"),
        ({"priority": "whenever"}, "Select standard or urgent"),
        ({"summary": "bad\x00text"}, "must not contain control characters"),
        ({"summary": "x" * 5001}, "5000 characters or fewer"),
    ],
)
def test_bad_share_input(client, world, frozen, overrides, message):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    ids = {"a": world.agency_a.id, "b": world.agency_b.id, "c": world.agency_c.id}
    for key, value in overrides.items():
        if isinstance(value, list):
            overrides[key] = [v.format(**ids) for v in value]
    response = client.post(
        f"/cases/{world.case.id}/shares/new", data=share_data(world, **overrides)
    )
    assert_form_error(response, message)
    assert count(Share) == 0


def test_sharing_only_with_ones_own_agency_is_refused(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    # The form only offers other agencies; a tampered post naming one's own is refused too.
    response = client.post(
        f"/cases/{world.case.id}/shares/received",
        data=share_data(world, from_agency_id=str(world.agency_a.id), recipient_agency_ids=[]),
    )
    assert_form_error(response, "Select an agency from the list")
    assert count(Share) == 0


def test_service_refuses_own_agency_as_recipient(app, world, frozen):
    from tracker.services import sharing

    frozen(datetime(2026, 12, 24, 10, 30))
    details = sharing.ShareDetails(
        shared_at=datetime(2026, 12, 24, 10, 0),
        method="phone",
        summary="s",
        purpose="p",
        lawful_basis="art6_1e_public_task",
        consent="given",
    )
    with pytest.raises(sharing.ShareError, match="cannot share with your own agency") as error:
        sharing.record_share(
            world.worker_a,
            world.case,
            recorded_as=sharing.SENT,
            from_agency_id=world.agency_a.id,
            recipients=[sharing.Recipient(world.agency_a.id)],
            details=details,
            needs_response=True,
        )
    assert error.value.field == "recipient_agency_ids"


def test_record_a_share_received(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_b)
    response = client.post(
        f"/cases/{world.case.id}/shares/received",
        data=share_data(world, from_agency_id=str(world.agency_a.id), recipient_agency_ids=[]),
    )
    assert response.status_code == 302
    share = db.session.scalar(db.select(Share))
    assert share.recorded_as == "received" and share.from_agency_id == world.agency_a.id
    assert [r.agency_id for r in share.recipients] == [world.agency_b.id]
    # B owes the response it recorded; A sees it awaiting.
    assert share.recipients[0].due_at == datetime(2026, 12, 31, 17, 0)


def test_urgent_concern_is_due_next_working_day(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world, priority="urgent"))
    assert db.session.scalar(db.select(Concern.due_at)) == datetime(2026, 12, 29, 17, 0)


def test_no_response_needed_is_not_a_concern(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world, needs_response="no"))
    recipient = db.session.scalar(db.select(Concern))
    assert recipient.state == "no_response_needed" and recipient.due_at is None


def make_share(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world))
    return db.session.scalar(db.select(Concern))


def test_response_on_another_agencys_concern_is_refused(client, world, frozen):
    recipient = make_share(client, world, frozen)
    url = f"/shares/{recipient.share_id}/concerns/{recipient.id}/respond"
    # The sender (A) tries to answer B's concern: error summary, nothing saved.
    for person in (world.worker_a, world.lead_a):
        sign_in_as(client, person)
        assert_form_error(client.post(url, data={"action_taken": "Done"}), "Only Agency B Police")
        response = client.post(
            f"/shares/{recipient.share_id}/concerns/{recipient.id}/acknowledge",
            data={"acknowledge": "1"},
        )
        assert_form_error(response, "Only Agency B Police")
    assert count(ConcernResponse) == 0
    db.session.expire_all()
    assert recipient.state == "awaiting_response"


def test_empty_response_and_amendment_reasons(client, world, frozen):
    recipient = make_share(client, world, frozen)
    sign_in_as(client, world.worker_b)
    url = f"/shares/{recipient.share_id}/concerns/{recipient.id}/respond"
    assert_form_error(client.post(url, data={"action_taken": ""}), "Enter what your agency did")
    sign_in_as(client, world.worker_a)
    amend = f"/shares/{recipient.share_id}/amend"
    assert_form_error(
        client.post(amend, data=share_data(world, reason="")), "Enter why you are amending"
    )
    assert_form_error(
        client.post(amend, data=share_data(world, shared_on=["1", "1", "2027"], reason="x")),
        "now or in the past",
    )
    # Only the recording agency amends its share.
    sign_in_as(client, world.worker_b)
    assert_form_error(
        client.post(amend, data=share_data(world, reason="mine now")), "Only the agency that"
    )
    assert len(db.session.get(Share, recipient.share_id).versions) == 1


def test_worker_only_shares_on_cases_their_agency_works_on(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_c)
    response = client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world))
    assert response.status_code == 404
    assert count(Share) == 0


def test_recipient_removed_from_case_cannot_be_shared_with(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    involvement = next(i for i in world.case.involvements if i.agency_id == world.agency_b.id)
    cases.remove_agency(world.worker_a, world.case, involvement.id, "Case closed to police")
    sign_in_as(client, world.worker_a)
    response = client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world))
    assert_form_error(response, "Select agencies involved in this case")
