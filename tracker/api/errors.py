"""The API's error handlers: every error, expected or not, is a problem document, and whatever
the call had written is rolled back."""

from __future__ import annotations

from flask import current_app
from werkzeug.exceptions import HTTPException

from tracker.api.problems import ApiError, from_api_error, from_http_exception, problem
from tracker.extensions import db


def api_error(error: ApiError):
    db.session.rollback()
    return from_api_error(error)


def http_error(error: HTTPException):
    db.session.rollback()
    return from_http_exception(error)


def unexpected_error(error: Exception):
    db.session.rollback()
    current_app.logger.exception("Unhandled API error")
    return problem(500)
