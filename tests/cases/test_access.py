"""Who can open what: the rules in tracker/access.py, through the real pages."""

import pytest

from tests.conftest import sign_in_as


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("worker_a", 200),
        ("lead_a", 200),
        ("worker_b", 200),
        ("lead_b", 200),
        ("worker_c", 404),  # uninvolved: the case's existence is not revealed
        ("auditor", 200),
        ("admin", 403),  # administers people, never reads case content
    ],
)
def test_who_can_open_a_case(client, world, who, status):
    sign_in_as(client, getattr(world, who))
    assert client.get(f"/cases/{world.case.id}").status_code == status


def test_guessing_a_case_url_reveals_nothing(client, world):
    sign_in_as(client, world.worker_c)
    missing = client.get("/cases/999999")
    hidden = client.get(f"/cases/{world.case.id}")
    assert missing.status_code == hidden.status_code == 404
    assert missing.get_data().replace(b"999999", b"") != b""  # same page for both
    assert "Child One" not in hidden.get_data(as_text=True)


def test_case_list_shows_only_involved_cases(client, world):
    sign_in_as(client, world.worker_c)
    assert "Child One" not in client.get("/cases/").get_data(as_text=True)
    sign_in_as(client, world.worker_b)
    assert "Child One" in client.get("/cases/").get_data(as_text=True)
    sign_in_as(client, world.auditor)
    assert "Child One" in client.get("/cases/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("who", "status"),
    [("worker_b", 200), ("worker_c", 404), ("auditor", 403), ("admin", 403)],
)
def test_who_can_change_a_case(client, world, who, status):
    sign_in_as(client, getattr(world, who))
    assert client.get(f"/cases/{world.case.id}/agencies/add").status_code == status
    response = client.post(
        f"/cases/{world.case.id}/agencies/add", data={"agency_id": world.agency_c.id}
    )
    assert response.status_code == (302 if status == 200 else status)


@pytest.mark.parametrize(
    ("who", "cases_status", "admin_status"),
    [
        ("worker_a", 200, 403),
        ("lead_a", 200, 403),
        ("auditor", 200, 403),
        ("admin", 403, 200),
    ],
)
def test_role_areas(client, world, who, cases_status, admin_status):
    sign_in_as(client, getattr(world, who))
    assert client.get("/cases/").status_code == cases_status
    assert client.get("/admin/").status_code == admin_status
    assert client.get("/admin/people").status_code == admin_status


def test_auditor_cannot_open_a_case(client, world):
    sign_in_as(client, world.auditor)
    assert client.get("/cases/new").status_code == 403
    assert client.post("/cases/new", data={"child_name": "X"}).status_code == 403


def test_signed_out_goes_to_sign_in(client, world):
    for url in ["/", "/cases/", f"/cases/{world.case.id}", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_removed_agency_loses_access_but_history_stays(client, world):
    from tracker.services import cases

    involvement = next(
        i for i in world.case.current_involvements if i.agency_id == world.agency_b.id
    )
    cases.remove_agency(world.worker_a, world.case, involvement.id, "Police enquiry closed")
    sign_in_as(client, world.worker_b)
    assert client.get(f"/cases/{world.case.id}").status_code == 404
    sign_in_as(client, world.worker_a)
    text = client.get(f"/cases/{world.case.id}").get_data(as_text=True)
    assert "Agency B Police" in text and "Police enquiry closed" in text
