"""Idempotency keys on the API's create calls: a retry with the same key and body gets the first
answer back, a different body with the same key is refused, and a key still being processed is a
409 (tracker.services.api_tokens claims and stores them).

A replay is a read of what the first answer is about: it is given only while the caller may
still read that case (access.py asked again, as the route itself would: 404 once their agency is
off the case), and it is audited as a view of the case, like any other read of case data.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import wraps

from flask import Response, g, make_response, request
from werkzeug.exceptions import HTTPException

from tracker import access
from tracker.api.errors import api_error, http_error
from tracker.api.problems import PROBLEM_TYPE, ApiError, invalid
from tracker.domain import NotFound, Refused
from tracker.errors import refused
from tracker.extensions import db
from tracker.models import Case, Concern, Person
from tracker.services import api_tokens, cases, sharing


def _share_case(share_id: int, person: Person) -> Case:
    return sharing.share_for_reading(share_id, person).case  # NotFound unless it may read it


def _concern_case(concern_id: int, person: Person) -> Case:
    concern = db.session.get(Concern, concern_id)
    if concern is None:
        raise NotFound
    return _share_case(concern.share_id, person)


# The case a create call's URL is about, by the URL's argument, as the person may read it now
# (else NotFound or Forbidden, as access.py says): the same rules the routes' own checks apply.
# The stored answer is for the same path (the key is refused for any other), so the same case.
_CASE_OF: dict[str, Callable[[int, Person], Case]] = {
    "case_id": lambda case_id, person: access.case_for_reading(case_id, person),
    "share_id": _share_case,
    "concern_id": _concern_case,
    "challenge_id": lambda challenge_id, person: (
        access.challenge_for_reading(challenge_id, person).case
    ),
}


def _readable_case(kwargs: dict, person: Person) -> Case:
    [(name, value)] = kwargs.items()
    return _CASE_OF[name](value, person)


def idempotent(view: Callable) -> Callable:
    """Create calls: a retry with the same Idempotency-Key and body gets the first answer back,
    while the caller may still read the case it is about."""
    arguments = list(inspect.signature(view).parameters)
    if len(arguments) != 1 or arguments[0] not in _CASE_OF:
        # A replay must know which case to ask access.py about: say so here, not in a leak.
        raise TypeError(f"{view.__name__}: an idempotent call's URL names one of {list(_CASE_OF)}")

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
            # As the route would answer now (404 once the caller may not read the case): the
            # stored answer may hold case data. A refusal stays stored; it holds none.
            case = _readable_case(kwargs, g.api_token.person)
            if status < 400:
                cases.record_view(case, "case.replay_view")
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
