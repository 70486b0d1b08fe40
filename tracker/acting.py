"""The request's side of tracker.services.context: the signed-in person and where they are.

The one place that tells services who is acting: they never read Flask's request themselves.
"""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user

from tracker.models import Person
from tracker.services import context


def signed_in_person() -> Person | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def request_origin() -> context.Origin:
    if not has_request_context():
        return None, None
    agent = request.user_agent.string or None
    return request.remote_addr, agent[:300] if agent else None


def request_scope() -> dict:
    return g.setdefault("tracker_scope", {}) if has_request_context() else {}


def init_app() -> None:
    context.provide(actor=signed_in_person, origin=request_origin, scope=request_scope)
