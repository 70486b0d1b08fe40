"""The partnership list of unanswered concerns shows only what its reader may read: a lead of an
agency not involved in a case sees none of its concerns (no summary, no reference, not even by
filtering on an agency); partnership-wide readers (auditors, the partnership's own leads) see
every agency's rows."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select

from tests.concerns.test_lists import concern
from tests.conftest import add_person, sign_in_as
from tests.helpers import page_text
from tracker.extensions import db
from tracker.models import AuditContent, AuditEvent, Role
from tracker.services import cases, sharing

SUMMARY = "Mother disclosed the father has returned to the home"


def overdue_concern(world, *, case=None, to=None, summary=SUMMARY):
    return concern(world, datetime(2026, 11, 2, 8, 0), case=case, to=to, summary=summary)


def listed(client, query: str = "") -> str:
    response = client.get(f"/concerns/unanswered{query}")
    assert response.status_code == 200
    return page_text(response)


def shown_in_list_events(person) -> set[int]:
    """Every concern the person's list views recorded as shown."""
    contents = db.session.scalars(
        select(AuditContent.content)
        .join(AuditEvent, AuditContent.event_id == AuditEvent.id)
        .where(AuditEvent.person_id == person.id, AuditEvent.action == "concern.list")
    )
    return {i for content in contents for i in json.loads(content)["changes"]["shown"][1]}


def test_a_lead_of_an_uninvolved_agency_sees_none_of_the_cases_concerns(
    client, world, frozen, password_hash
):
    frozen(datetime(2026, 11, 2, 9, 0))
    lead_c = add_person("Lead C", world.agency_c, Role.LEAD, password_hash)
    db.session.commit()
    not_theirs = overdue_concern(world)
    theirs = cases.create(
        world.worker_a,
        child_name="Second Child",
        date_of_birth=date(2017, 3, 3),
        lead_agency_id=world.agency_a.id,
        lead_professional_id=None,
        other_agency_ids=[world.agency_c.id],
    )
    owed_by_c = overdue_concern(
        world, case=theirs, to=world.agency_c.id, summary="School attendance has dropped"
    )
    frozen(datetime(2026, 11, 20, 10, 0))  # both well overdue

    sign_in_as(client, lead_c)
    assert client.get(f"/cases/{world.case.id}").status_code == 404
    for query in ("", f"?agency={world.agency_a.id}", f"?agency={world.agency_b.id}"):
        text = listed(client, query)
        assert SUMMARY not in text, query
        assert world.case.reference not in text, query
    text = listed(client)
    assert "Showing 1 to 1 of 1" in text  # only the case C is involved in
    assert theirs.reference in text and "School attendance has dropped" in text
    assert "Only concerns on cases your agency is involved in are shown" in text
    assert "No unanswered concerns match" in listed(client, f"?agency={world.agency_b.id}")
    # The audit events name what was shown, and only that.
    assert shown_in_list_events(lead_c) == {owed_by_c.recipients[0].id}
    assert not_theirs.recipients[0].id not in shown_in_list_events(lead_c)
    # The query itself is narrowed, not only the page.
    now = datetime(2026, 11, 20, 10, 0)
    rows = db.session.scalars(sharing.unanswered_concerns(now, reader=lead_c)).all()
    assert [r.share.case_id for r in rows] == [theirs.id]


def test_a_lead_of_an_involved_agency_sees_its_cases_concerns(client, world, frozen):
    frozen(datetime(2026, 11, 2, 9, 0))
    overdue_concern(world)
    frozen(datetime(2026, 11, 20, 10, 0))
    sign_in_as(client, world.lead_b)
    text = listed(client)
    assert SUMMARY in text and world.case.reference in text


def test_partnership_wide_readers_see_every_agencys_concerns(client, world, frozen, password_hash):
    frozen(datetime(2026, 11, 2, 9, 0))
    partnership_lead = add_person("Partnership Lead", world.partnership, Role.LEAD, password_hash)
    db.session.commit()
    overdue_concern(world)
    frozen(datetime(2026, 11, 20, 10, 0))
    for reader in (world.auditor, partnership_lead):
        sign_in_as(client, reader)
        text = listed(client)
        assert SUMMARY in text and world.case.reference in text, reader.name
        assert "Only concerns on cases your agency is involved in" not in text
        assert world.case.reference in listed(client, f"?agency={world.agency_b.id}")


def test_a_worker_promoted_to_lead_sees_only_their_agencys_cases(client, world, frozen):
    frozen(datetime(2026, 11, 2, 9, 0))
    overdue_concern(world)
    frozen(datetime(2026, 11, 20, 10, 0))
    sign_in_as(client, world.admin)
    response = client.post(
        f"/admin/people/{world.worker_c.id}", data={"role": "lead", "active": "y"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    sign_in_as(client, world.worker_c)
    text = listed(client)
    assert SUMMARY not in text and world.case.reference not in text
