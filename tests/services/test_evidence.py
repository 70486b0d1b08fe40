"""The evidence pack: everything about a case, and every item traceable to the audit chain."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker.extensions import db
from tracker.fixtures import demo
from tracker.models import AuditEvent, Case, Challenge, Share
from tracker.services import audit, challenges, evidence, notes, sharing, transparency


def details(**overrides) -> sharing.ShareDetails:
    values = {
        "shared_at": datetime(2026, 6, 1, 9, 0),  # Monday, 10:00 in London
        "method": "secure_email",
        "summary": "Child disclosed bruising at school",
        "purpose": "So police can consider a joint visit",
        "lawful_basis": "art6_1e_public_task",
        "consent": "not_sought",
        "consent_reason": "Seeking consent could place the child at risk",
        "special_category": True,
        "special_category_circumstance": "consent_would_prejudice_protection",
        "themes": ["information_sharing"],
    }
    values.update(overrides)
    return sharing.ShareDetails(**values)


def build_case_history(world, frozen) -> None:
    """A share answered late and amended, an unanswered one, notes, views and a challenge."""
    frozen(datetime(2026, 6, 1, 9, 30))
    late = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as="sent",
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id, "DC Patel")],
        details=details(),
        needs_response=True,
    )
    sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as="sent",
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id)],
        details=details(summary='=HYPERLINK("http://evil.example")', consent="given"),
        needs_response=True,
        priority="urgent",
    )
    notes.record_note(
        world.worker_a,
        world.case,
        kind="lived_experience",
        occurred_on=date(2026, 5, 29),
        text="Said she is hungry at school most days",
        themes=[],
    )
    frozen(datetime(2026, 6, 2, 11, 0))
    recipient = late.recipients[0]
    sharing.acknowledge(world.worker_b, recipient)
    notes.record_threshold_view(
        world.worker_b, world.case, level=notes.threshold_levels()[0], reason="No concerns seen"
    )
    frozen(datetime(2026, 6, 5, 14, 0))  # Friday: the Thursday 17:00 deadline has passed
    sharing.respond(world.worker_b, recipient, action_taken="Joint visit arranged")
    sharing.amend_share(
        world.worker_a,
        late,
        details(summary="Child disclosed bruising on her arm at school"),
        "Added where the bruising was",
    )
    challenge = challenges.raise_challenge(
        world.worker_a,
        world.case,
        about_agency_id=world.agency_b.id,
        kind="threshold",
        what_happened="Police see no concerns despite the disclosure",
        outcome_wanted="A strategy discussion",
        urgent=False,
    )
    frozen(datetime(2026, 6, 8, 10, 0))
    challenges.resolve(
        world.worker_b,
        challenge,
        challenges.Resolution(
            agreed="Strategy discussion booked for Wednesday",
            actions=[challenges.AgreedAction("Book the room", "Worker B", date(2026, 6, 9))],
            themes=["professional_challenge"],
            practice_issue=False,
        ),
    )


def assert_traces(manifest: dict, case_id: int) -> None:
    """Every item and chronology line names events of this case whose stored hash is right."""
    listed = [*manifest["items"], *manifest["chronology"]]
    assert listed, "the pack is empty"
    for item in listed:
        assert item["audit_events"], item
        for ref in item["audit_events"]:
            event = db.session.get(AuditEvent, ref["id"])
            assert event.leaf_hash == ref["leaf_hash"] == audit.event_leaf_hash(event)
            assert event.case_id == case_id


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_the_pack_holds_everything_and_every_item_traces(app, client, world, frozen):
    build_case_history(world, frozen)
    frozen(datetime(2026, 6, 10, 12, 0))
    sign_in_as(client, world.auditor)
    response = client.get(f"/audit/cases/{world.case.id}/evidence.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    files = unzip(response.data)
    assert set(files) == {
        "chronology.csv",
        "shares.csv",
        "responses.csv",
        "challenges.csv",
        "no_share_decisions.csv",
        "audit_trail.csv",
        "audit/proofs.json",
        "verify_pack.py",
        "manifest.json",
    }
    manifest = json.loads(files["manifest.json"])
    for name, entry in manifest["files"].items():
        assert hashlib.sha256(files[name]).hexdigest() == entry["sha256"]

    # The production is in the log, committing to the file hashes.
    produced = db.session.get(AuditEvent, manifest["production_event"]["id"])
    assert produced.action == "evidence.produce" and produced.person_id == world.auditor.id
    assert produced.leaf_hash == manifest["production_event"]["leaf_hash"]
    assert json.loads(produced.changes)["files"][1] == {
        name: entry["sha256"] for name, entry in manifest["files"].items()
    }

    shares = list(csv.DictReader(io.StringIO(files["shares.csv"].decode())))
    assert [(r["Share"], r["Version"]) for r in shares] == [("1", "1"), ("1", "2"), ("2", "1")]
    assert shares[1]["Reason for amendment"] == "Added where the bruising was"
    assert shares[0]["Lawful basis"] == "art6_1e_public_task"
    assert shares[0]["Consent"] == "not_sought"
    assert shares[0]["Consent reason"] == "Seeking consent could place the child at risk"
    assert shares[2]["What was shared"] == '\'=HYPERLINK("http://evil.example")'  # neutralised
    for row in shares:
        assert row["Audit events"]

    responses = list(csv.DictReader(io.StringIO(files["responses.csv"].decode())))
    by_share = {r["Share"]: r for r in responses}
    assert by_share["1"]["Due at"] == "2026-06-04 17:00"
    assert by_share["1"]["Timeliness"] == "late"
    assert by_share["1"]["Working days to respond"] == "4"
    assert by_share["2"]["Timeliness"] == "awaiting (overdue)"

    steps = list(csv.DictReader(io.StringIO(files["challenges.csv"].decode())))
    assert [s["Transition"] for s in steps] == ["Raised", "Resolved"]
    assert steps[1]["Why / what was agreed"] == "Strategy discussion booked for Wednesday"

    trail = list(csv.DictReader(io.StringIO(files["audit_trail.csv"].decode())))
    case_events = db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.case_id == world.case.id, AuditEvent.id < produced.id
        )
    )
    assert len(trail) == case_events
    chronology = list(csv.DictReader(io.StringIO(files["chronology.csv"].decode())))
    assert len(chronology) == len(manifest["chronology"]) >= 7

    # Every row of every file is an item of the manifest, and each traces to the chain.
    assert len(manifest["items"]) == len(shares) + len(responses) + len(steps)
    assert_traces(manifest, world.case.id)
    assert transparency.verify().ok


def test_the_printable_page_shows_the_pack_and_is_audited(app, client, world, frozen):
    build_case_history(world, frozen)
    frozen(datetime(2026, 6, 10, 12, 0))
    sign_in_as(client, world.auditor)
    response = client.get(f"/audit/cases/{world.case.id}/evidence")
    assert response.status_code == 200
    text = page_text(response)
    for expected in [
        "Chronology",
        "Said she is hungry at school most days",
        "Public task (UK GDPR Article 6(1)(e))",
        "Seeking consent could place the child at risk",
        "Added where the bruising was",
        "late",
        "awaiting (overdue)",
        "Strategy discussion booked for Wednesday",
        "Signed checkpoint",
        "manifest",
    ]:
        assert expected.lower() in text.lower(), expected
    assert "No audit event" not in text
    last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert (last.action, last.case_id, last.person_id) == (
        "evidence.produce",
        world.case.id,
        world.auditor.id,
    )


def test_each_item_traces_to_the_events_that_made_it(app, world, frozen):
    build_case_history(world, frozen)
    pack = evidence.produce(world.auditor, world.case)

    def actions(item):
        return [e.action for e in item.events]

    assert [actions(i) for i in pack.shares] == [
        ["share.record_sent"],
        ["share.amend"],
        ["share.record_sent"],
    ]
    assert pack.shares[1].events[0].reason == "Added where the bruising was"
    late, unanswered = pack.responses
    assert actions(late) == ["share.record_sent", "concern.acknowledge", "concern.respond"]
    assert actions(unanswered) == ["share.record_sent"]
    assert [actions(i) for i in pack.challenges] == [["challenge.raise"], ["challenge.resolve"]]
    kinds = {e.kind: [x.action for x in t] for e, t in zip(pack.chronology, pack.chronology_trace)}
    assert kinds["note"] == ["note.record"]
    assert kinds["threshold"] == ["threshold.record"]


@pytest.fixture
def demo_case(app):
    demo.load()
    # The demo case with the most recorded shares (the richest history for a case review).
    case_id = db.session.scalar(
        select(Share.case_id).group_by(Share.case_id).order_by(func.count().desc(), Share.case_id)
    ) or db.session.scalar(select(Case.id).order_by(Case.id))
    return db.session.get(Case, case_id)


def test_an_auditor_produces_the_pack_of_a_demo_case_and_every_item_traces(app, client, demo_case):
    auditor = next(p for p in demo.demo_logins() if p.role == "auditor")
    sign_in_as(client, auditor)
    files = unzip(client.get(f"/audit/cases/{demo_case.id}/evidence.zip").data)
    manifest = json.loads(files["manifest.json"])
    assert manifest["case"]["reference"] == demo_case.reference
    assert manifest["audit_trail"]["events"] > 0
    # The richest demo case has shares, concerns and a chronology: nothing here is vacuous.
    assert {"share_version", "concern"} <= {item["kind"] for item in manifest["items"]}
    assert manifest["chronology"]
    assert_traces(manifest, demo_case.id)
    assert client.get(f"/audit/cases/{demo_case.id}/evidence").status_code == 200
    assert transparency.verify().ok


def test_demo_challenges_trace_too(app):
    demo.load()
    auditor = next(p for p in demo.demo_logins() if p.role == "auditor")
    case_id = db.session.scalar(select(Challenge.case_id).order_by(Challenge.id).limit(1))
    pack = evidence.produce(auditor, db.session.get(Case, case_id))
    assert pack.challenges
    traced = [*pack.items, *pack.chronology_trace]
    assert traced  # an empty pack would pass the loop below without checking anything
    for item in traced:
        events = item.events if isinstance(item, evidence.Item) else item
        assert events and all(e.case_id == case_id for e in events)
