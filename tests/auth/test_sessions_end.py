"""Sessions end server-side: a copy of an old session cookie, replayed from anywhere, is useless
after sign-out, a password change, a role change, deactivation or a two-factor reset."""

from datetime import datetime

import pytest

from tests.auth.test_sign_in import sign_in
from tests.auth.test_two_factor import code_at
from tests.helpers import emailed_link_token
from tracker.extensions import db
from tracker.models import Person, Role
from tracker.services import people, two_factor

START = datetime(2026, 11, 25, 10, 0)


def signed_in_cookie(app, person: Person) -> str:
    """A real sign-in (password, and the code where asked); the session cookie it leaves."""
    client = app.test_client()
    assert sign_in(client, person.email).status_code == 302
    if two_factor.asked_for(person):
        client.get("/sign-in/set-up-two-factor")
        db.session.refresh(person)
        done = client.post(
            "/sign-in/set-up-two-factor", data={"code": code_at(person.totp_secret, START)}
        )
        assert done.status_code == 200
    assert client.get("/cases/").status_code == 200
    return client.get_cookie("session").value


def replay(app, cookie: str):
    """The stolen cookie, from another client (another address and browser)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get(
        "/cases/", environ_base={"REMOTE_ADDR": "203.0.113.9"}, headers={"User-Agent": "thief"}
    )


def test_a_replayed_cookie_works_until_something_ends_it(app, world, frozen):
    """The control: without an ending event the copied cookie is a live session (so the tests
    below fail for the right reason)."""
    frozen(START)
    cookie = signed_in_cookie(app, world.worker_a)
    assert replay(app, cookie).status_code == 200


def test_sign_out_ends_every_copy_of_the_session(app, world, frozen):
    frozen(START)
    cookie = signed_in_cookie(app, world.worker_a)
    owner = app.test_client()
    owner.set_cookie("session", cookie)
    assert owner.post("/sign-out").status_code == 302
    response = replay(app, cookie)
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    # Nor can the old cookie write: a note post is refused too.
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    note = thief.post(f"/cases/{world.case.id}/notes/new", data={"text": "planted"})
    assert note.status_code == 302 and note.headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize(
    "ending",
    [
        "password",
        "role",
        "deactivation",
        "two_factor_reset",
    ],
)
def test_account_changes_end_every_session(app, world, frozen, ending):
    frozen(START)
    person = world.lead_a
    cookie = signed_in_cookie(app, person)
    assert replay(app, cookie).status_code == 200
    person = db.session.get(Person, person.id)
    if ending == "password":
        people.set_password(person, "a brand new long passphrase")
    elif ending == "role":
        people.update(world.admin, person, role=Role.WORKER.value, active=True, away=False)
    elif ending == "deactivation":
        people.update(world.admin, person, role=person.role, active=False, away=False)
    else:
        people.send_reset_link(world.admin, person, clears_two_factor=True)
        # The session goes when the person uses the link (not before: it may be them).
        assert replay(app, cookie).status_code == 200
        token = emailed_link_token(person)
        app.test_client().post(
            f"/set-password/{token}",
            data={"password": "a long new pass", "confirm": "a long new pass"},
        )
    response = replay(app, cookie)
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


# --- Cross-site requests carry no session -------------------------------------------------------


def view_events(case_id: int) -> int:
    from tracker.models import AuditEvent

    return db.session.scalar(
        db.select(db.func.count(AuditEvent.id)).where(
            AuditEvent.case_id == case_id, AuditEvent.action.like("%view%")
        )
    )


def test_the_session_cookie_is_samesite_strict(client, world):
    response = sign_in(client, world.worker_a.email)
    assert "SameSite=Strict" in response.headers["Set-Cookie"]


def test_a_cross_site_get_neither_reads_nor_writes_a_view_event(app, world, frozen):
    frozen(START)
    cookie = signed_in_cookie(app, world.worker_a)
    before = view_events(world.case.id)
    # An older browser that ignores SameSite still says where the request came from.
    victim = app.test_client()
    victim.set_cookie("session", cookie)
    response = victim.get(f"/cases/{world.case.id}", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert "Set-Cookie" not in response.headers  # nor is the reader signed out by it
    assert view_events(world.case.id) == before
    # The same person's own navigation (same-origin, or typed: none) reads and is audited.
    for fetch_site in ("same-origin", "none"):
        own = victim.get(f"/cases/{world.case.id}", headers={"Sec-Fetch-Site": fetch_site})
        assert own.status_code == 200
    assert view_events(world.case.id) == before + 2


def test_signing_in_again_from_a_link_goes_on_to_the_page(app, world, frozen):
    """With Strict cookies a link from an email arrives signed out; the sign-in page then sends
    a person already signed in (in this browser) on to where the link pointed."""
    frozen(START)
    cookie = signed_in_cookie(app, world.worker_a)
    browser = app.test_client()
    browser.set_cookie("session", cookie)
    response = browser.post(f"/sign-in?next=/cases/{world.case.id}", data={})
    assert response.headers["Location"] == f"/cases/{world.case.id}"
