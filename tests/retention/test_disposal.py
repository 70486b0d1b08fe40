"""Retention and disposal: a case past retention is queued once, reviewed and disposed of; the
audit log and earlier packs stay valid, and the disposed content is gone from every page,
export, API answer and the database itself."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import String, Text, select

from tests.audit.test_packs import members, produce_pack, run_shipped_checker
from tests.conftest import sign_in_as
from tests.helpers import error_summary, page_text
from tests.services.test_evidence import build_case_history
from tracker.extensions import db
from tracker.models import (
    AuditEvent,
    BreakGlassGrant,
    CaseNote,
    Challenge,
    DisposalReview,
    Exemption,
    LegalHold,
    ProtectedItem,
    ProtectedSource,
    ReviewStatus,
    Share,
    SubjectAccessItem,
    SubjectAccessRequest,
)
from tracker.services import (
    api_tokens,
    break_glass,
    cases,
    notes,
    protected_sources,
    retention,
    subject_access,
    transparency,
)

# Everything personal build_case_history (and the closure below) wrote about the child.
PERSONAL = (
    "Child One",
    "Child disclosed bruising",
    "So police can consider a joint visit",
    "Seeking consent could place the child at risk",
    "DC Patel",
    "Said she is hungry at school most days",
    "No concerns seen",
    "Joint visit arranged",
    "Added where the bruising was",
    "Police see no concerns despite the disclosure",
    "Strategy discussion booked for Wednesday",
    "Book the room",
    "evil.example",
    "Family moved out of the area",
)
INFORMANT = "Janet Hollis"
# What add_records_about_the_case writes: an informant marked as a protected source (the name,
# the passage that identifies her, why), an emergency access and its review, and a subject
# access request about the child with a passage redacted from its pack.
ABOUT_THE_CASE = (
    INFORMANT,
    "the neighbour at number 12",
    "She fears reprisals from the family",
    "Out of hours: the school nurse phoned about a bruise",
    "The nurse's call checks out",
    "Maria Reid",
    "Grandmother, acting for the mother",
    "Three agencies hold records on this family",
    "heard shouting most nights",
    "leave at 2am",  # redacted from the case's note in a request by name: the case's words
)
PERSONAL += ABOUT_THE_CASE
CLOSED_AT = datetime(2026, 6, 10, 12, 0)
# Agency A is children's social care: closure + 35 years keeps the case longest.
LAST_DAY = date(2061, 6, 10)


@pytest.fixture
def closed_case(app, client, world, frozen):
    build_case_history(world, frozen)
    frozen(CLOSED_AT)
    cases.set_status(world.worker_a, world.case, "closed", "Family moved out of the area")
    transparency.seal()
    return world


def add_records_about_the_case(world, frozen) -> dict[str, int]:
    """What is kept about a closed case besides its own records: a protected source, an
    emergency access with its review, a subject access request about the child (extended, its
    pack with a redaction) and one about a person named in the case (a redaction too)."""
    frozen(datetime(2026, 6, 11, 10, 0))
    note = notes.record_note(
        world.worker_a,
        world.case,
        kind="significant_event",
        occurred_on=date(2026, 6, 9),
        text=f"{INFORMANT}, the neighbour at number 12, heard shouting most nights and saw "
        "Alex Moore leave at 2am",
        themes=[],
    )
    source = protected_sources.mark(
        world.worker_a,
        ProtectedItem.NOTE,
        note,
        name=INFORMANT,
        passages="the neighbour at number 12",
        reason="She fears reprisals from the family",
    )
    grant, _ = break_glass.request_access(
        world.worker_c, world.case, "Out of hours: the school nurse phoned about a bruise"
    )
    break_glass.review(world.auditor, grant, "appropriate", "The nurse's call checks out")
    about_child = subject_access.record_request(
        world.auditor,
        requester_name="Maria Reid",
        requester_relationship="Grandmother, acting for the mother",
        case=world.case,
        person_named=None,
        received_on=date(2026, 6, 11),
    )
    subject_access.extend(
        world.auditor, about_child, 1, "Three agencies hold records on this family"
    )
    about_person = subject_access.record_request(
        world.auditor,
        requester_name="Alex Moore",
        requester_relationship="The person named",
        case=None,
        person_named="Alex Moore",
        received_on=date(2026, 6, 11),
    )
    redacted = {}
    for request, passage in (
        (about_child, "heard shouting most nights"),
        (about_person, "leave at 2am"),
    ):
        subject_access.assemble(world.auditor, request)
        [view] = [v for v in subject_access.item_views(request) if passage in v.text]
        subject_access.review(
            world.auditor,
            request,
            view,
            decision="redacted",
            exemption=Exemption.THIRD_PARTY.value,
            passages=passage,
        )
        redacted[request.id] = view.item.id
    db.session.commit()
    return {
        "note": note.id,
        "source": source.id,
        "grant": grant.id,
        "about_child": about_child.id,
        "about_child_item": redacted[about_child.id],
        "about_person": about_person.id,
        "about_person_item": redacted[about_person.id],
    }


def review(app, at: str) -> dict:
    db.session.commit()
    with app.app_context():  # the command ends its own session, not the test's
        result = app.test_cli_runner().invoke(args=["tracker", "retention", "review", "--at", at])
    assert result.exit_code == 0, result.output
    [line] = result.output.strip().splitlines()
    return json.loads(line)


def pending_item(case_id: int) -> DisposalReview:
    return db.session.scalar(
        select(DisposalReview).where(
            DisposalReview.case_id == case_id, DisposalReview.status == "pending"
        )
    )


def test_past_retention_queued_once_approved_disposed_and_gone_everywhere(
    app, client, closed_case, frozen, tmp_path
):
    world = closed_case
    case_id = world.case.id
    about = add_records_about_the_case(world, frozen)
    key = str(transparency.verifier_key())
    pack_before = produce_pack(client, world)
    if db.engine.dialect.name == "sqlite":  # the file search below can find what is there
        db.session.commit()
        held = "".join(_sqlite_files().values())
        assert all(text in held for text in ("Child One", *ABOUT_THE_CASE))
    transparency.seal()

    # The last day of retention: not yet due.
    frozen(datetime(2061, 6, 10, 12, 0))
    assert review(app, "2061-06-10T12:00")["queued"] == 0
    # The day after: queued once; the same moment again adds nothing (a fixed point).
    frozen(datetime(2061, 6, 11, 9, 0))
    first = review(app, "2061-06-11T02:00")
    assert first == {
        "at": "2061-06-11T01:00:00",  # 02:00 in London, British Summer Time
        "queued": 1,
        "already_queued": 0,
        "held": 0,
        "deferred": 0,
    }
    again = review(app, "2061-06-11T02:00")
    assert again["queued"] == 0 and again["already_queued"] == 1
    db.session.expire_all()
    item = pending_item(case_id)
    assert item.rule == "la-child-protection" and item.retain_until == LAST_DAY
    assert db.session.scalar(select(db.func.count()).select_from(DisposalReview)) == 1

    sign_in_as(client, world.auditor)
    queue_page = page_text(client.get("/retention/"))
    assert world.case.reference in queue_page and "closure + 35 years" in queue_page
    response = client.post(
        f"/retention/items/{item.id}",
        data={
            "decision": "dispose",
            "reason": "Retention period ended; no hold or review needs it",
        },
    )
    assert response.status_code == 302, error_summary(response)

    db.session.expire_all()
    item = db.session.get(DisposalReview, item.id)
    assert item.status == ReviewStatus.DISPOSED.value and item.decided_by_id == world.auditor.id
    marker = "disposed of on 11 June 2061 under la-child-protection"
    case = world.case
    assert case.child_name == marker and case.disposed_at is not None
    assert case.date_of_birth == date(2018, 1, 1)  # the year stays for reports
    # The structure stays: shares, their agencies and dates, notes, the challenge.
    shares = db.session.scalars(select(Share).where(Share.case_id == case_id)).all()
    assert len(shares) == 2 and all(s.current.summary == marker for s in shares)
    assert shares[0].current.shared_at == datetime(2026, 6, 1, 9, 0)
    assert {r.agency_id for s in shares for r in s.recipients} == {world.agency_b.id}
    note = db.session.scalar(
        select(CaseNote).where(CaseNote.case_id == case_id).order_by(CaseNote.id)
    )
    assert note.current.text == marker and note.current.occurred_on == date(2026, 5, 29)
    challenge = db.session.scalar(select(Challenge).where(Challenge.case_id == case_id))
    assert challenge.what_happened == marker and challenge.status == "resolved"
    # Disposal is audited, and so is the erasure of the audit content.
    actions = [
        e.action
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id))
    ]
    assert "case.dispose" in actions and "audit.erase_content" in actions

    # The log still verifies, and the pack produced before disposal still verifies offline.
    transparency.seal()
    verified = app.test_cli_runner().invoke(args=["tracker", "audit", "verify"])
    assert verified.exit_code == 0, verified.output
    checked = run_shipped_checker(tmp_path, pack_before, key)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Child One" in members(pack_before)["shares.csv"].decode() + str(
        members(pack_before)
    )  # the old pack is what it was

    # The disposal report: what, under which rule, who approved it.
    report = page_text(client.get("/retention/disposed"))
    assert world.case.reference in report and "la-child-protection" in report
    assert "Auditor" in report and "Retention period ended" in report

    # What is kept about the case stays as structure: who acted, when, and what they decided.
    source = db.session.get(ProtectedSource, about["source"])
    assert (source.name, source.passages, source.reason) == ("[protected source]", "", marker)
    assert source.agency_id == world.agency_a.id and source.item_kind == "note"
    grant = db.session.get(BreakGlassGrant, about["grant"])
    assert grant.reason == grant.review_reason == marker
    assert grant.person_id == world.worker_c.id and grant.reviewed_by_id == world.auditor.id
    assert grant.review_status == "appropriate"
    request = db.session.get(SubjectAccessRequest, about["about_child"])
    assert request.requester_name == request.requester_relationship == marker
    assert request.extension_reason == marker and request.person_named is None
    assert request.extended_to == date(2026, 8, 11) and request.recorded_by_id == world.auditor.id
    # The passages redacted from the case's records go, in any request; a request about a
    # person named in the case is that person's own record, and keeps who they are.
    for item_id in (about["about_child_item"], about["about_person_item"]):
        item = db.session.get(SubjectAccessItem, item_id)
        assert item.redactions == marker and item.decision == "redacted"
        assert item.exemption == Exemption.THIRD_PARTY.value
    other = db.session.get(SubjectAccessRequest, about["about_person"])
    assert other.person_named == "Alex Moore"

    seen = _everything_shown(app, client, world, shares, note, challenge, about)
    for text in PERSONAL:
        for where, content in seen.items():
            assert text not in content, f"{text!r} still in {where}"
    assert marker in seen["case page"]
    for where, content in _database_text(app).items():
        for text in PERSONAL:
            assert text not in content, f"{text!r} still in the database: {where}"


def _everything_shown(app, client, world, shares, note, challenge, about) -> dict[str, str]:
    """Every page, export and API answer about the case, as text."""
    case_id = world.case.id
    seen: dict[str, str] = {}
    sign_in_as(client, world.auditor)
    pages = {
        "case page": f"/cases/{case_id}",
        "case list": "/cases/",
        "case search": "/cases/?q=Child",
        "chronology": f"/cases/{case_id}/chronology",
        "chronology csv": f"/cases/{case_id}/chronology.csv",
        "note": f"/cases/{case_id}/notes/{note.id}",
        "challenge": f"/challenges/{challenge.id}",
        "challenges": "/challenges/",
        "evidence pack": f"/audit/cases/{case_id}/evidence",
        "audit search": "/audit/",
        "disposal report": "/retention/disposed",
        "informant's note": f"/cases/{case_id}/notes/{about['note']}",
        "emergency access reviews": "/emergency-access/reviews",
        "emergency access": f"/emergency-access/{about['grant']}/review",
        "subject access requests": "/subject-access/",
        "subject access request": f"/subject-access/{about['about_child']}",
        "subject access item": f"/subject-access/{about['about_child']}"
        f"/items/{about['about_child_item']}",
        "subject access pack": f"/subject-access/{about['about_child']}/pack",
        "reports": "/reports/?from_date=1&from_date=1&from_date=2026"
        "&to_date=31&to_date=12&to_date=2026",
        **{f"share {s.id}": f"/shares/{s.id}" for s in shares},
    }
    for name in (
        "sharing",
        "matrix",
        "challenges",
        "themes",
        "cases",
        "no-share",
        "first-views",
        "outcomes",
    ):
        pages[f"report {name}"] = (
            f"/reports/{name}.csv?from_date=1&from_date=1&from_date=2026"
            "&to_date=31&to_date=12&to_date=2026"
        )
    for number in range(1, 8):
        pages[f"audit history page {number}"] = f"/audit/cases/{case_id}?page={number}"
    for event_id in db.session.scalars(select(AuditEvent.id).where(AuditEvent.case_id == case_id)):
        pages[f"audit event {event_id}"] = f"/audit/events/{event_id}"
    for where, path in pages.items():
        response = client.get(path)
        assert response.status_code == 200, (where, response.status_code)
        seen[where] = response.get_data(as_text=True)
    archive = client.get(f"/audit/cases/{case_id}/evidence.zip")
    for name, data in members(archive.data).items():
        seen[f"evidence zip {name}"] = data.decode("utf-8", errors="replace")
    sign_in_as(client, world.worker_a)
    seen["worker's case page"] = client.get(f"/cases/{case_id}").get_data(as_text=True)
    seen["worker's home"] = client.get("/").get_data(as_text=True)
    # Another agency reads the disposal marker, not a protected source made of it.
    sign_in_as(client, world.worker_b)
    seen["other agency's note"] = client.get(f"/cases/{case_id}/notes/{about['note']}").get_data(
        as_text=True
    )
    assert world.case.child_name in seen["other agency's note"]
    assert "[protected source]" not in seen["other agency's note"]
    sign_in_as(client, world.worker_a)
    # Nothing is added to a disposed-of case again, by page or by API.
    for path in (f"/cases/{case_id}/status", f"/cases/{case_id}/shares/new"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/cases/{case_id}/status", data={"status": "open"}).status_code == 403
    _, secret = api_tokens.create(world.worker_a, "Disposal check", date(2061, 12, 1))
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    api = {
        "api case": f"/api/v1/cases/{case_id}",
        "api cases": "/api/v1/cases",
        "api shares": f"/api/v1/cases/{case_id}/shares",
        "api chronology": f"/api/v1/cases/{case_id}/chronology",
        "api challenges": "/api/v1/challenges",
        "api no-share": f"/api/v1/cases/{case_id}/no-share-decisions",
        "api awaiting us": "/api/v1/concerns/awaiting-us",
        "api awaiting them": "/api/v1/concerns/awaiting-them",
        **{f"api share {s.id}": f"/api/v1/shares/{s.id}" for s in shares},
    }
    for where, path in api.items():
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (where, response.status_code)
        seen[where] = response.get_data(as_text=True)
    added = client.post(f"/api/v1/cases/{case_id}/shares", json={}, headers=headers)
    assert added.status_code == 403
    return seen


def _database_text(app) -> dict[str, str]:
    """Every text column of every table, read directly; and on SQLite the files themselves."""
    found: dict[str, str] = {}
    db.session.commit()
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
        if not columns:
            continue
        rows = db.session.execute(select(*columns)).all()
        found[table.name] = "\n".join(str(value) for row in rows for value in row)
    if db.engine.dialect.name == "sqlite":
        db.session.remove()
        found.update(_sqlite_files())
    return found


def _sqlite_files() -> dict[str, str]:
    path = Path(db.engine.url.database)
    return {
        file.name: file.read_bytes().decode("utf-8", errors="replace")
        for file in (path, Path(f"{path}-wal"))
        if file.exists()
    }


def test_a_legal_hold_blocks_disposal_until_lifted(app, client, closed_case, frozen):
    world = closed_case
    frozen(datetime(2061, 6, 11, 9, 0))
    assert review(app, "2061-06-11T02:00")["queued"] == 1
    item_id = pending_item(world.case.id).id
    sign_in_as(client, world.auditor)

    response = client.post(
        f"/retention/cases/{world.case.id}/hold",
        data={"reason": "Needed for the child safeguarding practice review"},
    )
    assert response.status_code == 302
    # Shown on the case, to everyone who reads it.
    sign_in_as(client, world.worker_b)
    page = page_text(client.get(f"/cases/{world.case.id}"))
    assert "Legal hold since" in page and "practice review" in page
    sign_in_as(client, world.auditor)
    # A second hold while one stands: refused in the error summary.
    twice = client.post(f"/retention/cases/{world.case.id}/hold", data={"reason": "Again"})
    assert twice.status_code == 400
    assert error_summary(twice) == ["This case is already under a legal hold"]

    refused = client.post(
        f"/retention/items/{item_id}", data={"decision": "dispose", "reason": "Time is up"}
    )
    assert refused.status_code == 400
    assert error_summary(refused) == [
        "This case is under a legal hold: it cannot be disposed of until the hold is lifted"
    ]
    db.session.expire_all()
    assert world.case.disposed_at is None and "Child One" == world.case.child_name
    # The service refuses too, whatever path reaches it.
    with pytest.raises(retention.RetentionError, match="legal hold"):
        retention.decide(world.auditor, item_id, retention.Decision("dispose", "Time is up"))
    db.session.rollback()

    # While held, the review leaves the case out (the pending item waits).
    frozen(datetime(2061, 6, 12, 9, 0))
    assert review(app, "2061-06-12T02:00") == {
        "at": "2061-06-12T01:00:00",
        "queued": 0,
        "already_queued": 0,
        "held": 1,
        "deferred": 0,
    }

    lifted = client.post(
        f"/retention/cases/{world.case.id}/hold/lift", data={"reason": "The review has reported"}
    )
    assert lifted.status_code == 302
    db.session.expire_all()
    hold = db.session.scalar(select(LegalHold).where(LegalHold.case_id == world.case.id))
    assert hold.lifted_by_id == world.auditor.id and hold.lift_reason == "The review has reported"
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == world.case.id))
    )
    assert {"retention.hold_set", "retention.hold_lift"} <= actions

    done = client.post(
        f"/retention/items/{item_id}", data={"decision": "dispose", "reason": "Hold lifted"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert world.case.disposed_at is not None
    # The hold's reasons went with the rest of the personal content; its dates stay.
    hold = db.session.get(LegalHold, hold.id)
    assert hold.reason.startswith("disposed of on") and hold.lifted_at is not None
    # A disposed case is not held or queued again.
    assert review(app, "2061-06-12T02:00")["queued"] == 0
    # A twin that read the case as closed before the disposal committed, and queued it after:
    # the item can only be deferred.
    stale = retention._insert_pending(
        {
            "case_id": world.case.id,
            "rule": "la-child-protection",
            "rule_label": "stale",
            "retain_until": LAST_DAY,
            "queued_at": datetime(2061, 6, 12, 1, 0),
            "status": "pending",
        }
    )
    db.session.commit()
    with pytest.raises(retention.RetentionError, match="already been disposed of"):
        retention.decide(world.auditor, stale, retention.Decision("dispose", "Again"))


def test_reviewing_twice_at_the_same_moment_acts_once(app, closed_case, frozen):
    frozen(datetime(2061, 6, 11, 9, 0))
    assert review(app, "2061-06-11T02:00")["queued"] == 1
    assert review(app, "2061-06-11T02:00")["queued"] == 0
    # A concurrent twin that read the queue before the first committed: the unique key turns
    # its insert into nothing.
    values = {
        "case_id": closed_case.case.id,
        "rule": "la-child-protection",
        "rule_label": "twin",
        "retain_until": LAST_DAY,
        "queued_at": datetime(2061, 6, 11, 1, 0),
        "status": "pending",
    }
    assert retention._insert_pending(values) is None
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(DisposalReview)) == 1
    # Two reviewers deciding at once: the first decision stands, the second is refused.
    item_id = pending_item(closed_case.case.id).id
    retention.decide(
        closed_case.auditor,
        item_id,
        retention.Decision("defer", "Ask the lead agency first", date(2061, 9, 1)),
    )
    with pytest.raises(retention.RetentionError, match="already been decided"):
        retention.decide(closed_case.auditor, item_id, retention.Decision("dispose", "Go"))


def test_defer_with_a_reason_comes_back_on_the_day(app, client, closed_case, frozen):
    world = closed_case
    frozen(datetime(2061, 6, 11, 9, 0))
    review(app, "2061-06-11T02:00")
    item_id = pending_item(world.case.id).id
    sign_in_as(client, world.auditor)
    response = client.post(
        f"/retention/items/{item_id}",
        data={
            "decision": "defer",
            "deferred_until": ["1", "9", "2061"],
            "reason": "The lead agency asks to check for a linked sibling first",
        },
    )
    assert response.status_code == 302, error_summary(response)
    db.session.expire_all()
    item = db.session.get(DisposalReview, item_id)
    assert item.status == "deferred" and item.deferred_until == date(2061, 9, 1)
    assert item.reason.startswith("The lead agency asks")
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "retention.defer", AuditEvent.object_id == item_id
        )
    )
    assert event.reason == item.reason and event.person_id == world.auditor.id
    assert "Deferred" not in page_text(client.get("/retention/"))  # off the queue
    assert world.case.reference not in page_text(client.get("/retention/"))

    frozen(datetime(2061, 8, 31, 9, 0))
    assert review(app, "2061-08-31T02:00")["deferred"] == 1
    frozen(datetime(2061, 9, 1, 9, 0))
    assert review(app, "2061-09-01T02:00")["queued"] == 1
    # The earlier deferral shows on the new item's page.
    new_item = pending_item(world.case.id)
    assert new_item.id != item_id
    page = page_text(client.get(f"/retention/items/{new_item.id}"))
    assert "check for a linked sibling" in page


def test_decision_form_errors_in_the_summary_all_in_one_round(app, client, closed_case, frozen):
    world = closed_case
    frozen(datetime(2061, 6, 11, 9, 0))
    review(app, "2061-06-11T02:00")
    item_id = pending_item(world.case.id).id
    sign_in_as(client, world.auditor)

    empty = client.post(f"/retention/items/{item_id}", data={})
    assert empty.status_code == 400
    assert error_summary(empty) == [
        "Select dispose of or defer",
        "Enter the reason for your decision",
    ]
    no_day = client.post(f"/retention/items/{item_id}", data={"decision": "defer"})
    assert no_day.status_code == 400
    assert error_summary(no_day) == [
        "Enter the day to review it again",
        "Enter the reason for your decision",
    ]
    past = client.post(
        f"/retention/items/{item_id}",
        data={"decision": "defer", "deferred_until": ["1", "1", "2061"], "reason": "Later"},
    )
    assert error_summary(past) == ["The day to review it again must be in the future"]
    odd = client.post(
        f"/retention/items/{item_id}",
        data={"decision": "burn", "deferred_until": ["31", "2", "2061"], "reason": "\x00"},
    )
    assert odd.status_code == 400 and len(error_summary(odd)) == 3
    hold = client.post(f"/retention/cases/{world.case.id}/hold", data={"reason": ""})
    assert hold.status_code == 400
    assert error_summary(hold) == ["Enter why the records must be kept"]
    db.session.expire_all()
    assert pending_item(world.case.id).id == item_id  # nothing decided


def test_a_looked_after_child_is_kept_until_75(app, client, closed_case, frozen):
    world = closed_case
    sign_in_as(client, world.worker_a)
    response = client.post(
        f"/retention/cases/{world.case.id}/looked-after",
        data={"looked_after": "yes", "reason": "Accommodated under section 20"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert world.case.looked_after
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.looked_after"))
    assert event.reason == "Accommodated under section 20"
    frozen(datetime(2061, 6, 11, 9, 0))
    assert review(app, "2061-06-11T02:00")["queued"] == 0
    frozen(datetime(2093, 5, 18, 9, 0))
    assert review(app, "2093-05-18T02:00")["queued"] == 1
    item = pending_item(world.case.id)
    assert item.rule == "looked-after-children" and item.retain_until == date(2093, 5, 17)


def test_the_scheduler_reviews_every_night(app, closed_case, frozen):
    from apscheduler.schedulers.background import BackgroundScheduler

    from tracker.scheduler import _retention_tick, add_retention_job

    scheduler = BackgroundScheduler(timezone="UTC")
    add_retention_job(scheduler, app)
    job = scheduler.get_job("retention_review")
    assert str(job.trigger) == "cron[hour='2']" and str(job.trigger.timezone) == "Europe/London"
    assert job.coalesce and job.max_instances == 1
    # And once as the scheduler starts, before the first 02:00: a restart never skips a day.
    first = job.next_run_time
    assert first < job.trigger.get_next_fire_time(None, first)
    # The job's own run, as the scheduler makes it.
    frozen(datetime(2061, 6, 11, 1, 0))
    db.session.commit()
    _retention_tick(app)
    _retention_tick(app)  # tonight's run repeated: nothing more
    assert db.session.scalar(select(db.func.count()).select_from(DisposalReview)) == 1
    assert pending_item(closed_case.case.id).rule == "la-child-protection"


def test_a_case_reopened_after_queueing_is_not_disposed_of(app, client, closed_case, frozen):
    world = closed_case
    frozen(datetime(2061, 6, 11, 9, 0))
    review(app, "2061-06-11T02:00")
    item_id = pending_item(world.case.id).id
    cases.set_status(world.worker_a, world.case, "open", "New referral about the child")
    sign_in_as(client, world.auditor)
    refused = client.post(
        f"/retention/items/{item_id}", data={"decision": "dispose", "reason": "Time is up"}
    )
    assert refused.status_code == 400
    assert error_summary(refused) == [
        "This case is no longer past its retention date (it was reopened, or is now kept "
        "longer): defer it"
    ]
    db.session.expire_all()
    assert world.case.disposed_at is None and world.case.child_name == "Child One"


def test_disposal_knows_every_kind_of_subject_access_item():
    """A kind of record added to subject access packs must be added to disposal too, or the
    passages redacted from it would outlive the case."""
    kinds = retention.subject_access_records(0, [], [], [], [])
    assert set(kinds) == set(subject_access.RENDERERS)
