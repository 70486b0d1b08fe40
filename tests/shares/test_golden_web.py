"""The golden rules on the web pages: the law's cross-field rules in one round with every other
problem, the loop closed to the sender (first view, acknowledgement, outcome), ratings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, error_summary, page_text
from tests.shares.test_cycle import share_data
from tracker.extensions import db
from tracker.models import AuditEvent, Concern, Share

NOW = datetime(2026, 12, 24, 10, 30)


def count_shares() -> int:
    return db.session.scalar(select(db.func.count(Share.id)))


def test_a_public_authority_is_refused_legitimate_interests_with_the_reason(client, world, frozen):
    frozen(NOW)
    sign_in_as(client, world.worker_a)
    for basis in ("art6_1f_legitimate_interests", "art6_1ea_recognised_legitimate_interests"):
        response = client.post(
            f"/cases/{world.case.id}/shares/new", data=share_data(world, lawful_basis=basis)
        )
        assert_form_error(response, "Agency A Social Care is a public authority")
    assert count_shares() == 0


def test_every_rule_and_every_other_problem_in_one_round(client, world, frozen):
    frozen(NOW)
    sign_in_as(client, world.worker_a)
    response = client.post(
        f"/cases/{world.case.id}/shares/new",
        data=share_data(
            world,
            summary="",
            lawful_basis="art6_1a_consent",
            consent="refused",
            consent_reason="Risk of harm",
            special_category="y",
        ),
    )
    assert response.status_code == 400
    summary = error_summary(response)
    assert any("Enter what was shared" in line for line in summary)
    assert any("Schedule 1 paragraph 18" in line for line in summary)
    assert any("Consent cannot be the lawful basis" in line for line in summary)
    assert count_shares() == 0


def test_special_category_with_a_circumstance_and_an_identifier_reason(client, world, frozen):
    frozen(NOW)
    sign_in_as(client, world.worker_a)
    response = client.post(
        f"/cases/{world.case.id}/shares/new",
        data=share_data(
            world,
            special_category="y",
            special_category_circumstance="consent_cannot_reasonably_be_obtained",
            identifier_absent="more_detrimental",
        ),
    )
    assert response.status_code == 302
    share = db.session.scalar(select(Share))
    assert share.current.special_category_circumstance == "consent_cannot_reasonably_be_obtained"
    text = page_text(client.get(response.headers["Location"]))
    assert "consent cannot reasonably be obtained" in text
    assert "Not carried: including it would be more detrimental to the child" in text


def test_the_loop_back_to_the_sender_on_the_pages(client, world, frozen):
    frozen(NOW)
    sign_in_as(client, world.worker_a)
    client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world))
    share = db.session.scalar(select(Share))
    recipient_id = share.recipients[0].id
    assert "Not yet opened" in page_text(client.get("/"))  # the sender's home page

    frozen(datetime(2026, 12, 24, 11, 0))
    sign_in_as(client, world.worker_b)
    assert client.get(f"/shares/{share.id}").status_code == 200
    recipient = db.session.get(Concern, recipient_id)
    assert recipient.viewed_by_id == world.worker_b.id
    response = client.post(
        f"/shares/{share.id}/concerns/{recipient_id}/outcome", data={"outcome": "other"}
    )
    assert_form_error(response, "Enter what your agency did with it")
    response = client.post(
        f"/shares/{share.id}/concerns/{recipient_id}/outcome",
        data={"outcome": "referral_made"},
    )
    assert response.status_code == 302

    sign_in_as(client, world.worker_a)
    text = page_text(client.get(f"/shares/{share.id}"))
    assert "First opened" in text and "by Worker B" in text
    assert "Outcome: Referral made" in text
    db.session.expire_all()
    assert db.session.get(Concern, recipient_id).viewed_by_id == world.worker_b.id


def test_changing_the_rating_on_the_share_page(client, world, frozen):
    frozen(datetime(2026, 11, 27, 15, 0))  # Friday 15:00
    sign_in_as(client, world.worker_a)
    data = share_data(world, shared_on=["27", "11", "2026"], shared_time="15:00", rating="green")
    assert client.post(f"/cases/{world.case.id}/shares/new", data=data).status_code == 302
    share = db.session.scalar(select(Share))
    assert share.rating == "green"
    response = client.post(f"/shares/{share.id}/rating", data={"rating": "red"})
    assert_form_error(response, "Enter why the rating is changing")
    response = client.post(
        f"/shares/{share.id}/rating", data={"rating": "red", "rationale": "New injury seen"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert share.recipients[0].due_at == datetime(2026, 11, 30, 11, 0)
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "share.change_rating")
    ).all()
    assert event.reason == "New injury seen"
