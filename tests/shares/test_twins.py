"""Two people at one record: the second is told what happened, never silently overwrites the
first, and a twin request (a double submit, two colleagues at once) acts once."""

from __future__ import annotations

import re
import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import sign_in_as
from tests.helpers import assert_form_error, in_thread, postgresql_only
from tests.services.test_sharing import record
from tests.shares.test_cycle import share_data
from tracker.extensions import db
from tracker.models import AuditEvent, CaseNote, Concern, ConcernState, Person, Share
from tracker.services import sharing
from tracker.services.sweep import run_sweep


def opened(client, url: str) -> dict:
    """The page's hidden version, as a browser posts it back."""
    response = client.get(url)
    assert response.status_code == 200, url
    [version] = re.findall(r'name="version" type="hidden" value="(\d+)"', response.text)
    return {"version": version}


def second_person(app, person):
    other = app.test_client()
    sign_in_as(other, person)
    return other


def test_an_amendment_from_a_page_older_than_the_share_is_refused(app, client, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    assert (
        client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world)).status_code == 302
    )
    share_id = db.session.scalar(select(Share.id))
    url = f"/shares/{share_id}/amend"
    other = second_person(app, world.lead_a)
    mine, theirs = opened(client, url), opened(other, url)  # both at version 1
    first = share_data(world, summary="Father returned on Tuesday night", reason="Day wrong")
    assert client.post(url, data={**first, **mine}).status_code == 302

    stale = share_data(world, purpose="So police can act on bail", reason="Purpose unclear")
    response = other.post(url, data={**stale, **theirs})
    assert_form_error(response, "Someone amended this share since you opened it")
    assert "So police can act on bail" in response.text  # what they typed is still there
    db.session.expire_all()
    share = db.session.get(Share, share_id)
    assert (len(share.versions), share.current.summary) == (2, "Father returned on Tuesday night")

    # Having read it, they may save theirs over it on purpose: the refused page carries the
    # version it now knows of.
    [version] = re.findall(r'name="version" type="hidden" value="(\d+)"', response.text)
    assert other.post(url, data={**stale, "version": version}).status_code == 302
    db.session.expire_all()
    assert len(db.session.get(Share, share_id).versions) == 3


def test_an_amendment_from_a_page_older_than_the_note_is_refused(app, client, world, frozen):
    frozen(datetime(2026, 11, 24, 10, 0))  # the note's day is in the past
    sign_in_as(client, world.worker_a)
    case = world.case.id
    note = {"kind": "lived_experience", "occurred_on": ["10", "11", "2026"], "text": "Said hello"}
    assert client.post(f"/cases/{case}/notes/new", data=note).status_code == 302
    note_id = db.session.scalar(select(CaseNote.id))
    url = f"/cases/{case}/notes/{note_id}/amend"
    other = second_person(app, world.lead_a)
    mine, theirs = opened(client, url), opened(other, url)
    amend = {"occurred_on": ["10", "11", "2026"], "reason": "Fuller words"}
    fuller = {**amend, "text": "Said hello and that she is scared at night", **mine}
    assert client.post(url, data=fuller).status_code == 302
    response = other.post(url, data={**amend, "text": "Said hello", "reason": "Date", **theirs})
    assert_form_error(response, "Someone amended this note since you opened it")
    db.session.expire_all()
    assert db.session.get(CaseNote, note_id).current.text.endswith("scared at night")


def test_an_answer_from_a_page_that_showed_none_does_not_overwrite_one_saved_meanwhile(
    app, client, world, frozen
):
    frozen(datetime(2026, 11, 18, 10, 0))
    share = record(world, datetime(2026, 11, 18, 9, 0))
    concern = share.recipients[0]
    db.session.commit()
    url = f"/shares/{share.id}/concerns/{concern.id}/respond"
    sign_in_as(client, world.worker_b)
    other = second_person(app, world.lead_b)
    mine, theirs = opened(client, url), opened(other, url)  # both: no answer yet
    assert client.post(url, data={"action_taken": "Visited today", **mine}).status_code == 302
    response = other.post(url, data={"action_taken": "Phoned the school", **theirs})
    assert_form_error(response, "Someone in your agency answered this concern since you opened it")
    assert "Phoned the school" in response.text
    db.session.expire_all()
    answers = db.session.get(Concern, concern.id).responses
    assert [a.action_taken for a in answers] == ["Visited today"]


# --- twins on PostgreSQL (SQLite runs each POST as one write transaction from its first read) --


def test_an_acknowledgement_racing_a_response_leaves_the_concern_answered(app, world, frozen):
    """The acknowledgement read the concern before the response committed: it must not write
    its stale "acknowledged" over "responded" (the sweep would chase an agency that answered)."""
    postgresql_only()
    frozen(datetime(2026, 11, 18, 10, 0))
    share = record(world, datetime(2026, 11, 18, 9, 0))
    concern_id = share.recipients[0].id
    worker_id, lead_id = world.worker_b.id, world.lead_b.id
    db.session.commit()
    read, responded = threading.Event(), threading.Event()

    def acknowledging():
        actor, concern = db.session.get(Person, worker_id), db.session.get(Concern, concern_id)
        assert concern.state == ConcernState.AWAITING
        read.set()
        assert responded.wait(30)
        sharing.acknowledge(actor, concern)

    def responding():
        assert read.wait(30)
        actor, concern = db.session.get(Person, lead_id), db.session.get(Concern, concern_id)
        sharing.respond(actor, concern, action_taken="Strategy discussion held")
        responded.set()

    (a, a_errors), (r, r_errors) = in_thread(app, acknowledging), in_thread(app, responding)
    a.join(60)
    r.join(60)
    assert not r_errors, r_errors
    assert [type(e) for e in a_errors] == [sharing.ShareError]  # refused: already answered
    db.session.expire_all()
    assert db.session.get(Concern, concern_id).state == ConcernState.RESPONDED
    frozen(datetime(2026, 11, 30, 10, 0))
    counts = run_sweep(datetime(2026, 11, 30, 10, 0))
    assert (counts["concern_overdue_alerts"], counts["challenges_opened"]) == (0, 0)


@pytest.mark.parametrize("act", ["acknowledge", "respond"])
def test_twin_requests_act_once_and_the_second_is_told(app, world, frozen, act):
    postgresql_only()
    frozen(datetime(2026, 11, 18, 10, 0))
    share = record(world, datetime(2026, 11, 18, 9, 0))
    concern_id = share.recipients[0].id
    ids = (world.worker_b.id, world.lead_b.id)
    db.session.commit()
    both_read = threading.Barrier(2)

    def twin(person_id):
        def run():
            actor, concern = db.session.get(Person, person_id), db.session.get(Concern, concern_id)
            _ = concern.responses  # the view reads these first
            both_read.wait(30)
            if act == "acknowledge":
                sharing.acknowledge(actor, concern)
            else:
                sharing.respond(actor, concern, action_taken=f"Answer by {person_id}")

        return run

    twins = [in_thread(app, twin(person_id)) for person_id in ids]
    for thread, _ in twins:
        thread.join(60)
    errors = [error for _, found in twins for error in found]
    assert [type(e) for e in errors] == [sharing.ShareError], errors
    events = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == f"concern.{act}", AuditEvent.object_id.isnot(None))
    )
    assert events == 1


@pytest.mark.parametrize("version", ["\u00b2", "9" * 5000, "-1", ""])
def test_a_version_no_page_would_send_is_no_500(app, client, world, frozen, version):
    """'²' is a digit to str.isdigit, not to int; 5,000 digits are past int()'s limit."""
    frozen(datetime(2026, 12, 24, 10, 30))
    sign_in_as(client, world.worker_a)
    assert (
        client.post(f"/cases/{world.case.id}/shares/new", data=share_data(world)).status_code == 302
    )
    share_id = db.session.scalar(select(Share.id))
    data = share_data(world, summary="Father returned on Tuesday", reason="Day", version=version)
    assert client.post(f"/shares/{share_id}/amend", data=data).status_code in (302, 400)
