"""Who is acting, and from where, for the audit trail and the access rules, with no request here.

The web app says once how to find them (tracker/acting.py reads the signed-in person and the
request's address); outside a request (the CLI, the scheduler) there is nobody, and callers pass
the actor or a label themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker.models import Person

Origin = tuple[str | None, str | None]  # (address, user agent)
SCHEDULER = "scheduler"  # who acted, in the audit trail, when nobody did: the tracker's own jobs


def _nobody() -> Person | None:
    return None


def _nowhere() -> Origin:
    return None, None


def _no_request() -> dict:
    return {}


_finders: dict[str, Callable] = {"actor": _nobody, "origin": _nowhere, "scope": _no_request}


def provide(
    *,
    actor: Callable[[], Person | None],
    origin: Callable[[], Origin],
    scope: Callable[[], dict],
) -> None:
    """The app's way to find the acting person, the request's origin (each None outside one) and
    the request's own scratch space (a fresh dict outside one)."""
    _finders["actor"] = actor
    _finders["origin"] = origin
    _finders["scope"] = scope


def actor() -> Person | None:
    return _finders["actor"]()


def origin() -> Origin:
    return _finders["origin"]()


def request_scope() -> dict:
    """What one step of this request leaves for a later step of the same request (the access rule
    that let a break-glass grant read a case, for the audit events the page then records)."""
    return _finders["scope"]()
