"""Protected sources (golden rule 5: protect the identities of people who could be harmed).

A worker of the agency that recorded a share, a response or a note marks a person named in it
as a protected source: their name, and passages that would identify them. From then on every
text of the case that anyone else reads goes through `redactor_for(viewer, case_id)`, the one
redaction function: the name and the passages become "[protected source]" wherever they appear
in the case (a name hidden in one record and left in the next protects nobody). The recording
agency and auditors see them; other agencies, API callers of other agencies, CSV exports and
subject access packs do not.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from tracker import access, clock
from tracker.extensions import db
from tracker.models import (
    CaseNote,
    Concern,
    Person,
    ProtectedItem,
    ProtectedSource,
    Role,
    Share,
)
from tracker.services import audit, chronology

PLACEHOLDER = "[protected source]"
NAME_MAX = 120
REASON_MAX = 2000
# A shorter term would hide ordinary words ("Al" in "Alarm" is kept apart by word boundaries for
# names, but a two-letter passage would still blank out text across the case).
TERM_MIN = 3


class ProtectedSourceError(ValueError):
    """Bad input for a mark; `problems` holds every refusal of one round."""

    def __init__(
        self, field: str, message: str, problems: list[ProtectedSourceError] | None = None
    ):
        super().__init__(message)
        self.field = field
        self.problems = problems or [self]


@dataclass(frozen=True)
class Redactor:
    """Replaces hidden names and passages with the placeholder; a Redactor with no terms is
    the identity (the viewer may see every protected source of the case)."""

    pattern: re.Pattern | None

    def __call__(self, text: str | None) -> str | None:
        if not text or self.pattern is None:
            return text
        return self.pattern.sub(PLACEHOLDER, text)

    def hides_any(self, texts: list[str]) -> bool:
        """Whether any of the texts holds something this reader may not see."""
        return self.pattern is not None and any(self.pattern.search(t or "") for t in texts)

    def entry(self, entry: chronology.Entry) -> chronology.Entry:
        return dataclasses.replace(
            entry,
            what=self(entry.what),
            significance=self(entry.significance),
        )


def _pattern(sources: list[ProtectedSource]) -> re.Pattern | None:
    terms: list[str] = []
    for source in sources:
        # Names are whole words (so "Ann" leaves "Annual" alone); passages are exact text.
        terms.append(rf"(?<!\w){re.escape(source.name)}(?!\w)")
        terms.extend(re.escape(p) for p in source.passage_list)
    if not terms:
        return None
    # Longest first, so a passage containing a name goes as a whole.
    terms.sort(key=len, reverse=True)
    return re.compile("|".join(terms), re.IGNORECASE)


def sees_protected(viewer: Person | None, source: ProtectedSource) -> bool:
    """The recording agency and auditors; nobody else (None: an export for outsiders)."""
    if viewer is None:
        return False
    return viewer.has_role(Role.AUDITOR) or viewer.agency_id == source.agency_id


def redactor_for(viewer: Person | None, case_id: int) -> Redactor:
    """The redaction for everything `viewer` reads of the case; viewer None is an outsider (a
    subject access pack, a CSV for others)."""
    return reading_for(viewer, case_id).redactor


@dataclass(frozen=True)
class Reading:
    """A viewer's reading of one case's protected sources: what to hide, and the marks they may
    see (listed on each record's page)."""

    redactor: Redactor
    visible: tuple[ProtectedSource, ...]

    def marks(self, kind: str, object_id: int) -> list[ProtectedSource]:
        return [s for s in self.visible if s.item_kind == kind and s.object_id == object_id]


def reading_for(viewer: Person | None, case_id: int) -> Reading:
    """The case's protected sources as `viewer` reads them."""
    return readings_for(viewer, [case_id])[case_id]


def readings_for(viewer: Person | None, case_ids: Iterable[int]) -> dict[int, Reading]:
    """One query for a list's cases (not one a row): each case's protected sources as `viewer`
    reads them."""
    wanted = set(case_ids)
    found: dict[int, list[ProtectedSource]] = {case_id: [] for case_id in wanted}
    if wanted:
        for source in db.session.scalars(
            select(ProtectedSource)
            .where(ProtectedSource.case_id.in_(wanted))
            .order_by(ProtectedSource.id)
        ):
            found[source.case_id].append(source)
    return {
        case_id: Reading(
            Redactor(_pattern([s for s in sources if not sees_protected(viewer, s)])),
            tuple(s for s in sources if sees_protected(viewer, s)),
        )
        for case_id, sources in found.items()
    }


# --- marking ------------------------------------------------------------------------------------


def item_texts(kind: str, item) -> list[str]:
    """Every text of the record in which a name or a passage is looked for."""
    if kind == ProtectedItem.SHARE:
        texts = []
        for version in item.versions:
            texts += [
                version.summary,
                version.purpose,
                version.consent_reason or "",
                version.from_person_name or "",
            ]
        return texts + [r.people_names or "" for r in item.recipients]
    if kind == ProtectedItem.RESPONSE:
        texts = [item.outcome_detail or "", item.people_names or ""]
        for response in item.responses:
            texts += [response.action_taken, response.next_steps or ""]
        return texts
    return [version.text for version in item.versions]


def recording_agency_id(kind: str, item) -> int:
    if kind == ProtectedItem.SHARE:
        return item.recorded_by_agency_id
    return item.agency_id  # a concern's answering agency; a note's source agency


def item_case_id(kind: str, item) -> int:
    return item.share.case_id if kind == ProtectedItem.RESPONSE else item.case_id


def may_mark(person: Person, kind: str, item) -> bool:
    """Only the agency that recorded the words decides who in them needs protecting."""
    return access.can_change_cases(person) and person.agency_id == recording_agency_id(kind, item)


def _contains(texts: list[str], term: str, *, whole_word: bool) -> bool:
    body = "\n".join(texts)
    if whole_word:
        return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", body, re.IGNORECASE) is not None
    return term.casefold() in body.casefold()


def _name(name: str | None) -> str:
    return " ".join((name or "").split())


def _passages(passages: str | None) -> list[str]:
    return list(dict.fromkeys(p.strip() for p in (passages or "").splitlines() if p.strip()))


def mark_problems(
    actor: Person,
    kind: str,
    item: Share | Concern | CaseNote,
    *,
    name: str | None,
    passages: str | None,
    reason: str | None,
) -> list[ProtectedSourceError]:
    """Every rule a mark must meet, each broken one against its field (the form shows them with
    its own, in one round; mark refuses on them)."""
    problems: list[ProtectedSourceError] = []
    if not may_mark(actor, kind, item):
        problems.append(
            ProtectedSourceError("name", "Only the agency that recorded this can protect a source")
        )
    texts = item_texts(kind, item)
    name = _name(name)
    if not name:
        problems.append(ProtectedSourceError("name", "Enter the name of the person to protect"))
    elif len(name) > NAME_MAX:
        problems.append(
            ProtectedSourceError("name", f"Name must be {NAME_MAX} characters or fewer")
        )
    elif len(name) < TERM_MIN:
        problems.append(ProtectedSourceError("name", f"Name must be {TERM_MIN} characters or more"))
    elif not _contains(texts, name, whole_word=True):
        problems.append(
            ProtectedSourceError("name", "Enter a name exactly as this record gives it")
        )
    lines = _passages(passages)
    missing = [p for p in lines if not _contains(texts, p, whole_word=False)]
    short = [p for p in lines if len(p) < TERM_MIN]
    if short:
        problems.append(
            ProtectedSourceError("passages", f"Each passage must be {TERM_MIN} characters or more")
        )
    elif missing:
        problems.append(
            ProtectedSourceError(
                "passages",
                f"Copy each passage exactly from the record; not found: {missing[0][:80]}",
            )
        )
    reason = (reason or "").strip()
    if not reason:
        problems.append(ProtectedSourceError("reason", "Enter why this person needs protecting"))
    elif len(reason) > REASON_MAX:
        problems.append(
            ProtectedSourceError("reason", f"Reason must be {REASON_MAX} characters or fewer")
        )
    return problems


def mark(
    actor: Person,
    kind: str,
    item: Share | Concern | CaseNote,
    *,
    name: str,
    passages: str,
    reason: str,
) -> ProtectedSource:
    """Mark a person named in the record as a protected source (audited); refused, with every
    problem, unless mark_problems finds none."""
    problems = mark_problems(actor, kind, item, name=name, passages=passages, reason=reason)
    if problems:
        raise ProtectedSourceError(problems[0].field, str(problems[0]), problems)
    name, lines, reason = _name(name), _passages(passages), reason.strip()
    source = ProtectedSource(
        case_id=item_case_id(kind, item),
        item_kind=kind,
        object_id=item.id,
        agency_id=actor.agency_id,
        name=name,
        passages="\n".join(lines),
        reason=reason,
        recorded_by_id=actor.id,
        recorded_at=clock.now(),
    )
    db.session.add(source)
    db.session.flush()
    audit.record(
        "protected_source.mark",
        object_kind="protected_source",
        object_id=source.id,
        case_id=source.case_id,
        changes=audit.changes_between(
            {},
            {"item": f"{kind} {item.id}", "name": name, "passages": lines, "reason": reason},
        ),
        actor=actor,
    )
    db.session.commit()
    return source
