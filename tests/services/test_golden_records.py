"""Decisions not to share and outcomes in the chronology and the evidence pack, each traced to
the audit events that recorded it; shares and concerns carry the new fields there too."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from tests.conftest import sign_in_as
from tests.services.test_evidence import assert_traces, unzip
from tracker.extensions import db
from tracker.services import chronology, no_share, sharing

NOW = datetime(2026, 11, 30, 10, 0)


def history(world, frozen):
    frozen(datetime(2026, 11, 30, 9, 0))
    decision = no_share.record_decision(
        world.worker_a,
        world.case,
        information="Father's conviction",
        agency_ids=[world.agency_b.id],
        reason_code="more_detrimental_to_child",
        reason="Would alert him",
        decided_at=datetime(2026, 11, 30, 8, 30),
    )
    frozen(NOW)
    share = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id)],
        details=sharing.ShareDetails(
            shared_at=datetime(2026, 11, 30, 9, 45),
            method="phone",
            summary="The conviction, now the arrest is made",
            purpose="Risk management",
            lawful_basis="art6_1e_public_task",
            consent="not_sought",
            consent_reason="Would alert him",
            identifier_absent="more_detrimental",
        ),
        needs_response=True,
        rating="amber",
        revisits_decision_id=decision.id,
    )
    frozen(datetime(2026, 11, 30, 11, 0))
    sharing.record_share_view(share, world.worker_b)
    sharing.record_outcome(world.worker_b, share.recipients[0], "strategy_discussion", "Today")
    db.session.commit()
    return decision, share


def test_the_chronology_shows_decisions_revisits_and_outcomes(app, world, frozen):
    decision, share = history(world, frozen)
    entries = chronology.entries_for(world.case.id)
    kinds = [e.kind for e in entries]
    assert kinds == ["no_share", "share", "outcome"]
    decided, shared, outcome = entries
    assert decided.kind_label == "Decision not to share"
    assert decided.what == "Decided not to share with Agency B Police: Father's conviction"
    assert "More detrimental to the child: Would alert him" in decided.significance
    assert "Revisited: shared after all on 30 Nov 2026 09:45" in decided.significance
    assert "rated amber" in shared.significance
    assert "No NHS number carried (more detrimental)" in shared.significance
    assert "Revisits an earlier decision not to share" in shared.significance
    assert outcome.what == "Outcome of what Agency A Social Care shared: Strategy discussion"
    assert outcome.agency_name == "Agency B Police" and outcome.significance == "Today"
    assert chronology.entries_for(world.case.id, kind="no_share") == [decided]


def test_the_evidence_pack_holds_decisions_and_the_loop_and_every_item_traces(
    client, world, frozen
):
    decision, share = history(world, frozen)
    frozen(datetime(2026, 11, 30, 12, 0))
    sign_in_as(client, world.auditor)
    files = unzip(client.get(f"/audit/cases/{world.case.id}/evidence.zip").data)
    decisions = list(csv.DictReader(io.StringIO(files["no_share_decisions.csv"].decode())))
    assert [(d["Decision"], d["Reason"], d["Revisited by shares"]) for d in decisions] == [
        (str(decision.id), "More detrimental to the child", str(share.id))
    ]
    assert decisions[0]["Audit events"]
    shares = list(csv.DictReader(io.StringIO(files["shares.csv"].decode())))
    assert shares[0]["NHS number absent because"] == "more_detrimental"
    assert shares[0]["Rating"] == "amber"
    assert shares[0]["Revisits decision not to share"] == str(decision.id)
    responses = list(csv.DictReader(io.StringIO(files["responses.csv"].decode())))
    assert responses[0]["First opened by"] == "Worker B"
    assert responses[0]["Outcome"] == "strategy_discussion"
    assert responses[0]["Loop stage"] == "outcome_recorded"
    manifest = json.loads(files["manifest.json"])
    assert "no_share_decisions.csv" in manifest["files"]
    assert_traces(manifest, world.case.id)
    page = client.get(f"/audit/cases/{world.case.id}/evidence")
    assert page.status_code == 200
    assert "Decisions not to share" in page.get_data(as_text=True)
