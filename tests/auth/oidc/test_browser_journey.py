"""In a real browser: sign in through the agency's provider, on the provider's own login page,
and back; axe checks every tracker page on the way (the provider's page is the provider's)."""

from __future__ import annotations

import re

import pyotp

from tests.auth.oidc.conftest import IDP_PASSWORD, add_people, set_up_provider
from tests.conftest import PASSWORD
from tests.helpers import current_code
from tracker import clock
from tracker.extensions import db


def through_the_provider(tab, issuer: str, account: str) -> None:
    tab.visit("/sign-in")
    with tab.page.expect_navigation(url=re.compile(re.escape(issuer) + "/interaction/")):
        tab.page.get_by_role("button", name="Sign in with Agency A account").click()
    tab.page.get_by_label("Username").fill(account)
    tab.page.get_by_label("Password").fill(IDP_PASSWORD)
    with tab.page.expect_navigation(url=re.compile(re.escape(tab.base_url))):
        tab.page.get_by_role("button", name="Sign in to the identity provider").click()
    tab.check()


def test_sign_in_through_the_providers_own_login_page(
    journey, live_server, oidc, world, password_hash
):
    setup = set_up_provider(oidc, world.admin, world.agency_a, live_server)
    add_people(world, password_hash)
    provider_id, admin_email, admin_key = (
        setup.provider.id,
        world.admin.email,
        pyotp.random_base32(),
    )
    world.admin.totp_secret, world.admin.totp_confirmed_at = admin_key, clock.now()
    db.session.commit()  # the server takes over: no open transaction here

    worker = journey()
    through_the_provider(worker, oidc.issuer, "worker-a")
    assert worker.page.url == f"{live_server}/"
    assert "IdP worker-a" in worker.page.content()
    worker.visit("/cases/")

    stranger = journey()
    through_the_provider(stranger, oidc.issuer, "stranger")
    assert "Ask your agency's administrator" in stranger.page.content()

    admin = journey()
    admin.visit("/sign-in")
    admin.fill("Email address", admin_email)
    admin.fill("Password", PASSWORD)
    admin.submit("Sign in")
    admin.fill("Security code", current_code(admin_key))
    admin.submit("Continue")
    admin.visit("/admin/identity-providers")
    admin.visit(f"/admin/identity-providers/{provider_id}")
    assert "IdP worker-a" in admin.page.content()
    admin.visit("/admin/identity-providers/new")
    admin.submit("Save identity provider", status=400)
    admin.visit("/signed-out/by-your-agency")
