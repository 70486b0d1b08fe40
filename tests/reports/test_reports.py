"""Partnership reports on a known data set: exact counts, percentages, medians and matrix cells.

The data set (June 2026 has no bank holidays; 1 June is a Monday; London is UTC+1):

shares (A = Agency A, B = Agency B, C = Agency C; case 1 involves A, B; case 2 involves C, A, B)
  S1 A->B  1 Jun, standard, answered 2 Jun (due 4 Jun): on time, 1 working day
  S2 A->B  8 Jun, standard, answered 12 Jun (due 11 Jun): late, 4 working days
  S3 A->B 15 Jun, urgent, acknowledged but never answered (due 16 Jun): unanswered now
  S4 C->A,B 17 Jun: A answers 17 Jun (0 days, on time); B answers 23 Jun (due 22 Jun): late, 4
  S5 B->A 18 Jun, no response needed; amended to add a theme
  S6 A->C 29 Jun, due 2 Jul: not yet due, so not judged
  S7 A->B 29 May: outside the period, never answered
challenges
  Ch1 A about B, 2 Jun, resolved at stage 1 on 3 Jun (1 working day)
  Ch2 C about A, 8 Jun, escalated 9 Jun, resolved at stage 2 on 12 Jun (4 working days)
  Ch3 B about A, 15 Jun, withdrawn 16 Jun
  Ch4 A about B, 22 Jun, open at stage 1
  Ch5 A about B, raised and resolved 29 May: outside the period
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import date, datetime

import pytest
from sqlalchemy import select

from tests.conftest import add_person, sign_in_as
from tests.helpers import assert_form_error, page_text
from tracker.extensions import db
from tracker.models import AuditEvent, Role
from tracker.services import cases, challenges, leads, notes, reports, sharing

PERIOD = reports.Period(date(2026, 6, 1), date(2026, 6, 30))
NOW = datetime(2026, 6, 30, 11, 0)


def share(frozen, actor, case, at, to, *, themes=(), needs_response=True, priority="standard"):
    frozen(at)
    return sharing.record_share(
        actor,
        case,
        recorded_as="sent",
        from_agency_id=actor.agency_id,
        recipients=[sharing.Recipient(a.id) for a in to],
        details=sharing.ShareDetails(
            shared_at=at,
            method="phone",
            summary="What was shared",
            purpose="Why",
            lawful_basis="art6_1e_public_task",
            consent="given",
            themes=list(themes),
        ),
        needs_response=needs_response,
        priority=priority,
    )


def answer(frozen, actor, shared, at):
    frozen(at)
    recipient = next(r for r in shared.recipients if r.agency_id == actor.agency_id)
    sharing.respond(actor, recipient, action_taken="Done")


def raise_challenge(frozen, actor, case, about, at):
    frozen(at)
    return challenges.raise_challenge(
        actor,
        case,
        about_agency_id=about.id,
        kind="other",
        what_happened="What happened",
        outcome_wanted="Outcome",
        urgent=False,
    )


def resolve(frozen, actor, challenge, at, themes):
    frozen(at)
    challenges.resolve(
        actor,
        challenge,
        challenges.Resolution(agreed="Agreed", actions=[], themes=themes, practice_issue=False),
    )


@pytest.fixture
def known(world, frozen, password_hash):
    w = world
    a, b, c = w.agency_a, w.agency_b, w.agency_c
    frozen(datetime(2026, 5, 1, 9, 0))
    case1 = w.case
    case2 = cases.create(
        w.worker_c,
        child_name="Child Two",
        date_of_birth=date(2017, 2, 2),
        lead_agency_id=c.id,
        lead_professional_id=None,
        other_agency_ids=[a.id, b.id],
    )
    leads.assign(w.admin, a, 2, w.lead_a.id, None)
    db.session.commit()

    s7 = share(
        frozen, w.worker_a, case1, datetime(2026, 5, 29, 9, 0), [b], themes=["information_sharing"]
    )
    ch5 = raise_challenge(frozen, w.worker_a, case1, b, datetime(2026, 5, 29, 10, 0))
    resolve(frozen, w.worker_b, ch5, datetime(2026, 5, 29, 15, 0), ["significance_of_history"])
    frozen(datetime(2026, 5, 20, 12, 0))
    notes.record_note(
        w.worker_c,
        case2,
        kind="lived_experience",
        occurred_on=date(2026, 5, 20),
        text="Old",
        themes=[],
    )

    s1 = share(
        frozen, w.worker_a, case1, datetime(2026, 6, 1, 9, 0), [b], themes=["information_sharing"]
    )
    answer(frozen, w.worker_b, s1, datetime(2026, 6, 2, 10, 0))
    ch1 = raise_challenge(frozen, w.worker_a, case1, b, datetime(2026, 6, 2, 10, 30))
    resolve(frozen, w.worker_b, ch1, datetime(2026, 6, 3, 10, 0), ["professional_challenge"])
    frozen(datetime(2026, 6, 5, 9, 0))
    notes.record_threshold_view(w.worker_a, case1, level="Universal", reason="r")
    notes.record_threshold_view(w.worker_c, case2, level="Targeted / child in need", reason="r")
    notes.record_threshold_view(w.worker_a, case2, level="Early help", reason="r")
    frozen(datetime(2026, 6, 6, 9, 0))
    notes.record_threshold_view(w.worker_b, case1, level="Early help", reason="r")

    s2 = share(
        frozen,
        w.worker_a,
        case1,
        datetime(2026, 6, 8, 9, 0),
        [b],
        themes=["information_sharing", "significance_of_history"],
    )
    ch2 = raise_challenge(frozen, w.worker_c, case2, a, datetime(2026, 6, 8, 10, 0))
    frozen(datetime(2026, 6, 9, 10, 0))
    challenges.escalate(w.worker_c, ch2, "No agreement at stage 1")
    frozen(datetime(2026, 6, 10, 9, 0))
    notes.record_note(
        w.worker_a,
        case1,
        kind="lived_experience",
        occurred_on=date(2026, 6, 10),
        text="Now",
        themes=[],
    )
    answer(frozen, w.worker_b, s2, datetime(2026, 6, 12, 9, 0))
    resolve(
        frozen,
        w.lead_a,
        ch2,
        datetime(2026, 6, 12, 10, 0),
        ["professional_challenge", "information_sharing"],
    )
    frozen(datetime(2026, 6, 12, 11, 0))
    notes.record_note(
        w.worker_b,
        case1,
        kind="capacity_to_change",
        occurred_on=date(2026, 6, 12),
        text="Capacity",
        themes=["parents_capacity_to_change", "significance_of_history"],
    )

    s3 = share(frozen, w.worker_a, case1, datetime(2026, 6, 15, 9, 0), [b], priority="urgent")
    ch3 = raise_challenge(frozen, w.worker_b, case1, a, datetime(2026, 6, 15, 10, 0))
    frozen(datetime(2026, 6, 16, 9, 0))
    sharing.acknowledge(w.worker_b, s3.recipients[0])
    challenges.withdraw(w.worker_b, ch3, "Sorted out by phone")

    s4 = share(
        frozen,
        w.worker_c,
        case2,
        datetime(2026, 6, 17, 9, 0),
        [a, b],
        themes=["information_sharing"],
    )
    answer(frozen, w.worker_a, s4, datetime(2026, 6, 17, 14, 0))
    s5 = share(
        frozen,
        w.worker_b,
        case1,
        datetime(2026, 6, 18, 9, 0),
        [a],
        themes=["significance_of_history"],
        needs_response=False,
    )
    frozen(datetime(2026, 6, 18, 12, 0))
    sharing.amend_share(
        w.worker_b,
        s5,
        sharing.ShareDetails(
            shared_at=datetime(2026, 6, 18, 9, 0),
            method="phone",
            summary="What was shared",
            purpose="Why",
            lawful_basis="art6_1e_public_task",
            consent="given",
            themes=["significance_of_history", "childs_lived_experience"],
        ),
        "Added the theme",
    )
    raise_challenge(frozen, w.worker_a, case1, b, datetime(2026, 6, 22, 10, 0))  # Ch4, open
    answer(frozen, w.worker_b, s4, datetime(2026, 6, 23, 10, 0))
    frozen(datetime(2026, 6, 25, 9, 0))
    notes.record_threshold_view(
        w.worker_a, case1, level="Specialist / child protection", reason="r"
    )
    notes.record_threshold_view(w.worker_a, case2, level="Targeted / child in need", reason="r")
    share(frozen, w.worker_a, case2, datetime(2026, 6, 29, 9, 0), [c])  # S6, not yet due
    frozen(NOW)
    partnership_lead = add_person("Partnership Lead", w.partnership, Role.LEAD, password_hash)
    db.session.commit()
    assert s7.id  # recorded, out of the period
    return w, case1, case2, partnership_lead


def test_information_sharing_by_agency(app, known):
    w, *_ = known
    rows = {r.agency: r for r in reports.sharing_by_agency(PERIOD, NOW)}
    assert set(rows) == {w.agency_a.name, w.agency_b.name, w.agency_c.name}
    a, b, c = rows[w.agency_a.name], rows[w.agency_b.name], rows[w.agency_c.name]
    assert (a.sent, a.received, a.concerns, a.on_time, a.judged, a.unanswered_now) == (
        4,
        2,
        1,
        1,
        1,
        0,
    )
    assert (a.on_time_percent, a.median_days) == (100.0, 0)
    assert (b.sent, b.received, b.concerns, b.on_time, b.judged, b.unanswered_now) == (
        1,
        4,
        4,
        1,
        4,
        1,
    )
    assert (b.on_time_percent, b.median_days) == (25.0, 4)
    assert (c.sent, c.received, c.concerns, c.judged, c.unanswered_now) == (1, 1, 1, 0, 0)
    assert (c.on_time_percent, c.median_days) == (None, None)


def test_who_is_waiting_on_whom(app, known):
    w, *_ = known
    matrix = reports.waiting_matrix(PERIOD, NOW)
    a, b, c = w.agency_a.id, w.agency_b.id, w.agency_c.id
    assert matrix.cells == {(a, b): (1, 1), (c, b): (0, 1)}
    assert [i for i, _ in matrix.waiting] == [a, c] and [i for i, _ in matrix.owing] == [b]
    assert matrix.highest == 2


def test_challenges(app, known):
    report = reports.challenges(PERIOD)
    assert report.raised == 4
    assert report.by_stage == {1: 3, 2: 1}
    assert report.by_outcome == {"resolved": 2, "withdrawn": 1, "open": 1}
    assert report.resolved_by_stage == {1: 1, 2: 1}
    assert report.resolved_at_stage_1_percent == 50.0
    assert report.median_days_to_resolve == 2.5
    assert report.median_days_by_stage == {1: 1, 2: 4}


def test_learning_themes(app, known):
    counts = {
        t.theme.value: (t.shares, t.notes, t.challenges, t.total) for t in reports.themes(PERIOD)
    }
    assert counts == {
        "information_sharing": (3, 0, 1, 4),
        "significance_of_history": (2, 1, 0, 3),
        "childs_lived_experience": (1, 1, 0, 2),
        "parents_capacity_to_change": (0, 1, 0, 1),
        "professional_challenge": (0, 0, 2, 2),
    }


def test_cases_needing_attention(app, known):
    _, case1, case2, _ = known
    assert reports.stale_lived_experience(NOW.date()) == [(case2.id, case2.reference)]
    assert reports.threshold_disagreements() == [(case1.id, case1.reference)]


def test_median():
    assert reports.median(Counter()) is None
    assert reports.median(Counter({3: 1})) == 3
    assert reports.median(Counter({1: 1, 4: 1})) == 2.5
    assert reports.median(Counter({0: 2, 5: 1, 9: 1})) == 2.5
    assert reports.median(Counter({2: 3, 7: 1})) == 2


def cells(response) -> str:
    return page_text(response)


def test_the_page_shows_the_numbers_beside_svg_charts(client, known):
    w, case1, case2, partnership_lead = known
    sign_in_as(client, partnership_lead)
    response = client.get(
        "/reports/", query_string={"from_date": ["1", "6", "2026"], "to_date": ["30", "6", "2026"]}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<svg") >= 4 and " style=" not in html.split("<main", 1)[1]
    # Wide tables scroll in a box a keyboard can reach (axe: scrollable-region-focusable),
    # named for a screen reader, with a visible hint that it scrolls.
    boxes = re.findall(r'<div class="tracker-scroll"[^>]*>', html)
    assert len(boxes) == 2
    assert all('tabindex="0"' in b and 'role="region"' in b and "aria-label=" in b for b in boxes)
    assert html.count("tracker-scroll-hint") == 2
    text = page_text(response)
    assert f"{w.agency_b.name} 1 4 4 25.0% (1 of 4) 4 1" in text
    assert f"{w.agency_a.name} 4 2 1 100.0% (1 of 1) 0 0" in text
    assert "1 / 1" in text and "0 / 1" in text  # matrix cells: unanswered / late
    assert "50.0% of resolved" in text and "2.5" in text
    assert case1.reference in text and case2.reference in text
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    assert event.action == "report.view" and event.person_id == partnership_lead.id
    assert f'"cases_named":[null,[{case1.id},{case2.id}]]' in event.changes


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_every_report_exports_csv(client, known):
    w, case1, case2, _ = known
    sign_in_as(client, w.auditor)
    period = {"from_date": ["1", "6", "2026"], "to_date": ["30", "6", "2026"]}
    sharing_rows = csv_rows(client.get("/reports/sharing.csv", query_string=period))
    assert [w.agency_b.name, "1", "4", "4", "1", "4", "25", "4", "1"] in sharing_rows
    matrix_rows = csv_rows(client.get("/reports/matrix.csv", query_string=period))
    assert matrix_rows[1:] == [
        [w.agency_a.name, w.agency_b.name, "1", "1"],
        [w.agency_c.name, w.agency_b.name, "0", "1"],
    ]
    challenge_rows = csv_rows(client.get("/reports/challenges.csv", query_string=period))
    assert ["Resolved at stage 1 %", "", "50"] in challenge_rows
    assert ["Median working days to resolve", "all", "2.5"] in challenge_rows
    theme_rows = csv_rows(client.get("/reports/themes.csv", query_string=period))
    assert ["Information sharing", "3", "0", "1", "4"] in theme_rows
    case_rows = csv_rows(client.get("/reports/cases.csv", query_string=period))
    assert [r[0] for r in case_rows[1:]] == [case2.reference, case1.reference]
    assert client.get("/reports/nothing.csv").status_code == 404


def test_csv_cells_are_neutralised(client, known):
    w, *_ = known
    db.session.execute(
        db.update(type(w.agency_a))
        .where(type(w.agency_a).id == w.agency_a.id)
        .values(name="=cmd()")
    )
    db.session.commit()
    sign_in_as(client, w.auditor)
    rows = csv_rows(
        client.get(
            "/reports/sharing.csv",
            query_string={"from_date": ["1", "6", "2026"], "to_date": ["30", "6", "2026"]},
        )
    )
    assert any(r[0] == "'=cmd()" for r in rows)


def test_the_period_filters(app, known):
    june_first_week = reports.Period(date(2026, 6, 1), date(2026, 6, 7))
    rows = {r.agency_id: r for r in reports.sharing_by_agency(june_first_week, NOW)}
    assert len(rows) == 2  # only S1 (A -> B)
    assert reports.challenges(june_first_week).raised == 1


@pytest.mark.parametrize("who", ["worker_a", "lead_a", "lead_b", "admin"])
def test_reports_are_for_partnership_leads_and_auditors_only(client, world, who):
    sign_in_as(client, getattr(world, who))
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/sharing.csv").status_code == 403
    assert "/reports/" not in client.get("/").get_data(as_text=True)


def test_auditors_see_reports_in_the_nav(client, world):
    sign_in_as(client, world.auditor)
    response = client.get("/reports/")
    assert response.status_code == 200
    assert re.search(r'href="/reports/"', response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from_date": ["31", "2", "2026"]}, "Enter a real date"),
        (
            {"from_date": ["2", "6", "2026"], "to_date": ["1", "6", "2026"]},
            "must be the same as or after",
        ),
    ],
)
def test_a_bad_period_gets_the_error_summary(client, world, query, message):
    sign_in_as(client, world.auditor)
    assert_form_error(client.get("/reports/", query_string=query), message)
