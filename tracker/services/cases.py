"""Cases (one child each), the agencies involved in them, and sibling links."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import func, or_, select

from tracker import access
from tracker.extensions import db
from tracker.models import Agency, Case, CaseAgency, CaseLink, CaseStatus, Person
from tracker.services import audit, clock, locks


class CaseError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _next_reference() -> str:
    """SSCP-2026-00042: a per-year sequence, allocated under a lock so two creators never clash."""
    locks.serialise("case_reference")
    prefix = f"{current_app.config['CASE_REFERENCE_PREFIX']}-{clock.now().year}-"
    last = db.session.scalar(
        select(func.max(Case.reference)).where(Case.reference.like(f"{prefix}%"))
    )
    number = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{number:05d}"


def _active_agency(agency_id: int, field: str) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None or not agency.active:
        raise CaseError(field, "Select an agency from the list")
    return agency


def _involve(case: Case, agency: Agency, actor: Person) -> CaseAgency:
    involvement = CaseAgency(case=case, agency=agency, added_by_id=actor.id, added_at=clock.now())
    db.session.add(involvement)
    return involvement


def new_case_problems(
    date_of_birth: date | None, lead_agency_id: int | None, lead_professional_id: int | None
) -> list[CaseError]:
    """The rules across a new case's fields (a missing value is its form field's to report)."""
    problems = []
    today = clock.now().date()
    if date_of_birth is not None and date_of_birth > today:
        problems.append(CaseError("date_of_birth", "Date of birth must be today or in the past"))
    elif date_of_birth is not None and date_of_birth.year < today.year - 25:
        problems.append(
            CaseError("date_of_birth", "Date of birth must be within the last 25 years")
        )
    if lead_professional_id and lead_agency_id:
        lead_professional = db.session.get(Person, lead_professional_id)
        if lead_professional is None or lead_professional.agency_id != lead_agency_id:
            problems.append(
                CaseError(
                    "lead_professional_id", "The lead professional must work for the lead agency"
                )
            )
    return problems


def create(
    actor: Person,
    *,
    child_name: str,
    date_of_birth: date,
    lead_agency_id: int,
    lead_professional_id: int | None,
    other_agency_ids: list[int],
) -> Case:
    """Open a case. The creator's agency and the lead agency are always involved."""
    problems = new_case_problems(date_of_birth, lead_agency_id, lead_professional_id)
    if problems:
        raise problems[0]
    lead_agency = _active_agency(lead_agency_id, "lead_agency_id")
    lead_professional = db.session.get(Person, lead_professional_id or 0)
    agencies = {actor.agency_id: actor.agency, lead_agency.id: lead_agency}
    for agency_id in other_agency_ids:
        agencies.setdefault(agency_id, _active_agency(agency_id, "other_agency_ids"))

    case = Case(
        reference=_next_reference(),
        child_name=child_name.strip(),
        date_of_birth=date_of_birth,
        lead_agency_id=lead_agency.id,
        lead_professional_id=lead_professional.id if lead_professional else None,
        created_by_id=actor.id,
        created_at=clock.now(),
    )
    db.session.add(case)
    for agency in agencies.values():
        _involve(case, agency, actor)
    db.session.flush()
    audit.record(
        "case.create",
        object_kind="case",
        object_id=case.id,
        case_id=case.id,
        changes=audit.changes_between(
            {},
            {
                "reference": case.reference,
                "child_name": case.child_name,
                "date_of_birth": case.date_of_birth,
                "lead_agency_id": case.lead_agency_id,
                "lead_professional_id": case.lead_professional_id,
                "agencies": sorted(agencies),
            },
        ),
        actor=actor,
    )
    db.session.commit()
    return case


def add_agency(actor: Person, case: Case, agency_id: int) -> CaseAgency:
    agency = _active_agency(agency_id, "agency_id")
    if agency.id in case.involved_agency_ids:
        raise CaseError("agency_id", f"{agency.name} is already involved in this case")
    involvement = _involve(case, agency, actor)
    db.session.flush()
    audit.record(
        "case.agency_add",
        object_kind="case_agency",
        object_id=involvement.id,
        case_id=case.id,
        changes={"agency_id": [None, agency.id]},
        actor=actor,
    )
    db.session.commit()
    return involvement


def remove_agency(actor: Person, case: Case, involvement_id: int, reason: str) -> None:
    """End an agency's involvement; the row stays, with who ended it, when and why."""
    involvement = db.session.get(CaseAgency, involvement_id)
    if involvement is None or involvement.case_id != case.id or involvement.removed_at:
        raise CaseError("involvement_id", "That agency is not currently involved in this case")
    if involvement.agency_id == case.lead_agency_id:
        raise CaseError("involvement_id", "The lead agency cannot be removed from its own case")
    if not reason.strip():
        raise CaseError("reason", "Enter why the agency is no longer involved")
    involvement.removed_at = clock.now()
    involvement.removed_by_id = actor.id
    involvement.removal_reason = reason.strip()
    audit.record(
        "case.agency_remove",
        object_kind="case_agency",
        object_id=involvement.id,
        case_id=case.id,
        changes={"agency_id": [involvement.agency_id, None]},
        reason=involvement.removal_reason,
        actor=actor,
    )
    db.session.commit()


def link_sibling(actor: Person, case: Case, other: Case) -> None:
    if other.id == case.id:
        raise CaseError("reference", "A case cannot be linked to itself")
    exists = db.session.scalar(
        select(CaseLink.id).where(CaseLink.case_id == case.id, CaseLink.linked_case_id == other.id)
    )
    if exists:
        raise CaseError("reference", f"{other.reference} is already linked")
    db.session.add_all(
        [
            CaseLink(case_id=case.id, linked_case_id=other.id, created_by_id=actor.id),
            CaseLink(case_id=other.id, linked_case_id=case.id, created_by_id=actor.id),
        ]
    )
    for this, that in ((case, other), (other, case)):
        audit.record(
            "case.link_sibling",
            object_kind="case",
            object_id=this.id,
            case_id=this.id,
            changes={"linked_case_id": [None, that.id]},
            actor=actor,
        )
    db.session.commit()


def set_status(actor: Person, case: Case, status: str, reason: str) -> None:
    status = CaseStatus(status).value
    if status == case.status:
        return
    if not reason.strip():
        raise CaseError("reason", "Enter why the case is being closed or reopened")
    audit.record(
        "case.status_change",
        object_kind="case",
        object_id=case.id,
        case_id=case.id,
        changes={"status": [case.status, status]},
        reason=reason.strip(),
        actor=actor,
    )
    case.status = status
    db.session.commit()


def linked_cases(case: Case) -> list[Case]:
    return list(
        db.session.scalars(
            select(Case)
            .join(CaseLink, CaseLink.linked_case_id == Case.id)
            .where(CaseLink.case_id == case.id)
            .order_by(Case.reference)
        )
    )


def search(query, term: str):
    """Narrow a visible-cases query by reference or child's name (case-insensitive)."""
    term = term.strip()
    if not term:
        return query
    term = term.lower()
    return query.where(
        or_(
            func.lower(Case.reference).contains(term, autoescape=True),
            func.lower(Case.child_name).contains(term, autoescape=True),
        )
    )


def recent_for(person: Person):
    """The person's visible cases, newest first."""
    return access.visible_cases(person).order_by(Case.created_at.desc(), Case.id.desc())


def record_list_view(shown: list[Case], where: str) -> None:
    """Listing children's names is a view of case data: audit which cases were shown, and where."""
    if shown:
        audit.record(
            "case.list",
            object_kind="case",
            changes={"page": [None, where], "shown": [None, [c.id for c in shown]]},
        )
    audit.commit_view()


def record_view(case: Case, what: str = "case.view") -> None:
    """Every view of case data is audited (and committed with the page's reads)."""
    audit.record(what, object_kind="case", object_id=case.id, case_id=case.id)
    audit.commit_view()
