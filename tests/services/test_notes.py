"""Case notes with amendments, stale lived experience, and threshold disagreement."""

from __future__ import annotations

from datetime import date, datetime

from tests.conftest import sign_in_as
from tests.helpers import page_text
from tracker import clock
from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import cases, notes


def is_stale(case, today: date | None = None) -> bool:
    """The case page's check: its latest lived experience, judged stale or not."""
    return notes.is_stale(notes.latest_lived_experience(case), today or clock.now().date())


def lived(world, on: date, text: str = "I like my bedroom"):
    return notes.record_note(
        world.worker_b, world.case, kind="lived_experience", occurred_on=on, text=text, themes=[]
    )


def test_lived_experience_goes_stale_after_the_setting(app, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    assert is_stale(world.case)  # nothing recorded at all
    lived(world, date(2026, 11, 3))  # 28 days before 1 December: still fresh
    assert not is_stale(world.case)
    assert is_stale(world.case, date(2026, 12, 2))
    app.config["LIVED_EXPERIENCE_STALE_DAYS"] = 60
    assert not is_stale(world.case, date(2026, 12, 2))


def test_stale_cases_query_matches_the_case_check(app, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    other = cases.create(
        world.worker_a,
        child_name="Fresh Child",
        date_of_birth=date(2020, 2, 2),
        lead_agency_id=world.agency_a.id,
        lead_professional_id=None,
        other_agency_ids=[world.agency_b.id],
    )
    notes.record_note(
        world.worker_a,
        other,
        kind="lived_experience",
        occurred_on=date(2026, 11, 30),
        text="Happy at nursery",
        themes=[],
    )
    note = lived(world, date(2026, 11, 29))
    # Amended to an older date: the current version counts, not the first.
    notes.amend_note(
        world.worker_b,
        note,
        occurred_on=date(2026, 9, 1),
        text="I like my bedroom",
        themes=[],
        reason="Wrong date: this was said in September",
    )
    stale = db.session.scalars(notes.stale_lived_experience_cases()).all()
    assert stale == [world.case]
    assert is_stale(world.case) and not is_stale(other)


def test_other_notes_do_not_count_as_lived_experience(app, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    notes.record_note(
        world.worker_a,
        world.case,
        kind="capacity_to_change",
        occurred_on=date(2026, 11, 30),
        text="Father missed the third parenting session",
        themes=["parents_capacity_to_change"],
    )
    assert is_stale(world.case)


def test_case_page_flags_stale_lived_experience(client, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    sign_in_as(client, world.worker_a)
    assert "No record of the child's lived experience in the last 28 days" in page_text(
        client.get(f"/cases/{world.case.id}")
    )
    response = client.post(
        f"/cases/{world.case.id}/notes/new",
        data={
            "kind": "lived_experience",
            "occurred_on": ["30", "11", "2026"],
            "text": "She said: Mum cries a lot and I make my own tea",
        },
    )
    assert response.status_code == 302
    page = page_text(client.get(f"/cases/{world.case.id}"))
    assert "No record of the child's lived experience" not in page
    assert "Mum cries a lot" in page


def test_note_amendment_keeps_history(client, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    note = lived(world, date(2026, 11, 30), "Original words")
    sign_in_as(client, world.worker_b)
    response = client.post(
        f"/cases/{world.case.id}/notes/{note.id}/amend",
        data={"occurred_on": ["30", "11", "2026"], "text": "Corrected words", "reason": "Typo"},
    )
    assert response.status_code == 302
    page = page_text(client.get(response.headers["Location"]))
    assert "Amended" in page and "Original words" in page and "Corrected words" in page
    assert "Typo" in page
    assert "note.amend" in db.session.scalars(db.select(AuditEvent.action)).all()


def test_threshold_disagreement_shown_on_the_case(client, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    sign_in_as(client, world.worker_a)
    client.post(
        f"/cases/{world.case.id}/threshold", data={"level": "Early help", "reason": "Engaging"}
    )
    page = page_text(client.get(f"/cases/{world.case.id}"))
    assert "Agencies disagree" not in page and "Early help" in page
    sign_in_as(client, world.worker_b)
    client.post(
        f"/cases/{world.case.id}/threshold",
        data={"level": "Specialist / child protection", "reason": "Domestic abuse incidents"},
    )
    assert notes.thresholds_disagree(world.case)
    response = client.get(f"/cases/{world.case.id}")
    assert "Agencies disagree about the level of need" in page_text(response)
    if "challenges.raise_challenge" in client.application.view_functions:
        assert "from_threshold=1" in response.get_data(as_text=True)
    # A's new view agrees: the disagreement clears; the earlier view stays in the chronology.
    sign_in_as(client, world.worker_a)
    client.post(
        f"/cases/{world.case.id}/threshold",
        data={"level": "Specialist / child protection", "reason": "Agreed at strategy meeting"},
    )
    assert "Agencies disagree" not in page_text(client.get(f"/cases/{world.case.id}"))
    chronology = page_text(client.get(f"/cases/{world.case.id}/chronology?kind=threshold"))
    assert "Threshold view: Early help" in chronology


def test_removed_agency_view_no_longer_counts(app, world, frozen):
    frozen(datetime(2026, 12, 1, 10, 0))
    notes.record_threshold_view(world.worker_a, world.case, level="Universal", reason="Fine")
    notes.record_threshold_view(world.worker_b, world.case, level="Early help", reason="Worried")
    assert notes.thresholds_disagree(world.case)
    involvement = next(i for i in world.case.involvements if i.agency_id == world.agency_b.id)
    cases.remove_agency(world.worker_a, world.case, involvement.id, "No longer involved")
    assert not notes.thresholds_disagree(world.case)
