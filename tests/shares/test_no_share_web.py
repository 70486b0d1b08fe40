"""Decisions not to share, identifiers on new cases, agencies' kind and closure days: pages."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, error_summary, page_text
from tests.shares.test_cycle import share_data
from tracker.extensions import db
from tracker.models import Agency, Case, ClosureDay, NoShareDecision, Share
from tracker.services import workdays

NOW = datetime(2026, 11, 30, 10, 0)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def decision_data(world, **overrides) -> dict:
    data = {
        "information": "Father's previous conviction",
        "agency_ids": [str(world.agency_b.id)],
        "reason_code": "more_detrimental_to_child",
        "reason": "Would alert the father before the strategy discussion",
        "decided_on": ["30", "11", "2026"],
        "decided_time": "09:30",
    }
    data.update(overrides)
    return data


def test_record_a_decision_not_to_share_and_revisit_it(client, world, frozen):
    frozen(NOW)
    sign_in_as(client, world.worker_a)
    url = f"/cases/{world.case.id}/no-share/new"
    assert client.get(url).status_code == 200
    response = client.post(
        url, data=decision_data(world, information="", reason_code="", agency_ids=[])
    )
    assert response.status_code == 400
    summary = error_summary(response)
    assert any("Enter what information was considered" in m for m in summary)
    assert any("Select the reason for not sharing" in m for m in summary)
    assert _count(NoShareDecision) == 0
    response = client.post(url, data=decision_data(world, agency_ids=[str(world.agency_a.id)]))
    assert_form_error(response, "not your own agency")
    assert client.post(url, data=decision_data(world)).status_code == 302
    decision = db.session.scalar(select(NoShareDecision))
    text = page_text(client.get(f"/cases/{world.case.id}"))
    assert "Decisions not to share" in text and "More detrimental to the child" in text

    # A later share cites it; the decision then shows as revisited.
    data = share_data(
        world,
        shared_on=["30", "11", "2026"],
        shared_time="09:45",
        revisits_decision_id=str(decision.id),
    )
    assert client.post(f"/cases/{world.case.id}/shares/new", data=data).status_code == 302
    assert db.session.scalar(select(Share.revisits_decision_id)) == decision.id
    assert "Revisited" in page_text(client.get(f"/cases/{world.case.id}"))


def case_data(world, **overrides) -> dict:
    data = {
        "child_name": "Child Two",
        "date_of_birth": ["2", "1", "2019"],
        "lead_agency_id": str(world.agency_a.id),
        "lead_professional_id": "0",
    }
    data.update(overrides)
    return data


def test_a_new_case_checks_its_identifiers_in_one_round(client, world, frozen):
    frozen(NOW)
    sign_in_as(client, world.worker_a)
    response = client.post(
        "/cases/new", data=case_data(world, nhs_number="943 476 5918", upn="A801200005001")
    )
    assert response.status_code == 400
    summary = error_summary(response)
    assert any("check digit does not match" in m for m in summary)
    assert any("check letter does not match" in m for m in summary)
    response = client.post(
        "/cases/new", data=case_data(world, nhs_number="943 476 5919", upn="B801200005001")
    )
    assert response.status_code == 302
    case = db.session.scalar(select(Case).where(Case.child_name == "Child Two"))
    assert case.nhs_number == "9434765919"
    assert "943 476 5919" in page_text(client.get(f"/cases/{case.id}"))


def test_a_match_is_offered_when_readable_and_hidden_otherwise(client, world, frozen):
    frozen(NOW)
    world.case.nhs_number = "9434765919"
    db.session.commit()
    sign_in_as(client, world.worker_a)
    response = client.post("/cases/new", data=case_data(world, nhs_number="9434765919"))
    assert response.status_code == 400
    assert world.case.reference in page_text(response)
    assert f'href="/cases/{world.case.id}"' in response.get_data(as_text=True)

    sign_in_as(client, world.worker_c)
    response = client.post(
        "/cases/new",
        data=case_data(world, nhs_number="9434765919", lead_agency_id=str(world.agency_c.id)),
    )
    assert_form_error(
        response, "A case with this identifier exists; the partnership lead has been alerted"
    )
    assert world.case.reference not in page_text(response)
    assert _count(Case) == 1
    # Confirmed as a different child, it opens.
    response = client.post(
        "/cases/new",
        data=case_data(
            world,
            child_name="Another Child",
            nhs_number="4010232137",
            lead_agency_id=str(world.agency_c.id),
            confirm_not_a_match="y",
        ),
    )
    assert response.status_code == 302


def test_an_admin_sets_whether_an_agency_is_a_public_authority(client, world, frozen):
    frozen(NOW)
    sign_in_as(client, world.admin)
    response = client.post(
        "/admin/agencies/new",
        data={
            "name": "Family Charity",
            "kind": "voluntary_sector",
            "secure_mailbox": "safe@charity.example.org",
        },
    )
    assert response.status_code == 302
    charity = db.session.scalar(select(Agency).where(Agency.name == "Family Charity"))
    assert charity.public_authority is False  # by its kind
    response = client.post(
        f"/admin/agencies/{world.agency_c.id}",
        data={
            "name": world.agency_c.name,
            "kind": "education",
            "secure_mailbox": world.agency_c.secure_mailbox,
            "active": "y",
            "public_authority": "no",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agency, world.agency_c.id).public_authority is False


def test_an_admin_adds_a_closure_day(client, world, frozen):
    frozen(NOW)
    sign_in_as(client, world.admin)
    assert client.get("/admin/closure-days").status_code == 200
    response = client.post("/admin/closure-days", data={"day": ["1", "12", "2026"]})
    assert_form_error(response, "Enter why the partnership is closed that day")
    response = client.post(
        "/admin/closure-days", data={"day": ["27", "11", "2026"], "reason": "Too late"}
    )
    assert_form_error(response, "today or in the future")
    response = client.post(
        "/admin/closure-days", data={"day": ["1", "12", "2026"], "reason": "Training day"}
    )
    assert response.status_code == 302
    assert _count(ClosureDay) == 1
    assert not workdays.is_working_day(date(2026, 12, 1))
    assert "Training day" in page_text(client.get("/admin/closure-days"))
