"""Errors as application/problem+json (RFC 9457), with the refused fields one by one."""

from __future__ import annotations

from flask import Response, json
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Server error",
}
DETAILS = {
    401: "Send a valid API token: Authorization: Bearer <token>",
    403: "Your role does not allow this",
    404: "Not found, or you do not have access to it",
    405: "This method is not allowed here",
    500: "Sorry, there is a problem with the service. Nothing you saved has been lost.",
}


class ApiError(Exception):
    """A refusal the API reports as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        errors: list[dict] | None = None,
        headers: dict | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "The request has invalid fields", [{"field": field, "message": message}])


def problem_body(status: int, detail: str | None = None, errors: list[dict] | None = None) -> dict:
    body = {
        "type": f"/api/guide#problem-{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or DETAILS.get(status) or TITLES.get(status, "Error"),
    }
    if errors:
        body["errors"] = errors
    return body


def problem(
    status: int,
    detail: str | None = None,
    errors: list[dict] | None = None,
    headers: dict | None = None,
) -> Response:
    response = Response(
        json.dumps(problem_body(status, detail, errors)), status=status, mimetype=PROBLEM_TYPE
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    response.headers.update(headers or {})
    return response


def from_api_error(error: ApiError) -> Response:
    return problem(error.status, error.detail, error.errors, error.headers)


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    response = problem(status)
    if status == 405 and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response
