"""The one place that decides who may see or change what.

- A worker or lead sees and changes only cases their agency is currently involved in.
- An auditor sees every case and changes nothing.
- An admin manages agencies and people and never reads case content.

Case content outside one's rights is a 404 (the case's existence is not revealed); other refusals
are 403. Views get cases only through the functions here, so a query for case data cannot forget
the rule.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, exists, select

from tracker.extensions import db
from tracker.models import Case, CaseAgency, Person, Role

CASE_READERS = (Role.WORKER, Role.LEAD, Role.AUDITOR)
CASE_WRITERS = (Role.WORKER, Role.LEAD)


def can_read_cases(person: Person) -> bool:
    return person.has_role(*CASE_READERS)


def can_change_cases(person: Person) -> bool:
    return person.has_role(*CASE_WRITERS)


def can_administer(person: Person) -> bool:
    return person.has_role(Role.ADMIN)


def sees_partnership_lists(person: Person) -> bool:
    """Partnership-wide lists (unanswered concerns, open challenges): leads and auditors."""
    return person.has_role(Role.LEAD, Role.AUDITOR)


def agency_involved(agency_id: int):
    """SQL condition: the agency is currently involved in the case."""
    return exists().where(
        CaseAgency.case_id == Case.id,
        CaseAgency.agency_id == agency_id,
        CaseAgency.removed_at.is_(None),
    )


def visible_cases(person: Person) -> Select[tuple[Case]]:
    """Every case this person may read, as a query to filter and paginate further."""
    if person.has_role(Role.AUDITOR):
        return select(Case)
    if person.has_role(*CASE_WRITERS):
        return select(Case).where(agency_involved(person.agency_id))
    abort(403)


def is_involved(person: Person, case: Case) -> bool:
    return person.agency_id in case.involved_agency_ids


def case_for_reading(case_id: int, person: Person | None = None) -> Case:
    person = person or current_user
    if not can_read_cases(person):
        abort(403)
    case = db.session.get(Case, case_id)
    if case is None or not (person.has_role(Role.AUDITOR) or is_involved(person, case)):
        abort(404)
    return case


def case_for_changing(case_id: int, person: Person | None = None) -> Case:
    person = person or current_user
    case = case_for_reading(case_id, person)
    if not can_change_cases(person):
        abort(403)
    return case


def require(allowed: bool) -> None:
    if not allowed:
        abort(403)
