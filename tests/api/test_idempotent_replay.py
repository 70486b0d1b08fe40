"""An Idempotency-Key replay hands back the first answer, case data and all: only while the
caller may still read the case it is about (404 after, as the route answers), and audited as a
view of that case like any other read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.api.conftest import assert_problem, share_body
from tracker.api.idempotency import idempotent
from tracker.extensions import db
from tracker.models import AuditEvent, CaseAgency
from tracker.services import cases


def replay_views() -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.replay_view"))
    )


def remove_agency_b(world) -> None:
    involvement = db.session.scalar(
        select(CaseAgency).where(
            CaseAgency.case_id == world.case.id, CaseAgency.agency_id == world.agency_b.id
        )
    )
    cases.remove_agency(world.worker_a, world.case, involvement.id, "No longer involved")


def test_a_replay_after_the_agency_left_the_case_is_not_found(api, world):
    body = share_body(
        world,
        recipients=[{"agency_id": world.agency_a.id, "people_names": "SW"}],
        summary="Father back in the home, breaching bail",
    )
    url = f"/cases/{world.case.id}/shares"
    assert api.post(url, world.worker_b, json=body, key="k-1").status_code == 201
    remove_agency_b(world)
    again = api.post(url, world.worker_b, json=body, key="k-1")
    assert_problem(again, 404)
    assert "breaching bail" not in again.get_data(as_text=True)
    assert replay_views() == []


def test_a_replayed_response_after_the_agency_left_the_case_is_not_found(api, world):
    share = api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=share_body(world))
    url = f"/concerns/{share.get_json()['concerns'][0]['id']}/response"
    answer = {"action_taken": "Checked PNC: two call-outs this month"}
    assert api.post(url, world.worker_b, json=answer, key="r-1").status_code == 201
    remove_agency_b(world)
    again = api.post(url, world.worker_b, json=answer, key="r-1")
    assert_problem(again, 404)
    assert "call-outs" not in again.get_data(as_text=True)


def test_a_replay_is_audited_as_a_view_of_the_case(api, world):
    url = f"/cases/{world.case.id}/shares"
    first = api.post(url, world.worker_a, json=share_body(world), key="k-2")
    assert replay_views() == []
    again = api.post(url, world.worker_a, json=share_body(world), key="k-2")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    [event] = replay_views()
    assert (event.case_id, event.person_id) == (world.case.id, world.worker_a.id)


def test_a_create_call_must_name_what_a_replay_is_about():
    def create_thing(thing_id: int):
        return thing_id

    with pytest.raises(TypeError):
        idempotent(create_thing)
