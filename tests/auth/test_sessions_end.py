"""Sessions end server-side: a copy of an old session cookie, replayed from anywhere, is useless
after sign-out, a password change, a role change, deactivation or a two-factor reset."""

from datetime import datetime

import pytest

from tests.auth.test_sign_in import sign_in
from tests.auth.test_two_factor import code_at
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
        two_factor.reset(world.admin, person)
    response = replay(app, cookie)
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
