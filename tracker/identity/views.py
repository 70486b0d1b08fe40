"""Sign-in through an agency's identity provider: start, callback, back-channel logout, and the
check with the provider on later requests. The OpenID Connect exchange is Authlib's (it needs
the request); tracker.services.identity decides what the validated claims mean."""

from __future__ import annotations

import requests
from authlib.integrations.base_client.errors import OAuthError
from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from joserfc.errors import JoseError

from tracker.auth.views import begin_second_factor, complete_sign_in, safe_next
from tracker.extensions import csrf
from tracker.services import identity, oidc

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
    if result.person is None:
        return _refused(provider, result.refusal, 403)
    if result.needs_second_factor:
        return begin_second_factor(result.person, next_url, result.provider_session_id)
    complete_sign_in(result.person, result.provider_session_id)
    return redirect(next_url)


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
