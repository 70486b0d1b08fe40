"""Taking an account back revokes its API tokens: a set-password link (a password reset, or a
lost authenticator's reset) ends every session and every API token, so whatever was minted in a
stolen session stops working. Each revocation is audited."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.helpers import emailed_link_token
from tracker.extensions import db
from tracker.models import ApiToken, AuditEvent, Person
from tracker.services import api_tokens, people, two_factor

START = datetime(2026, 11, 24, 10, 0)
NEW_PASSWORD = "a brand new long password 42"


def api_status(client, secret: str) -> int:
    return client.get("/api/v1/cases", headers={"Authorization": f"Bearer {secret}"}).status_code


def revocations(token: ApiToken) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "api_token.revoke", AuditEvent.object_id == token.id
            )
        )
    )


@pytest.mark.parametrize("clears_two_factor", [False, True], ids=["password", "two_factor"])
def test_a_set_password_link_revokes_every_api_token(client, world, frozen, clears_two_factor):
    frozen(START)
    person = world.worker_a
    if clears_two_factor:
        person.totp_secret = "JBSWY3DPEHPK3PXP"
        person.totp_confirmed_at = START
        db.session.commit()
    tokens = [
        api_tokens.create(person, name, date(2027, 1, 31)) for name in ("script", "other script")
    ]
    assert all(api_status(client, secret) == 200 for _, secret in tokens)

    people.send_reset_link(world.admin, person, clears_two_factor=clears_two_factor)
    response = client.post(
        f"/set-password/{emailed_link_token(person)}",
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert person.invite_token_hash is None
    if clears_two_factor:
        assert not person.has_two_factor
    for token, secret in tokens:
        assert api_status(client, secret) == 401
        assert db.session.get(ApiToken, token.id).revoked_at == START
        (event,) = revocations(token)
        assert event.person_id == person.id


def test_a_two_factor_reset_revokes_every_api_token(client, world, frozen):
    frozen(START)
    person = world.lead_a
    person.totp_secret = "JBSWY3DPEHPK3PXP"
    person.totp_confirmed_at = START
    db.session.commit()
    token, secret = api_tokens.create(person, "script", date(2027, 1, 31))
    assert api_status(client, secret) == 200
    two_factor.clear(person)
    db.session.commit()
    assert api_status(client, secret) == 401
    assert len(revocations(token)) == 1
