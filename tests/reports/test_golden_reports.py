"""The reports issue 15 adds: decisions not to share by reason, time from share to first view by
agency, and outcomes recorded by agency (exact counts on a known data set, page and CSV)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker.extensions import db
from tracker.services import no_share, reports, sharing

PERIOD = reports.Period(date(2026, 6, 1), date(2026, 6, 30))  # June 2026: BST, no bank holidays


def _share(world, frozen, actor, at: datetime, to):
    frozen(at)
    return sharing.record_share(
        actor,
        world.case,
        recorded_as="sent",
        from_agency_id=actor.agency_id,
        recipients=[sharing.Recipient(a.id) for a in to],
        details=sharing.ShareDetails(
            shared_at=at,
            method="phone",
            summary="Information",
            purpose="Purpose",
            lawful_basis="art6_1e_public_task",
            consent="given",
        ),
        needs_response=False,
    )


def _view(share, person, frozen, at: datetime):
    frozen(at)
    sharing.record_share_view(db.session.merge(share), person)


def known(world, frozen):
    """A -> B Mon 1 Jun 09:00 UTC (10:00 BST), opened by B 12:00 UTC: 3 working hours.
    A -> B Mon 8 Jun 15:00 UTC (16:00), opened Tue 9 Jun 09:00 UTC (10:00): 2 working hours.
    A -> B Mon 15 Jun: never opened.  B -> A Wed 17 Jun 08:00 UTC, opened 08:00: 0 hours.
    A -> B 29 May (outside the period), opened in June: not counted."""
    s1 = _share(world, frozen, world.worker_a, datetime(2026, 6, 1, 9, 0), [world.agency_b])
    _view(s1, world.worker_b, frozen, datetime(2026, 6, 1, 12, 0))
    s2 = _share(world, frozen, world.worker_a, datetime(2026, 6, 8, 15, 0), [world.agency_b])
    _view(s2, world.lead_b, frozen, datetime(2026, 6, 9, 9, 0))
    _share(world, frozen, world.worker_a, datetime(2026, 6, 15, 9, 0), [world.agency_b])
    s4 = _share(world, frozen, world.worker_b, datetime(2026, 6, 17, 8, 0), [world.agency_a])
    _view(s4, world.worker_a, frozen, datetime(2026, 6, 17, 8, 0))
    old = _share(world, frozen, world.worker_a, datetime(2026, 5, 29, 9, 0), [world.agency_b])
    _view(old, world.worker_b, frozen, datetime(2026, 6, 2, 9, 0))

    frozen(datetime(2026, 6, 20, 9, 0))
    sharing.record_outcome(world.worker_b, s1.recipients[0], "strategy_discussion")
    sharing.record_outcome(world.worker_b, s2.recipients[0], "no_further_action")
    sharing.record_outcome(world.worker_a, s4.recipients[0], "referral_made")
    frozen(datetime(2026, 7, 1, 9, 0))
    sharing.record_outcome(world.worker_b, old.recipients[0], "other", "Outside the period")

    for code, agencies, at in (
        ("more_detrimental_to_child", [world.agency_b], datetime(2026, 6, 3, 9, 0)),
        ("more_detrimental_to_child", [world.agency_b, world.agency_c], datetime(2026, 6, 4, 9, 0)),
        ("could_prejudice_enquiry", [world.agency_b], datetime(2026, 6, 5, 9, 0)),
        ("not_necessary_or_proportionate", [world.agency_b], datetime(2026, 5, 5, 9, 0)),
    ):
        no_share.record_decision(
            world.worker_a,
            world.case,
            information="Information considered",
            agency_ids=[a.id for a in agencies],
            reason_code=code,
            reason="Reason given",
            decided_at=at,
        )
    frozen(datetime(2026, 7, 1, 9, 0))


def test_decisions_not_to_share_by_reason(world, frozen):
    known(world, frozen)
    rows = [(r.reason_label, r.agency, r.decisions) for r in reports.no_share_by_reason(PERIOD)]
    assert rows == [
        ("Could prejudice an enquiry", "Agency B Police", 1),
        ("More detrimental to the child", "Agency B Police", 2),
        ("More detrimental to the child", "Agency C School", 1),
    ]


def test_time_from_share_to_first_view_by_agency(world, frozen):
    known(world, frozen)
    rows = {r.agency: (r.viewed, r.not_viewed, r.median_hours) for r in reports.first_views(PERIOD)}
    assert rows == {
        "Agency A Social Care": (1, 0, 0),
        "Agency B Police": (2, 1, 2.5),
    }


def test_outcomes_recorded_by_agency(world, frozen):
    known(world, frozen)
    rows = {r.agency: r.counts for r in reports.outcomes_by_agency(PERIOD)}
    assert rows == {
        "Agency A Social Care": {"referral_made": 1},
        "Agency B Police": {"strategy_discussion": 1, "no_further_action": 1},
    }


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_page_and_the_csv_files(client, world, frozen):
    known(world, frozen)
    sign_in_as(client, world.auditor)
    query = {"from_date": ["1", "6", "2026"], "to_date": ["30", "6", "2026"]}
    text = page_text(client.get("/reports/", query_string=query))
    assert "Decisions not to share, by reason" in text
    assert "Time from share to first view, by agency" in text
    assert "Outcomes recorded, by agency" in text
    assert _csv(client.get("/reports/no-share.csv", query_string=query))[1:] == [
        ["Could prejudice an enquiry", "Agency B Police", "1"],
        ["More detrimental to the child", "Agency B Police", "2"],
        ["More detrimental to the child", "Agency C School", "1"],
    ]
    assert _csv(client.get("/reports/first-views.csv", query_string=query))[1:] == [
        ["Agency A Social Care", "1", "0", "0"],
        ["Agency B Police", "2", "1", "2.5"],
    ]
    outcomes = _csv(client.get("/reports/outcomes.csv", query_string=query))
    assert outcomes[0] == [
        "Receiving agency",
        "No further action",
        "Added to assessment",
        "Strategy discussion",
        "Referral made",
        "Other",
        "Total",
    ]
    assert outcomes[1:] == [
        ["Agency A Social Care", "0", "0", "0", "1", "0", "1"],
        ["Agency B Police", "1", "0", "1", "0", "0", "2"],
    ]
