"""Sign-in through an agency's identity provider, against a real OpenID Connect provider
(oidc-provider, started by conftest.py): linking, refusals, tampered ID tokens, the provider's
multi-factor sign-in, back-channel logout and refused refreshes."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.auth.oidc.conftest import (
    ACCOUNTS,
    DOMAIN_A,
    add_people,
    provider_time,
    set_up_provider,
    wait_for,
    walk_provider,
)
from tests.auth.test_two_factor import code_at
from tests.conftest import PASSWORD, add_person, sign_in_as
from tests.helpers import assert_form_error, page_text
from tracker.extensions import db
from tracker.models import AuditEvent, IdentityLink, Person, ProviderSession, Role
from tracker.oidc import BACKCHANNEL_LOGOUT_EVENT

TRACKER = "http://localhost"  # the Flask test client's address, as url_for(_external) says
START = datetime(2026, 11, 25, 10, 0)


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def changed(event: AuditEvent) -> dict:
    return json.loads(event.changes)


def begin(client, setup):
    response = client.get(f"/sign-in/with/{setup.provider.id}")
    assert response.status_code == 302, page_text(response)
    return response.headers["Location"]


def sign_in_at_provider(client, setup, account: str, *, tamper=None, oidc=None):
    """The whole journey with the test client as the tracker's browser; returns the tracker's
    answer to the provider's redirect back."""
    callback, _ = walk_provider(begin(client, setup), account, until=TRACKER)
    if tamper:
        oidc.tamper_next_id_token(tamper)
    return client.get(callback.removeprefix(TRACKER))


@pytest.fixture
def setup(oidc, world):
    return set_up_provider(oidc, world.admin, world.agency_a, TRACKER)


@pytest.fixture
def people(world, password_hash):
    return add_people(world, password_hash)


def test_the_sign_in_page_offers_the_agencys_provider(client, setup):
    page = client.get("/sign-in")
    assert page.status_code == 200
    text = page_text(page)
    assert "Sign in with Agency A account" in text and "For Agency A Social Care" in text
    assert f'href="/sign-in/with/{setup.provider.id}"' in page.get_data(as_text=True)


def test_first_sign_in_links_and_a_second_sign_in_signs_in(client, setup, people, oidc):
    authorize = begin(client, setup)
    # Authorization code flow with PKCE (S256), state and nonce.
    for parameter in ("code_challenge_method=S256", "code_challenge=", "state=", "nonce="):
        assert parameter in authorize
    callback, _ = walk_provider(authorize, "worker-a", until=TRACKER)
    response = client.get(callback.removeprefix(TRACKER))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/cases/").status_code == 200
    person = people["worker-a"]
    [link] = db.session.scalars(db.select(IdentityLink)).all()
    assert (link.person_id, link.issuer, link.subject) == (person.id, oidc.issuer, "worker-a")
    assert [e.object_id for e in events("identity.linked")] == [person.id]
    assert [e.object_id for e in events("signin.provider")] == [person.id]

    client.post("/sign-out")
    assert client.get("/cases/").status_code == 302
    again = sign_in_at_provider(client, setup, "worker-a")
    assert again.status_code == 302 and client.get("/cases/").status_code == 200
    assert db.session.scalar(db.select(db.func.count(IdentityLink.id))) == 1  # linked once
    assert len(events("identity.linked")) == 1 and len(events("signin.provider")) == 2


def test_admin_sees_when_each_person_last_signed_in_through_which_provider(
    client, setup, people, world, frozen
):
    frozen(START)
    assert sign_in_at_provider(client, setup, "worker-a").status_code == 302
    client.post("/sign-out")
    sign_in_as(client, world.admin)
    person_page = page_text(client.get(f"/admin/people/{people['worker-a'].id}"))
    assert "Agency A account" in person_page and "25 Nov 2026 10:00" in person_page
    provider_page = page_text(client.get(f"/admin/identity-providers/{setup.provider.id}"))
    assert "IdP worker-a" in provider_page and "25 Nov 2026 10:00" in provider_page
    listing = page_text(client.get("/admin/identity-providers"))
    assert "Agency A account" in listing and "25 Nov 2026 10:00" in listing


def test_the_wrong_agencys_domain_is_refused(client, setup, people):
    people_before = db.session.scalar(db.select(db.func.count(Person.id)))
    # Agency B's worker, with agency B's email domain, through agency A's provider.
    response = sign_in_at_provider(client, setup, "worker-b")
    assert response.status_code == 403
    assert "signs in people of Agency A Social Care only" in page_text(response)
    assert client.get("/cases/").status_code == 302
    assert db.session.scalar(db.select(db.func.count(IdentityLink.id))) == 0
    assert db.session.scalar(db.select(db.func.count(Person.id))) == people_before
    [refusal] = events("signin.provider_refused")
    assert changed(refusal)["reason"][1].startswith("wrong_domain")


def test_an_unknown_subject_is_told_to_ask_their_administrator_and_nothing_is_created(
    client, setup, people, world, password_hash
):
    # Someone of agency B has the stranger's address: linking stays inside agency A.
    other = add_person("Elsewhere", world.agency_b, Role.WORKER, password_hash)
    other.email = ACCOUNTS["stranger"]["email"]
    db.session.commit()
    people_before = db.session.scalar(db.select(db.func.count(Person.id)))
    response = sign_in_at_provider(client, setup, "stranger")
    assert response.status_code == 403
    text = page_text(response)
    assert "Ask your agency's administrator to invite you" in text
    assert "Nothing has been created for you" in text
    assert client.get("/cases/").status_code == 302
    assert db.session.scalar(db.select(db.func.count(Person.id))) == people_before
    assert db.session.scalar(db.select(db.func.count(IdentityLink.id))) == 0
    assert (
        changed(events("signin.provider_refused")[0])["email"][1] == ACCOUNTS["stranger"]["email"]
    )


def test_an_unverified_email_is_not_linked(client, setup, people):
    response = sign_in_at_provider(client, setup, "unverified")
    assert response.status_code == 403 and client.get("/cases/").status_code == 302
    assert db.session.scalar(db.select(db.func.count(IdentityLink.id))) == 0
    assert changed(events("signin.provider_refused")[0])["reason"][1].startswith("unverified")


def test_a_subject_never_moves_between_agencies(client, setup, people, world, oidc):
    assert sign_in_at_provider(client, setup, "worker-a").status_code == 302
    client.post("/sign-out")
    # Agency B gets its own provider at the same issuer: the subject stays agency A's person's.
    other = set_up_provider(oidc, world.admin, world.agency_b, TRACKER)
    other.provider.email_domains = DOMAIN_A  # even with the same domain allowed
    other.provider.version += 1
    db.session.commit()
    response = sign_in_at_provider(client, other, "worker-a")
    assert response.status_code == 403 and client.get("/cases/").status_code == 302
    [link] = db.session.scalars(db.select(IdentityLink)).all()
    assert link.person_id == people["worker-a"].id and link.provider_id == setup.provider.id


TAMPERING = {
    "signature": "BadSignatureError",
    "audience": "aud",
    "nonce": "nonce",
    "expiry": "exp",
    "issuer": "iss",
}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_a_tampered_id_token_is_refused(client, setup, people, oidc, kind):
    response = sign_in_at_provider(client, setup, "worker-a", tamper=kind, oidc=oidc)
    assert response.status_code == 400
    assert "did not complete" in page_text(response)
    assert client.get("/cases/").status_code == 302
    assert db.session.scalar(db.select(db.func.count(IdentityLink.id))) == 0
    [refusal] = events("signin.provider_refused")
    reason = changed(refusal)["reason"][1]
    assert reason.startswith("invalid") and TAMPERING[kind] in reason, reason
    # The same person, untampered, signs in: the refusal was the tampering, nothing else.
    assert sign_in_at_provider(client, setup, "worker-a").status_code == 302


def test_a_callback_replayed_or_without_a_sign_in_under_way_is_refused(client, setup, people):
    callback, _ = walk_provider(begin(client, setup), "worker-a", until=TRACKER)
    assert client.get(callback.removeprefix(TRACKER)).status_code == 302
    client.post("/sign-out")
    # The same code and state again, in a new session: no state here, and the code is spent.
    replayed = client.get(callback.removeprefix(TRACKER))
    assert replayed.status_code == 400 and client.get("/cases/").status_code == 302


def test_provider_mfa_skips_the_security_code_for_a_lead(client, setup, people):
    response = sign_in_at_provider(client, setup, "lead-a-mfa")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/cases/").status_code == 200
    [event] = events("signin.provider")
    assert changed(event)["provider_mfa"] == [None, True]


def test_without_provider_mfa_a_lead_is_asked_for_the_security_code(client, setup, people, frozen):
    frozen(START)
    response = sign_in_at_provider(client, setup, "lead-a-pwd")
    assert response.headers["Location"] == "/sign-in/set-up-two-factor"
    assert client.get("/cases/").status_code == 302  # not signed in with one factor
    assert events("signin.provider_first_factor") and not events("signin.provider")
    client.get("/sign-in/set-up-two-factor")
    lead = db.session.get(Person, people["lead-a-pwd"].id)
    db.session.refresh(lead)
    done = client.post(
        "/sign-in/set-up-two-factor", data={"code": code_at(lead.totp_secret, START)}
    )
    assert done.status_code == 200 and client.get("/cases/").status_code == 200
    # The session goes on being checked with the provider once the second factor is done.
    with client.session_transaction() as session:
        assert session["provider_session"] is not None


def test_provider_mfa_counts_only_where_the_admin_said_so(client, oidc, world, people):
    setup = set_up_provider(oidc, world.admin, world.agency_a, TRACKER, mfa_satisfies=False)
    response = sign_in_at_provider(client, setup, "lead-a-mfa")
    assert response.headers["Location"] == "/sign-in/set-up-two-factor"
    assert client.get("/cases/").status_code == 302


# --- leavers ------------------------------------------------------------------------------------


def test_a_disabled_account_at_the_provider_is_signed_out_within_the_setting(
    client, setup, people, oidc, frozen
):
    frozen(START)
    assert sign_in_at_provider(client, setup, "leaver").status_code == 302
    oidc.disable("leaver")  # the agency switches the leaver off
    frozen(START + timedelta(minutes=14))
    assert client.get("/cases/").status_code == 200  # not asked yet: inside the setting
    frozen(START + timedelta(minutes=15, seconds=1))
    response = client.get("/cases/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signed-out/by-your-agency"
    assert "sign-in service ended your session" in page_text(
        client.get(response.headers["Location"])
    )
    assert client.get("/cases/").status_code == 302
    [event] = events("signout.provider_refused_refresh")
    assert event.object_id == people["leaver"].id
    [provider_session] = db.session.scalars(db.select(ProviderSession)).all()
    assert provider_session.ended_at is not None and provider_session.refresh_token is None


def test_a_live_account_is_refreshed_and_stays_signed_in(client, setup, people, frozen):
    frozen(START)
    assert sign_in_at_provider(client, setup, "worker-a").status_code == 302
    [before] = db.session.scalars(db.select(ProviderSession.refresh_token)).all()
    for minutes in (16, 32):
        frozen(START + timedelta(minutes=minutes))
        response = client.get("/cases/")
        assert response.status_code == 200, [
            (e.action, e.changes) for e in db.session.scalars(db.select(AuditEvent))
        ][-3:]
    db.session.expire_all()
    [after] = db.session.scalars(db.select(ProviderSession.refresh_token)).all()
    assert after and after != before  # the provider rotated it and the new one is kept
    assert len(events("identity.refreshed")) == 2


def test_a_session_whose_provider_is_switched_off_ends(client, setup, people, world, frozen):
    from tracker.services import identity

    frozen(START)
    assert sign_in_at_provider(client, setup, "worker-a").status_code == 302
    settings = identity.ProviderSettings(
        agency_id=world.agency_a.id,
        name=setup.provider.name,
        issuer=setup.provider.issuer,
        client_id=setup.provider.client_id,
        client_secret="",
        email_domains=DOMAIN_A,
        mfa_satisfies=True,
        mfa_acr_values="",
        active=False,
    )
    identity.update_provider(world.admin, setup.provider, settings)
    assert client.get("/cases/").headers["Location"] == "/signed-out/by-your-agency"


def _logout_at_provider(browser: requests.Session, oidc) -> None:
    """The person signs out at the provider (RP-independent logout on its end-session page)."""
    page = browser.get(oidc.metadata()["end_session_endpoint"], timeout=60)
    assert page.status_code == 200, page.text
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text).group(1)
    done = browser.post(
        f"{oidc.issuer}/session/end/confirm",
        data={"xsrf": xsrf, "logout": "yes"},
        allow_redirects=False,
        timeout=60,
    )
    assert done.status_code in (200, 302, 303), done.text


def test_back_channel_logout_ends_an_active_session_checked_with_the_old_cookie(
    live_tracker, oidc, world, people
):
    setup = set_up_provider(oidc, world.admin, world.agency_a, live_tracker)
    provider_id, worker_id = setup.provider.id, people["worker-a"].id
    db.session.commit()  # SQLite: the test holds no lock while the server works
    tracker = requests.Session()
    start = tracker.get(
        f"{live_tracker}/sign-in/with/{provider_id}", allow_redirects=False, timeout=60
    )
    callback, at_provider = walk_provider(start.headers["Location"], "worker-a", until=live_tracker)
    signed_in = tracker.get(callback, allow_redirects=False, timeout=60)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    old_cookie = tracker.cookies.get("session")
    assert (
        tracker.get(f"{live_tracker}/cases/", allow_redirects=False, timeout=60).status_code == 200
    )

    _logout_at_provider(at_provider, oidc)  # the provider calls the back-channel logout URI

    def signed_out() -> bool:
        response = requests.get(
            f"{live_tracker}/cases/",
            cookies={"session": old_cookie},
            allow_redirects=False,
            timeout=60,
        )
        return response.status_code == 302

    assert wait_for(signed_out), "".join(oidc.log[-20:])
    [event] = events("signout.provider_backchannel")
    assert event.object_id == worker_id


def _logout_token(key, setup, **changes) -> str:
    now = provider_time()
    claims = {
        "iss": setup.provider.issuer,
        "aud": setup.provider.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": f"jti-{now}-{len(changes)}",
        "sub": "worker-a",
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt"}
    return jwt.encode(header, claims, key)


def test_a_logout_token_is_validated_before_any_session_ends(client, setup, people, oidc):
    assert sign_in_at_provider(client, setup, "worker-a").status_code == 302
    attacker = RSAKey.generate_key(2048, parameters={"kid": oidc.key.kid}, private=True)
    url = f"/identity-providers/{setup.provider.id}/backchannel-logout"
    bad = {
        "another key": _logout_token(attacker, setup),
        "wrong issuer": _logout_token(oidc.key, setup, iss="http://127.0.0.1:1"),
        "wrong audience": _logout_token(oidc.key, setup, aud="someone-else"),
        "a nonce": _logout_token(oidc.key, setup, nonce="n"),
        "no event": _logout_token(oidc.key, setup, events=None),
        "wrong event": _logout_token(oidc.key, setup, events={"urn:other": {}}),
        "no sub nor sid": _logout_token(oidc.key, setup, sub=None),
        "no iat": _logout_token(oidc.key, setup, iat=None),
        "expired": _logout_token(
            oidc.key, setup, iat=provider_time() - 4000, exp=provider_time() - 3600
        ),
        "issued long ago": _logout_token(oidc.key, setup, iat=provider_time() - 3600, exp=None),
        "not a token": "not.a.token",
        "empty": "",
        "huge": "a" * 20_000,
    }
    for what, token in bad.items():
        response = client.post(url, data={"logout_token": token})
        assert response.status_code == 400, what
        assert response.headers["Cache-Control"] == "no-store"
        assert client.get("/cases/").status_code == 200, what  # still signed in
    assert len(events("identity.backchannel_logout_refused")) == len(bad)
    good = client.post(url, data={"logout_token": _logout_token(oidc.key, setup)})
    assert good.status_code == 200 and client.get("/cases/").status_code == 302


def test_two_requests_due_at_once_ask_the_provider_once(live_tracker, oidc, world, people, frozen):
    """A concurrent twin: the provider rotates refresh tokens and revokes the grant when a used
    one comes back, so two refreshes with the same token would sign a live person out."""
    frozen(START)
    setup = set_up_provider(oidc, world.admin, world.agency_a, live_tracker)
    provider_id = setup.provider.id
    db.session.commit()
    tracker = requests.Session()
    start = tracker.get(
        f"{live_tracker}/sign-in/with/{provider_id}", allow_redirects=False, timeout=60
    )
    callback, _ = walk_provider(start.headers["Location"], "worker-a", until=live_tracker)
    assert tracker.get(callback, allow_redirects=False, timeout=60).status_code == 302
    cookie = {"session": tracker.cookies.get("session")}

    frozen(START + timedelta(minutes=16))
    barrier = threading.Barrier(2)
    statuses = []

    def request_cases() -> None:
        barrier.wait()
        statuses.append(
            requests.get(
                f"{live_tracker}/cases/", cookies=cookie, allow_redirects=False, timeout=60
            ).status_code
        )

    twins = [threading.Thread(target=request_cases) for _ in range(2)]
    for twin in twins:
        twin.start()
    for twin in twins:
        twin.join(90)
    assert statuses == [200, 200]
    assert len(events("identity.refreshed")) == 1
    db.session.commit()
    frozen(START + timedelta(minutes=32))  # the kept (rotated) token still works
    later = requests.get(
        f"{live_tracker}/cases/", cookies=cookie, allow_redirects=False, timeout=60
    )
    assert later.status_code == 200 and len(events("identity.refreshed")) == 2


def test_a_discovery_document_naming_another_issuer_is_refused(client, setup, people):
    setup.provider.issuer += "/"  # the discovery URL is the same; the issuer it names is not
    setup.provider.version += 1
    db.session.commit()
    response = client.get(f"/sign-in/with/{setup.provider.id}")
    assert response.status_code == 502 and "did not complete" in page_text(response)
    assert "discovery" in changed(events("signin.provider_refused")[0])["reason"][1]


def test_an_unreachable_provider_gets_a_page_not_an_error(client, setup, people):
    setup.provider.issuer = "http://127.0.0.1:9"  # the discard port: nothing listens
    setup.provider.version += 1
    db.session.commit()
    response = client.get(f"/sign-in/with/{setup.provider.id}")
    assert response.status_code == 502 and "is not answering" in page_text(response)


# --- the admin's pages --------------------------------------------------------------------------


def provider_form(world, **changes) -> dict:
    data = {
        "agency_id": str(world.agency_a.id),
        "name": "Agency A account",
        "issuer": "https://login.microsoftonline.com/3f5c-tenant/v2.0",
        "client_id": "a1b2c3",
        "client_secret": "very-secret-value-1",
        "email_domains": f"{DOMAIN_A}\nschools.{DOMAIN_A}",
        "mfa_satisfies": "y",
        "mfa_acr_values": "AAL2 AAL3",
        "active": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_adds_a_provider_and_its_secret_is_never_shown(client, world):
    from tracker.models import IdentityProvider

    sign_in_as(client, world.admin)
    response = client.post("/admin/identity-providers/new", data=provider_form(world))
    assert response.status_code == 302
    provider = db.session.scalars(db.select(IdentityProvider)).one()
    assert provider.domains == [DOMAIN_A, f"schools.{DOMAIN_A}"]
    assert provider.acr_values == ["AAL2", "AAL3"] and provider.mfa_satisfies
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "very-secret-value-1" not in html
    assert f"/sign-in/with/{provider.id}/callback" in html
    assert f"/identity-providers/{provider.id}/backchannel-logout" in html
    # Saved again with the secret left blank: the stored one is kept.
    again = client.post(
        f"/admin/identity-providers/{provider.id}",
        data=provider_form(world, client_secret="", name="Agency A work account"),
    )
    assert again.status_code == 302
    db.session.refresh(provider)
    assert provider.client_secret == "very-secret-value-1" and provider.version == 2
    client.post(
        f"/admin/identity-providers/{provider.id}",
        data=provider_form(world, client_secret="new-secret-value-2", name="Agency A work account"),
    )
    db.session.refresh(provider)
    assert provider.client_secret == "new-secret-value-2"
    trail = " ".join(e.changes or "" for e in db.session.scalars(db.select(AuditEvent)).all())
    assert "very-secret-value-1" not in trail and "new-secret-value-2" not in trail
    assert [e.action for e in events("identity_provider.update")] == [
        "identity_provider.update",
        "identity_provider.update",
    ]


def test_bad_provider_settings_get_every_problem_in_one_round(client, world):
    sign_in_as(client, world.admin)
    response = client.post(
        "/admin/identity-providers/new",
        data=provider_form(
            world,
            issuer="http://idp.example.org",
            client_secret="",
            email_domains="not a domain!, @ok.example.org",
        ),
    )
    from tests.helpers import error_summary

    assert response.status_code == 400
    summary = error_summary(response)
    assert any("https://" in line for line in summary), summary
    assert any("client secret" in line for line in summary), summary
    assert any("Enter domains like" in line for line in summary), summary
    empty = client.post("/admin/identity-providers/new", data={})
    assert empty.status_code == 400 and len(error_summary(empty)) >= 5
    huge = client.post(
        "/admin/identity-providers/new",
        data=provider_form(world, email_domains="a" * 6000, issuer="https://" + "x" * 600),
    )
    assert huge.status_code == 400


def test_a_provider_with_linked_people_stays_with_its_agency(client, setup, people, world):
    assert sign_in_at_provider(client, setup, "worker-a").status_code == 302
    client.post("/sign-out")
    sign_in_as(client, world.admin)
    response = client.post(
        f"/admin/identity-providers/{setup.provider.id}",
        data=provider_form(
            world,
            agency_id=str(world.agency_b.id),
            issuer=setup.provider.issuer,
            client_secret="",
        ),
    )
    from tests.helpers import assert_form_error

    assert_form_error(response, "it stays with its agency")


def test_the_provider_forms_survive_hostile_input(client, world):
    from tests.test_fuzz_forms import fuzz_page

    sign_in_as(client, world.admin)
    assert (
        client.post("/admin/identity-providers/new", data=provider_form(world)).status_code == 302
    )
    from tracker.models import IdentityProvider

    provider_id = db.session.scalar(db.select(IdentityProvider.id))
    assert fuzz_page(client, f"/admin/identity-providers/{provider_id}")
    assert fuzz_page(client, "/admin/identity-providers/new")


def test_a_twin_first_sign_in_does_not_crash_or_link_twice(setup, people, oidc, monkeypatch):
    """Two first sign-ins of one subject at once: both find no link; the unique key decides."""
    from tracker.services import identity

    claims = {
        "iss": oidc.issuer,
        "sub": "worker-a",
        "email": ACCOUNTS["worker-a"]["email"],
        "email_verified": True,
    }
    assert identity.sign_in(setup.provider, claims, {}).person is not None
    real = identity._link_for
    seen = []
    monkeypatch.setattr(
        identity, "_link_for", lambda c: None if not seen.append(1) and len(seen) == 1 else real(c)
    )
    twin = identity.sign_in(setup.provider, claims, {})
    assert twin.person is not None and twin.person.id == people["worker-a"].id
    assert db.session.scalar(db.select(db.func.count(IdentityLink.id))) == 1
    assert len(events("identity.linked")) == 1
    # Another subject with the person's email (a new account at the agency) is refused.
    other = identity.sign_in(setup.provider, {**claims, "sub": "worker-a-new-account"}, {})
    assert other.person is None and other.refusal == identity.UNKNOWN


def test_strange_claims_are_refused_not_crashed_on(setup, people, oidc):
    from tracker.services import identity

    base = {"iss": oidc.issuer, "email": ACCOUNTS["worker-a"]["email"], "email_verified": True}
    for claims in (
        {**base, "sub": "x" * 256},
        {**base, "sub": ""},
        {**base, "sub": 12345},
        {**base, "sub": "ok", "email": ["a@b"]},
        {**base, "sub": "ok2", "email": "x" * 300 + "@" + DOMAIN_A},
        {**base, "sub": "ok3", "email_verified": "true"},  # a string is not a yes
    ):
        assert identity.sign_in(setup.provider, claims, {}).person is None, claims
    long_sid = identity.sign_in(setup.provider, {**base, "sub": "worker-a", "sid": "s" * 300}, {})
    assert long_sid.person is not None
    assert db.session.get(ProviderSession, long_sid.provider_session_id).sid is None
    assert db.session.scalar(db.select(db.func.count(IdentityLink.id))) == 1


def test_a_provider_of_an_agency_made_inactive_can_still_be_switched_off(client, world):
    from tracker.models import IdentityProvider

    sign_in_as(client, world.admin)
    response = client.post("/admin/identity-providers/new", data=provider_form(world))
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "used once a second administrator approves it" in page and "Not in use" in page
    provider = db.session.scalars(db.select(IdentityProvider)).one()
    world.agency_a.active = False
    db.session.commit()
    from tracker.services import identity

    assert provider not in identity.providers_for_sign_in()  # not offered to sign in with
    response = client.post(
        f"/admin/identity-providers/{provider.id}", data=provider_form(world, active=None)
    )
    assert response.status_code == 302
    db.session.refresh(provider)
    assert provider.active is False


# --- issue 13: an administrator's own issuer cannot sign in as someone else ----------------------


def approver() -> Person:
    return db.session.scalars(
        db.select(Person).where(Person.email == "provider.approver@example.org")
    ).one()


def test_a_new_provider_is_used_only_once_a_second_admin_approves(client, world):
    from tracker.models import IdentityProvider
    from tracker.services import identity

    sign_in_as(client, world.admin)
    response = client.post("/admin/identity-providers/new", data=provider_form(world))
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "used once a second administrator approves it" in page and "Not in use" in page
    provider = db.session.scalars(db.select(IdentityProvider)).one()
    approval = identity.pending_approval(provider)
    assert provider.awaiting_approval and approval.requested_by_id == world.admin.id
    # Not offered, and its start and callback refuse (nothing is asked of the issuer).
    client.post("/sign-out")
    assert "Agency A account" not in page_text(client.get("/sign-in"))
    assert client.get(f"/sign-in/with/{provider.id}").status_code == 404
    assert client.get(f"/sign-in/with/{provider.id}/callback?code=x&state=y").status_code == 404
    # The administrator who asked cannot approve it.
    sign_in_as(client, world.admin)
    assert "Waits for a second administrator" in page_text(client.get("/admin/approvals"))
    assert (
        client.post(f"/admin/approvals/{approval.id}", data={"decision": "approve"}).status_code
        == 409
    )
    second = add_person("Second Admin", world.partnership, Role.ADMIN, world.admin.password_hash)
    db.session.commit()
    client.post("/sign-out")
    sign_in_as(client, second)
    page = page_text(client.get("/admin/approvals"))
    assert "login.microsoftonline.com/3f5c-tenant" in page and f"schools.{DOMAIN_A}" in page
    assert (
        client.post(f"/admin/approvals/{approval.id}", data={"decision": "approve"}).status_code
        == 302
    )
    db.session.refresh(provider)
    assert not provider.awaiting_approval
    assert [e.person_id for e in events("identity_provider.approved")] == [second.id]
    client.post("/sign-out")
    assert "Sign in with Agency A account" in page_text(client.get("/sign-in"))


def test_changing_who_a_provider_signs_in_waits_for_a_second_admin(client, setup, people, world):
    provider = setup.provider
    sign_in_as(client, world.admin)
    base = {
        "agency_id": str(world.agency_a.id),
        "name": provider.name,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "email_domains": provider.email_domains,
        "mfa_satisfies": "y",
        "active": "y",
    }
    # A name is only a label: it takes effect at once.
    renamed = client.post(f"/admin/identity-providers/{provider.id}", data={**base, "name": "A"})
    assert renamed.status_code == 302
    db.session.refresh(provider)
    assert not provider.awaiting_approval and identity_pending(provider) is None
    # Another issuer, client or domain does not, until a second administrator approves; nor
    # which of its sign-ins stand in for the tracker's second factor.
    for change in (
        {"issuer": "https://attacker.example"},
        {"client_id": "another-client"},
        {"email_domains": f"{DOMAIN_A}\nattacker.example"},
        {"mfa_satisfies": ""},
        {"mfa_acr_values": "urn:any-password-will-do"},
    ):
        response = client.post(
            f"/admin/identity-providers/{provider.id}", data={**base, "name": "A", **change}
        )
        assert response.status_code == 302
        db.session.refresh(provider)
        assert provider.awaiting_approval and identity_pending(provider) is not None
        client.post("/sign-out")
        assert client.get(f"/sign-in/with/{provider.id}").status_code == 404
        sign_in_as(client, world.admin)
        # Put back, it still waits: the second administrator approves what is there now.
        client.post(f"/admin/identity-providers/{provider.id}", data={**base, "name": "A"})
        db.session.refresh(provider)
        assert provider.awaiting_approval
        from tracker.services import people as people_service

        people_service.decide(approver(), identity_pending(provider).id, approve=True)
        db.session.refresh(provider)
        assert not provider.awaiting_approval
    client.post("/sign-out")
    assert sign_in_at_provider(client, setup, "worker-a").status_code == 302


def identity_pending(provider):
    from tracker.services import identity

    return identity.pending_approval(provider)


def test_a_first_sign_in_to_an_account_with_a_password_needs_that_password(
    client, setup, people, password_hash
):
    """The provider (or whoever controls its issuer) asserting a worker's verified email is not
    enough: an account that has a password is linked only when its person types it, once."""
    person = people["worker-a"]
    person.password_hash = password_hash  # they have signed in with a password before
    db.session.commit()
    response = sign_in_at_provider(client, setup, "worker-a")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in/link-your-account"
    assert not db.session.scalars(db.select(IdentityLink)).all()
    assert client.get("/cases/").status_code == 302  # not signed in
    page = client.get("/sign-in/link-your-account")
    assert page.status_code == 200 and person.email in page_text(page)
    # A wrong password: the GOV.UK error summary, no link, audited and counted as a failure.
    wrong = client.post("/sign-in/link-your-account", data={"password": "not the password"})
    assert_form_error(wrong, "Enter the password of your account on this service")
    assert not db.session.scalars(db.select(IdentityLink)).all()
    assert [e.object_id for e in events("identity.link_refused")] == [person.id]
    empty = client.post("/sign-in/link-your-account", data={"password": ""})
    assert_form_error(empty, "Enter your password")
    # The right one links, then the provider is asked once more and signs the person in.
    done = client.post("/sign-in/link-your-account", data={"password": PASSWORD})
    assert done.status_code == 302
    assert done.headers["Location"].startswith(f"/sign-in/with/{setup.provider.id}")
    [link] = db.session.scalars(db.select(IdentityLink)).all()
    assert link.person_id == person.id
    [linked] = events("identity.linked")
    assert changed(linked)["confirmed_with_password"] == [None, True]
    callback, _ = walk_provider(
        client.get(done.headers["Location"]).headers["Location"], "worker-a", until=TRACKER
    )
    assert client.get(callback.removeprefix(TRACKER)).status_code == 302
    assert client.get("/cases/").status_code == 200
    # Later sign-ins go by the link: no password asked again.
    client.post("/sign-out")
    again = sign_in_at_provider(client, setup, "worker-a")
    assert again.status_code == 302 and again.headers["Location"] == "/"


def test_the_link_confirmation_page_needs_a_sign_in_under_way(client, world):
    assert client.get("/sign-in/link-your-account").headers["Location"] == "/sign-in"
    assert client.post("/sign-in/link-your-account", data={"password": "x"}).status_code == 302
