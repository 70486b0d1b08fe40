"""Sign-in through an agency's identity provider: start, callback, back-channel logout, and the
check with the provider on later requests. The OpenID Connect exchange is Authlib's (it needs
the request); tracker.services.identity decides what the validated claims mean."""

from __future__ import annotations

import time
from dataclasses import asdict

import requests
from authlib.integrations.base_client.errors import OAuthError
from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from joserfc.errors import JoseError

from tracker import oidc
from tracker.auth.forms import ConfirmLinkForm
from tracker.auth.views import begin_second_factor, complete_sign_in, safe_next
from tracker.extensions import csrf, db
from tracker.models import Person
from tracker.services import identity

blueprint = Blueprint("identity", __name__)

# Failures of the exchange itself: state, an error from the provider, a token that fails a check.
EXCHANGE_ERRORS = (OAuthError, JoseError, oidc.ProviderError, ValueError)
UNREACHABLE = (requests.RequestException,)


def _provider_or_404(provider_id: int):
    provider = identity.active_provider(provider_id)
    if provider is None:
        abort(404)
    return provider


def _refused(provider, reason: str, status: int):
    return render_template(
        "identity/refused.html", provider=provider, reason=reason, title="You cannot sign in"
    ), status


def _unreachable(provider, error: Exception):
    identity.refuse(provider, identity.INVALID, f"provider unreachable: {type(error).__name__}")
    return render_template(
        "identity/unreachable.html", provider=provider, title="Sign-in service not answering"
    ), 502


@blueprint.route("/sign-in/with/<int:provider_id>")
def start(provider_id: int):
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    provider = _provider_or_404(provider_id)
    try:
        oidc.check_discovery(provider)
        session.clear()  # a fresh session for the sign-in (no fixation)
        session["identity_next"] = safe_next(request.args.get("next"))
        # Authlib keeps state, nonce and the PKCE verifier in the session until the callback.
        return oidc.client_for(provider).authorize_redirect(
            url_for("identity.callback", provider_id=provider.id, _external=True)
        )
    except UNREACHABLE as error:
        return _unreachable(provider, error)
    except (oidc.ProviderError, ValueError, RuntimeError, KeyError) as error:
        # A discovery document that is not the issuer's, not JSON, or lacks an endpoint.
        identity.refuse(provider, identity.INVALID, f"discovery: {error}")
        return _refused(provider, identity.INVALID, 502)


@blueprint.route("/sign-in/with/<int:provider_id>/callback")
def callback(provider_id: int):
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    provider = _provider_or_404(provider_id)
    next_url = safe_next(session.pop("identity_next", None))
    client = oidc.client_for(provider)
    try:
        token = client.authorize_access_token(claims_options=oidc.id_token_claims_options(provider))
    except UNREACHABLE as error:
        return _unreachable(provider, error)
    except EXCHANGE_ERRORS as error:
        identity.refuse(provider, identity.INVALID, f"{type(error).__name__}: {error}")
        return _refused(provider, identity.INVALID, 400)
    claims = token.get("userinfo")
    if not claims:  # a token response with no ID token proves nobody's identity
        identity.refuse(provider, identity.INVALID, "no ID token")
        return _refused(provider, identity.INVALID, 400)
    result = identity.sign_in(provider, dict(claims), token)
    if result.to_confirm is not None:
        session["identity_link"] = {**asdict(result.to_confirm), "at": time.time()}
        session["identity_next"] = next_url
        return redirect(url_for("identity.confirm_link"))
    if result.person is None:
        return _refused(provider, result.refusal, 403)
    if result.needs_second_factor:
        return begin_second_factor(result.person, next_url, result.provider_session_id)
    complete_sign_in(result.person, result.provider_session_id)
    return redirect(next_url)


# The password step of a first sign-in is done soon after it, or started again.
LINK_CONFIRMATION_SECONDS = 600


@blueprint.route("/sign-in/link-your-account", methods=["GET", "POST"])
def confirm_link():
    """A first sign-in through a provider, to an account that already has a password: the
    person types that password once, and the provider's account is linked to theirs."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    pending = session.get("identity_link")
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > (
        LINK_CONFIRMATION_SECONDS
    ):
        session.pop("identity_link", None)
        return redirect(url_for("auth.sign_in"))
    link = identity.PendingLink(**{k: v for k, v in pending.items() if k != "at"})
    person = db.session.get(Person, link.person_id)
    form = ConfirmLinkForm()
    if form.validate_on_submit():
        try:
            identity.confirm_link(link, form.password.data, request.remote_addr)
        except identity.LinkRefused as error:
            form.password.errors.append(str(error))
        else:
            session.pop("identity_link", None)
            # Round the provider once more: now the link signs the person in, as every time.
            next_url = safe_next(session.pop("identity_next", None))
            return redirect(url_for("identity.start", provider_id=link.provider_id, next=next_url))
    return render_template(
        "identity/confirm_link.html",
        form=form,
        email=person.email if person else "",
        title="Link your account",
    ), 400 if form.errors else 200


@blueprint.route("/identity-providers/<int:provider_id>/backchannel-logout", methods=["POST"])
@csrf.exempt  # the provider calls this server to server, with a signed logout token
def backchannel_logout(provider_id: int):
    provider = identity.active_provider(provider_id)
    headers = {"Cache-Control": "no-store"}
    if provider is None:
        return {"error": "invalid_request"}, 400, headers
    try:
        identity.backchannel_logout(provider, request.form.get("logout_token", ""))
    except oidc.ProviderError as error:
        return {"error": "invalid_request", "error_description": str(error)[:200]}, 400, headers
    except UNREACHABLE:
        return {"error": "temporarily_unavailable"}, 503, headers
    return "", 200, headers


@blueprint.before_app_request
def check_with_provider():
    """A session begun through a provider goes on only while the provider says the account is
    live (tracker.services.identity.session_is_live)."""
    provider_session_id = session.get("provider_session")
    if provider_session_id is None or request.endpoint in ("static", None):
        return None
    if not current_user.is_authenticated:
        return None
    if identity.session_is_live(provider_session_id, current_user.id):
        return None
    logout_user()
    session.clear()
    return redirect(url_for("identity.signed_out"))


@blueprint.route("/signed-out/by-your-agency")
def signed_out():
    return render_template("identity/signed_out.html", title="You have been signed out")
