"""Every API call: success, wrong token (401), another agency's case (404), bad input (422
problem+json, field by field), and for create calls a retry with the same Idempotency-Key."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.api.conftest import assert_problem, share_body
from tracker.extensions import db
from tracker.models import AuditEvent, Challenge, ConcernResponse, Share

WRONG = "sct_not-a-real-token"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def make_share(api, world, **changes) -> dict:
    response = api.post(
        f"/cases/{world.case.id}/shares", world.worker_a, json=share_body(world, **changes)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def raise_challenge(api, world, **changes) -> dict:
    body = {
        "immediate_risk": False,
        "about_agency_id": world.agency_b.id,
        "kind": "no_response",
        "what_happened": "Police did not answer our request about call-outs",
        "outcome_wanted": "An answer this week",
        "urgent": False,
    }
    body.update(changes)
    response = api.post(f"/cases/{world.case.id}/challenges", world.worker_a, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- reading ------------------------------------------------------------------------------------

READS = [
    "/cases",
    "/cases/{case}",
    "/cases/{case}/shares",
    "/cases/{case}/chronology",
    "/concerns/awaiting-us",
    "/concerns/awaiting-them",
    "/challenges",
]


@pytest.mark.parametrize("path", READS)
def test_reads_refuse_a_wrong_missing_or_malformed_token(api, world, path):
    path = path.format(case=world.case.id)
    for headers in ({}, {"Authorization": f"Bearer {WRONG}"}, {"Authorization": "Basic abc"}):
        response = api.client.get(f"/api/v1{path}", headers=headers)
        body = assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "token" in body["detail"]


@pytest.mark.parametrize(
    "path", ["/cases/{case}", "/cases/{case}/shares", "/cases/{case}/chronology"]
)
def test_another_agencys_case_is_not_found_as_on_the_web(api, world, path):
    path = path.format(case=world.case.id)
    assert_problem(api.get(path, world.worker_c), 404)
    assert_problem(api.get(path.replace(str(world.case.id), "999"), world.worker_a), 404)
    assert api.get(path, world.worker_a).status_code == 200
    assert api.get(path, world.auditor).status_code == 200  # auditors read every case


def test_cases_list_only_the_callers_agencys_cases_and_audits_the_view(api, world):
    response = api.get("/cases", world.worker_a)
    assert response.status_code == 200
    assert [c["reference"] for c in response.get_json()["items"]] == [world.case.reference]
    assert api.get("/cases", world.worker_c).get_json()["items"] == []
    shown = events("case.list")
    assert shown and shown[-1].person_id == world.worker_a.id
    assert_problem(api.get("/cases?status=lost", world.worker_a), 422, "status")
    assert_problem(api.get("/cases?created_from=25-11-2026", world.worker_a), 422, "created_from")
    assert_problem(api.get("/cases?limit=1000", world.worker_a), 422, "limit")
    assert_problem(api.get("/cases?cursor=!!", world.worker_a), 422, "cursor")
    assert_problem(api.get("/cases", world.admin), 403)  # admins read no case content


def test_one_case_is_audited_as_a_view(api, world):
    body = api.get(f"/cases/{world.case.id}", world.worker_b).get_json()
    assert body["reference"] == world.case.reference
    assert {a["id"] for a in body["agencies"]} == {world.agency_a.id, world.agency_b.id}
    assert events("case.view")[-1].person_id == world.worker_b.id


def test_cursor_pages_walk_every_share_once(api, world):
    ids = [make_share(api, world, summary=f"Share {n}")["id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = api.get(f"/cases/{world.case.id}/shares{query}", world.worker_b).get_json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    assert_problem(
        api.get(f"/cases/{world.case.id}/shares?recorded_from=yesterday", world.worker_a),
        422,
        "recorded_from",
    )
    filtered = api.get(
        f"/cases/{world.case.id}/shares?recorded_from=2026-11-25", world.worker_a
    ).get_json()
    assert filtered["items"] == []  # recorded on the 24th


def test_chronology_filters_and_bad_filters(api, world):
    make_share(api, world)
    body = api.get(f"/cases/{world.case.id}/chronology?kind=share", world.worker_b).get_json()
    assert [e["kind"] for e in body["items"]] == ["share"]
    assert events("chronology.view")[-1].person_id == world.worker_b.id
    empty = api.get(f"/cases/{world.case.id}/chronology?to=2026-11-23", world.worker_b)
    assert empty.get_json()["items"] == []
    assert_problem(
        api.get(f"/cases/{world.case.id}/chronology?kind=gossip", world.worker_b), 422, "kind"
    )
    # Dates as RFC 3339 writes them, not the rest of what ISO 8601 (and Python) reads.
    for loose in ("20261123", "2026-W48-1", "２０２６-11-23"):
        url = f"/cases/{world.case.id}/chronology?to={loose}"
        assert_problem(api.get(url, world.worker_b), 422, "to")


def test_concerns_awaiting_each_side_with_overdue_flags(api, world, frozen):
    share = make_share(api, world)
    ours = api.get("/concerns/awaiting-us", world.worker_b).get_json()["items"]
    theirs = api.get("/concerns/awaiting-them", world.worker_a).get_json()["items"]
    assert [c["share_id"] for c in ours] == [c["share_id"] for c in theirs] == [share["id"]]
    assert ours[0]["overdue"] is False and ours[0]["due_at"] == "2026-11-27T17:00:00Z"
    assert api.get("/concerns/awaiting-us", world.worker_c).get_json()["items"] == []
    assert api.get("/concerns/awaiting-us", world.worker_a).get_json()["items"] == []

    frozen(datetime(2026, 12, 2, 10, 0))  # three working days past due
    late = api.get("/concerns/awaiting-us?overdue=true", world.worker_b).get_json()["items"]
    assert late[0]["overdue"] is True and late[0]["working_days_overdue"] == 3
    assert api.get("/concerns/awaiting-them?overdue=false", world.worker_a).get_json() == {
        "items": [],
        "next_cursor": None,
    }
    assert events("concern.list")
    assert_problem(api.get("/concerns/awaiting-us?overdue=maybe", world.worker_b), 422, "overdue")
    assert_problem(api.get("/concerns/awaiting-us?state=lost", world.worker_b), 422, "state")


def test_challenges_list(api, world):
    challenge = raise_challenge(api, world)
    listed = api.get("/challenges", world.worker_b).get_json()["items"]
    assert [c["id"] for c in listed] == [challenge["id"]]
    assert api.get("/challenges", world.worker_c).get_json()["items"] == []
    assert api.get("/challenges?status=resolved", world.worker_b).get_json()["items"] == []
    assert_problem(api.get("/challenges?status=argued", world.worker_b), 422, "status")
    assert_problem(api.get("/challenges?raised_to=soon", world.worker_b), 422, "raised_to")


# --- recording a share --------------------------------------------------------------------------


def test_record_a_share_as_the_web_does(api, world):
    share = make_share(api, world)
    assert share["concerns"][0]["agency"]["id"] == world.agency_b.id
    assert share["concerns"][0]["state"] == "awaiting_response"
    recorded = events("share.record_sent")
    assert len(recorded) == 1 and recorded[0].person_id == world.worker_a.id
    assert recorded[0].object_id == share["id"]


def test_record_a_share_received(api, world):
    body = share_body(world, recorded_as="received", from_agency_id=world.agency_b.id)
    body["recipients"] = []
    response = api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=body)
    assert response.status_code == 201, response.get_json()
    share = response.get_json()
    assert share["from_agency"]["id"] == world.agency_b.id
    assert [c["agency"]["id"] for c in share["concerns"]] == [world.agency_a.id]


def test_record_a_share_refusals(api, world):
    url = f"/cases/{world.case.id}/shares"
    assert_problem(api.post(url, token=WRONG, json=share_body(world)), 401)
    assert_problem(api.post(url, world.worker_c, json=share_body(world)), 404)
    assert_problem(api.post(url, world.auditor, json=share_body(world)), 403)
    cases = [
        ({"shared_at": "2026-11-25T09:00:00Z"}, "shared_at", "now or in the past"),
        ({"shared_at": "yesterday"}, "shared_at", "time zone"),
        ({"recipients": []}, "recipients", "Select at least one agency"),
        (
            {"recipients": [{"agency_id": world.agency_a.id}]},
            "recipients",
            "cannot share with your own agency",
        ),
        ({"recipients": [{"agency_id": world.agency_c.id}]}, "recipients", "involved"),
        ({"consent": "refused", "consent_reason": None}, "consent_reason", "consent was refused"),
        ({"method": "carrier pigeon"}, "method", "Select how it was shared"),
        ({"summary": "   "}, "summary", "Enter what was shared"),
        ({"summary": "bad\x00byte"}, "summary", "control characters"),
        ({"needs_response": "yes"}, "needs_response", "boolean"),
        ({"colour": "red"}, "colour", "not a field"),
    ]
    for changes, field, message in cases:
        response = api.post(url, world.worker_a, json=share_body(world, **changes))
        assert_problem(response, 422, field, message)
    missing = share_body(world)
    del missing["purpose"]
    assert_problem(api.post(url, world.worker_a, json=missing), 422, "purpose", "Enter why")
    assert_problem(api.post(url, world.worker_a, json=[1]), 422, "body")
    assert_problem(api.post(url, world.worker_a, data="x", content_type="text/plain"), 415)
    assert count(Share) == 0  # nothing recorded by any refusal


def test_a_retried_share_is_recorded_once(api, world):
    url = f"/cases/{world.case.id}/shares"
    first = api.post(url, world.worker_a, json=share_body(world), key="csc-42")
    again = api.post(url, world.worker_a, json=share_body(world), key="csc-42")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(Share) == 1 and len(events("share.record_sent")) == 1
    other = api.post(url, world.worker_a, json=share_body(world, summary="Other"), key="csc-42")
    assert_problem(other, 422, "Idempotency-Key")
    assert count(Share) == 1
    # Keys belong to a person: another person's same key is a new call.
    lead = api.post(url, world.lead_a, json=share_body(world), key="csc-42")
    assert lead.status_code == 201 and count(Share) == 2
    assert_problem(api.post(url, world.worker_a, json=share_body(world), key="bad key"), 422)


def test_a_refused_share_retried_is_refused_the_same_way_once(api, world):
    url = f"/cases/{world.case.id}/shares"
    bad = share_body(world, summary="")
    first = api.post(url, world.worker_a, json=bad, key="k-bad")
    again = api.post(url, world.worker_a, json=bad, key="k-bad")
    assert first.status_code == again.status_code == 422
    assert again.get_json() == first.get_json()
    assert count(Share) == 0


# --- answering a concern ------------------------------------------------------------------------


def concern_url(share: dict) -> str:
    return f"/concerns/{share['concerns'][0]['id']}/response"


def test_respond_to_a_concern(api, world):
    share = make_share(api, world)
    response = api.post(concern_url(share), world.worker_b, json={"action_taken": "Checked PNC"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["state"] == "responded"
    assert response.get_json()["response"]["action_taken"] == "Checked PNC"
    assert events("concern.respond")[-1].person_id == world.worker_b.id
    assert api.get("/concerns/awaiting-us", world.worker_b).get_json()["items"] == []


def test_respond_refusals(api, world):
    share = make_share(api, world)
    url = concern_url(share)
    ok = {"action_taken": "Checked PNC"}
    assert_problem(api.post(url, token=WRONG, json=ok), 401)
    assert_problem(api.post(url, world.worker_c, json=ok), 404)
    assert_problem(api.post("/concerns/999/response", world.worker_b, json=ok), 404)
    assert_problem(api.post(url, world.auditor, json=ok), 403)
    # Someone else's concern: the web's words.
    assert_problem(api.post(url, world.worker_a, json=ok), 422, "action_taken", "not your agency")
    assert_problem(
        api.post(url, world.worker_b, json={"action_taken": ""}),
        422,
        "action_taken",
        "Enter what your agency did or decided",
    )
    assert_problem(api.post(url, world.worker_b, json={}), 422, "action_taken", "Enter what")
    assert count(ConcernResponse) == 0


def test_a_retried_response_is_recorded_once(api, world):
    url = concern_url(make_share(api, world))
    for _ in range(2):
        response = api.post(url, world.worker_b, json={"action_taken": "Checked"}, key="r-1")
        assert response.status_code == 201
    assert count(ConcernResponse) == 1
    assert_problem(
        api.post(url, world.worker_b, json={"action_taken": "Other"}, key="r-1"),
        422,
        "Idempotency-Key",
    )


# --- challenges ---------------------------------------------------------------------------------


def test_raise_a_challenge(api, world):
    challenge = raise_challenge(api, world)
    assert challenge["stage"] == 1 and challenge["status"] == "open"
    assert challenge["stage_due_at"] == "2026-11-26T17:00:00Z"  # 2 working days
    assert events("challenge.raise")[-1].person_id == world.worker_a.id
    assert "immediate_risk_advice" not in challenge


def test_raise_with_immediate_risk_is_urgent_and_tells_who_to_call(api, world):
    challenge = raise_challenge(api, world, immediate_risk=True)
    assert challenge["urgent"] is True and challenge["immediate_risk"] is True
    assert "emergency services" in challenge["immediate_risk_advice"]
    assert events("challenge.immediate_risk_advice")


def test_raise_refusals(api, world):
    url = f"/cases/{world.case.id}/challenges"
    ok = {
        "immediate_risk": False,
        "about_agency_id": world.agency_b.id,
        "kind": "no_response",
        "what_happened": "No answer",
        "outcome_wanted": "An answer",
        "urgent": False,
    }
    assert_problem(api.post(url, token=WRONG, json=ok), 401)
    assert_problem(api.post(url, world.worker_c, json=ok), 404)
    assert_problem(api.post(url, world.auditor, json=ok), 403)
    for changes, field, message in [
        ({"about_agency_id": world.agency_a.id}, "about_agency_id", "involved in this case"),
        ({"about_agency_id": world.agency_c.id}, "about_agency_id", "involved in this case"),
        ({"kind": "grumble"}, "kind", "Select what the challenge is about"),
        ({"what_happened": ""}, "what_happened", "Enter what happened"),
        ({"share_ids": [999]}, "share_ids", "Select shares recorded on this case"),
    ]:
        assert_problem(api.post(url, world.worker_a, json={**ok, **changes}), 422, field, message)
    assert count(Challenge) == 0


def test_a_retried_challenge_is_raised_once(api, world):
    url = f"/cases/{world.case.id}/challenges"
    body = {
        "immediate_risk": False,
        "about_agency_id": world.agency_b.id,
        "kind": "other",
        "what_happened": "No answer",
        "outcome_wanted": "An answer",
        "urgent": True,
    }
    first = api.post(url, world.worker_a, json=body, key="ch-1")
    again = api.post(url, world.worker_a, json=body, key="ch-1")
    assert first.status_code == again.status_code == 201
    assert count(Challenge) == 1


def outcome_url(challenge: dict) -> str:
    return f"/challenges/{challenge['id']}/outcomes"


def test_stage_outcomes_discussion_escalate_resolve(api, world):
    challenge = raise_challenge(api, world)
    url = outcome_url(challenge)
    talked = api.post(url, world.worker_b, json={"outcome": "discussion", "text": "Spoke today"})
    assert talked.status_code == 201, talked.get_json()
    assert talked.get_json()["events"][-1]["kind"] == "discussion"
    up = api.post(
        url, world.worker_b, json={"outcome": "escalate", "text": "No agreement", "stage": 1}
    )
    assert up.status_code == 201 and up.get_json()["stage"] == 2
    stale = api.post(url, world.lead_b, json={"outcome": "escalate", "text": "Again", "stage": 1})
    assert stale.status_code in (403, 422)  # not named for stage 2, or moved on: never a 500
    assert events("challenge.escalate")[-1].person_id == world.worker_b.id


def test_resolve_and_withdraw(api, world):
    challenge = raise_challenge(api, world)
    url = outcome_url(challenge)
    resolved = api.post(
        url,
        world.worker_b,
        json={
            "outcome": "resolve",
            "text": "Police will answer by Friday",
            "actions": [
                {"description": "Send call-outs", "owner": "DC Patel", "due_on": "2026-11-27"}
            ],
            "themes": ["professional_challenge"],
            "practice_issue": False,
        },
    )
    assert resolved.status_code == 201, resolved.get_json()
    assert resolved.get_json()["status"] == "resolved"
    [event] = events("challenge.resolve")
    assert json.loads(event.changes)["actions"] == [  # the trail keeps what was agreed
        None,
        [{"description": "Send call-outs", "owner": "DC Patel", "due_on": "2026-11-27"}],
    ]
    second = raise_challenge(api, world)
    assert_problem(
        api.post(outcome_url(second), world.worker_b, json={"outcome": "withdraw", "text": "x"}),
        403,  # only the raiser withdraws
    )
    gone = api.post(
        outcome_url(second), world.worker_a, json={"outcome": "withdraw", "text": "Sorted"}
    )
    assert gone.status_code == 201 and gone.get_json()["status"] == "withdrawn"


def test_stage_outcome_refusals(api, world):
    challenge = raise_challenge(api, world)
    url = outcome_url(challenge)
    ok = {"outcome": "discussion", "text": "Spoke"}
    assert_problem(api.post(url, token=WRONG, json=ok), 401)
    assert_problem(api.post(url, world.worker_c, json=ok), 404)
    assert_problem(api.post("/challenges/999/outcomes", world.worker_b, json=ok), 404)
    assert_problem(api.post(url, world.auditor, json=ok), 403)
    assert_problem(
        api.post(url, world.worker_b, json={"outcome": "discussion", "text": ""}),
        422,
        "text",
        "Enter what was discussed",
    )
    assert_problem(
        api.post(url, world.worker_b, json={"outcome": "resolve", "text": "Agreed"}),
        422,
        "practice_issue",
        "practice issue",
    )
    assert_problem(
        api.post(
            url,
            world.worker_b,
            json={
                "outcome": "resolve",
                "text": "Agreed",
                "practice_issue": True,
                "actions": [{"description": "A", "owner": "B", "due_on": "2026-02-30"}],
            },
        ),
        422,
        "actions.0.due_on",
    )
    assert_problem(
        api.post(url, world.worker_b, json={"outcome": "shrug", "text": "x"}), 422, "outcome"
    )


def test_a_retried_stage_outcome_is_recorded_once(api, world):
    url = outcome_url(raise_challenge(api, world))
    body = {"outcome": "discussion", "text": "Spoke today"}
    first = api.post(url, world.worker_b, json=body, key="d-1")
    again = api.post(url, world.worker_b, json=body, key="d-1")
    assert first.status_code == again.status_code == 201
    assert len(events("challenge.discussion")) == 1
