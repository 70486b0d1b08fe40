"""Every bad input gets the error summary and a 4xx; nothing saved is lost; pages render."""

from datetime import date, datetime

import pytest

from tests.challenges.support import name_leads, raise_one
from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, error_summary, page_text
from tests.services.sweep_support import share_concern
from tracker.extensions import db
from tracker.models import Challenge, ChallengeEvent
from tracker.services import challenges, notes


@pytest.fixture
def raising(client, world, frozen):
    """Worker A, past the risk question, on the details page."""
    frozen(datetime(2026, 12, 17, 10, 0))
    sign_in_as(client, world.worker_a)
    start = f"/cases/{world.case.id}/challenges/new"
    client.get(start)
    client.post(start, data={"immediate_risk": "no"})
    return start


def details(world, **overrides):
    data = {
        "about_agency_id": str(world.agency_b.id),
        "kind": "plan",
        "what_happened": "The plan leaves out school.",
        "outcome_wanted": "School joins the core group.",
        "urgent": "no",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_risk_question_must_be_answered(client, world, raising):
    assert_form_error(client.post(raising, data={}), "Select yes if the child may be at")
    assert_form_error(client.post(raising, data={"immediate_risk": "maybe"}), "Select yes")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"about_agency_id": None}, "Select which agency the challenge is about"),
        ({"about_agency_id": "abc"}, "Select an agency involved in this case"),
        ({"about_agency_id": "999999"}, "Select an agency involved in this case"),
        ({"kind": None}, "Select what the challenge is about"),
        ({"kind": "gossip"}, "Select what the challenge is about"),
        ({"what_happened": ""}, "Enter what happened"),
        ({"what_happened": "x" * 5001}, "What happened must be 5000 characters or fewer"),
        ({"what_happened": "bad\x00text"}, "must not contain control characters"),
        ({"outcome_wanted": "   "}, "Enter the outcome you want"),
        ({"urgent": None}, "Select whether the challenge is urgent"),
        ({"share_ids": ["424242"]}, "Select shares recorded on this case"),
        ({"note_ids": ["x"]}, "Select notes recorded on this case"),
    ],
)
def test_bad_details_get_the_error_summary(client, world, raising, overrides, message):
    response = client.post(f"{raising}/details", data=details(world, **overrides))
    assert_form_error(response, message)
    if "what_happened" not in overrides:  # what was typed is still there
        assert "The plan leaves out school." in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Challenge.id))) == 0


def test_own_agency_and_uninvolved_agency_are_refused(client, world, raising):
    for agency in (world.agency_a, world.agency_c):
        response = client.post(
            f"{raising}/details", data=details(world, about_agency_id=str(agency.id))
        )
        assert_form_error(response, "Select an agency involved in this case")


def test_the_service_refusal_at_check_returns_to_details_with_answers(client, world, raising):
    client.post(f"{raising}/details", data=details(world))
    # Agency B leaves the case between the details and the submit.
    from tracker.services import cases

    involvement = next(
        i for i in world.case.current_involvements if i.agency_id == world.agency_b.id
    )
    cases.remove_agency(world.worker_a, world.case, involvement.id, "Police closed their part")
    response = client.post(f"{raising}/check")
    assert_form_error(response, "Select an agency involved in this case")
    assert "The plan leaves out school." in response.get_data(as_text=True)


def test_steps_out_of_order_go_back_to_the_start(client, world, frozen):
    sign_in_as(client, world.worker_a)
    start = f"/cases/{world.case.id}/challenges/new"
    for path in ("/details", "/check", "/immediate-risk"):
        response = client.get(f"{start}{path}")
        assert response.status_code == 302 and response.headers["Location"].endswith(start)


def test_raise_from_an_unanswered_concern_with_evidence(client, world, frozen):
    frozen(datetime(2026, 12, 14, 10, 0))
    concern = share_concern(world, datetime(2026, 12, 14, 9, 0))
    note = notes.record_note(
        world.worker_a,
        world.case,
        kind="lived_experience",
        occurred_on=date(2026, 12, 10),
        text="Child said he is scared at home.",
        themes=[],
    )
    frozen(datetime(2026, 12, 18, 10, 0))
    sign_in_as(client, world.worker_a)
    start = f"/cases/{world.case.id}/challenges/new"
    client.get(f"{start}?concern={concern.id}")
    client.post(start, data={"immediate_risk": "no"})
    page = client.get(f"{start}/details").get_data(as_text=True)
    assert "No response has been recorded." in page
    assert 'value="no_response" checked' in page
    response = client.post(
        f"{start}/details",
        data={
            "about_agency_id": str(world.agency_b.id),
            "kind": "no_response",
            "what_happened": "We shared on 14 December; no response.",
            "outcome_wanted": "A response today.",
            "urgent": "no",
            "share_ids": [str(concern.share_id)],
            "note_ids": [str(note.id)],
        },
    )
    assert response.status_code == 302
    check = page_text(client.get(f"{start}/check"))
    assert "Child said he is scared at home." in check
    client.post(f"{start}/check")
    challenge = db.session.scalar(db.select(Challenge))
    assert challenge.concern_id == concern.id and challenge.kind == "no_response"
    assert {(e.share_id, e.note_id) for e in challenge.evidence} == {
        (concern.share_id, None),
        (None, note.id),
    }
    page = page_text(client.get(f"/challenges/{challenge.id}"))
    assert "Share from Agency A Social Care" in page and "(from an unanswered concern)" in page


@pytest.fixture
def open_challenge(world, password_hash, frozen):
    frozen(datetime(2026, 12, 17, 10, 0))
    name_leads(world, password_hash)
    return raise_one(world)


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("discussion", {"text": ""}, "Enter what was discussed"),
        ("discussion", {"text": "x" * 5001}, "5000 characters or fewer"),
        ("escalate", {"why": " "}, "Enter why it needs to go to the next stage"),
        ("resolve", {"agreed": "", "practice_issue": "no"}, "Enter what was agreed"),
        ("resolve", {"agreed": "Ok"}, "Select yes if it showed a practice issue"),
        (
            "resolve",
            {"agreed": "Ok", "practice_issue": "no", "themes": ["x"]},
            "Select learning themes",
        ),
        (
            "resolve",
            {"agreed": "Ok", "practice_issue": "no", "action_1": "Meet"},
            "Enter who owns the action",
        ),
        (
            "resolve",
            {"agreed": "Ok", "practice_issue": "no", "action_1": "Meet", "owner_1": "Lead A"},
            "Enter the date the action is due by",
        ),
        (
            "resolve",
            {
                "agreed": "Ok",
                "practice_issue": "no",
                "action_1": "Meet",
                "owner_1": "Lead A",
                "due_1": ["31", "2", "2027"],
            },
            "Enter a real date",
        ),
        (
            "resolve",
            {
                "agreed": "Ok",
                "practice_issue": "no",
                "action_1": "Meet",
                "owner_1": "Lead A",
                "due_1": ["1", "1", "2020"],
            },
            "An action's date must be today or later",
        ),
    ],
)
def test_bad_stage_input_gets_the_error_summary(
    client, world, open_challenge, action, data, message
):
    sign_in_as(client, world.worker_b)
    before = db.session.scalar(db.select(db.func.count(ChallengeEvent.id)))
    response = client.post(f"/challenges/{open_challenge.id}/{action}", data={**data, "stage": "1"})
    assert_form_error(response, message)
    assert db.session.scalar(db.select(db.func.count(ChallengeEvent.id))) == before
    db.session.refresh(open_challenge)
    assert open_challenge.status == "open" and open_challenge.stage == 1


def test_withdraw_needs_a_reason(client, world, open_challenge):
    sign_in_as(client, world.worker_a)
    assert_form_error(
        client.post(f"/challenges/{open_challenge.id}/withdraw", data={"why": ""}),
        "Enter why you are withdrawing it",
    )


def test_a_page_opened_at_an_earlier_stage_is_refused(client, world, open_challenge):
    challenges.escalate(world.worker_b, open_challenge, "No agreement")
    sign_in_as(client, world.lead_b)
    response = client.post(
        f"/challenges/{open_challenge.id}/escalate", data={"why": "Again", "stage": "1"}
    )
    assert_form_error(response, "This challenge moved to stage 2 since you opened the page")
    db.session.refresh(open_challenge)
    assert open_challenge.stage == 2


def test_lists_and_home_page_show_open_challenges(client, world, open_challenge):
    sign_in_as(client, world.worker_b)
    home = page_text(client.get("/"))
    assert "Open challenges raised by and about Agency B Police" in home
    assert world.case.reference in home
    sign_in_as(client, world.lead_a)
    listing = page_text(client.get("/challenges/"))
    assert "1 open" in listing and "2 working days left" in listing
    sign_in_as(client, world.worker_a)
    assert client.get("/challenges/").status_code == 403  # workers: their own lists
    assert error_summary(client.get("/challenges/awaiting")) == []


def test_no_escalation_past_the_last_stage(client, world, password_hash, frozen):
    frozen(datetime(2026, 12, 17, 10, 0))
    named = name_leads(world, password_hash)
    challenge = raise_one(world)
    for _ in range(3):
        challenges.escalate(world.lead_b, challenge, "No agreement")
    sign_in_as(client, named.chair)
    page = client.get(f"/challenges/{challenge.id}/escalate")
    assert page.status_code == 302  # back to the challenge, with the reason
    assert "Stage 4 is the last stage" in page_text(client.get(page.headers["Location"]))
    response = client.post(
        f"/challenges/{challenge.id}/escalate", data={"why": "Further", "stage": "4"}
    )
    assert_form_error(response, "Stage 4 is the last stage: record a discussion or resolve it")


def _session_cookie_text(client) -> str:
    """What the browser holds in its session cookie, read as anyone holding it can: no key."""
    import base64
    import zlib

    cookie = client.get_cookie("session")
    if cookie is None:
        return ""
    compressed, data = cookie.value.startswith("."), cookie.value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode()


def test_the_answers_stay_on_the_server_and_twice_sent_raise_one_challenge(
    app, client, world, raising
):
    """The session cookie is signed, not encrypted: what happened never goes in it. And the last
    step sent twice (a second tab, a double click without JavaScript) raises one challenge."""
    said = "The plan leaves out school, where she is most often seen."
    assert (
        client.post(f"{raising}/details", data=details(world, what_happened=said)).status_code
        == 302
    )
    assert said in page_text(client.get(f"{raising}/check"))
    assert "leaves out school" not in _session_cookie_text(client)

    second_tab = app.test_client()
    sign_in_as(second_tab, world.worker_a)
    first = client.post(f"{raising}/check")
    again = second_tab.post(f"{raising}/check")
    [challenge] = db.session.scalars(db.select(Challenge)).all()
    assert first.headers["Location"] == again.headers["Location"] == f"/challenges/{challenge.id}"
    raised = db.session.scalars(
        db.select(ChallengeEvent).where(ChallengeEvent.challenge_id == challenge.id)
    ).all()
    assert len(raised) == 1

    # What the challenge holds now, the draft no longer does.
    from tracker.models import ChallengeDraft

    assert db.session.scalars(db.select(ChallengeDraft.answers)).all() == ["{}"]
    # A new challenge on the case starts afresh.
    assert client.get(raising).status_code == 200
    assert client.get(f"{raising}/check").status_code == 302


def test_the_last_step_before_the_details_are_answered_goes_to_them(client, world, frozen):
    """Immediate risk answered "yes", from a threshold link with nothing to prefill: the draft
    holds the risk and a kind, not the details; the check page sends the person to them."""
    frozen(datetime(2026, 12, 17, 10, 0))
    sign_in_as(client, world.worker_a)
    start = f"/cases/{world.case.id}/challenges/new"
    client.get(f"{start}?from_threshold=1")
    client.post(start, data={"immediate_risk": "yes"})
    for response in (client.get(f"{start}/check"), client.post(f"{start}/check")):
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"{start}/details")
    assert db.session.scalar(db.select(db.func.count(Challenge.id))) == 0
