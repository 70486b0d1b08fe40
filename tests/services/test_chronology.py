"""The chronology: one merged, date-ordered list; filters; CSV made safe; constant query count."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker.extensions import db
from tracker.models import (
    AuditEvent,
    CaseNote,
    CaseNoteVersion,
    Concern,
    ConcernResponse,
    Share,
    ShareVersion,
    ThresholdView,
)
from tracker.services import chronology, notes, sharing
from tracker.verify_pack import FORMULA_STARTS


def details(when: datetime, summary: str = "School attendance has dropped", **extra):
    return sharing.ShareDetails(
        shared_at=when,
        method="secure_email",
        summary=summary,
        purpose="To plan support together",
        lawful_basis="art6_1e_public_task",
        consent="given",
        themes=extra.pop("themes", ["information_sharing"]),
        **extra,
    )


@pytest.fixture
def history(world, frozen):
    """A share from A answered by B, a lived-experience note, and two threshold views."""
    frozen(datetime(2026, 11, 2, 9, 0))
    share = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id)],
        details=details(datetime(2026, 10, 30, 15, 0)),
        needs_response=True,
    )
    frozen(datetime(2026, 11, 3, 11, 0))
    sharing.respond(world.worker_b, share.recipients[0], action_taken="Welfare check done")
    notes.record_note(
        world.worker_b,
        world.case,
        kind="lived_experience",
        occurred_on=date(2026, 11, 1),
        text="He said: I don't like going home when Dad is shouting",
        themes=[],
    )
    notes.record_threshold_view(world.worker_a, world.case, level="Early help", reason="Support")
    frozen(datetime(2026, 11, 4, 9, 0))
    notes.record_threshold_view(
        world.worker_b, world.case, level="Specialist / child protection", reason="Violence"
    )
    return share


def test_entries_merge_every_kind_in_date_order(app, world, history):
    entries = chronology.entries_for(world.case.id)
    assert [e.kind for e in entries] == ["share", "note", "response", "threshold", "threshold"]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    share, note, response = entries[:3]
    assert share.agency_name == "Agency A Social Care" and share.recorder == "Worker A"
    assert "Agency B Police" in share.what and "Response needed" in share.significance
    assert response.agency_name == "Agency B Police" and "Welfare check done" in response.what
    assert note.date_only and "lived_experience" not in note.what
    assert "childs_lived_experience" in note.themes  # lived experience always carries its theme


def test_filters(app, world, history):
    by_b = chronology.entries_for(world.case.id, agency_id=world.agency_b.id)
    assert {e.kind for e in by_b} == {"note", "response", "threshold"}
    lived = chronology.entries_for(world.case.id, theme="childs_lived_experience")
    assert [e.kind for e in lived] == ["note"]
    assert [e.kind for e in chronology.entries_for(world.case.id, kind="threshold")] == [
        "threshold",
        "threshold",
    ]


def test_chronology_page_filters_and_audits(client, world, history):
    sign_in_as(client, world.worker_a)
    page = client.get(f"/cases/{world.case.id}/chronology?kind=note")
    text = page_text(page)
    assert page.status_code == 200
    assert "I don't like going home" in text and "School attendance" not in text
    text = page_text(client.get(f"/cases/{world.case.id}/chronology?agency={world.agency_a.id}"))
    assert "School attendance" in text and "Welfare check" not in text
    # Nonsense filters are named in the error summary (a 400), never a 500; the rest still shows.
    assert client.get(f"/cases/{world.case.id}/chronology?agency=x&kind=zz").status_code == 400
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert actions.count("chronology.view") == 3


def test_an_extra_source_joins_the_chronology(app, world, history, monkeypatch):
    """The extension point the challenges feature uses."""
    monkeypatch.setattr(chronology, "SOURCES", dict(chronology.SOURCES))
    chronology.register_source(
        "challenge",
        "Professional challenge",
        lambda case_id: [
            chronology.Entry(
                at=datetime(2026, 11, 3, 10, 0),
                kind="challenge",
                agency_id=world.agency_a.id,
                agency_name="Agency A Social Care",
                recorder="Lead A",
                what="Challenge raised",
            )
        ],
    )
    kinds = [e.kind for e in chronology.entries_for(world.case.id)]
    assert kinds == ["share", "note", "challenge", "response", "threshold", "threshold"]
    assert chronology.entries_for(world.case.id, kind="challenge")[0].kind_label == (
        "Professional challenge"
    )


@pytest.mark.parametrize("dangerous", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)"])
def test_csv_neutralises_formulae(client, world, frozen, dangerous):
    frozen(datetime(2026, 11, 2, 9, 0))
    share = sharing.record_share(
        world.worker_a,
        world.case,
        recorded_as=sharing.SENT,
        from_agency_id=world.agency_a.id,
        recipients=[sharing.Recipient(world.agency_b.id)],
        details=details(datetime(2026, 11, 2, 8, 0), summary="ignored"),
        needs_response=False,
    )
    notes.record_threshold_view(world.worker_b, world.case, level="Universal", reason=dangerous)
    assert share.id
    sign_in_as(client, world.auditor)
    response = client.get(f"/cases/{world.case.id}/chronology.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == chronology.CSV_HEADER
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + dangerous in cells
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)
    assert "chronology.export" in db.session.scalars(db.select(AuditEvent.action)).all()


def test_neutralise():
    assert chronology.neutralise("=1+1") == "'=1+1"
    assert chronology.neutralise("\tx") == "'\tx" and chronology.neutralise("\rx") == "'\rx"
    assert chronology.neutralise("Plain - with a dash") == "Plain - with a dash"
    assert chronology.neutralise("") == ""


def _bulk_history(world, count: int) -> None:
    """`count` entries of every kind, written directly (the services audit each, slowly)."""
    base = datetime(2026, 1, 5, 9, 0)
    people = [world.worker_a, world.lead_a, world.worker_b, world.lead_b]
    for n in range(count):
        when = base + timedelta(hours=n)
        person = people[n % len(people)]
        share = Share(
            case_id=world.case.id,
            from_agency_id=world.agency_a.id,
            recorded_as="sent",
            recorded_by_id=person.id,
            recorded_by_agency_id=world.agency_a.id,
            needs_response=True,
        )
        db.session.add(share)
        for number in (1, 2) if n % 5 == 0 else (1,):
            db.session.add(
                ShareVersion(
                    share=share,
                    number=number,
                    shared_at=when,
                    method="phone",
                    summary=f"Share {n}",
                    purpose="Safety",
                    lawful_basis="art6_1e_public_task",
                    consent="given",
                    themes="information_sharing",
                    recorded_by_id=person.id,
                    reason="Corrected" if number == 2 else None,
                )
            )
        recipient = Concern(
            share=share,
            agency_id=world.agency_b.id,
            state="responded",
            due_at=when + timedelta(days=3),
            responded_at=when + timedelta(hours=2),
        )
        db.session.add(recipient)
        db.session.add(
            ConcernResponse(
                recipient=recipient, number=1, action_taken=f"Answer {n}", recorded_by_id=person.id
            )
        )
        note = CaseNote(
            case_id=world.case.id,
            kind="lived_experience",
            agency_id=world.agency_b.id,
            recorded_by_id=person.id,
        )
        db.session.add(note)
        db.session.add(
            CaseNoteVersion(
                note=note,
                number=1,
                occurred_on=when.date(),
                text=f"Note {n}",
                recorded_by_id=person.id,
            )
        )
        db.session.add(
            ThresholdView(
                case_id=world.case.id,
                agency_id=world.agency_a.id,
                level="Universal",
                reason=f"View {n}",
                recorded_by_id=person.id,
            )
        )
    db.session.commit()


def _statements_for_page(app, client, case_id: int) -> tuple[int, int]:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(f"/cases/{case_id}/chronology")
        csv_response = client.get(f"/cases/{case_id}/chronology.csv")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200 and csv_response.status_code == 200
    return len(statements), response.get_data(as_text=True).count('class="govuk-table__row"')


def test_query_count_does_not_grow_with_entries(app, client, world):
    sign_in_as(client, world.auditor)
    _bulk_history(world, 10)
    small, small_rows = _statements_for_page(app, client, world.case.id)
    _bulk_history(world, 490)
    large, large_rows = _statements_for_page(app, client, world.case.id)
    assert small_rows == 1 + 10 * 4 and large_rows == 1 + 500 * 4  # header + 4 kinds each
    assert large == small, (small, large)
