"""What the trail must hold: who, from where, before and after, for changes and for looking."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.auth.test_sign_in import sign_in
from tests.conftest import sign_in_as
from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import agencies, leads, people

BROWSER = {"User-Agent": "Mozilla/5.0 (test browser)"}
ADDRESS = {"REMOTE_ADDR": "203.0.113.9"}


def events_since(last_id: int) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id)
        )
    )


def head_id() -> int:
    return db.session.scalar(select(db.func.max(AuditEvent.id)))


def test_failed_sign_in_records_the_address_and_browser(client, world):
    start = head_id()
    response = sign_in(
        client, world.worker_a.email, "wrong password!", headers=BROWSER, environ_base=ADDRESS
    )
    assert response.status_code == 401
    [event] = events_since(start)
    assert event.action == "signin.failed" and event.object_id == world.worker_a.id
    assert (event.address, event.user_agent) == ("203.0.113.9", BROWSER["User-Agent"])
    assert json.loads(event.changes) == {"email": [None, world.worker_a.email]}


def test_sign_in_and_out_are_recorded_with_who_and_where(client, world):
    start = head_id()
    assert (
        sign_in(client, world.worker_a.email, headers=BROWSER, environ_base=ADDRESS).status_code
        == 302
    )
    client.post("/sign-out", headers=BROWSER, environ_base=ADDRESS)
    actions = [(e.action, e.person_id, e.agency_id, e.role, e.address) for e in events_since(start)]
    who = (world.worker_a.id, world.agency_a.id, "worker", "203.0.113.9")
    assert ("signin", *who) in actions and ("signout", *who) in actions


def test_permission_changes_keep_before_and_after(app, world):
    start = head_id()
    people.update(world.admin, world.worker_c, role="lead", active=False, away=False)
    # Beside it: the person is emailed about the change (issue 13), which is audited too.
    [event] = [e for e in events_since(start) if e.action == "person.permission_change"]
    assert event.person_id == world.admin.id
    assert json.loads(event.changes) == {"active": [True, False], "role": ["worker", "lead"]}


def test_agency_and_named_lead_settings_keep_before_and_after(app, world):
    start = head_id()
    agencies.update(
        world.admin,
        world.agency_c,
        name="Agency C Academy",
        kind=world.agency_c.kind,
        secure_mailbox=world.agency_c.secure_mailbox,
        active=True,
    )
    leads.assign(world.admin, world.agency_a, 2, world.lead_a.id, world.worker_a.id)
    agency_event, lead_event = events_since(start)
    assert json.loads(agency_event.changes) == {"name": ["Agency C School", "Agency C Academy"]}
    changes = json.loads(lead_event.changes)
    assert lead_event.action == "named_lead.change"
    assert changes["lead_id"] == [None, world.lead_a.id]
    assert changes["deputy_id"] == [None, world.worker_a.id]


def test_every_page_showing_case_data_writes_an_event(client, world):
    sign_in_as(client, world.worker_a)
    case_id = world.case.id
    pages = {
        "/": "case.list",
        "/cases/": "case.list",
        f"/cases/{case_id}": "case.view",
        f"/cases/{case_id}/agencies/add": "case.form_view",
        f"/cases/{case_id}/siblings": "case.form_view",
        f"/cases/{case_id}/status": "case.form_view",
    }
    for path, action in pages.items():
        start = head_id()
        assert client.get(path, headers=BROWSER).status_code == 200, path
        recorded = [(e.action, e.person_id, e.user_agent) for e in events_since(start)]
        assert (action, world.worker_a.id, BROWSER["User-Agent"]) in recorded, path
