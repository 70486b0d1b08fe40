"""Every problem in one round (issue 14, item 1): a multi-field form lists every problem, its
cross-field rules and the service's own rules included, in one error summary with a 400."""

from __future__ import annotations

from datetime import datetime

from tests.challenges.test_forms import open_challenge  # noqa: F401  (a fixture)
from tests.conftest import sign_in_as
from tests.helpers import error_summary
from tests.shares.test_cycle import share_data
from tests.shares.test_forms import make_share
from tracker.extensions import db
from tracker.models import Share


def summary_of(response) -> list[str]:
    assert response.status_code == 400, response.status_code
    return error_summary(response)


def test_an_empty_share_lists_every_problem_at_once(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    problems = summary_of(client.post(f"/cases/{world.case.id}/shares/new", data={}))
    assert sorted(problems) == sorted(
        [
            "Select at least one agency it was shared with",
            "Enter the date it was shared",
            "Enter the time it was shared",
            "Select how it was shared",
            "Enter what was shared",
            "Enter why it was shared",
            "Select the lawful basis for sharing",
            "Select whether consent was given",
            "Select whether a response is needed",
        ]
    )


def test_cross_field_rules_come_in_the_same_round_as_the_rest(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    data = share_data(
        world,
        recipient_agency_ids=[],
        shared_on=["25", "12", "2026"],  # tomorrow
        consent="refused",
        consent_reason="",
        summary="",
    )
    problems = summary_of(client.post(f"/cases/{world.case.id}/shares/new", data=data))
    assert sorted(problems) == sorted(
        [
            "Select at least one agency it was shared with",
            "The date and time shared must be now or in the past",
            "Enter what was shared",
            "Enter why the information was shared when consent was refused",
        ]
    )
    assert db.session.scalar(db.select(db.func.count(Share.id))) == 0


def test_a_share_received_lists_the_sender_with_the_rest(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    data = share_data(world, from_agency_id="0", consent="not_sought", consent_reason="")
    problems = summary_of(client.post(f"/cases/{world.case.id}/shares/received", data=data))
    assert "Select an agency involved in this case" in problems
    assert "Enter why consent was not sought" in problems


def test_an_amended_answer_needs_its_reason_in_the_same_round(client, world, frozen):
    recipient = make_share(client, world, frozen)
    sign_in_as(client, world.worker_b)
    url = f"/shares/{recipient.share_id}/concerns/{recipient.id}/respond"
    assert client.post(url, data={"action_taken": "Visited"}).status_code == 302
    problems = summary_of(client.post(url, data={"action_taken": ""}))
    assert problems == [
        "Enter what your agency did or decided",
        "Enter why you are amending the response",
    ]


def test_a_note_in_the_future_and_empty_in_one_round(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    problems = summary_of(
        client.post(
            f"/cases/{world.case.id}/notes/new",
            data={"kind": "lived_experience", "occurred_on": ["1", "1", "2027"], "text": ""},
        )
    )
    assert problems == ["The date must be today or in the past", "Enter the note"]


def test_a_new_case_lists_its_cross_field_rules_with_the_rest(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    problems = summary_of(
        client.post(
            "/cases/new",
            data={
                "child_name": "",
                "date_of_birth": ["1", "1", "2027"],
                "lead_agency_id": str(world.agency_a.id),
                "lead_professional_id": str(world.worker_b.id),  # works for agency B
            },
        )
    )
    assert problems == [
        "Enter the child's full name",
        "Date of birth must be today or in the past",
        "The lead professional must work for the lead agency",
    ]


def test_resolving_lists_every_action_problem_at_once(client, world, open_challenge):  # noqa: F811
    sign_in_as(client, world.lead_a)
    problems = summary_of(
        client.post(
            f"/challenges/{open_challenge.id}/resolve",
            data={
                "stage": "1",
                "agreed": "",
                "action_1": "Meet",
                "due_1": ["1", "1", "2020"],
                "action_2": "Call",
                "owner_2": "Lead A",
            },
        )
    )
    assert problems == [
        "Enter what was agreed",
        "Select yes if it showed a practice issue for the partnership",
        "Enter who owns the action",
        "An action's date must be today or later",
        "Enter the date the action is due by",
    ]


def test_an_invitation_lists_a_taken_address_with_the_rest(client, world):
    sign_in_as(client, world.admin)
    problems = summary_of(
        client.post("/admin/people/invite", data={"name": "", "email": world.worker_a.email})
    )
    assert "A person with this email address already exists" in problems
    assert len(problems) >= 3  # the name, the agency and the role too


def test_a_decision_not_to_share_lists_the_services_rules_with_a_blank_field(client, world):
    sign_in_as(client, world.worker_a)
    response = client.post(
        f"/cases/{world.case.id}/no-share/new",
        data={
            "information": "",  # the form's own rule
            # no agency chosen, a date in the future: the service's rules
            "reason_code": "other",
            "reason": "Because sharing would alert the father",
            "decided_on": ["1", "1", "2199"],
            "decided_time": "10:00",
        },
    )
    assert sorted(summary_of(response)) == sorted(
        [
            "Enter what information was considered",
            "Select the agencies the information was considered for",
            "The decision date must be now or in the past",
        ]
    )
    assert "Because sharing would alert the father" in response.get_data(as_text=True)


def test_a_decision_not_to_share_for_ones_own_agency_is_named_with_a_missing_reason(client, world):
    sign_in_as(client, world.worker_a)
    problems = summary_of(
        client.post(
            f"/cases/{world.case.id}/no-share/new",
            data={
                "information": "School report",
                "agency_ids": [str(world.agency_a.id)],
                "reason_code": "",
                "reason": "",
                "decided_on": ["1", "1", "2026"],
                "decided_time": "25:00",  # the time is wrong: the date is not judged again
            },
        )
    )
    assert sorted(problems) == sorted(
        [
            "Select other agencies: not your own agency",
            "Select the reason for not sharing",
            "Enter why the information was not shared",
            "Enter the time as hours and minutes, for example 14:30",
        ]
    )


def test_protecting_a_source_names_a_name_not_in_the_record_with_a_missing_reason(
    client, world, frozen
):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    assert (
        client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world)).status_code == 302
    )
    share = db.session.scalar(db.select(Share))
    response = client.post(
        f"/shares/{share.id}/protected-sources/new",
        data={"name": "Nobody Named Here", "passages": "not in it at all", "reason": ""},
    )
    assert sorted(summary_of(response)) == sorted(
        [
            "Enter a name exactly as this record gives it",
            "Copy each passage exactly from the record; not found: not in it at all",
            "Enter why this person needs protecting",
        ]
    )
    assert "Nobody Named Here" in response.get_data(as_text=True)


def test_a_share_naming_an_agency_twice_is_refused_with_the_rest(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    data = share_data(world, recipient_agency_ids=[str(world.agency_b.id)] * 2, summary="")
    problems = summary_of(client.post(f"/cases/{world.case.id}/shares/new", data=data))
    assert sorted(problems) == sorted(
        ["Name each agency once, with all its people together", "Enter what was shared"]
    )
    assert db.session.scalar(db.select(db.func.count(Share.id))) == 0
