"""The API names every problem of a request in one 422 (DESIGN invariant 6), as the web form
shows them in one round: a time it cannot read, the form's rules and the service's together."""

from __future__ import annotations

from tests.api.conftest import share_body
from tests.api.test_calls import outcome_url, raise_challenge
from tracker.extensions import db
from tracker.models import Concern, NoShareDecision, Share


def errors_of(response) -> dict[str, list[str]]:
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True))
    found: dict[str, list[str]] = {}
    for error in response.get_json()["errors"]:
        found.setdefault(error["field"], []).append(error["message"])
    return found


def test_a_share_with_a_time_it_cannot_read_names_the_consent_problem_too(api, world):
    body = share_body(world, shared_at="24/11/2026 09:15", consent="refused", consent_reason=None)
    errors = errors_of(api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=body))
    assert errors == {
        "shared_at": ["Enter the date and time with a time zone, for example 2026-11-25T14:30:00Z"],
        "consent_reason": ["Enter why the information was shared when consent was refused"],
    }


def test_a_share_names_a_recipient_problem_with_a_form_problem(api, world):
    body = share_body(
        world,
        recipients=[{"agency_id": world.agency_c.id}],  # not involved in the case
        consent="refused",
        consent_reason=None,
    )
    errors = errors_of(api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=body))
    assert errors == {
        "consent_reason": ["Enter why the information was shared when consent was refused"],
        "recipients": ["Select agencies involved in this case (add an agency to the case first)"],
    }


def test_an_agency_named_twice_is_refused_not_half_dropped(api, world):
    body = share_body(
        world,
        recipients=[
            {"agency_id": world.agency_b.id, "people_names": "DC Patel"},
            {"agency_id": world.agency_b.id, "people_names": "DS Jones"},
        ],
    )
    errors = errors_of(api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=body))
    assert errors == {"recipients": ["Name each agency once, with all its people together"]}
    assert db.session.scalar(db.select(db.func.count(Concern.id))) == 0


def test_a_decision_with_a_time_it_cannot_read_names_the_services_problems_too(api, world):
    body = {
        "information": "School report",
        "agency_ids": [world.agency_a.id],  # the caller's own agency: the service's rule
        "reason_code": "more_detrimental_to_child",
        "reason": "Would put the child at risk",
        "decided_at": "yesterday",
    }
    response = api.post(f"/cases/{world.case.id}/no-share-decisions", world.worker_a, json=body)
    assert errors_of(response) == {
        "decided_at": [
            "Enter the date and time with a time zone, for example 2026-11-25T14:30:00Z"
        ],
        "agency_ids": ["Select other agencies: not your own agency"],
    }
    assert db.session.scalar(db.select(db.func.count(NoShareDecision.id))) == 0


def test_an_over_long_optional_text_gets_a_length_message_not_the_value(api, world):
    body = share_body(
        world,
        consent_reason="y" * 3000,
        from_person_name="z" * 300,
        recipients=[{"agency_id": world.agency_b.id, "people_names": "x" * 600}],
    )
    errors = errors_of(api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=body))
    assert errors == {
        "consent_reason": ["consent_reason must be 2000 characters or fewer"],
        "from_person_name": ["from_person_name must be 120 characters or fewer"],
        "recipients.0.people_names": ["recipients.0.people_names must be 500 characters or fewer"],
    }
    assert db.session.scalar(db.select(db.func.count(Share.id))) == 0


def test_an_optional_text_of_the_wrong_type_says_what_it_may_be(api, world):
    body = share_body(world, consent_reason=["y" * 300])
    errors = errors_of(api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=body))
    assert errors == {"consent_reason": ["consent_reason must be a string or null"]}


def test_a_decision_of_only_invisible_characters_is_asked_for(api, world):
    """The API's decisions not to share reach the service without a form: it takes text as a
    form does, so what shows nothing is no answer there too."""
    body = {
        "information": "\u200b\u2060",
        "agency_ids": [world.agency_b.id],
        "reason_code": "more_detrimental_to_child",
        "reason": "\ufeff",
        "decided_at": "2025-01-06T10:00:00Z",
    }
    response = api.post(f"/cases/{world.case.id}/no-share-decisions", world.worker_a, json=body)
    assert set(errors_of(response)) == {"information", "reason"}
    assert db.session.scalar(db.select(db.func.count(NoShareDecision.id))) == 0


def test_a_time_in_a_form_rfc_3339_does_not_allow_is_refused(api, world):
    """The schema says RFC 3339 (format: date-time): Python reads much more of ISO 8601, and a
    client sending one of those forms would be relying on a reading the API does not promise."""
    message = ["Enter the date and time with a time zone, for example 2026-11-25T14:30:00Z"]
    for loose in (
        "2026-11-24 09:15:00Z",  # a space for the T
        "20261124T091500Z",  # ISO 8601 basic format
        "2026-W48-2T09:15:00Z",  # a week date
        "2026-11-24T09:15Z",  # no seconds
        "2026-11-24T09Z",  # the hour alone
        "2026-11-24T09:15:00+0000",  # an offset without its colon
        "2026-11-24T09:15:00",  # no offset at all
        "２０２６-11-24T09:15:00Z",  # full-width digits
    ):
        body = share_body(world, shared_at=loose)
        errors = errors_of(api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=body))
        assert errors == {"shared_at": message}, loose
    assert db.session.scalar(db.select(db.func.count(Share.id))) == 0
    for strict in (
        "2026-11-24T09:15:00Z",
        "2026-11-24t09:15:00.5+00:00",
        "2026-11-24T10:15:00+01:00",
    ):
        response = api.post(
            f"/cases/{world.case.id}/shares",
            world.worker_a,
            json=share_body(world, shared_at=strict),
        )
        assert response.status_code == 201, (strict, response.get_json())


def test_a_resolution_with_a_due_date_it_cannot_read_names_the_other_problems_too(api, world):
    challenge = raise_challenge(api, world)
    body = {
        "outcome": "resolve",
        "text": "Police will answer by Friday",
        "actions": [
            {"description": "Send call-outs", "owner": "DC Patel", "due_on": "27/11/2026"},
            {"description": "Book the room", "owner": "DS Jones", "due_on": "2020-01-06"},
        ],
    }  # and no practice_issue: the web form asks for it
    errors = errors_of(api.post(outcome_url(challenge), world.worker_b, json=body))
    assert set(errors) == {"actions.0.due_on", "actions.1.due_on", "practice_issue"}, errors
    assert errors["actions.0.due_on"] == ["Enter a date as YYYY-MM-DD, for example 2026-11-25"]


def test_a_blank_field_is_named_once(api, world):
    challenge = raise_challenge(api, world)
    body = {
        "outcome": "resolve",
        "text": "Police will answer by Friday",
        "practice_issue": False,
        "actions": [
            {"description": " ", "owner": "DC Patel", "due_on": "2026-11-30"},
            {"description": "Book the room", "owner": "", "due_on": "2026-11-30"},
        ],
    }
    errors = errors_of(api.post(outcome_url(challenge), world.worker_b, json=body))
    assert errors == {
        "actions.0.description": ["Enter the action"],
        "actions.1.owner": ["Enter who owns the action"],
    }, errors
