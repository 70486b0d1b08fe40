import pytest

from tests.conftest import sign_in_as
from tests.helpers import approve_pending, assert_form_error, emailed_link_token, page_text
from tracker.extensions import db
from tracker.models import Agency, AuditEvent, Person


@pytest.fixture
def admin_client(client, world):
    sign_in_as(client, world.admin)
    return client


def agency_data(**overrides):
    data = {
        "name": "Northbridge Housing",
        "kind": "housing",
        "secure_mailbox": "safe@housing.example.org",
    }
    data.update(overrides)
    return data


def test_add_and_edit_an_agency(admin_client, world):
    assert admin_client.post("/admin/agencies/new", data=agency_data()).status_code == 302
    agency = db.session.scalar(db.select(Agency).where(Agency.name == "Northbridge Housing"))
    assert agency.kind == "housing"
    response = admin_client.post(
        f"/admin/agencies/{agency.id}", data=agency_data(name="Northbridge Homes", active="")
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert agency.name == "Northbridge Homes" and agency.active is False
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "agency.update"))
    assert "Northbridge Housing" in event.changes and "Northbridge Homes" in event.changes


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "Enter the agency's name"),
        ({"name": "A" * 121}, "Agency name must be 120 characters or fewer"),
        ({"name": "agency b police"}, "An agency with this name already exists"),
        ({"kind": "spaceship"}, "Select a kind of agency from the list"),
        ({"secure_mailbox": "not an email"}, "Enter an email address in the correct format"),
    ],
)
def test_bad_agency_input(admin_client, world, overrides, message):
    assert_form_error(
        admin_client.post("/admin/agencies/new", data=agency_data(**overrides)), message
    )


def invite_data(world, **overrides):
    data = {
        "name": "Nina Patel",
        "email": "nina.patel@example.org",
        "agency_id": world.agency_b.id,
        "role": "worker",
    }
    data.update(overrides)
    return data


def test_invite_emails_the_link_to_the_person_only(admin_client, world):
    response = admin_client.post("/admin/people/invite", data=invite_data(world))
    assert response.status_code == 302
    person = db.session.scalar(db.select(Person).where(Person.email == "nina.patel@example.org"))
    page = admin_client.get(response.headers["Location"])
    assert "once a named lead of Agency B Police approves" in page_text(page)
    approve_pending(person, by=world.lead_b)  # the link goes only once their lead approves
    token = emailed_link_token(person)
    assert token not in (person.invite_token_hash or "")  # only its hash is stored
    page = admin_client.get(response.headers["Location"])
    assert token not in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "Enter the person's full name"),
        ({"email": "worker.a@example.org"}, "A person with this email address already exists"),
        ({"email": "WORKER.A@example.org"}, "A person with this email address already exists"),
        ({"email": "nope"}, "Enter an email address in the correct format"),
        ({"agency_id": "31337"}, "Select an agency from the list"),
        ({"role": "superuser"}, "Select a role from the list"),
        ({"role": ""}, "Select a role"),
    ],
)
def test_bad_invite_input(admin_client, world, overrides, message):
    assert_form_error(
        admin_client.post("/admin/people/invite", data=invite_data(world, **overrides)), message
    )


def test_change_role_and_deactivate(admin_client, world):
    url = f"/admin/people/{world.worker_b.id}"
    assert admin_client.post(url, data={"role": "lead", "active": "y"}).status_code == 302
    assert admin_client.post(url, data={"role": "lead"}).status_code == 302  # unticked: deactivated
    db.session.expire_all()
    assert world.worker_b.role == "lead" and world.worker_b.active is False
    events = db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action == "person.permission_change")
    ).all()
    assert len(events) == 2


def test_admin_cannot_demote_themselves(admin_client, world):
    response = admin_client.post(
        f"/admin/people/{world.admin.id}", data={"role": "worker", "active": "y"}
    )
    assert_form_error(response, "You cannot change your own role")


def test_unknown_person_or_agency_is_404(admin_client):
    assert admin_client.get("/admin/people/9999").status_code == 404
    assert admin_client.get("/admin/agencies/9999").status_code == 404


def test_new_link_replaces_the_old_one(admin_client, world):
    admin_client.post("/admin/people/invite", data=invite_data(world))
    person = db.session.scalar(db.select(Person).where(Person.email == "nina.patel@example.org"))
    approve_pending(person, by=world.lead_b)
    old_token = emailed_link_token(person)
    second = admin_client.post(f"/admin/people/{person.id}/new-link")
    assert second.status_code == 302 and old_token not in second.get_data(as_text=True)
    new_token = emailed_link_token(person)
    assert new_token != old_token
    assert admin_client.get(f"/set-password/{old_token}").status_code == 404
    assert admin_client.get(f"/set-password/{new_token}").status_code == 200
