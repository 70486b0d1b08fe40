"""No input gives a 500: huge ids and page numbers, far dates, deep JSON, lone surrogates, a bad
Host header. Each class is fixed at its root (tracker/inputs.py, tracker.security.TrackerApp,
tracker.errors), and these tests walk every route rather than a chosen few."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from werkzeug.datastructures import MultiDict

from tests.conftest import sign_in_as
from tests.helpers import error_summary
from tracker import inputs
from tracker.api.validation import encode_cursor
from tracker.services import api_tokens

HUGE = [2**31, 2**63, 2**64, int("9" * 30)]
SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options")


def int_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if any(type(c) is inputs.IdConverter for c in rule._converters.values())
    ]


def test_every_int_route_uses_the_bounded_converter(app):
    assert len(int_rules(app)) > 30
    for rule in app.url_map.iter_rules():
        for converter in rule._converters.values():
            assert type(converter).__name__ != "IntegerConverter", rule.rule


@pytest.mark.parametrize("role", ["worker_a", "auditor", "admin"])
def test_huge_ids_on_every_int_route_are_404(app, client, world, frozen, role):
    frozen(datetime(2026, 11, 24, 10, 0))
    person = getattr(world, role)
    sign_in_as(client, person)
    headers = {}
    if role != "admin":  # admins hold no API token
        secret = api_tokens.create(person, "system", datetime(2027, 1, 1).date())[1]
        headers["Authorization"] = f"Bearer {secret}"
    for rule in int_rules(app):
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS", "HEAD"})[0]
        for huge in HUGE:
            path = re.sub(r"<[^>]+>", str(huge), rule.rule)
            response = client.open(
                path, method=method, headers=headers, json=None if method == "GET" else {}
            )
            assert response.status_code in {302, 400, 401, 403, 404, 405, 415, 422}, (
                path,
                method,
                response.status_code,
            )


def test_a_number_with_thousands_of_digits_in_a_url_is_404(client, world):
    sign_in_as(client, world.worker_a)
    assert client.get("/cases/" + "9" * 5000).status_code == 404


# Each page with what a strange number gets: an ignored page number or filter shows the page (200);
# a filter the page names in its error summary is a 400; a list the role may not see stays refused
# (403); a POST-only route is 405, or 404 where the number is not one its converter takes.
PAGED = [
    ("worker_a", "/?our_page={n}&their_page={n}", {200}),
    ("worker_a", "/cases/?page={n}", {200}),
    ("worker_a", "/inbox/?page={n}", {200}),
    ("worker_a", "/challenges/?page={n}", {403}),
    ("lead_a", "/concerns/unanswered?page={n}&agency={n}", {400}),
    ("auditor", "/audit/?page={n}&person_id={n}&agency_id={n}", {400}),
    ("auditor", "/audit/cases/{case}?page={n}", {200}),
    ("admin", "/admin/people?page={n}", {200}),
    ("admin", "/admin/mail?page={n}", {200}),
    ("worker_a", "/cases/{case}/chronology?agency={n}", {200, 400}),
    ("worker_a", "/cases/{case}/chronology.csv?agency={n}", {200}),
    ("worker_a", "/cases/{case}/challenges/new?concern={n}", {200}),
    ("worker_a", "/inbox/{n}/read", {404, 405}),
]


@pytest.mark.parametrize("role,template,expected", PAGED)
@pytest.mark.parametrize("n", [2**63, -1, "1e9", "٣"])
def test_huge_query_numbers_are_never_a_500(client, world, role, template, expected, n):
    sign_in_as(client, getattr(world, role))
    response = client.get(template.format(n=n, case=world.case.id))
    assert response.status_code in expected, response.status_code


@pytest.mark.parametrize(
    "path",
    [
        "/audit/?from_date=1&from_date=1&from_date=2026&to_date=31&to_date=12&to_date=9999",
        "/reports/?from_date=1&from_date=1&from_date=2026&to_date=31&to_date=12&to_date=9999",
        "/reports/sharing.csv?from_date=1&from_date=1&from_date=2026&to_date=31&to_date=12&to_date=9999",
        "/reports/?from_date=1&from_date=1&from_date=9999&to_date=31&to_date=12&to_date=9999",
    ],
)
def test_far_dates_get_the_error_summary(client, world, path):
    sign_in_as(client, world.auditor)
    response = client.get(path)
    assert response.status_code == 400, response.status_code
    assert any("Enter a year from 1900 to 2200" in line for line in error_summary(response))


def test_unanswered_min_days_is_one_of_the_listed_numbers(client, world):
    sign_in_as(client, world.lead_a)
    response = client.get("/concerns/unanswered?min_days=10000000")
    assert response.status_code == 400
    assert error_summary(response) == ["Select how many working days overdue from the list"]
    assert client.get("/concerns/unanswered?min_days=5").status_code == 200


def test_a_bad_host_header_is_a_styled_400_with_the_security_headers(client):
    response = client.get("/sign-in", headers={"Host": "a" * 64 + ".example"})
    assert response.status_code == 400
    assert "There is a problem with your request" in response.get_data(as_text=True)
    for header in SECURITY_HEADERS:
        assert header in response.headers


def test_an_error_page_that_cannot_render_is_still_a_page_with_headers(app, client, monkeypatch):
    import tracker.errors

    def broken(*args, **kwargs):
        raise RuntimeError("the template failed")

    monkeypatch.setattr(tracker.errors, "render_template", broken)
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    for header in SECURITY_HEADERS:
        assert header in response.headers


# --- JSON and text ------------------------------------------------------------------------------


def test_json_depth_is_counted_without_recursion():
    assert inputs.json_depth('{"a": [1, {"b": "[[[["}]}') == 3
    assert inputs.json_depth("[" * 100_000 + "]" * 100_000) == 100_000


@pytest.fixture
def api_token(world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))
    return api_tokens.create(world.worker_a, "system", datetime(2027, 1, 1).date())[1]


def test_deeply_nested_json_is_a_400_problem(client, world, api_token):
    body = '{"summary": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = client.post(
        f"/api/v1/cases/{world.case.id}/shares",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert 400 <= response.status_code < 500
    assert response.content_type == "application/problem+json"


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\udfffb"'])
def test_a_lone_surrogate_in_json_is_refused(client, world, api_token, text):
    body = '{"child_name": ' + text + ', "date_of_birth": "2019-01-01"}'
    response = client.post(
        f"/api/v1/cases/{world.case.id}/shares",
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert 400 <= response.status_code < 500
    assert "no lone surrogates" in response.get_data(as_text=True)
    assert json.loads(body)  # Python's own parser takes it...
    with pytest.raises(ValueError):  # ...the app's does not
        inputs.BoundedJSONProvider(client.application).loads(body)


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"summary": "bad\x00byte"}, "summary"),
        ({"recipients": [{"agency_id": 1, "note": "\x00"}]}, "recipients"),
        ({"purpose\x00": "x"}, "purpose\x00"),
    ],
)
def test_a_nul_in_json_is_refused_against_its_field_with_the_rest(
    client, world, api_token, changes, field
):
    """A NUL is Unicode but PostgreSQL cannot store it: refused against the field that holds it,
    however deep, in the same round as the body's other problems (never a 500)."""
    from tests.api.conftest import share_body

    body = {**share_body(world), **changes, "method": "carrier pigeon"}
    response = client.post(
        f"/api/v1/cases/{world.case.id}/shares",
        json=body,
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert response.status_code == 422, response.get_json()
    errors = {e["field"]: e["message"] for e in response.get_json()["errors"]}
    assert "NUL" in errors[field]
    assert "method" in errors  # the other problem, in the same answer


@pytest.mark.parametrize("value", [2**31, 2**63, -1, True])
def test_a_cursor_with_a_huge_int_is_422(client, world, api_token, value):
    cursor = encode_cursor([value])
    response = client.get(
        f"/api/v1/cases?cursor={cursor}", headers={"Authorization": f"Bearer {api_token}"}
    )
    assert response.status_code in {400, 422}, response.status_code


def test_a_lone_surrogate_in_a_form_field_gets_the_error_summary(app, world):
    from tracker.cases.forms import CaseSearchForm
    from tracker.notes.forms import NoteForm

    with app.test_request_context("/", method="POST"):
        form = NoteForm(formdata=MultiDict({"text": "before \ud800 after", "kind": "note"}))
        assert not form.validate()
        assert "must contain only valid characters" in " ".join(form.text.errors)
        search = CaseSearchForm(formdata=MultiDict({"q": "\udfff"}))
        search.validate()
        assert search.data  # processed without touching the bad text


@pytest.mark.parametrize(
    "method,path,kwargs,status",
    [
        ("GET", "/no-such-page", {}, 404),
        ("DELETE", "/sign-in", {}, 405),
        ("POST", "/sign-in", {"data": "x" * (3 * 1024 * 1024)}, 413),
        ("GET", "/cases/" + "9" * 30, {}, 404),
    ],
)
def test_werkzeugs_own_errors_get_the_apps_page_and_headers(client, method, path, kwargs, status):
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    assert "govuk-template" in response.get_data(as_text=True)
    for header in SECURITY_HEADERS:
        assert header in response.headers
