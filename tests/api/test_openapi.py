"""The OpenAPI document is true: every /api/v1 route and method is in it and nothing else is,
responses match its schemas, and schemathesis, driven by the served document, finds no server
error and no response that breaks it."""

from __future__ import annotations

import json
import re

import schemathesis
from flask.globals import _cv_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis import checks

from tests.api.conftest import share_body
from tracker.extensions import db

METHODS = {"get", "post", "put", "patch", "delete"}


def documented(document: dict) -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }


def routed(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        found |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_api_route_is_documented_and_nothing_else(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert routed(client.application) == documented(document)


def test_the_document_is_valid_openapi(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    labels = {result.ok().label for result in schema.get_all_operations()}
    # Schemathesis leaves out the document's own path; every other operation loads.
    expected = documented(schema.raw_schema) - {("/api/v1/openapi.json", "GET")}
    assert labels == {f"{method} {path}" for path, method in expected}


def validate(document: dict, path: str, method: str, response) -> None:
    """The response matches the schema the document gives for its status and content type."""
    documented_response = document["paths"][path][method.lower()]["responses"][
        str(response.status_code)
    ]
    content = documented_response["content"]
    assert response.mimetype in content, (response.mimetype, list(content))
    schema = {**content[response.mimetype]["schema"], "components": document["components"]}
    errors = list(Draft202012Validator(schema).iter_errors(response.get_json()))
    assert not errors, [e.message for e in errors]


def test_responses_match_the_document(api, world):
    document = api.client.get("/api/v1/openapi.json").get_json()
    case = f"/cases/{world.case.id}"
    share = api.post(f"{case}/shares", world.worker_a, json=share_body(world))
    validate(document, "/api/v1/cases/{case_id}/shares", "POST", share)
    concern_id = share.get_json()["concerns"][0]["id"]
    calls = [
        ("GET", "/api/v1/cases", "/cases", world.worker_a, None),
        ("GET", "/api/v1/cases/{case_id}", case, world.worker_b, None),
        ("GET", "/api/v1/cases/{case_id}", case, world.worker_c, None),
        ("GET", "/api/v1/cases/{case_id}/shares", f"{case}/shares", world.worker_b, None),
        ("GET", "/api/v1/cases/{case_id}/chronology", f"{case}/chronology", world.worker_a, None),
        ("GET", "/api/v1/concerns/awaiting-us", "/concerns/awaiting-us", world.worker_b, None),
        ("GET", "/api/v1/concerns/awaiting-them", "/concerns/awaiting-them", world.worker_a, None),
        ("GET", "/api/v1/cases", "/cases?limit=0", world.worker_a, None),
        (
            "POST",
            "/api/v1/concerns/{concern_id}/response",
            f"/concerns/{concern_id}/response",
            world.worker_b,
            {"action_taken": "Checked"},
        ),
        (
            "POST",
            "/api/v1/cases/{case_id}/challenges",
            f"{case}/challenges",
            world.worker_a,
            {
                "immediate_risk": True,
                "about_agency_id": world.agency_b.id,
                "kind": "other",
                "what_happened": "x",
                "outcome_wanted": "y",
                "urgent": False,
            },
        ),
        ("GET", "/api/v1/challenges", "/challenges", world.worker_b, None),
        ("POST", "/api/v1/cases/{case_id}/shares", f"{case}/shares", world.auditor, {}),
    ]
    for method, template, path, person, body in calls:
        response = api.call(method, path, person, json=body)
        validate(document, template, method, response)
    challenge_id = api.get("/challenges", world.worker_b).get_json()["items"][0]["id"]
    outcome = api.post(
        f"/challenges/{challenge_id}/outcomes",
        world.worker_b,
        json={"outcome": "discussion", "text": "Spoke"},
    )
    validate(document, "/api/v1/challenges/{challenge_id}/outcomes", "POST", outcome)
    validate(document, "/api/v1/cases", "GET", api.get("/cases", token="sct_wrong"))


# --- schemathesis -------------------------------------------------------------------------------

# "No server error and no response that breaks the document". Checks that judge the API's own
# business rules (e.g. refusing a valid-looking share dated in the future) are not asked for.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def in_own_context(app):
    """Each request in its own app context and database session, as in production."""

    def wsgi(environ, start_response):
        db.session.commit()
        token = _cv_app.set(None)
        try:
            return list(app(environ, start_response))
        finally:
            _cv_app.reset(token)

    return wsgi


def test_schemathesis_finds_no_server_error_and_no_broken_response(app, api, world):
    api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=share_body(world))
    token = api.token_for(world.worker_b)
    app.config["API_RATE_LIMIT"] = 100_000
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", in_own_context(app))
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,  # about 30 s for all eleven operations
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            check()
        except Exception as error:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)


def test_schemathesis_negative_data_is_refused_without_a_server_error(app, api, world):
    """Schemathesis's negative mode: every schema broken on purpose (ids and limits past their
    maximum, wrong types, missing fields, odd formats). Each must be a 4xx problem, never a 500."""
    from schemathesis.generation.modes import GenerationMode

    token = api.token_for(world.worker_a)
    app.config["API_RATE_LIMIT"] = 100_000
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", in_own_context(app))
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        @settings(
            max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case):
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"}, checks=[checks.not_a_server_error]
            )

        try:
            check()
        except Exception as error:
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)


# Values that once reached the database or the date arithmetic and gave a 500 (issue 13).
HOSTILE_LEAVES = st.sampled_from(
    [
        2**31,
        2**63,
        2**64,
        -(2**63) - 1,
        10**400,
        1e308,
        "9999-12-31",
        "9999-12-31T23:59:00Z",
        "0001-01-01",
        "\ud800",
        "a\udfffb",
        "\x00",
        "\u202e",
        "x" * 10_000,
        True,
        None,
    ]
)
JSON_VALUES = st.recursive(
    HOSTILE_LEAVES | st.text(max_size=20) | st.integers(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def hostile_bodies(draw, valid: dict) -> str:
    """A valid body with hostile values in some of its fields, or deep nesting, as JSON text
    (lone surrogates written as \\ud800 escapes, as another system could send them)."""
    how = draw(st.sampled_from(["fields", "fields", "deep", "deep-in-field"]))
    if how == "deep":
        depth = draw(st.sampled_from([33, 1000, 100_000]))
        return "[" * depth + "]" * depth
    body = dict(valid)
    for name in draw(st.lists(st.sampled_from(sorted(valid)), min_size=1, max_size=3)):
        body[name] = draw(JSON_VALUES)
    text = json.dumps(body)
    if how == "deep-in-field":
        name = draw(st.sampled_from(sorted(valid)))
        text = text.replace(
            json.dumps(name) + ":", json.dumps(name) + ":" + "[" * 5000 + "]" * 5000 + ',"x":', 1
        )
    return text


def test_hostile_json_on_every_create_call(app, api, world):
    from tests.api.conftest import share_body

    app.config["API_RATE_LIMIT"] = 100_000
    share = api.post(f"/cases/{world.case.id}/shares", world.worker_a, json=share_body(world))
    assert share.status_code == 201, share.get_json()
    concern_id = share.get_json()["concerns"][0]["id"]
    calls = [
        (f"/cases/{world.case.id}/shares", world.worker_a, share_body(world)),
        (f"/concerns/{concern_id}/response", world.worker_b, {"summary": "Seen", "outcome": "x"}),
        (
            f"/cases/{world.case.id}/challenges",
            world.worker_b,
            {"about_agency_id": 1, "kind": "plan"},
        ),
        ("/challenges/1/outcomes", world.worker_a, {"outcome": "resolve", "note": "n"}),
    ]
    for path, person, valid in calls:
        token = api.token_for(person)

        @settings(
            max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(body=hostile_bodies(valid))
        def check(body):
            response = api.post(
                path,
                token=token,
                data=body.encode("utf-8", "surrogatepass"),
                content_type="application/json",
            )
            assert response.status_code < 500, (path, body[:200], response.status_code)

        check()
