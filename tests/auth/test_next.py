"""After sign-in the app goes only to a path on this site, whatever `next` says."""

import re
from datetime import datetime

import pytest

from tests.auth.test_sign_in import sign_in
from tests.auth.test_two_factor import code_at
from tracker.extensions import db
from tracker.security import safe_next

START = datetime(2026, 11, 25, 10, 0)

# Known ways round a "starts with one slash" check (as the query string carries them, decoded).
BYPASSES = [
    "/\t/evil.example",  # browsers strip tabs: //evil.example
    "/\r\n/evil.example",
    "/\n/evil.example",
    "/\x00/evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "//evil.example",
    "///evil.example",
    "/%2f%2fevil.example",
    "/%2F/evil.example",
    "%2f%2fevil.example",
    "/%5cevil.example",
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "https://evil.example",
    "https:evil.example",
    "HTTPS://evil.example/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\uff0f/evil.example",  # fullwidth solidus
    "/\u2215/evil.example",  # division slash
    "/%ef%bc%8f%ef%bc%8fevil.example",  # fullwidth solidus, percent-encoded
    "\u3002evil.example",
    "evil.example",
    "",
    "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", BYPASSES)
def test_bypasses_are_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/", "/cases/12", "/cases/?q=a%20b&page=2", "/x//y"])
def test_paths_on_this_site_are_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize("raw", ["/%09/evil.example", "/%0D%0A/x", "%2F%2Fevil.example"])
def test_sign_in_never_redirects_off_site(client, world, raw):
    response = client.post(
        f"/sign-in?next={raw}", data={"email": world.worker_a.email, "password": _password()}
    )
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"] == "/"


def test_a_good_next_is_followed(client, world):
    response = client.post(
        f"/sign-in?next=/cases/{world.case.id}",
        data={"email": world.worker_a.email, "password": _password()},
    )
    assert response.headers["Location"] == f"/cases/{world.case.id}"


def test_leads_after_the_security_code_and_the_recovery_codes_link(client, world, frozen):
    frozen(START)
    lead = world.lead_a
    first = client.post(
        "/sign-in?next=/%09/evil.example", data={"email": lead.email, "password": _password()}
    )
    assert first.headers["Location"] == "/sign-in/set-up-two-factor"
    client.get("/sign-in/set-up-two-factor")
    db.session.refresh(lead)
    page = client.post(
        "/sign-in/set-up-two-factor", data={"code": code_at(lead.totp_secret, START)}
    )
    hrefs = re.findall(r'class="govuk-button" href="([^"]*)"', page.get_data(as_text=True))
    assert hrefs == ["/"]
    client.post("/sign-out")
    # The second time round, through the security-code step.
    sign_in_again = client.post(
        "/sign-in?next=/%5C/evil.example", data={"email": lead.email, "password": _password()}
    )
    assert sign_in_again.headers["Location"] == "/sign-in/security-code"
    frozen(datetime(2026, 11, 25, 10, 5))
    done = client.post(
        "/sign-in/security-code",
        data={"code": code_at(lead.totp_secret, datetime(2026, 11, 25, 10, 5))},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/"


def test_a_tampered_pending_next_is_checked_again(client, world, frozen):
    frozen(START)
    sign_in(client, world.lead_a.email)
    with client.session_transaction() as session:
        session["pending_sign_in"]["next"] = "//evil.example"
    client.get("/sign-in/set-up-two-factor")
    db.session.refresh(world.lead_a)
    page = client.post(
        "/sign-in/set-up-two-factor", data={"code": code_at(world.lead_a.totp_secret, START)}
    )
    assert "evil.example" not in page.get_data(as_text=True)


def _password():
    from tests.conftest import PASSWORD

    return PASSWORD
