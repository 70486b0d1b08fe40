"""The case chronology: every source of case history merged into one date-ordered list.

Extension point: a feature adds its records to the chronology by registering an entry source,

    from tracker.services import chronology
    chronology.register_source("challenge", "Professional challenge", challenge_entries)

where `challenge_entries(case_id: int) -> list[chronology.Entry]` loads everything it needs in a
fixed number of queries (selectinload / joined loads), so the page's query count never grows with
the number of entries (tests/services/test_chronology.py counts them). Register once, at import of
the feature's service module (the blueprint imports it when the app starts).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.extensions import db
from tracker.models import (
    OUTCOME_LABELS,
    THEME_LABELS,
    CaseNoteVersion,
    Concern,
    ConcernResponse,
    Consent,
    Outcome,
    Share,
    ShareVersion,
    Theme,
    ThresholdView,
)
from tracker.services import notes, workdays
from tracker.verify_pack import neutralise  # the pack's checker reads CSV cells by this rule


@dataclass(frozen=True)
class Entry:
    """One line of the chronology."""

    at: datetime  # naive UTC, for ordering and display
    kind: str
    agency_id: int
    agency_name: str
    recorder: str
    what: str
    significance: str = ""
    themes: tuple[str, ...] = ()
    amended: bool = False
    date_only: bool = False  # notes are dated by day, not time
    link: tuple[str, dict] | None = field(default=None, compare=False)  # (endpoint, values)
    # The words the link goes on (a reference such as "Challenge 3"), written before `what`;
    # empty: the link goes on the whole of `what`.
    link_text: str = ""

    @property
    def full_text(self) -> str:
        """What happened, with its reference, where there is no link to carry it (CSV, print)."""
        return f"{self.link_text} {self.what}" if self.link_text else self.what

    @property
    def kind_label(self) -> str:
        return SOURCES[self.kind][0] if self.kind in SOURCES else self.kind

    @property
    def theme_labels(self) -> list[str]:
        return [THEME_LABELS[Theme(t)] for t in self.themes if t in set(Theme)]


EntrySource = Callable[[int], Iterable[Entry]]

# kind -> (label, source); in the order the kind filter lists them.
SOURCES: dict[str, tuple[str, EntrySource]] = {}


def register_source(kind: str, label: str, source: EntrySource) -> None:
    """Add a kind of entry to every case's chronology (see the module docstring)."""
    SOURCES[kind] = (label, source)


def _consent_text(version: ShareVersion) -> str:
    if version.consent == Consent.GIVEN:
        return "Consent given"
    if version.consent == Consent.NOT_SOUGHT:
        return f"Consent not sought: {version.consent_reason}"
    return f"Consent refused; shared because: {version.consent_reason}"


def share_entries(case_id: int) -> list[Entry]:
    shares = db.session.scalars(
        select(Share)
        .where(Share.case_id == case_id)
        .options(
            selectinload(Share.versions).selectinload(ShareVersion.recorded_by),
            selectinload(Share.recipients),
        )
    ).all()
    entries = []
    for share in shares:
        version = share.current
        to = ", ".join(
            r.agency.name + (f" ({r.people_names})" if r.people_names else "")
            for r in share.recipients
        )
        what = f"Shared with {to} by {version.method.replace('_', ' ')}: {version.summary}"
        parts = [f"Purpose: {version.purpose}", _consent_text(version)]
        if share.needs_response:
            due = workdays.local_time(share.recipients[0].due_at)
            rated = f", rated {share.rating}" if share.rating else ""
            parts.append(f"Response needed ({share.priority}{rated}) by {due}")
        if version.identifier_absent:
            parts.append(f"No NHS number carried ({version.identifier_absent.replace('_', ' ')})")
        if share.revisits_decision_id:
            parts.append("Revisits an earlier decision not to share")
        significance = " ".join(p.rstrip(". ") + "." for p in parts)
        entries.append(
            Entry(
                at=version.shared_at,
                kind="share",
                agency_id=share.from_agency_id,
                agency_name=share.from_agency.name,
                recorder=version.recorded_by.name,
                what=what,
                significance=significance,
                themes=tuple(t.value for t in version.theme_list),
                amended=share.amended,
                link=("shares.show", {"share_id": share.id}),
            )
        )
    return entries


def response_entries(case_id: int) -> list[Entry]:
    """A concern's answer, dated when first given; an amendment shows the latest words."""
    recipients = db.session.scalars(
        select(Concern)
        .join(Concern.share)
        .where(Share.case_id == case_id, Concern.responded_at.is_not(None))
        .options(
            selectinload(Concern.responses).selectinload(ConcernResponse.recorded_by),
            selectinload(Concern.share).selectinload(Share.versions),
        )
    )
    entries = []
    for recipient in recipients:
        share, response = recipient.share, recipient.response
        entries.append(
            Entry(
                at=recipient.responses[0].recorded_at,
                kind="response",
                agency_id=recipient.agency_id,
                agency_name=recipient.agency.name,
                recorder=response.recorded_by.name,
                what=f"Responded to {share.from_agency.name}: {response.action_taken}",
                significance=f"Next steps: {response.next_steps}" if response.next_steps else "",
                themes=tuple(t.value for t in share.current.theme_list),
                amended=len(recipient.responses) > 1,
                link=("shares.show", {"share_id": share.id}),
            )
        )
    return entries


def outcome_entries(case_id: int) -> list[Entry]:
    """What a receiving agency did with what it was sent: the loop closed to the sender."""
    recipients = db.session.scalars(
        select(Concern)
        .join(Concern.share)
        .where(Share.case_id == case_id, Concern.outcome.is_not(None))
        .options(
            selectinload(Concern.outcome_by),
            selectinload(Concern.share).selectinload(Share.versions),
        )
    )
    return [
        Entry(
            at=recipient.outcome_at,
            kind="outcome",
            agency_id=recipient.agency_id,
            agency_name=recipient.agency.name,
            recorder=recipient.outcome_by.name,
            what=f"Outcome of what {recipient.share.from_agency.name} shared: "
            + OUTCOME_LABELS[Outcome(recipient.outcome)],
            significance=recipient.outcome_detail or "",
            themes=tuple(t.value for t in recipient.share.current.theme_list),
            link=("shares.show", {"share_id": recipient.share_id}),
        )
        for recipient in recipients
    ]


def note_entries(case_id: int) -> list[Entry]:
    entries = []
    for note in db.session.scalars(notes.notes_for_case(case_id)):
        version: CaseNoteVersion = note.current
        label = notes.NOTE_KIND_LABELS.get(note.kind, note.kind)
        entries.append(
            Entry(
                at=workdays.to_utc(datetime.combine(version.occurred_on, time(0))),
                kind="note",
                agency_id=note.agency_id,
                agency_name=note.agency.name,
                recorder=version.recorded_by.name,
                what=f"{label}: {version.text}",
                themes=tuple(t for t in version.themes.split(",") if t),
                amended=note.amended,
                date_only=True,
                link=("notes.note", {"case_id": case_id, "note_id": note.id}),
            )
        )
    return entries


def threshold_entries(case_id: int) -> list[Entry]:
    views = db.session.scalars(
        select(ThresholdView)
        .where(ThresholdView.case_id == case_id)
        .options(selectinload(ThresholdView.recorded_by))
    )
    return [
        Entry(
            at=view.recorded_at,
            kind="threshold",
            agency_id=view.agency_id,
            agency_name=view.agency.name,
            recorder=view.recorded_by.name,
            what=f"Threshold view: {view.level}",
            significance=view.reason,
        )
        for view in views
    ]


register_source("share", "Share", share_entries)
register_source("response", "Response to a concern", response_entries)
register_source("outcome", "Outcome of a share", outcome_entries)
register_source("note", "Case note", note_entries)
register_source("threshold", "Threshold view", threshold_entries)


def entries_for(
    case_id: int,
    *,
    agency_id: int | None = None,
    theme: str | None = None,
    kind: str | None = None,
) -> list[Entry]:
    """The whole chronology of a case, oldest first, narrowed by the filters given."""
    entries = [entry for _, source in SOURCES.values() for entry in source(case_id)]
    if agency_id:
        entries = [e for e in entries if e.agency_id == agency_id]
    if theme:
        entries = [e for e in entries if theme in e.themes]
    if kind:
        entries = [e for e in entries if e.kind == kind]
    return sorted(entries, key=lambda e: (e.at, e.kind))


# --- CSV ----------------------------------------------------------------------------------------

CSV_HEADER = [
    "Date",
    "Kind",
    "Source agency",
    "Recorded by",
    "What happened",
    "Significance / action",
    "Learning themes",
    "Amended",
]


def to_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for entry in entries:
        local = workdays.to_local(entry.at)
        row = [
            local.strftime("%Y-%m-%d") if entry.date_only else local.strftime("%Y-%m-%d %H:%M"),
            entry.kind_label,
            entry.agency_name,
            entry.recorder,
            entry.full_text,
            entry.significance,
            "; ".join(entry.theme_labels),
            "yes" if entry.amended else "no",
        ]
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()
