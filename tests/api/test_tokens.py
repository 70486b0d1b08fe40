"""API tokens: created on the person's page (shown once, stored hashed, named, expiring),
revoked there; expired, revoked or wrong tokens and the browser session get 401; the rate limit
per token answers 429 with Retry-After."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime

from sqlalchemy import select

from tests.api.conftest import assert_problem
from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, page_text
from tracker.extensions import db
from tracker.models import ApiToken, AuditEvent
from tracker.services import api_tokens


def create_on_page(client, name="Case system", expires=("31", "12", "2026")):
    return client.post(
        "/account/api-tokens",
        data={"name": name, "expires_on": list(expires)},
    )


def test_a_token_is_shown_once_stored_hashed_and_works(client, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))
    sign_in_as(client, world.worker_a)
    response = create_on_page(client)
    assert response.status_code == 200
    secret = re.search(r"(sct_[A-Za-z0-9_-]{40,})", response.get_data(as_text=True)).group(1)
    token = db.session.scalar(select(ApiToken))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in token.token_hash and token.name == "Case system"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.create"))
    again = client.get("/account/api-tokens")
    assert secret not in again.get_data(as_text=True)  # shown once
    assert "Never" in page_text(again)  # not used yet

    api = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200
    db.session.refresh(token)
    assert token.last_used_at == datetime(2026, 11, 24, 10, 0)


def test_token_form_refuses_bad_input_with_the_error_summary(client, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))
    sign_in_as(client, world.worker_a)
    assert_form_error(create_on_page(client, name=""), "Enter a name for the token")
    assert_form_error(
        create_on_page(client, expires=("1", "1", "2028")), "within 365 days from today"
    )
    assert_form_error(create_on_page(client, expires=("1", "1", "2020")), "in the future")
    assert_form_error(create_on_page(client, expires=("", "", "")), "Enter the date")
    assert db.session.scalar(select(ApiToken)) is None


def test_admins_hold_no_tokens(client, world):
    sign_in_as(client, world.admin)
    assert client.get("/account/api-tokens").status_code == 403


def test_revoked_and_expired_tokens_are_refused(client, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))
    token, secret = api_tokens.create(world.worker_a, "Old system", date(2026, 11, 30))
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200

    frozen(datetime(2026, 12, 1, 0, 30))  # past the end of 30 November, UK time
    assert_problem(client.get("/api/v1/cases", headers=headers), 401)

    frozen(datetime(2026, 11, 25, 10, 0))
    sign_in_as(client, world.lead_a)
    client.post(f"/account/api-tokens/{token.id}/revoke")  # not theirs: nothing happens
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    sign_in_as(client, world.worker_a)
    assert "Revoke" in page_text(client.get("/account/api-tokens"))
    client.post(f"/account/api-tokens/{token.id}/revoke")
    assert_problem(client.get("/api/v1/cases", headers=headers), 401)
    assert "Revoked" in page_text(client.get("/account/api-tokens"))
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_token.revoke"))


def test_a_deactivated_persons_token_stops_working(client, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))
    _, secret = api_tokens.create(world.worker_a, "System", date(2027, 1, 1))
    world.worker_a.active = False
    db.session.commit()
    assert_problem(client.get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}), 401)


def test_the_browser_session_cannot_call_the_api(client, world):
    sign_in_as(client, world.worker_a)
    assert client.get("/cases/").status_code == 200
    response = client.get("/api/v1/cases")
    assert_problem(response, 401)
    assert "Set-Cookie" not in response.headers  # the API never touches the session


def test_the_rate_limit_per_token_answers_429_with_retry_after(app, client, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0, 15))
    app.config["API_RATE_LIMIT"] = 3
    _, secret = api_tokens.create(world.worker_a, "System", date(2027, 1, 1))
    _, other = api_tokens.create(world.worker_b, "System", date(2027, 1, 1))
    headers = {"Authorization": f"Bearer {secret}"}
    for _ in range(3):
        assert client.get("/api/v1/cases", headers=headers).status_code == 200
    limited = client.get("/api/v1/cases", headers=headers)
    assert_problem(limited, 429)
    assert limited.headers["Retry-After"] == "45"
    # Another token has its own allowance; the next window starts afresh.
    assert (
        client.get("/api/v1/cases", headers={"Authorization": f"Bearer {other}"}).status_code == 200
    )
    frozen(datetime(2026, 11, 24, 10, 1, 0))
    assert client.get("/api/v1/cases", headers=headers).status_code == 200


def test_unknown_api_paths_and_methods_answer_in_json(client, world):
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    response = client.delete("/api/v1/cases")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_the_guide_shows_how_to_make_a_first_call(client):
    text = page_text(client.get("/api/guide"))
    assert "Authorization: Bearer" in text and "curl" in text and "Idempotency-Key" in text
