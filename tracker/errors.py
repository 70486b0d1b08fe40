"""Error pages in the service's own style; never a stack trace, never a bare 500."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from tracker.api import API_PREFIX
from tracker.api.problems import from_http_exception, problem
from tracker.domain import Forbidden, NotFound, Refused
from tracker.extensions import db

MESSAGES = {
    400: ("There is a problem with your request", "Go back, check what you entered and try again."),
    403: (
        "You do not have permission to do this",
        "If you think you should, ask your agency's lead or an administrator.",
    ),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. The record may not exist, or you may not have access to it.",
    ),
    405: ("This action is not allowed here", "Go back and try again."),
    409: ("This has already been done", "Go back and reload the page to see where things stand."),
    413: ("What you sent is too large", "Shorten the text and try again."),
    429: ("Too many attempts", "Wait a few minutes and try again."),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. Nothing you saved has been lost.",
    ),
}


def render_error(status: int, detail: str | None = None):
    title, advice = MESSAGES.get(status, MESSAGES[500])
    try:
        return render_template(
            "errors/error.html", title=title, advice=detail or advice, status=status
        ), status
    except Exception:  # the page itself failed (say the database is down): still no bare 500
        db.session.rollback()
        current_app.logger.exception("The error page could not be rendered")
        return (
            "<!DOCTYPE html>\n<html lang=en><meta charset=utf-8>"
            f"<title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(advice)}</p>"
        ), status


REFUSAL_STATUS = {NotFound: 404, Forbidden: 403}


def refusal_status(error: Refused) -> int:
    """The one mapping of the rules' refusals to HTTP, for pages and the API alike."""
    return next(status for kind, status in REFUSAL_STATUS.items() if isinstance(error, kind))


def refused(error: Refused):
    """A refusal as the page or problem document a refused HTTP request gets."""
    db.session.rollback()
    status = refusal_status(error)
    if request.path.startswith(API_PREFIX):
        return problem(status)
    return render_error(status)


def init_app(app: Flask) -> None:
    app.register_error_handler(Refused, refused)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            "Your form had expired or was not sent from this service. Go back, reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith(API_PREFIX):  # no such API route or method: still JSON
            return from_http_exception(error)
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error")
        return render_error(500)
