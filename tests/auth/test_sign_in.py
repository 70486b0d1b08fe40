import re

from tests.conftest import PASSWORD, make_app, sign_in_as
from tests.helpers import (
    approve_pending,
    assert_form_error,
    emailed_link_token,
    error_summary,
    page_text,
)
from tracker.extensions import db
from tracker.models import AuditEvent, Role
from tracker.services import people


def sign_in(client, email, password=PASSWORD, **kwargs):
    return client.post("/sign-in", data={"email": email, "password": password}, **kwargs)


def test_sign_in_page_renders_without_crown_or_gds_font(client):
    response = client.get("/sign-in")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sign in" in html
    assert "govuk-crest" not in html and "govuk-logo" not in html and "favicon.ico" not in html


def test_sign_in_and_out(client, world):
    response = sign_in(client, world.worker_a.email.upper())  # email is not case-sensitive
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Worker A" in page_text(home)
    assert client.post("/sign-out").status_code == 302
    assert client.get("/").status_code == 302  # back to sign in
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "signin" in actions and "signout" in actions


def test_wrong_password_gets_error_summary_and_is_audited(client, world):
    response = sign_in(client, world.worker_a.email, "not the password at all")
    assert_form_error(response, "Enter a correct email address and password", 401)
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "signin.failed"))


def test_empty_sign_in_gets_error_summary(client):
    response = client.post("/sign-in", data={})
    assert response.status_code == 400
    assert error_summary(response) == ["Enter your email address", "Enter your password"]


def test_sign_in_is_throttled_per_account(client, world):
    for _ in range(5):
        assert sign_in(client, world.worker_a.email, "wrong password here").status_code == 401
    # Even the right password is refused while throttled, with a clear message.
    response = sign_in(client, world.worker_a.email)
    assert_form_error(response, "Too many failed attempts to sign in", 429)
    # Another account from the same address still works.
    assert sign_in(client, world.worker_b.email).status_code == 302


def test_sign_in_is_throttled_per_address(client, world):
    for n in range(20):
        sign_in(client, f"nobody{n}@example.org", "wrong password here")
    response = sign_in(client, world.worker_b.email)
    assert_form_error(response, "Too many failed attempts", 429)


def test_throttle_lifts_after_the_window(client, world, frozen):
    from datetime import datetime, timedelta

    start = frozen(datetime(2026, 11, 25, 10, 0))
    for _ in range(5):
        sign_in(client, world.worker_a.email, "wrong password here")
    assert sign_in(client, world.worker_a.email).status_code == 429
    frozen(start + timedelta(minutes=16))
    assert sign_in(client, world.worker_a.email).status_code == 302


def test_deactivated_person_cannot_sign_in(client, world):
    people.update(world.admin, world.worker_a, role=Role.WORKER.value, active=False, away=False)
    assert sign_in(client, world.worker_a.email).status_code == 401


def test_session_is_renewed_at_sign_in(client, world):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client, world.worker_a.email)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_next_only_redirects_within_the_site(client, world):
    response = sign_in(client, world.worker_a.email, query_string={"next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_role_change_signs_the_person_out_everywhere(client, world):
    sign_in_as(client, world.worker_a)
    assert client.get("/cases/").status_code == 200
    people.update(world.admin, world.worker_a, role=Role.LEAD.value, active=True, away=False)
    assert client.get("/cases/").status_code == 302


def test_posts_without_csrf_token_fail(database_url, tmp_path, world):
    app = make_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/sign-in", data={"email": world.worker_a.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Your form had expired" in page_text(response)
    # With the token from the form, the same post succeeds.
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"',
        client.get("/sign-in").get_data(as_text=True),
    ).group(1)
    response = client.post(
        "/sign-in", data={"email": world.worker_a.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    sign_in_as(client, world.worker_a)
    assert client.post("/sign-out").status_code == 400


def test_invite_then_set_password_then_sign_in(client, world):
    person = approve_pending(
        people.invite(
            world.admin,
            name="New Worker",
            email="new.worker@example.org",
            agency_id=world.agency_b.id,
            role="worker",
        )
    )
    token = emailed_link_token(person)
    assert client.get(f"/set-password/{token}").status_code == 200
    short = client.post(f"/set-password/{token}", data={"password": "short", "confirm": "short"})
    assert_form_error(short, "Password must be 12 characters or more")
    mismatch = client.post(
        f"/set-password/{token}", data={"password": "a long password 1", "confirm": "other"}
    )
    assert_form_error(mismatch, "The passwords do not match")
    done = client.post(
        f"/set-password/{token}",
        data={"password": "a long password 1", "confirm": "a long password 1"},
    )
    assert done.status_code == 302
    assert client.get(f"/set-password/{token}").status_code == 404  # the link works once
    assert sign_in(client, "new.worker@example.org", "a long password 1").status_code == 302


def test_unknown_or_expired_invite_is_404(client, world, frozen):
    from datetime import datetime, timedelta

    start = frozen(datetime(2026, 11, 25, 10, 0))
    token = emailed_link_token(
        approve_pending(
            people.invite(
                world.admin,
                name="Late Worker",
                email="late@example.org",
                agency_id=world.agency_b.id,
                role="worker",
            )
        )
    )
    assert client.get("/set-password/not-a-token").status_code == 404
    frozen(start + timedelta(hours=73))
    assert client.get(f"/set-password/{token}").status_code == 404
