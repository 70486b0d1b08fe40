"""Error pages in the service's own style; never a stack trace, never a bare 500."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from tracker.api import API_PREFIX
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


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            "Your form had expired or was not sent from this service. Go back, reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith(API_PREFIX):  # no such API route or method: still JSON
            from tracker.api.problems import from_http_exception

            return from_http_exception(error)
        return render_error(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error")
        return render_error(500)
