from datetime import date, datetime

import pytest

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, page_text
from tracker.extensions import db
from tracker.models import AuditEvent, Case
from tracker.services import cases


def new_case_data(world, **overrides):
    data = {
        "child_name": "Test Child",
        "date_of_birth": ["4", "7", "2019"],
        "lead_agency_id": str(world.agency_a.id),
        "lead_professional_id": "0",
        "other_agency_ids": [str(world.agency_b.id)],
    }
    data.update(overrides)
    return data


def next_reference(world, year: int) -> str:
    """The next case's reference in that year, after the world's case (made in the year the
    tests run at, TRACKER_TEST_NOW)."""
    number = 2 if world.case.reference.startswith(f"SSCP-{year}-") else 1
    return f"SSCP-{year}-{number:05d}"


def test_open_a_case(client, world, frozen):
    frozen(datetime(2026, 3, 2, 10, 0))
    sign_in_as(client, world.worker_b)
    response = client.post("/cases/new", data=new_case_data(world))
    assert response.status_code == 302
    case = db.session.scalar(db.select(Case).where(Case.child_name == "Test Child"))
    # References count per year: the world's case was the first of its year (the test's now).
    assert case.reference == next_reference(world, 2026)
    assert case.involved_agency_ids == {world.agency_a.id, world.agency_b.id}
    page = client.get(response.headers["Location"])
    assert "Test Child" in page_text(page) and "4 July 2019" in page_text(page)


def test_references_count_per_year(app, world, frozen):
    frozen(datetime(2027, 1, 4, 10, 0))
    case = cases.create(
        world.worker_a,
        child_name="New Year",
        date_of_birth=date(2020, 1, 1),
        lead_agency_id=world.agency_a.id,
        lead_professional_id=None,
        other_agency_ids=[],
    )
    assert case.reference == next_reference(world, 2027)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"child_name": ""}, "Enter the child's full name"),
        ({"child_name": "x" * 121}, "Child's name must be 120 characters or fewer"),
        ({"child_name": "bad\x00name"}, "must not contain control characters"),
        ({"date_of_birth": ["", "", ""]}, "Enter the child's date of birth"),
        ({"date_of_birth": ["31", "2", "2020"]}, "Enter a real date"),
        ({"date_of_birth": ["a", "b", "c"]}, "Enter a real date"),
        ({"date_of_birth": ["1", "1", "2099"]}, "Date of birth must be today or in the past"),
        ({"lead_agency_id": "999999"}, "Select an agency from the list"),
        ({"lead_agency_id": "not a number"}, "Select an agency from the list"),
        ({"other_agency_ids": ["424242"]}, "Select agencies from the list"),
    ],
)
def test_bad_case_input_gets_error_summary(client, world, overrides, message):
    sign_in_as(client, world.worker_a)
    response = client.post("/cases/new", data=new_case_data(world, **overrides))
    assert_form_error(response, message)
    assert db.session.scalar(db.select(db.func.count(Case.id))) == 1  # nothing saved


def test_missing_date_field_does_not_crash(client, world):
    sign_in_as(client, world.worker_a)
    data = new_case_data(world)
    del data["date_of_birth"]
    assert_form_error(client.post("/cases/new", data=data), "Enter the child's date of birth")


def test_lead_professional_must_work_for_lead_agency(client, world):
    sign_in_as(client, world.worker_a)
    response = client.post(
        "/cases/new", data=new_case_data(world, lead_professional_id=str(world.worker_b.id))
    )
    assert_form_error(response, "The lead professional must work for the lead agency")


def test_add_and_remove_agency_keeps_history(client, world):
    sign_in_as(client, world.worker_a)
    assert (
        client.post(
            f"/cases/{world.case.id}/agencies/add", data={"agency_id": world.agency_c.id}
        ).status_code
        == 302
    )
    duplicate = client.post(
        f"/cases/{world.case.id}/agencies/add", data={"agency_id": world.agency_c.id}
    )
    assert_form_error(duplicate, "Select an agency from the list")
    involvement = next(
        i for i in world.case.current_involvements if i.agency_id == world.agency_c.id
    )
    url = f"/cases/{world.case.id}/agencies/{involvement.id}/remove"
    assert_form_error(
        client.post(url, data={"reason": ""}), "Enter why the agency is no longer involved"
    )
    assert client.post(url, data={"reason": "School no longer attended"}).status_code == 302
    db.session.expire_all()
    rows = [i for i in world.case.involvements if i.agency_id == world.agency_c.id]
    assert (
        len(rows) == 1
        and rows[0].removed_at
        and rows[0].removal_reason == "School no longer attended"
    )
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.case_id == world.case.id)
    ).all()
    assert "case.agency_add" in actions and "case.agency_remove" in actions


def test_lead_agency_cannot_be_removed(client, world):
    sign_in_as(client, world.worker_a)
    lead = next(i for i in world.case.current_involvements if i.agency_id == world.agency_a.id)
    response = client.post(
        f"/cases/{world.case.id}/agencies/{lead.id}/remove", data={"reason": "x"}
    )
    assert_form_error(response, "The lead agency cannot be removed")


def test_search_and_pagination(client, world):
    for n in range(30):
        cases.create(
            world.worker_a,
            child_name=f"Sibling {n:02d}",
            date_of_birth=date(2015, 1, 1),
            lead_agency_id=world.agency_a.id,
            lead_professional_id=None,
            other_agency_ids=[],
        )
    sign_in_as(client, world.worker_a)
    first = page_text(client.get("/cases/"))
    assert "Showing 1 to 25 of 31 cases" in first
    assert "Showing 26 to 31 of 31 cases" in page_text(client.get("/cases/?page=2"))
    found = page_text(client.get("/cases/?q=sibling 07"))
    assert "Sibling 07" in found and "Sibling 08" not in found
    by_ref = page_text(client.get(f"/cases/?q={world.case.reference.lower()}"))
    assert "Child One" in by_ref and "Sibling" not in by_ref
    assert "No cases found" in page_text(client.get("/cases/?q=%25_"))  # wildcards are literal
    too_long = client.get("/cases/?q=" + "x" * 200)
    assert_form_error(too_long, "Search must be 120 characters or fewer")


def test_link_siblings_both_ways(client, world):
    other = cases.create(
        world.worker_a,
        child_name="Child Two",
        date_of_birth=date(2020, 2, 2),
        lead_agency_id=world.agency_a.id,
        lead_professional_id=None,
        other_agency_ids=[],
    )
    sign_in_as(client, world.worker_a)
    assert_form_error(
        client.post(f"/cases/{world.case.id}/siblings", data={"reference": "SSCP-1999-00001"}),
        "No case with this reference",
    )
    assert (
        client.post(
            f"/cases/{world.case.id}/siblings", data={"reference": other.reference}
        ).status_code
        == 302
    )
    assert other.reference in page_text(client.get(f"/cases/{world.case.id}"))
    assert world.case.reference in page_text(client.get(f"/cases/{other.id}"))
    assert_form_error(
        client.post(f"/cases/{world.case.id}/siblings", data={"reference": other.reference}),
        "already linked",
    )


def test_close_case_needs_reason(client, world):
    sign_in_as(client, world.worker_a)
    url = f"/cases/{world.case.id}/status"
    assert_form_error(
        client.post(url, data={"status": "closed", "reason": ""}), "Enter why the case"
    )
    assert_form_error(
        client.post(url, data={"status": "archived", "reason": "x"}), "Select open or closed"
    )
    assert (
        client.post(url, data={"status": "closed", "reason": "Family moved away"}).status_code
        == 302
    )
    db.session.expire_all()
    assert world.case.status == "closed"


def test_viewing_a_case_is_audited(client, world):
    sign_in_as(client, world.worker_b)
    client.get(f"/cases/{world.case.id}")
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "case.view"))
    assert event.person_id == world.worker_b.id and event.case_id == world.case.id
    listed = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "case.list"))
    assert listed is None
    client.get("/cases/")
    listed = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "case.list"))
    assert str(world.case.id) in listed.changes
