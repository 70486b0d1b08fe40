"""Every page that shows case data writes an audit event naming the case and the reader: the
forms too, which name the child and often show the record being answered or amended."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from tests.conftest import sign_in_as
from tests.services.test_sharing import record
from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import notes

NOTE_TEXT = "Child says she likes school dinners"


def _events_since(start: int) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > start)))


def _head() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def test_every_form_that_shows_case_data_is_a_view_of_it(client, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))
    share = record(world, datetime(2026, 11, 24, 9, 0))  # A to B, answered by B
    concern = share.recipients[0]
    note = notes.record_note(
        world.worker_a,
        world.case,
        kind="lived_experience",
        occurred_on=date(2026, 11, 23),
        text=NOTE_TEXT,
        themes=[],
    )
    db.session.commit()
    case = world.case.id
    summary = share.current.summary
    pages = [  # (reader, url, case text it shows besides the child's name and reference)
        (world.worker_b, f"/shares/{share.id}/concerns/{concern.id}/respond", summary),
        (world.worker_a, f"/shares/{share.id}/amend", summary),
        (world.worker_a, f"/shares/{share.id}/protected-sources/new", summary),
        (world.worker_a, f"/cases/{case}/notes/{note.id}/amend", NOTE_TEXT),
        (world.worker_a, f"/cases/{case}/notes/{note.id}/protected-sources/new", NOTE_TEXT),
        (world.worker_a, f"/cases/{case}/shares/new", None),
        (world.worker_a, f"/cases/{case}/shares/received", None),
        (world.worker_a, f"/cases/{case}/no-share/new", None),
        (world.worker_a, f"/cases/{case}/notes/new", None),
        (world.worker_a, f"/cases/{case}/threshold", None),
        (world.worker_a, f"/cases/{case}/challenges/new", None),
    ]
    silent = []
    for reader, url, text in pages:
        sign_in_as(client, reader)
        start = _head()
        response = client.get(url)
        assert response.status_code == 200, url
        assert world.case.reference in response.text, url
        assert text is None or text in response.text, url
        seen = [(e.case_id, e.person_id) for e in _events_since(start)]
        if (world.case.id, reader.id) not in seen:
            silent.append(url)
    assert silent == []

    # Raising a challenge: step 2 lists every share and note of the case as evidence, and the
    # last step shows the answers with them.
    sign_in_as(client, world.worker_a)
    client.post(f"/cases/{case}/challenges/new", data={"immediate_risk": "no"})
    start = _head()
    details = client.get(f"/cases/{case}/challenges/new/details")
    assert NOTE_TEXT in details.text and summary[:40] in details.text
    assert (world.case.id, world.worker_a.id) in [
        (e.case_id, e.person_id) for e in _events_since(start)
    ]
