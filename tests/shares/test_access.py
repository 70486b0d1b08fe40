"""Who may see and change shares, notes, threshold views, the chronology and the lists."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tests.shares.test_cycle import share_data
from tracker.extensions import db
from tracker.models import AuditEvent, CaseNote, Concern, ConcernResponse, Share
from tracker.services import notes


@pytest.fixture
def shared(client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world))
    note = notes.record_note(
        world.worker_a,
        world.case,
        kind="lived_experience",
        occurred_on=date(2026, 12, 23),
        text="She said she likes school because it is quiet",
        themes=[],
    )
    recipient = db.session.scalar(db.select(Concern))
    return recipient, note


def read_urls(world, recipient, note) -> list[str]:
    case = world.case.id
    return [
        f"/shares/{recipient.share_id}",
        f"/cases/{case}/chronology",
        f"/cases/{case}/chronology.csv",
        f"/cases/{case}/notes/{note.id}",
    ]


def change_requests(world, recipient, note) -> list[tuple[str, str, dict]]:
    case, share = world.case.id, recipient.share_id
    concern = f"/shares/{share}/concerns/{recipient.id}"
    return [
        ("get", f"/cases/{case}/shares/new", {}),
        ("post", f"/cases/{case}/shares/new", share_data(world)),
        ("post", f"/cases/{case}/shares/received", share_data(world)),
        ("post", f"/shares/{share}/amend", {**share_data(world), "reason": "x"}),
        ("post", f"{concern}/acknowledge", {"acknowledge": "1"}),
        ("post", f"{concern}/respond", {"action_taken": "Done"}),
        ("post", f"/cases/{case}/notes/new", {"kind": "significant_event", "text": "x"}),
        ("post", f"/cases/{case}/notes/{note.id}/amend", {"text": "x", "reason": "y"}),
        ("post", f"/cases/{case}/threshold", {"level": "Universal", "reason": "x"}),
    ]


def counts():
    return tuple(
        db.session.scalar(db.select(db.func.count()).select_from(m))
        for m in (Share, ConcernResponse, CaseNote)
    )


def test_uninvolved_agency_sees_nothing(client, world, shared):
    recipient, note = shared
    sign_in_as(client, world.worker_c)
    for url in read_urls(world, recipient, note):
        assert client.get(url).status_code == 404, url
    before = counts()
    for method, url, data in change_requests(world, recipient, note):
        assert getattr(client, method)(url, data=data).status_code == 404, url
    assert counts() == before
    home = client.get("/").get_data(as_text=True)
    assert world.case.reference not in home
    assert client.get("/concerns/unanswered").status_code == 403  # workers: not a partnership list


def test_auditor_reads_everything_and_changes_nothing(client, world, shared):
    recipient, note = shared
    sign_in_as(client, world.auditor)
    for url in read_urls(world, recipient, note):
        assert client.get(url).status_code == 200, url
    text = page_text(client.get(f"/shares/{recipient.share_id}"))
    assert "Amend this share" not in text and "Respond" not in text
    case_page = page_text(client.get(f"/cases/{world.case.id}"))
    assert "Record a share" not in case_page and "She said she likes school" in case_page
    before = counts()
    for method, url, data in change_requests(world, recipient, note):
        assert getattr(client, method)(url, data=data).status_code == 403, url
    assert counts() == before
    assert client.get("/concerns/unanswered").status_code == 200


def test_admin_reads_no_case_content(client, world, shared):
    recipient, note = shared
    sign_in_as(client, world.admin)
    for url in [*read_urls(world, recipient, note), "/concerns/unanswered"]:
        assert client.get(url).status_code == 403, url


def test_only_the_recording_agency_amends_a_note(client, world, shared):
    _, note = shared
    sign_in_as(client, world.worker_b)
    response = client.post(
        f"/cases/{world.case.id}/notes/{note.id}/amend",
        data={"occurred_on": ["23", "12", "2026"], "text": "Changed", "reason": "Mine"},
    )
    assert response.status_code == 400
    assert "Only the agency that recorded this note" in page_text(response)
    assert len(db.session.get(CaseNote, note.id).versions) == 1


def test_note_from_another_case_is_not_found(client, world, shared, frozen):
    from tracker.services import cases

    _, note = shared
    other = cases.create(
        world.worker_b,
        child_name="Other Child",
        date_of_birth=date(2019, 1, 1),
        lead_agency_id=world.agency_b.id,
        lead_professional_id=None,
        other_agency_ids=[world.agency_a.id],
    )
    sign_in_as(client, world.worker_a)
    assert client.get(f"/cases/{other.id}/notes/{note.id}").status_code == 404


def test_every_view_is_audited(client, world, shared):
    recipient, note = shared
    sign_in_as(client, world.worker_b)
    for url in read_urls(world, recipient, note):
        client.get(url)
    client.get("/concerns/ours")
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.person_id == world.worker_b.id)
    ).all()
    assert {"share.view", "chronology.view", "chronology.export", "note.view"} <= set(actions)
    assert "concern.list" in actions  # the agency's list of concerns it owes
