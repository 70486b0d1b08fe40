"""Cases (one child each), the agencies involved in them, and sibling links."""

from __future__ import annotations

from datetime import date

from sqlalchemy import String, column, func, literal, or_, select, table

from tracker import access, clock
from tracker.database import folded, like_folded
from tracker.extensions import db
from tracker.models import Agency, AlertKind, Case, CaseAgency, CaseLink, CaseStatus, Person
from tracker.services import alerts, audit, identifiers, leads, locks, settings, workdays


class CaseError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _next_reference() -> str:
    """SSCP-2026-00042: a per-year sequence, allocated under a lock so two creators never clash."""
    locks.serialise("case_reference")
    prefix = f"{settings.get('CASE_REFERENCE_PREFIX')}-{clock.now().year}-"
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
    today = workdays.today()
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
    nhs_number: str | None = None,
    upn: str | None = None,
    confirm_not_a_match: bool = False,
) -> Case:
    """Open a case. The creator's agency and the lead agency are always involved.

    A case with the same NHS number, or the same name and date of birth, is refused (once:
    `confirm_not_a_match` goes ahead) so records about one child join up; see `_matches`.
    """
    try:
        nhs_number = identifiers.normalise_nhs_number(nhs_number)
        upn = identifiers.normalise_upn(upn)
    except identifiers.IdentifierError as error:
        raise CaseError(error.field, str(error)) from None
    problems = new_case_problems(date_of_birth, lead_agency_id, lead_professional_id)
    if problems:
        raise problems[0]
    lead_agency = _active_agency(lead_agency_id, "lead_agency_id")
    lead_professional = db.session.get(Person, lead_professional_id or 0)
    agencies = {actor.agency_id: actor.agency, lead_agency.id: lead_agency}
    for agency_id in other_agency_ids:
        agencies.setdefault(agency_id, _active_agency(agency_id, "other_agency_ids"))
    if not confirm_not_a_match:
        _refuse_matches(actor, nhs_number, child_name.strip(), date_of_birth)

    case = Case(
        reference=_next_reference(),
        child_name=child_name.strip(),
        date_of_birth=date_of_birth,
        lead_agency_id=lead_agency.id,
        lead_professional_id=lead_professional.id if lead_professional else None,
        nhs_number=nhs_number,
        upn=upn,
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
                "nhs_number": case.nhs_number,
                "upn": case.upn,
                "agencies": sorted(agencies),
            },
        ),
        actor=actor,
    )
    db.session.commit()
    return case


class CaseMatch(CaseError):
    """An existing case may be this child's: `readable` are the ones the creator may open (offer
    to link them); when others exist (`hidden`), the partnership's leads have been alerted."""

    def __init__(self, message: str, readable: list[Case], hidden: bool = False):
        super().__init__("nhs_number", message)
        self.readable = readable
        self.hidden = hidden


def _matches(nhs_number: str | None, child_name: str, date_of_birth: date) -> list[Case]:
    # Both sides folded by the database, by one function: "Émile" is "émile" (see `folded`).
    same_child = (Case.date_of_birth == date_of_birth) & (
        folded(Case.child_name) == folded(literal(child_name, String))
    )
    condition = or_(Case.nhs_number == nhs_number, same_child) if nhs_number else same_child
    return list(db.session.scalars(select(Case).where(condition).order_by(Case.id)))


def _refuse_matches(
    actor: Person, nhs_number: str | None, child_name: str, date_of_birth: date
) -> None:
    found = _matches(nhs_number, child_name, date_of_birth)
    if not found:
        return
    readable = [c for c in found if access.can_read_case(actor, c)]
    if len(readable) == len(found):
        raise CaseMatch(
            "A case with this NHS number, or this name and date of birth, already exists: "
            + ", ".join(c.reference for c in readable)
            + ". Link to it, or confirm this is a different child",
            readable,
        )
    # Never reveal a case the person may not read: say only that one exists, and tell the
    # partnership's leads (who may read it) so they can join the records up.
    # One alert per person and matched cases: trying again raises nothing new.
    event = f"case_match:{actor.id}:" + ",".join(str(c.id) for c in found)
    alerts.raise_alert(
        event=event,
        recipients=leads.partnership_leads(1),
        kind=AlertKind.CASE_MATCH.value,
        subject="A new case may be a child already known to the partnership: please check",
        link="/cases",
        urgent=False,
        actor=actor,
    )
    audit.record(
        "case.match_hidden",
        object_kind="case",
        changes={"matched_case_ids": [None, [c.id for c in found]]},
        actor=actor,
    )
    db.session.commit()
    raise CaseMatch(
        "A case with this identifier exists; the partnership lead has been alerted",
        readable,
        hidden=True,
    )


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
    """Close or reopen. Under the case row's lock, which disposal takes too: a reopen never lands
    on a case disposed of meanwhile, and a twin request finds the change made and does nothing."""
    status = CaseStatus(status).value
    if not reason.strip():
        raise CaseError("reason", "Enter why the case is being closed or reopened")
    locks.row(Case, case.id)
    if case.disposed_at is not None:
        raise CaseError("reason", "This case's records have been disposed of: it stays closed")
    if status == case.status:
        return
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
    # Retention runs from closure (tracker/services/retention_schedule.py).
    case.closed_at = clock.now() if status == CaseStatus.CLOSED.value else None
    db.session.commit()


def linked_cases(case: Case, person: Person) -> list[Case]:
    """The case's siblings this person may read: the others' existence is not revealed."""
    return list(
        db.session.scalars(
            access.visible_cases(person)
            .join(CaseLink, CaseLink.linked_case_id == Case.id)
            .where(CaseLink.case_id == case.id)
            .order_by(Case.reference)
        )
    )


# The shortest term a trigram index serves; shorter terms are matched by the scan alone.
TRIGRAM = 3
# SQLite's trigram index over reference and child's name (migration 0019_case_search).
_case_search = table("case_search", column("rowid"), column("case_search"))


def search(query, term: str):
    """Narrow a visible-cases query by reference or child's name (case-insensitive substring).

    The LIKE is the rule; the trigram index only finds it faster. Both sides are folded by the
    database (`like_folded`: lower() on PostgreSQL, whose pg_trgm indexes are on these very
    expressions; on SQLite a Unicode-aware function, its own lower() folding A-Z only). SQLite's
    FTS5 table narrows to candidates first, folding case itself, and is given the term as typed:
    it leaves a few capitals unfolded ("İ"), which then match there only as typed.
    """
    term = term.strip()
    if not term:
        return query
    pattern = "%" + term.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    dialect = db.session.get_bind().dialect.name
    query = query.where(
        or_(
            like_folded(Case.reference, pattern, dialect),
            like_folded(Case.child_name, pattern, dialect),
        )
    )
    if len(term) >= TRIGRAM and dialect == "sqlite":
        phrase = '"' + term.replace('"', '""') + '"'  # an FTS5 string: the term as it stands
        query = query.where(
            Case.id.in_(
                select(_case_search.c.rowid).where(_case_search.c.case_search.match(phrase))
            )
        )
    return query


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
