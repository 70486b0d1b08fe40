"""A person and agency named as long as their forms allow still raise a challenge: the alert's
sender ("name, agency") is cut to fit its column (PostgreSQL refuses a longer one: a 500)."""

from datetime import datetime

from tests.challenges.support import name_leads
from tests.conftest import sign_in_as
from tracker.extensions import db
from tracker.models import Agency, Alert, Challenge, Person


def test_a_long_name_at_a_long_named_agency_raises_a_challenge(
    client, world, password_hash, frozen
):
    frozen(datetime(2026, 12, 17, 10, 0))
    name_leads(world, password_hash)
    agency = db.session.get(Agency, world.agency_a.id)
    agency.name = (
        "Northshire County Council Children's Services " + "A" * 74
    )  # the admin form's 120
    worker = db.session.get(Person, world.worker_a.id)
    worker.name = "Alexandra " + "B" * 110  # the invite form's 120
    db.session.commit()
    assert len(agency.name) == len(worker.name) == 120

    sign_in_as(client, world.worker_a)
    start = f"/cases/{world.case.id}/challenges/new"
    client.get(start)
    assert client.post(start, data={"immediate_risk": "no"}).status_code == 302
    details = {
        "about_agency_id": str(world.agency_b.id),
        "kind": "no_response",
        "what_happened": "Police did not answer our request",
        "outcome_wanted": "An answer this week",
        "urgent": "no",
    }
    assert client.post(f"{start}/details", data=details).status_code == 302
    response = client.post(f"{start}/check")

    assert response.status_code == 302, response.status_code
    assert db.session.scalar(db.select(db.func.count()).select_from(Challenge)) == 1
    senders = db.session.scalars(db.select(Alert.sender).where(Alert.sender.is_not(None))).all()
    assert senders
    for sender in senders:
        assert len(sender) == 200
        assert sender.startswith(f"{worker.name}, Northshire County Council")
