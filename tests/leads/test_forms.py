"""Named leads: kept by administrators (every agency) and each agency's leads (their own), with
who led when kept on record; bad input gets the error summary."""

import pytest

from tests.challenges.support import name_leads
from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, page_text
from tracker.extensions import db
from tracker.models import AuditEvent, NamedLead


def test_named_leads_are_kept_by_admins_and_each_agency_s_leads(client, world, password_hash):
    name_leads(world, password_hash)
    sign_in_as(client, world.lead_a)
    page = page_text(client.get("/challenges/leads"))
    assert "Agency A Social Care" in page and "Agency B Police" not in page
    assert client.get(f"/challenges/leads/{world.agency_b.id}/2").status_code == 403
    response = client.post(
        f"/challenges/leads/{world.agency_a.id}/2",
        data={"lead_id": str(world.worker_a.id), "deputy_id": str(world.lead_a.id)},
    )
    assert response.status_code == 302
    rows = db.session.scalars(
        db.select(NamedLead)
        .where(NamedLead.agency_id == world.agency_a.id, NamedLead.stage == 2)
        .order_by(NamedLead.id)
    ).all()
    # The old row ends, the new one starts: who led when stays on record.
    assert [(r.lead_id, r.deputy_id, r.ended_at is None) for r in rows] == [
        (world.lead_a.id, None, False),
        (world.worker_a.id, world.lead_a.id, True),
    ]
    event = db.session.scalar(
        db.select(AuditEvent)
        .where(AuditEvent.action == "named_lead.change")
        .order_by(AuditEvent.id.desc())
    )
    assert event.person_id == world.lead_a.id
    for person in (world.worker_a, world.auditor):
        sign_in_as(client, person)
        assert client.get("/challenges/leads").status_code == 403
    sign_in_as(client, world.admin)
    page = page_text(client.get("/challenges/leads"))
    assert "Agency B Police" in page and "Partnership Unit" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lead_id": "abc", "deputy_id": "0"}, "Select a person from the list"),
        ({"lead_id": "0", "deputy_id": "WORKER_A"}, "Select a lead before a deputy"),
        ({"lead_id": "WORKER_A", "deputy_id": "WORKER_A"}, "The deputy must be someone other"),
        ({"lead_id": "WORKER_B", "deputy_id": "0"}, "Select a person from the list"),
        ({"deputy_id": "0"}, "Select a lead, or nobody"),
    ],
)
def test_bad_named_lead_input(client, world, data, message):
    ids = {"WORKER_A": str(world.worker_a.id), "WORKER_B": str(world.worker_b.id)}
    data = {k: ids.get(v, v) for k, v in data.items()}
    sign_in_as(client, world.admin)
    response = client.post(f"/challenges/leads/{world.agency_a.id}/2", data=data)
    assert_form_error(response, message)
    assert db.session.scalar(db.select(db.func.count(NamedLead.id))) == 0
