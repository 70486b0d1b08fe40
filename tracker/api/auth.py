"""Authentication on the API: the bearer token, checked before every call."""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from tracker.api import API_PREFIX, ratelimit
from tracker.api.problems import ApiError
from tracker.models import Person
from tracker.services import api_tokens


def person_from_token(req) -> Person | None:
    """Flask-Login's request loader: on the API the bearer token, and nothing else, names the
    person (the API has no session: see tracker.security.BrowserSessionInterface)."""
    if not req.path.startswith(API_PREFIX):
        return None
    scheme, _, secret = req.headers.get("Authorization", "").partition(" ")
    g.api_token = None
    if scheme.lower() != "bearer":
        return None
    address = req.remote_addr or "unknown"
    g.api_throttled = api_tokens.address_throttled(address)
    if g.api_throttled:
        return None
    g.api_token = api_tokens.authenticate(secret.strip())
    if g.api_token is None:
        api_tokens.record_failure(address)
        return None
    return g.api_token.person


def authenticate():
    """Before every call but the OpenAPI document: a valid token, within the rate limits."""
    if request.endpoint == "api.openapi_document":
        return None
    signed_in = current_user.is_authenticated  # runs person_from_token, once
    ratelimit.refuse_a_throttled_address()
    if not signed_in:
        raise ApiError(401, "Send a valid API token: Authorization: Bearer <token>")
    ratelimit.count_the_call(g.api_token)
    return None
