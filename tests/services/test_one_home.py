"""Each rule the sweep shares with the pages has one home (issue 18, point 2), and it works on
sets: many cases, or many agencies, in one query."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, select

from tracker.extensions import db
from tracker.models import Case, Role, ThresholdView
from tracker.services import cases, leads, notes


def _statements(run):
    seen = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        value = run()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return value, len([s for s in seen if not s.startswith("BEGIN")])  # SQLite's own BEGIN


def test_thresholds_disagree_is_one_set_based_rule(app, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    assert set(db.session.scalars(notes.disagreeing_cases())) == set()
    notes.record_threshold_view(world.worker_a, world.case, level="Universal", reason="Fine")
    notes.record_threshold_view(world.worker_b, world.case, level="Early help", reason="Worried")
    disagreeing, count = _statements(lambda: set(db.session.scalars(notes.disagreeing_cases())))
    assert disagreeing == {world.case.id} and count == 1
    # Only the latest view of each agency counts: B comes round, and they agree.
    notes.record_threshold_view(world.worker_b, world.case, level="Universal", reason="Agreed")
    assert not notes.thresholds_disagree(world.case)
    notes.record_threshold_view(world.worker_b, world.case, level="Early help", reason="Again")
    assert notes.thresholds_disagree(world.case)
    narrowed = notes.disagreeing_cases(ThresholdView.case_id == world.case.id + 1000)
    assert set(db.session.scalars(narrowed)) == set()
    # A removed agency's view no longer counts, here or anywhere.
    involvement = next(i for i in world.case.involvements if i.agency_id == world.agency_b.id)
    cases.remove_agency(world.worker_a, world.case, involvement.id, "No longer involved")
    assert set(db.session.scalars(notes.disagreeing_cases())) == set()


def test_an_agencys_active_people_by_role_come_for_many_agencies_in_one_query(world):
    world.lead_b.active = False
    db.session.commit()
    ids = [world.agency_a.id, world.agency_b.id, 999_999]
    found, count = _statements(lambda: leads.agency_people(ids, (Role.WORKER, Role.LEAD)))
    assert count == 1
    assert set(found) == set(ids) and found[999_999] == []  # every agency asked about is a key
    assert world.lead_b not in found[world.agency_b.id]  # inactive people are nobody's
    assert world.worker_b in found[world.agency_b.id]
    assert {p.agency_id for p in found[world.agency_a.id]} == {world.agency_a.id}
    leads_only = leads.agency_people(ids, (Role.LEAD,))
    assert all(p.role == Role.LEAD for people in leads_only.values() for p in people)
    assert leads.candidates(world.agency_b.id) == found[world.agency_b.id]
    assert leads.agency_people([], (Role.LEAD,)) == {}


def test_the_inbox_reads_the_digest_from_its_own_service_not_the_sweep():
    source = Path(__file__).resolve().parents[2] / "tracker" / "inbox" / "views.py"
    imported = {
        alias.name if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not any("sweep" in name for name in imported)
    assert "tracker.services.digest.digest_cases" in imported


def test_the_digest_and_the_report_flag_the_same_disagreeing_open_cases(app, world, frozen):
    from tracker.services import digest, reports

    frozen(datetime(2026, 12, 1, 10, 0))
    notes.record_threshold_view(world.worker_a, world.case, level="Universal", reason="Fine")
    notes.record_threshold_view(world.worker_b, world.case, level="Early help", reason="Worried")
    flagged = {
        case_id
        for by_case in digest.digest_cases(datetime(2026, 12, 1, 10, 0)).values()
        for case_id, reasons in by_case.items()
        if digest.THRESHOLDS_DISAGREE in reasons
    }
    assert flagged == {case_id for case_id, _ in reports.threshold_disagreements()}
    assert flagged == {world.case.id}
    world.case.status = "closed"
    db.session.commit()
    assert reports.threshold_disagreements() == []
    assert db.session.scalar(select(Case.status).where(Case.id == world.case.id)) == "closed"
