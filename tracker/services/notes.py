"""Case notes (the child's lived experience, parents' capacity to change, significant events) and
agencies' threshold views, with the two checks the learning themes ask for: a case with no recent
lived-experience entry, and involved agencies whose threshold views disagree.

Interfaces other features call:
- `is_stale(latest_lived_experience(case), today)` (the case page, which shows the date too) /
  `stale_lived_experience_cases(today)`, the same rule as a query (sweep, reports).
- `current_threshold_views(case)`, `thresholds_disagree(case)` (challenges: a prompt to raise one).
- `disagreeing_cases(*where)`: the one rule for "thresholds disagree", as a query over many
  cases (the case page, the weekly digest and the partnership report all use it).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import ColumnElement, Select, distinct, exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from tracker import clock
from tracker.extensions import db
from tracker.models import (
    Case,
    CaseAgency,
    CaseNote,
    CaseNoteVersion,
    NoteKind,
    Person,
    Theme,
    ThresholdView,
)
from tracker.services import audit, locks, settings, workdays

NOTE_KIND_LABELS = {
    NoteKind.LIVED_EXPERIENCE: "Child's lived experience",
    NoteKind.CAPACITY_TO_CHANGE: "Parents' capacity to change",
    NoteKind.SIGNIFICANT_EVENT: "Significant event",
}


class NoteError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def note_problems(occurred_on: date | None, text: str | None, themes: list[str]) -> list[NoteError]:
    """Every rule about what a note says (a missing date is its form field's to report)."""
    problems = []
    if occurred_on is not None and occurred_on > workdays.today():
        problems.append(NoteError("occurred_on", "The date must be today or in the past"))
    if not (text or "").strip():
        problems.append(NoteError("text", "Enter the note"))
    if any(t not in set(Theme) for t in themes):
        problems.append(NoteError("themes", "Select learning themes from the list"))
    return problems


def _validate(occurred_on: date, text: str, themes: list[str]) -> tuple[str, str]:
    problems = note_problems(occurred_on, text, themes)
    if problems:
        raise problems[0]
    return text.strip(), ",".join(t.value for t in Theme if t.value in themes)


def record_note(
    actor: Person, case: Case, *, kind: str, occurred_on: date, text: str, themes: list[str]
) -> CaseNote:
    """A note from the actor's agency. Lived experience always carries its learning theme."""
    if kind not in set(NoteKind):
        raise NoteError("kind", "Select the kind of note")
    if kind == NoteKind.LIVED_EXPERIENCE and Theme.LIVED_EXPERIENCE.value not in themes:
        themes = [*themes, Theme.LIVED_EXPERIENCE.value]
    text, theme_text = _validate(occurred_on, text, themes)
    now = clock.now()
    note = CaseNote(
        case_id=case.id,
        kind=kind,
        agency_id=actor.agency_id,
        recorded_by_id=actor.id,
        recorded_at=now,
    )
    db.session.add(note)
    db.session.add(
        CaseNoteVersion(
            note=note,
            number=1,
            occurred_on=occurred_on,
            text=text,
            themes=theme_text,
            recorded_by_id=actor.id,
            recorded_at=now,
        )
    )
    db.session.flush()
    audit.record(
        "note.record",
        object_kind="case_note",
        object_id=note.id,
        case_id=case.id,
        changes={"kind": [None, kind], "occurred_on": [None, occurred_on], "text": [None, text]},
        actor=actor,
    )
    db.session.commit()
    return note


def amended_since(note: CaseNote, seen: int | None) -> list[NoteError]:
    """A page older than the note: saving its amendment would undo a newer one unseen."""
    if seen is None or seen == note.current.number:
        return []
    return [
        NoteError(
            "version",
            "Someone amended this note since you opened it: check their amendment, then save "
            "yours again if it is still needed",
        )
    ]


def amend_note(
    actor: Person,
    note: CaseNote,
    *,
    occurred_on: date,
    text: str,
    themes: list[str],
    reason: str,
    seen: int | None = None,
) -> CaseNoteVersion:
    """A correction: a new version with a reason. `seen`: the version the amending page showed
    (default: the one read now); a newer one saved meanwhile refuses this amendment."""
    if actor.agency_id != note.agency_id:
        raise NoteError("reason", "Only the agency that recorded this note can amend it")
    if not reason.strip():
        raise NoteError("reason", "Enter why you are amending this note")
    text, theme_text = _validate(occurred_on, text, themes)
    seen = note.current.number if seen is None else seen
    locks.hold(note)
    for problem in amended_since(note, seen):
        raise problem
    before = note.current
    version = CaseNoteVersion(
        note=note,
        number=before.number + 1,
        occurred_on=occurred_on,
        text=text,
        themes=theme_text,
        recorded_by_id=actor.id,
        recorded_at=clock.now(),
        reason=reason.strip(),
    )
    db.session.add(version)
    db.session.flush()
    audit.record(
        "note.amend",
        object_kind="case_note",
        object_id=note.id,
        case_id=note.case_id,
        changes=audit.changes_between(
            {"occurred_on": before.occurred_on, "text": before.text, "themes": before.themes},
            {"occurred_on": occurred_on, "text": text, "themes": theme_text},
        ),
        reason=version.reason,
        actor=actor,
    )
    db.session.commit()
    return version


def notes_for_case(case_id: int) -> Select[tuple[CaseNote]]:
    return (
        select(CaseNote)
        .where(CaseNote.case_id == case_id)
        .options(
            # Who recorded each is joined in, not read by a query of its own.
            selectinload(CaseNote.versions).joinedload(CaseNoteVersion.recorded_by),
            joinedload(CaseNote.recorded_by),
        )
        .order_by(CaseNote.id.desc())
    )


def note_for_case(case: Case, note_id: int) -> CaseNote | None:
    note = db.session.get(CaseNote, note_id)
    return note if note is not None and note.case_id == case.id else None


# --- Lived experience ---------------------------------------------------------------------------


def _latest_lived_experience_dates() -> Select:
    """(case_id, latest date) of the current version of each case's lived-experience notes."""
    current = (
        select(CaseNoteVersion.note_id, func.max(CaseNoteVersion.number).label("number"))
        .group_by(CaseNoteVersion.note_id)
        .subquery()
    )
    return (
        select(CaseNote.case_id, func.max(CaseNoteVersion.occurred_on).label("latest"))
        .join(CaseNoteVersion, CaseNoteVersion.note_id == CaseNote.id)
        .join(
            current,
            (current.c.note_id == CaseNoteVersion.note_id)
            & (current.c.number == CaseNoteVersion.number),
        )
        .where(CaseNote.kind == NoteKind.LIVED_EXPERIENCE.value)
        .group_by(CaseNote.case_id)
    )


def stale_since(today: date) -> date:
    """Lived experience dated before this day is too old (the setting, default 28 days)."""
    return today - timedelta(days=settings.get("LIVED_EXPERIENCE_STALE_DAYS"))


def latest_lived_experience(case: Case) -> date | None:
    query = _latest_lived_experience_dates().where(CaseNote.case_id == case.id)
    row = db.session.execute(query).first()
    return row.latest if row else None


def is_stale(latest: date | None, today: date) -> bool:
    """No record of the child's lived experience dated within the last N days (or none at all),
    given the case's latest (from latest_lived_experience)."""
    return latest is None or latest < stale_since(today)


def stale_lived_experience_cases(today: date | None = None) -> Select[tuple[Case]]:
    """Open cases flagged for stale (or missing) lived experience, as a query to scope further."""
    today = today or workdays.today()
    latest = _latest_lived_experience_dates().subquery()
    return (
        select(Case)
        .outerjoin(latest, latest.c.case_id == Case.id)
        .where(
            Case.status == "open",
            (latest.c.latest.is_(None)) | (latest.c.latest < stale_since(today)),
        )
        .order_by(Case.reference)
    )


# --- Threshold views ----------------------------------------------------------------------------


def threshold_levels() -> list[str]:
    return list(settings.get("THRESHOLD_LEVELS"))


def record_threshold_view(actor: Person, case: Case, *, level: str, reason: str) -> ThresholdView:
    """The actor's agency's view of the level of need; a new view replaces its earlier one."""
    if level not in threshold_levels():
        raise NoteError("level", "Select a level of need from the list")
    if not reason.strip():
        raise NoteError("reason", "Enter the reason for your agency's view")
    before = current_threshold_views(case).get(actor.agency_id)
    view = ThresholdView(
        case_id=case.id,
        agency_id=actor.agency_id,
        level=level,
        reason=reason.strip(),
        recorded_by_id=actor.id,
        recorded_at=clock.now(),
    )
    db.session.add(view)
    db.session.flush()
    audit.record(
        "threshold.record",
        object_kind="threshold_view",
        object_id=view.id,
        case_id=case.id,
        changes={"level": [before.level if before else None, level]},
        reason=view.reason,
        actor=actor,
    )
    db.session.commit()
    return view


def current_threshold_views(case: Case) -> dict[int, ThresholdView]:
    """The latest view of each agency currently involved in the case, by agency id."""
    views = db.session.scalars(
        select(ThresholdView)
        .join(
            CaseAgency,
            (CaseAgency.case_id == ThresholdView.case_id)
            & (CaseAgency.agency_id == ThresholdView.agency_id)
            & CaseAgency.removed_at.is_(None),
        )
        .where(ThresholdView.case_id == case.id)
        .options(joinedload(ThresholdView.recorded_by))
        .order_by(ThresholdView.id)
    )
    return {view.agency_id: view for view in views}


def disagreeing_cases(*where: ColumnElement[bool]) -> Select[tuple[int]]:
    """Ids of cases whose involved agencies' latest threshold views differ (any status).

    `where` narrows the threshold views considered (e.g. `ThresholdView.case_id == 12`), so one
    case is checked without grouping every case's views.
    """
    latest = (
        select(func.max(ThresholdView.id).label("id"))
        .join(
            CaseAgency,
            (CaseAgency.case_id == ThresholdView.case_id)
            & (CaseAgency.agency_id == ThresholdView.agency_id)
            & CaseAgency.removed_at.is_(None),
        )
        .where(*where)
        .group_by(ThresholdView.case_id, ThresholdView.agency_id)
        .subquery()
    )
    return (
        select(ThresholdView.case_id)
        .join(latest, latest.c.id == ThresholdView.id)
        .group_by(ThresholdView.case_id)
        .having(func.count(distinct(ThresholdView.level)) > 1)
    )


def thresholds_disagree(case: Case) -> bool:
    """Involved agencies' current views differ: a prompt to raise a professional challenge."""
    return bool(
        db.session.scalar(select(exists(disagreeing_cases(ThresholdView.case_id == case.id))))
    )
