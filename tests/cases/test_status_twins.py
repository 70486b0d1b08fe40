"""Closing and reopening a case against a twin request and against disposal (PostgreSQL: several
web workers; SQLite runs each POST as one write transaction from its first read)."""

from __future__ import annotations

import threading
from datetime import date, datetime

from sqlalchemy import func, select

from tests.conftest import sign_in_as
from tests.helpers import in_thread, page_text, postgresql_only
from tracker.extensions import db
from tracker.models import AuditEvent, Case, Person
from tracker.services import cases, retention


def test_a_reopen_racing_a_disposal_leaves_the_case_disposed_and_closed(app, world, frozen):
    """The reopen passed access.case_for_changing just before the disposal committed."""
    postgresql_only()
    frozen(datetime(2026, 6, 10, 12, 0))
    cases.set_status(world.worker_a, world.case, "closed", "Family moved out of the area")
    frozen(datetime(2062, 1, 5, 12, 0))  # past closure + 35 years (social care)
    retention.review()
    [item] = retention.queue()
    case_id, worker_id, item_id = world.case.id, world.worker_a.id, item.id
    db.session.commit()
    checked, disposed = threading.Event(), threading.Event()

    def reopening():
        person, case = db.session.get(Person, worker_id), db.session.get(Case, case_id)
        assert case.disposed_at is None
        checked.set()
        assert disposed.wait(30)
        cases.set_status(person, case, "open", "New referral received")

    thread, errors = in_thread(app, reopening)
    assert checked.wait(30)
    retention.decide(world.auditor, item_id, retention.Decision("dispose", "Past retention"))
    disposed.set()
    thread.join(60)
    assert [type(e) for e in errors] == [cases.CaseError]
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert (case.disposed_at is not None, case.status) == (True, "closed")


def test_closing_a_case_twice_at_once_is_one_closure(app, world, frozen):
    postgresql_only()
    frozen(datetime(2026, 11, 18, 10, 0))
    case_id, worker_id = world.case.id, world.worker_a.id
    db.session.commit()
    both_read = threading.Barrier(2)

    def closing():
        person, case = db.session.get(Person, worker_id), db.session.get(Case, case_id)
        both_read.wait(30)
        cases.set_status(person, case, "closed", "No further action")

    twins = [in_thread(app, closing) for _ in range(2)]
    for thread, _ in twins:
        thread.join(60)
    assert [e for _, found in twins for e in found] == []
    changes = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "case.status_change", AuditEvent.case_id == case_id)
    )
    assert changes == 1


def test_a_sibling_the_reader_may_not_read_is_not_named(client, world):
    sibling = cases.create(
        world.worker_a,
        child_name="Sibling Two",
        date_of_birth=date(2016, 2, 2),
        lead_agency_id=world.agency_a.id,
        lead_professional_id=world.worker_a.id,
        other_agency_ids=[],
    )
    cases.link_sibling(world.worker_a, world.case, sibling)
    sign_in_as(client, world.worker_b)  # involved in the case, not in the sibling's
    assert client.get(f"/cases/{sibling.id}").status_code == 404
    assert sibling.reference not in page_text(client.get(f"/cases/{world.case.id}"))
    sign_in_as(client, world.worker_a)
    assert sibling.reference in page_text(client.get(f"/cases/{world.case.id}"))
