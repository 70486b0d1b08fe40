"""Only the people the procedure names can act at a stage; the auditor reads all, acts on none."""

from datetime import datetime

import pytest

from tests.challenges.support import name_leads, raise_one
from tests.conftest import add_person, sign_in_as
from tests.helpers import page_text
from tracker.extensions import db
from tracker.models import Alert, ChallengeEvent, Role
from tracker.services import challenges, leads

ACTIONS = {
    "discussion": {"text": "We talked."},
    "escalate": {"why": "Still no agreement."},
    "resolve": {"agreed": "Agreed.", "practice_issue": "no"},
}


@pytest.fixture
def at_stage_2(world, password_hash, frozen):
    frozen(datetime(2026, 12, 17, 10, 0))
    named = name_leads(world, password_hash)
    challenge = raise_one(world)
    challenges.escalate(world.worker_b, challenge, "No agreement between practitioners")
    return named, challenge


def events(challenge) -> int:
    return db.session.scalar(
        db.select(db.func.count(ChallengeEvent.id)).where(
            ChallengeEvent.challenge_id == challenge.id
        )
    )


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_people_not_named_for_the_stage_get_403(client, world, at_stage_2, action):
    named, challenge = at_stage_2
    before = events(challenge)
    # Worker A raised it but is not named at stage 2; Head B leads stage 3, not 2.
    for person in (world.worker_a, named.head_b, named.chair, world.auditor):
        sign_in_as(client, person)
        assert client.get(f"/challenges/{challenge.id}").status_code == 200
        assert client.get(f"/challenges/{challenge.id}/{action}").status_code == 403
        data = {**ACTIONS[action], "stage": "2"}
        assert client.post(f"/challenges/{challenge.id}/{action}", data=data).status_code == 403
    assert events(challenge) == before


@pytest.mark.parametrize("person", ["lead_a", "lead_b", "worker_b"])
def test_named_leads_and_deputies_of_the_stage_can_act(client, world, at_stage_2, person):
    _, challenge = at_stage_2
    sign_in_as(client, getattr(world, person))  # worker_b is B's stage-2 deputy
    page = client.get(f"/challenges/{challenge.id}")
    assert "Record a discussion" in page_text(page)
    response = client.post(
        f"/challenges/{challenge.id}/discussion", data={"text": "Called.", "stage": "2"}
    )
    assert response.status_code == 302


def test_at_stage_1_practitioners_of_both_agencies_can_act(client, world, password_hash, frozen):
    frozen(datetime(2026, 12, 17, 10, 0))
    challenge = raise_one(world)  # nobody named anywhere
    for person in (world.worker_a, world.lead_b):
        sign_in_as(client, person)
        response = client.post(
            f"/challenges/{challenge.id}/discussion", data={"text": "Spoke.", "stage": "1"}
        )
        assert response.status_code == 302
    sign_in_as(client, world.auditor)
    response = client.post(
        f"/challenges/{challenge.id}/discussion", data={"text": "x", "stage": "1"}
    )
    assert response.status_code == 403


def test_auditor_reads_everything_and_acts_on_nothing(client, world, at_stage_2):
    _, challenge = at_stage_2
    sign_in_as(client, world.auditor)
    assert client.get(f"/challenges/{challenge.id}").status_code == 200
    assert client.get("/challenges/").status_code == 200
    assert world.case.reference in page_text(client.get("/challenges/"))
    assert client.get(f"/cases/{world.case.id}/challenges/new").status_code == 403
    assert client.post(f"/challenges/{challenge.id}/withdraw", data={"why": "x"}).status_code == 403


def test_uninvolved_agency_gets_404(client, world, at_stage_2):
    _, challenge = at_stage_2
    sign_in_as(client, world.worker_c)
    for path in ("", "/discussion", "/escalate", "/resolve", "/withdraw"):
        assert client.get(f"/challenges/{challenge.id}{path}").status_code == 404
    assert client.get(f"/cases/{world.case.id}/challenges/new").status_code == 404
    assert client.get("/challenges/999999").status_code == 404


def test_admin_sees_no_challenge_content(client, world, at_stage_2):
    _, challenge = at_stage_2
    sign_in_as(client, world.admin)
    assert client.get(f"/challenges/{challenge.id}").status_code == 403
    assert client.get("/challenges/leads").status_code == 200  # but keeps the named leads


def test_only_the_raiser_withdraws(client, world, at_stage_2):
    _, challenge = at_stage_2
    for person in (world.lead_a, world.lead_b):
        sign_in_as(client, person)
        assert (
            client.post(f"/challenges/{challenge.id}/withdraw", data={"why": "x"}).status_code
            == 403
        )
    sign_in_as(client, world.worker_a)
    response = client.post(
        f"/challenges/{challenge.id}/withdraw", data={"why": "Police have reopened the case."}
    )
    assert response.status_code == 302
    db.session.refresh(challenge)
    assert challenge.status == "withdrawn"
    assert challenge.events[-1].text == "Police have reopened the case."
    # Closed: nobody acts on it any more.
    sign_in_as(client, world.lead_a)
    assert client.get(f"/challenges/{challenge.id}/discussion").status_code == 403


def test_unnamed_side_is_said_loudly_and_goes_to_the_partnership(
    client, world, password_hash, frozen
):
    frozen(datetime(2026, 12, 17, 10, 0))
    named = name_leads(world, password_hash)
    leads.assign(world.admin, world.agency_b, 2, None, None)  # B names nobody for stage 2
    challenge = raise_one(world)
    challenges.escalate(world.worker_b, challenge, "No agreement")
    warning = (
        "Agency B Police has nobody named for stage 2: the challenge goes to the partnership list"
    )
    assert challenge.events[-1].unnamed_warning == warning
    sign_in_as(client, world.lead_a)
    assert warning in page_text(client.get(f"/challenges/{challenge.id}"))
    # The partnership's chair is alerted, sees it awaiting and may act for the missing side.
    alerted = db.session.scalars(
        db.select(Alert.recipient_id).where(Alert.event == f"challenge:{challenge.id}:stage:2")
    )
    assert named.chair.id in set(alerted)
    assert [c.id for c in db.session.scalars(challenges.awaiting(named.chair))] == [challenge.id]
    sign_in_as(client, named.chair)
    response = client.post(
        f"/challenges/{challenge.id}/discussion", data={"text": "Chair called B.", "stage": "2"}
    )
    assert response.status_code == 302


def test_deputy_receives_the_alert_while_the_lead_is_away(app, world, password_hash, frozen):
    frozen(datetime(2026, 12, 17, 10, 0))
    name_leads(world, password_hash)
    world.lead_b.away = True
    db.session.commit()
    assert leads.stage_leads(world.agency_b.id, 2) == [world.worker_b]
    assert leads.stage_leads(world.agency_a.id, 2) == [world.lead_a]
    assert leads.stage_leads(world.agency_c.id, 2) == []


def test_the_raiser_does_not_escalate_her_own_challenge_as_a_deputy(
    client, world, password_hash, frozen
):
    """The demo's case: the worker who raised it is her agency's deputy at stage 2."""
    frozen(datetime(2026, 12, 17, 10, 0))
    named = name_leads(world, password_hash)
    leads.assign(world.admin, world.agency_a, 2, world.lead_a.id, world.worker_a.id)
    db.session.commit()
    challenge = raise_one(world)  # raised by Worker A about B
    challenges.escalate(world.worker_b, challenge, "No agreement between practitioners")
    sign_in_as(client, world.worker_a)
    page = page_text(client.get(f"/challenges/{challenge.id}"))
    assert "Escalate to stage 3" not in page
    assert "You raised this challenge" in page
    assert "Who can act on stage 2:" in page and "Lead A (Agency A Social Care)" in page
    assert "Worker A (Agency A" not in page.split("Who can act on stage 2:", 1)[1][:300]
    response = client.post(
        f"/challenges/{challenge.id}/escalate", data={"why": "Mine", "stage": "2"}
    )
    assert response.status_code == 403
    sign_in_as(client, world.lead_a)  # her lead acts
    assert "Escalate to stage 3" in page_text(client.get(f"/challenges/{challenge.id}"))
    assert named.head_a is not None


def test_the_raiser_acts_when_nobody_else_is_named_for_her_side(
    client, world, password_hash, frozen
):
    frozen(datetime(2026, 12, 17, 10, 0))
    name_leads(world, password_hash)  # Worker A alone is named for A at stage 1
    challenge = raise_one(world)
    sign_in_as(client, world.worker_a)
    response = client.post(
        f"/challenges/{challenge.id}/discussion", data={"text": "Spoke.", "stage": "1"}
    )
    assert response.status_code == 302


def test_at_stage_1_the_agency_it_is_about_acts_through_whom_it_names(
    client, world, password_hash, frozen
):
    frozen(datetime(2026, 12, 17, 10, 0))
    name_leads(world, password_hash)  # B names Worker B at stage 1
    challenge = raise_one(world)  # about B
    sign_in_as(client, world.lead_b)  # a practitioner of B, but not the one named
    page = page_text(client.get(f"/challenges/{challenge.id}"))
    assert "Record a discussion" not in page and "Worker B (Agency B Police)" in page
    data = {"text": "Spoke.", "stage": "1"}
    assert client.post(f"/challenges/{challenge.id}/discussion", data=data).status_code == 403
    sign_in_as(client, world.worker_b)
    assert client.post(f"/challenges/{challenge.id}/discussion", data=data).status_code == 302


def test_the_partnership_list_names_only_the_cases_a_lead_may_read(client, world, at_stage_2):
    """A lead of an agency with no part in the case sees the stage counts, not the case."""
    lead_c = add_person("Lead C", world.agency_c, Role.LEAD, world.worker_c.password_hash)
    db.session.commit()
    sign_in_as(client, lead_c)
    listing = page_text(client.get("/challenges/"))
    assert world.case.reference not in listing and "1 open" in listing
    sign_in_as(client, world.lead_b)  # the challenge is about B
    assert world.case.reference in page_text(client.get("/challenges/"))
