"""The API's rate limits: an address that keeps sending wrong tokens is held off for the sign-in
window, and each token has its own budget of calls (tracker.services.api_tokens counts both)."""

from __future__ import annotations

from flask import current_app, g

from tracker.api.problems import ApiError
from tracker.models import ApiToken
from tracker.services import api_tokens


def refuse_a_throttled_address() -> None:
    """After person_from_token: it found the address over its limit of wrong tokens."""
    if g.get("api_throttled"):
        raise ApiError(
            429,
            "Too many calls with a wrong token from this address: try again later",
            headers={"Retry-After": str(current_app.config["SIGNIN_WINDOW_MINUTES"] * 60)},
        )


def count_the_call(token: ApiToken) -> None:
    retry_after = api_tokens.count_request(token)
    if retry_after is not None:
        raise ApiError(
            429,
            f"Too many requests with this token: try again in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )
