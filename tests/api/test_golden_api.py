"""The golden rules through the API: the same rules, in one round, field by field; the loop to
the sender; ratings; decisions not to share. Every response matches the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from tests.api.conftest import assert_problem, share_body
from tests.api.test_openapi import validate
from tracker.extensions import db


def _document(api) -> dict:
    return api.client.get("/api/v1/openapi.json").get_json()


def test_the_law_s_rules_are_refused_in_one_round(api, world):
    case = f"/cases/{world.case.id}/shares"
    for basis in ("art6_1f_legitimate_interests", "art6_1ea_recognised_legitimate_interests"):
        response = api.post(case, world.worker_a, json=share_body(world, lawful_basis=basis))
        assert_problem(response, 422, "lawful_basis", "is a public authority")
    response = api.post(
        case,
        world.worker_a,
        json=share_body(
            world,
            lawful_basis="art6_1a_consent",
            consent="refused",
            consent_reason="Risk",
            special_category=True,
        ),
    )
    body = assert_problem(response, 422)
    assert {e["field"] for e in body["errors"]} == {"special_category_circumstance", "consent"}
    validate(_document(api), "/api/v1/cases/{case_id}/shares", "POST", response)


def test_a_share_carries_the_new_fields(api, world):
    world.case.nhs_number = "9434765919"
    db.session.commit()
    response = api.post(
        f"/cases/{world.case.id}/shares",
        world.worker_a,
        json=share_body(
            world,
            special_category=True,
            special_category_circumstance="consent_cannot_be_given",
            rating="red",
        ),
    )
    assert response.status_code == 201, response.get_json()
    share = response.get_json()
    assert share["nhs_number"] == "9434765919" and share["identifier_absent"] is None
    assert share["special_category_circumstance"] == "consent_cannot_be_given"
    # Shared Tuesday 09:15 (GMT), red: four working hours.
    assert share["rating"] == "red"
    assert share["concerns"][0]["due_at"] == "2026-11-24T13:15:00Z"
    assert share["concerns"][0]["loop_stage"] == "sent"
    document = _document(api)
    validate(document, "/api/v1/cases/{case_id}/shares", "POST", response)
    case = api.get(f"/cases/{world.case.id}", world.worker_a)
    assert case.get_json()["nhs_number"] == "9434765919"
    validate(document, "/api/v1/cases/{case_id}", "GET", case)


def test_the_loop_back_to_the_sender_and_re_rating(api, world):
    document = _document(api)
    share = api.post(
        f"/cases/{world.case.id}/shares", world.worker_a, json=share_body(world, rating="green")
    ).get_json()
    concern_id = share["concerns"][0]["id"]

    seen = api.get(f"/shares/{share['id']}", world.worker_b)
    validate(document, "/api/v1/shares/{share_id}", "GET", seen)
    concern = seen.get_json()["concerns"][0]
    assert concern["loop_stage"] == "viewed" and concern["viewed_by"] == "Worker B"

    ack = api.post(f"/concerns/{concern_id}/acknowledgement", world.worker_b, json={})
    validate(document, "/api/v1/concerns/{concern_id}/acknowledgement", "POST", ack)
    assert ack.get_json()["loop_stage"] == "acknowledged"
    again = api.post(f"/concerns/{concern_id}/acknowledgement", world.worker_b, json={})
    assert_problem(again, 422, "acknowledge", "already been acknowledged")

    rerated = api.post(
        f"/shares/{share['id']}/rating",
        world.worker_b,
        json={"rating": "red", "rationale": "A new injury"},
    )
    validate(document, "/api/v1/shares/{share_id}/rating", "POST", rerated)
    assert rerated.get_json()["concerns"][0]["due_at"] == "2026-11-24T13:15:00Z"
    missing = api.post(f"/shares/{share['id']}/rating", world.worker_b, json={"rating": "amber"})
    assert_problem(missing, 422, "rationale")

    wrong = api.post(f"/concerns/{concern_id}/outcome", world.worker_a, json={"outcome": "other"})
    body = assert_problem(wrong, 422)
    assert {e["field"] for e in body["errors"]} == {"outcome", "outcome_detail"}
    done = api.post(
        f"/concerns/{concern_id}/outcome",
        world.worker_b,
        json={"outcome": "added_to_assessment"},
    )
    validate(document, "/api/v1/concerns/{concern_id}/outcome", "POST", done)
    assert done.get_json()["outcome"] == "added_to_assessment"
    assert done.get_json()["loop_stage"] == "outcome_recorded"
    theirs = api.get("/concerns/awaiting-them", world.worker_a).get_json()["items"]
    assert theirs[0]["viewed_by"] == "Worker B"


def test_decisions_not_to_share(api, world, frozen):
    document = _document(api)
    path = f"/cases/{world.case.id}/no-share-decisions"
    bad = api.post(
        path,
        world.worker_a,
        json={
            "information": "x",
            "agency_ids": [world.agency_a.id],
            "reason_code": "other",
            "reason": "y",
            "decided_at": "2026-12-24T09:00:00Z",
        },
    )
    body = assert_problem(bad, 422)
    assert {e["field"] for e in body["errors"]} == {"agency_ids", "decided_at"}
    created = api.post(
        path,
        world.worker_a,
        json={
            "information": "Father's conviction",
            "agency_ids": [world.agency_b.id],
            "reason_code": "more_detrimental_to_child",
            "reason": "Would alert the father",
            "decided_at": "2026-11-24T09:00:00Z",
        },
    )
    validate(document, "/api/v1/cases/{case_id}/no-share-decisions", "POST", created)
    decision = created.get_json()
    share = api.post(
        f"/cases/{world.case.id}/shares",
        world.worker_a,
        json=share_body(world, revisits_decision_id=decision["id"]),
    )
    assert share.get_json()["revisits_decision_id"] == decision["id"]
    listed = api.get(path, world.worker_b)
    validate(document, "/api/v1/cases/{case_id}/no-share-decisions", "GET", listed)
    assert listed.get_json()["items"][0]["revisited_by_share_ids"] == [share.get_json()["id"]]
    assert api.get(path, world.worker_c).status_code == 404
    assert_problem(api.post(path, world.auditor, json={}), 403)
    frozen(datetime(2026, 11, 24, 10, 0))
