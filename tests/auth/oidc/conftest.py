"""A real OpenID Connect provider for the tests: oidc-provider (npm), run by node with
tests/auth/oidc/provider.mjs, on 127.0.0.1 at a free port, once per test session.

The signing key is made here, so a test can also sign tokens as the provider would (a logout
token) or as an attacker would (another key). Each test registers its own client with the
provider (Dynamic Client Registration) for its own redirect and back-channel logout URIs.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

# The browser tests' fixtures, for the journey through the provider's login page.
from tests.browser.conftest import browser, journey, live_server  # noqa: F401
from tests.conftest import add_person, make_app
from tracker.extensions import db
from tracker.models import IdentityProvider, Person, Role
from tracker.services import identity, people

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PROVIDER_SCRIPT = HERE / "provider.mjs"
OIDC_PROVIDER = ROOT / "node_modules" / "oidc-provider"
IDP_PASSWORD = "idp password for tests"
DOMAIN_A = "agency-a.example.org"
DOMAIN_B = "agency-b.example.org"


def provider_time() -> int:
    """The real time, as a Unix timestamp, for tokens signed as the provider would sign them.

    The one place these tests read the wall clock for data, and rightly: the provider is another
    system (here a node process) and stamps its tokens with the real time, so the tracker checks
    their iat and exp against the real time, not against its own (travelled) clock.
    """
    return int(time.time())


# Accounts at the agencies' provider: id -> claims. amr says how they signed in there.
ACCOUNTS = {
    "worker-a": {"email": f"worker.one@{DOMAIN_A}", "email_verified": True, "amr": ["pwd"]},
    "lead-a-mfa": {"email": f"lead.mfa@{DOMAIN_A}", "email_verified": True, "amr": ["pwd", "mfa"]},
    "lead-a-pwd": {"email": f"lead.pwd@{DOMAIN_A}", "email_verified": True, "amr": ["pwd"]},
    "worker-b": {"email": f"worker.two@{DOMAIN_B}", "email_verified": True, "amr": ["pwd"]},
    "stranger": {"email": f"not.invited@{DOMAIN_A}", "email_verified": True, "amr": ["pwd"]},
    "unverified": {"email": f"worker.one@{DOMAIN_A}", "email_verified": False, "amr": ["pwd"]},
    "leaver": {"email": f"leaver@{DOMAIN_A}", "email_verified": True, "amr": ["pwd"]},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class TestProvider:
    issuer: str
    key: RSAKey  # the provider's own signing key (private)
    log: list[str]  # what the provider printed (errors, back-channel failures)

    def metadata(self) -> dict:
        return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=60).json()

    def register_client(self, redirect_uri: str, backchannel_logout_uri: str) -> dict:
        """A client of the provider, as an agency's administrator would register the tracker."""
        response = requests.post(
            self.metadata()["registration_endpoint"],
            json={
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
                "backchannel_logout_uri": backchannel_logout_uri,
                "backchannel_logout_session_required": True,
            },
            timeout=60,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def control(self, path: str) -> None:
        response = requests.post(f"{self.issuer}/test/{path}", timeout=60)
        assert response.status_code == 204, response.text

    def disable(self, account: str) -> None:
        self.control(f"accounts/{account}/disable")

    def tamper_next_id_token(self, kind: str) -> None:
        self.control(f"tamper?kind={kind}")


@pytest.fixture(scope="session")
def oidc_server(tmp_path_factory):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the OpenID Connect tests need it to run oidc-provider")
    if not OIDC_PROVIDER.exists():
        pytest.skip("oidc-provider is not installed (npm install)")
    key = RSAKey.generate_key(
        2048, parameters={"kid": "test-provider-1", "use": "sig", "alg": "RS256"}, private=True
    )
    port = _free_port()
    accounts = {k: {**v, "password": IDP_PASSWORD, "name": k} for k, v in ACCOUNTS.items()}
    settings = tmp_path_factory.mktemp("oidc") / "provider.json"
    settings.write_text(
        json.dumps(
            {"port": port, "jwks": {"keys": [key.as_dict(private=True)]}, "accounts": accounts}
        )
    )
    process = subprocess.Popen(
        [node, str(PROVIDER_SCRIPT), str(settings)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    output: list[str] = []

    def read() -> None:
        for line in process.stdout:
            output.append(line)
            if line.startswith("listening "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        process.kill()
        pytest.fail("the OpenID Connect provider did not start:\n" + "".join(output))
    yield TestProvider(issuer=f"http://127.0.0.1:{port}", key=key, log=output)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


# A loaded test machine may answer slowly; the tests must not depend on a quiet one.
PROVIDER_TIMEOUT_SECONDS = 60


@pytest.fixture
def oidc(oidc_server, app):
    oidc_server.control("reset")
    app.config["IDENTITY_TIMEOUT_SECONDS"] = PROVIDER_TIMEOUT_SECONDS
    return oidc_server


@dataclass
class Setup:
    provider: IdentityProvider
    client_info: dict
    base_url: str


def set_up_provider(
    oidc: TestProvider, admin, agency, base_url: str, *, mfa_satisfies: bool = True
) -> Setup:
    """The admin adds the agency's provider, then registers the tracker with it."""
    provider = identity.create_provider(
        admin,
        identity.ProviderSettings(
            agency_id=agency.id,
            name="Agency A account",
            issuer=oidc.issuer,
            client_id="set-below",
            client_secret="set-below",
            email_domains=DOMAIN_A,
            mfa_satisfies=mfa_satisfies,
            mfa_acr_values="",
        ),
    )
    info = oidc.register_client(
        f"{base_url}/sign-in/with/{provider.id}/callback",
        f"{base_url}/identity-providers/{provider.id}/backchannel-logout",
    )
    identity.update_provider(
        admin,
        provider,
        identity.ProviderSettings(
            agency_id=agency.id,
            name=provider.name,
            issuer=oidc.issuer,
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            email_domains=DOMAIN_A,
            mfa_satisfies=mfa_satisfies,
            mfa_acr_values="",
        ),
    )
    approve_provider(provider, admin)
    return Setup(provider=provider, client_info=info, base_url=base_url)


def approve_provider(provider: IdentityProvider, requested_by) -> None:
    """A second administrator approves the provider's settings: until then it is not used."""
    approver = db.session.scalar(
        db.select(Person).where(Person.email == "provider.approver@example.org")
    )
    if approver is None:
        approver = add_person(
            "Provider Approver", requested_by.agency, Role.ADMIN, requested_by.password_hash
        )
    people.decide(approver, identity.pending_approval(provider).id, approve=True)


def add_people(world, password_hash) -> dict[str, object]:
    """The agency's invited people with the provider accounts' emails (no password set)."""
    made = {}
    for account, role, agency in (
        ("worker-a", Role.WORKER, world.agency_a),
        ("lead-a-mfa", Role.LEAD, world.agency_a),
        ("lead-a-pwd", Role.LEAD, world.agency_a),
        ("worker-b", Role.WORKER, world.agency_b),
        ("leaver", Role.WORKER, world.agency_a),
    ):
        person = add_person(f"IdP {account}", agency, role, password_hash)
        person.email = ACCOUNTS[account]["email"]
        person.password_hash = None  # invited: they never set a password
        made[account] = person
    db.session.commit()
    return made


def walk_provider(authorize_url: str, account: str, until: str, password: str = IDP_PASSWORD):
    """A person at the provider: its login page, then back to the tracker. Returns the URL the
    provider sends the browser back to (starting with `until`), and the browser's session at
    the provider (for a logout there later)."""
    at_provider = requests.Session()
    url = authorize_url
    for _ in range(10):
        if url.startswith(until):
            return url, at_provider
        if "/interaction/" in url and not url.endswith("/login"):
            assert at_provider.get(url, timeout=60).status_code == 200  # the login page
            response = at_provider.post(
                url,
                data={"login": account, "password": password},
                allow_redirects=False,
                timeout=60,
            )
        else:
            response = at_provider.get(url, allow_redirects=False, timeout=60)
        assert response.status_code in (302, 303), (url, response.status_code, response.text[:500])
        url = urljoin(url, response.headers["Location"])
    raise AssertionError(f"the provider never sent the browser back: {url}")


@pytest.fixture
def live_tracker(database_url, tmp_path, app):
    """The tracker on a real HTTP server (the provider calls its back-channel logout URI)."""
    live = make_app(
        database_url,
        tmp_path / "live",
        TESTING=False,
        IDENTITY_TIMEOUT_SECONDS=PROVIDER_TIMEOUT_SECONDS,
    )
    server = make_server("127.0.0.1", 0, live, threaded=True)  # the OS picks a free port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=60)
    with live.app_context():
        db.engine.dispose()


def wait_for(condition, seconds: float = 30) -> bool:
    """Poll a condition (no tight timing: a loaded machine gets the whole allowance)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
