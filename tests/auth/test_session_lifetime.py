"""A session in constant use still ends when its lifetime is up, not only when idle."""

from __future__ import annotations

import time

from tests.conftest import sign_in_as


def test_a_session_in_constant_use_still_ends_after_the_session_lifetime(
    app, world, client, monkeypatch
):
    """TRACKER_SESSION_HOURS (PERMANENT_SESSION_LIFETIME, 8 hours) reads as the longest a
    sign-in lasts. But the cookie is signed again at every request (last_seen changes), and
    Flask measures its age from the last signing, so a session used at least every
    IDLE_MINUTES never ends: neither the person nor whoever copied the cookie ever has to
    sign in (password and security code) again. Real time is moved by a fake time.time()
    (what both the idle limit and the cookie's signature read), not waited for."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    sign_in_as(client, world.worker_a)
    lifetime = app.permanent_session_lifetime.total_seconds()
    step = (app.config["IDLE_MINUTES"] * 60) / 2  # well inside the idle limit
    assert client.get("/").status_code == 200
    for _ in range(int(3 * lifetime / step)):  # three session lifetimes of steady use
        now[0] += step
        page = client.get("/")
        if page.status_code != 200:
            break
    signed_in = page.status_code == 200 and b"Sign out" in page.data
    assert not signed_in, (
        f"still signed in {3 * lifetime / 3600:.0f} hours after signing in "
        f"(TRACKER_SESSION_HOURS is {lifetime / 3600:.0f})"
    )
