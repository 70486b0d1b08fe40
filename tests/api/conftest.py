"""API fixtures: a token per person of the small partnership, and a client that sends it."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tracker import clock
from tracker.services import api_tokens


class Api:
    """Calls /api/v1/ as one person (their bearer token), or with any token given."""

    def __init__(self, client, tokens: dict[int, str]):
        self.client = client
        self.tokens = tokens

    def token_for(self, person) -> str:
        if person.id not in self.tokens:
            today = clock.now().date()
            _, secret = api_tokens.create(
                person, f"{person.name} system", date(today.year + 1, 1, 1)
            )
            self.tokens[person.id] = secret
        return self.tokens[person.id]

    def call(self, method: str, path: str, person=None, *, token=None, key=None, **kwargs):
        headers = kwargs.pop("headers", {})
        secret = token if token is not None else (self.token_for(person) if person else None)
        if secret is not None:
            headers["Authorization"] = f"Bearer {secret}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path: str, person=None, **kwargs):
        return self.call("GET", path, person, **kwargs)

    def post(self, path: str, person=None, **kwargs):
        return self.call("POST", path, person, **kwargs)


@pytest.fixture
def api(client, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))  # a Tuesday in term time
    return Api(client, {})


def share_body(world, **changes) -> dict:
    """A valid share from agency A to B asking for a response."""
    body = {
        "recipients": [{"agency_id": world.agency_b.id, "people_names": "DC Patel"}],
        "shared_at": "2026-11-24T09:15:00Z",
        "method": "phone",
        "summary": "Bruising seen at school drop-off",
        "purpose": "To ask whether police hold recent call-outs",
        "lawful_basis": "art6_1e_public_task",
        "consent": "not_sought",
        "consent_reason": "Seeking consent could place the child at risk",
        "themes": ["information_sharing"],
        "needs_response": True,
        "priority": "standard",
    }
    body.update(changes)
    return body


def assert_problem(response, status: int, field: str | None = None, message: str | None = None):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    if field is not None:
        fields = {e["field"]: e["message"] for e in body["errors"]}
        assert field in fields, body["errors"]
        if message is not None:
            assert message in fields[field], fields
    return body
