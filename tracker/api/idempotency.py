"""Idempotency keys on the API's create calls: a retry with the same key and body gets the first
answer back, a different body with the same key is refused, and a key still being processed is a
409 (tracker.services.api_tokens claims and stores them)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Response, g, make_response, request
from werkzeug.exceptions import HTTPException

from tracker.api.errors import api_error, http_error
from tracker.api.problems import PROBLEM_TYPE, ApiError, invalid
from tracker.domain import Refused
from tracker.errors import refused
from tracker.services import api_tokens


def idempotent(view: Callable) -> Callable:
    """Create calls: a retry with the same Idempotency-Key and body gets the first answer back."""

    @wraps(view)
    def wrapper(**kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(**kwargs)
        if not 1 <= len(key) <= api_tokens.KEY_MAX or not all(33 <= ord(c) <= 126 for c in key):
            raise invalid(
                "Idempotency-Key",
                f"Idempotency-Key must be 1 to {api_tokens.KEY_MAX} visible ASCII characters",
            )
        body = request.get_json(silent=True)
        claim = api_tokens.claim_key(
            g.api_token,
            key,
            request.method,
            request.path,
            body if body is not None else request.get_data(as_text=True),
        )
        if claim.outcome == "mismatch":
            raise ApiError(
                422,
                "This Idempotency-Key was already used with a different request",
                [
                    {
                        "field": "Idempotency-Key",
                        "message": "Use a new key for a different request",
                    }
                ],
            )
        if claim.outcome == "in_progress":
            raise ApiError(409, "A request with this Idempotency-Key is still being processed")
        if claim.outcome == "replay":
            status = claim.record.response_status
            return Response(
                claim.record.response_body,
                status=status,
                mimetype=PROBLEM_TYPE if status >= 400 else "application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = make_response(view(**kwargs))
        except ApiError as error:
            response = api_error(error)
        except HTTPException as error:
            response = http_error(error)
        except Refused as error:
            response = refused(error)
        except Exception:
            api_tokens.release_key(claim.record)
            raise
        if response.status_code >= 500:
            api_tokens.release_key(claim.record)
        else:
            api_tokens.store_answer(claim.record, response.status_code, response.get_json())
        return response

    return wrapper
