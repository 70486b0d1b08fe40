"""Break-glass access (emergency read access to a case one's agency is not involved in) and the
list of who looked at a case.

- A worker or lead asks, giving a reason; the grant lasts BREAK_GLASS_HOURS and is read from the
  database on every request (tracker.access), so expiry needs no job and no client state.
- One live grant per person and case: asking again while one is live returns it (the request is
  serialised per person and case, so two at once make one grant, one alert each, one review).
- The case's involved agencies' leads are alerted when it is granted; the lead agency's leads
  when the case is first opened under it (as NHS England's CP-IS tells the child's own service).
- It grants reading only (tracker.access.case_for_changing refuses it), and every event recorded
  while reading under it carries BREAK_GLASS_ACTION_SUFFIX (tracker.services.audit).
- Each grant waits in the auditors' review queue until confirmed appropriate or referred.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update

from tracker import clock
from tracker.extensions import db
from tracker.models import (
    BREAK_GLASS_ACTION_SUFFIX,
    Agency,
    AlertKind,
    AuditEvent,
    BreakGlassGrant,
    Case,
    GrantReview,
    Person,
    Role,
)
from tracker.services import alerts, audit, identifiers, leads, locks, settings

REASON_MAX = 2000
RECENT_ACCESSES = 25  # as CP-IS shows a child's record's last 25 accesses


class BreakGlassError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# --- asking ---------------------------------------------------------------------------------


def find_case(reference_or_nhs_number: str) -> Case:
    """The case a worker names by its reference, or by the child's NHS number (what the
    identifier check on a new case told them exists)."""
    text = reference_or_nhs_number.strip()
    case = db.session.scalar(select(Case).where(Case.reference == text.upper()))
    if case is not None:
        return case
    try:
        nhs_number = identifiers.normalise_nhs_number(text, "case")
    except identifiers.IdentifierError:
        nhs_number = None
    found = (
        list(db.session.scalars(select(Case).where(Case.nhs_number == nhs_number).limit(2)))
        if nhs_number
        else []
    )
    if not found:
        raise BreakGlassError("case", "No case has this reference or NHS number")
    if len(found) > 1:
        raise BreakGlassError(
            "case", "More than one case has this NHS number: ask for the case reference"
        )
    return found[0]


def live_grant(person: Person, case: Case) -> BreakGlassGrant | None:
    """The person's unexpired grant on the case, made while they worked for their agency now."""
    return db.session.scalar(
        select(BreakGlassGrant)
        .where(
            BreakGlassGrant.case_id == case.id,
            BreakGlassGrant.person_id == person.id,
            BreakGlassGrant.agency_id == person.agency_id,
            BreakGlassGrant.expires_at > clock.now(),
        )
        .order_by(BreakGlassGrant.expires_at.desc())
        .limit(1)
    )


def _people(*roles: Role, agency_ids: set[int] | None = None) -> list[Person]:
    query = select(Person).where(Person.role.in_([r.value for r in roles]), Person.active)
    if agency_ids is not None:
        query = query.where(Person.agency_id.in_(agency_ids))
    return list(db.session.scalars(query.order_by(Person.id)))


def _alert(grant: BreakGlassGrant, kind: AlertKind, subject: str, recipients, link: str) -> None:
    alerts.raise_alert(
        # One grant, one alert per recipient and kind: a retry adds nothing, a new grant is new.
        event=f"{kind.value}:{grant.id}",
        recipients=recipients,
        kind=kind.value,
        subject=subject,
        link=link,
        # Only those who may read the case see which case it was in their inbox.
        case_id=grant.case_id if link.startswith("/cases/") else None,
        urgent=True,
        sender=grant.person,
    )


def _alert_case_readers(grant: BreakGlassGrant, kind: AlertKind, what: str, agency_ids) -> None:
    """Alert the agencies' leads, who read the case (the link opens it); where none of them has
    a lead, the auditors, who read every case and review the grant."""
    recipients = _people(Role.LEAD, agency_ids=agency_ids) or _people(Role.AUDITOR)
    subject = f"{what} by {grant.person.name}, {grant.agency.name}"
    _alert(grant, kind, subject, recipients, alerts.app_path("cases.show", case_id=grant.case_id))


def request_access(person: Person, case: Case, reason: str) -> tuple[BreakGlassGrant, bool]:
    """Grant the person emergency read access to the case; (grant, True if new).

    Refused for people who may not read cases, or whose agency is involved (they need none)."""
    reason = reason.strip()
    if not person.has_role(Role.WORKER, Role.LEAD):
        raise BreakGlassError("case", "Only agency workers and leads can ask for emergency access")
    if person.agency_id in case.involved_agency_ids:
        raise BreakGlassError(
            "case", f"Your agency is involved in {case.reference}: open it from Cases"
        )
    if not reason:
        raise BreakGlassError("reason", "Enter why you need to see this case now")
    if len(reason) > REASON_MAX:
        raise BreakGlassError("reason", f"Reason must be {REASON_MAX} characters or fewer")
    locks.serialise(f"break_glass:{case.id}:{person.id}")
    existing = live_grant(person, case)
    if existing is not None:
        # Nothing new is granted, but what they said this time is kept.
        audit.record(
            "break_glass.asked_again",
            object_kind="break_glass_grant",
            object_id=existing.id,
            case_id=case.id,
            reason=reason,
            actor=person,
        )
        db.session.commit()
        return existing, False
    now = clock.now()
    grant = BreakGlassGrant(
        case_id=case.id,
        person_id=person.id,
        agency_id=person.agency_id,
        reason=reason,
        granted_at=now,
        expires_at=now + timedelta(hours=settings.get("BREAK_GLASS_HOURS")),
        review_status=GrantReview.PENDING.value,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "break_glass.grant",
        object_kind="break_glass_grant",
        object_id=grant.id,
        case_id=case.id,
        changes={"expires_at": [None, grant.expires_at]},
        reason=reason,
        actor=person,
    )
    _alert_case_readers(
        grant, AlertKind.BREAK_GLASS, "Emergency read access to a case", case.involved_agency_ids
    )
    db.session.commit()
    return grant, True


def note_opened(grant: BreakGlassGrant) -> None:
    """The first opening under a grant tells the lead agency's leads (in the page's
    transaction; a twin opening at the same moment finds first_opened_at set and adds nothing)."""
    if grant.first_opened_at is not None:
        return
    opened = db.session.execute(
        update(BreakGlassGrant)
        .where(BreakGlassGrant.id == grant.id, BreakGlassGrant.first_opened_at.is_(None))
        .values(first_opened_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if opened:
        _alert_case_readers(
            grant,
            AlertKind.BREAK_GLASS_OPENED,
            "A case opened by an agency not involved in it",
            {grant.case.lead_agency_id},
        )


# --- the auditors' review -------------------------------------------------------------------


def review_queue() -> Select[tuple[BreakGlassGrant]]:
    """Grants awaiting review, oldest first."""
    return (
        select(BreakGlassGrant)
        .where(BreakGlassGrant.review_status == GrantReview.PENDING.value)
        .order_by(BreakGlassGrant.granted_at, BreakGlassGrant.id)
    )


def recently_reviewed(limit: int = 25) -> list[BreakGlassGrant]:
    return list(
        db.session.scalars(
            select(BreakGlassGrant)
            .where(BreakGlassGrant.review_status != GrantReview.PENDING.value)
            .order_by(BreakGlassGrant.reviewed_at.desc(), BreakGlassGrant.id.desc())
            .limit(limit)
        )
    )


def reads_under(grant: BreakGlassGrant) -> list[AuditEvent]:
    """What the person read under the grant (the marked events), oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.case_id == grant.case_id,
                AuditEvent.person_id == grant.person_id,
                AuditEvent.action.endswith(BREAK_GLASS_ACTION_SUFFIX),
                AuditEvent.at >= grant.granted_at,
                AuditEvent.at <= grant.expires_at,
            )
            .order_by(AuditEvent.id)
        )
    )


def review_problems(decision: str | None, reason: str) -> list[BreakGlassError]:
    problems = []
    if decision not in (GrantReview.APPROPRIATE.value, GrantReview.REFERRED.value):
        problems.append(BreakGlassError("decision", "Select whether the access was appropriate"))
    if not reason.strip():
        problems.append(BreakGlassError("reason", "Enter the reason for your decision"))
    elif len(reason.strip()) > REASON_MAX:
        problems.append(
            BreakGlassError("reason", f"Reason must be {REASON_MAX} characters or fewer")
        )
    return problems


def review(auditor: Person, grant: BreakGlassGrant, decision: str, reason: str) -> None:
    """Confirm the access appropriate or refer it, once; a referral alerts the person's
    agency's leads (to take it up with them). A second review, even at the same moment, is
    refused and changes nothing."""
    if not auditor.has_role(Role.AUDITOR):
        raise BreakGlassError("decision", "Only auditors review emergency access")
    problems = review_problems(decision, reason)
    if problems:
        raise problems[0]
    reason = reason.strip()
    now = clock.now()
    decided = db.session.execute(
        update(BreakGlassGrant)
        .where(
            BreakGlassGrant.id == grant.id,
            BreakGlassGrant.review_status == GrantReview.PENDING.value,
        )
        .values(
            review_status=decision, reviewed_by_id=auditor.id, reviewed_at=now, review_reason=reason
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not decided:
        db.session.rollback()
        db.session.refresh(grant)
        raise BreakGlassError(
            "decision",
            f"This access was already reviewed ({grant.review_label.lower()}) by "
            f"{grant.reviewed_by.name}",
        )
    audit.record(
        "break_glass.review",
        object_kind="break_glass_grant",
        object_id=grant.id,
        case_id=grant.case_id,
        changes={"review_status": [GrantReview.PENDING.value, decision]},
        reason=reason,
        actor=auditor,
    )
    db.session.expire(grant)
    if decision == GrantReview.REFERRED.value:
        # The person's own leads take it up with them. They may not read the case, so the link
        # is their inbox. An agency with no lead: the partnership's leads.
        _alert(
            grant,
            AlertKind.BREAK_GLASS_REFERRED,
            f"An auditor referred the emergency access of {grant.person.name}: please take it up",
            _people(Role.LEAD, agency_ids={grant.agency_id}) or leads.partnership_leads(1),
            alerts.app_path("inbox.index"),
        )
    db.session.commit()


# --- who looked -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """One access to a case as its leads see it: who, from which agency, in which role, when,
    and whether under break-glass."""

    at: datetime
    person_name: str
    agency_name: str | None
    role_label: str | None
    action: str
    break_glass: bool


def accesses_query(case: Case) -> Select[tuple[AuditEvent]]:
    """Every event a person caused on the case, newest first: views and changes, but not the
    alerts the tracker raised in their request, nor the auditors' review of break-glass (which
    reads the grant, not the case)."""
    return (
        select(AuditEvent)
        .where(
            AuditEvent.case_id == case.id,
            AuditEvent.person_id.is_not(None),
            ~AuditEvent.action.startswith("alert."),
            ~AuditEvent.action.startswith("break_glass.review"),
        )
        .order_by(AuditEvent.id.desc())
    )


def as_accesses(events: list[AuditEvent]) -> list[Access]:
    """Events as accesses, with names resolved in two queries (the person's name from the
    person, so an erased event still says who; the agency they were in at the time)."""
    people = dict(
        db.session.execute(
            select(Person.id, Person.name).where(Person.id.in_({e.person_id for e in events}))
        ).all()
    )
    agencies = dict(
        db.session.execute(
            select(Agency.id, Agency.name).where(Agency.id.in_({e.agency_id for e in events}))
        ).all()
    )
    return [
        Access(
            at=e.at,
            person_name=people.get(e.person_id, "Unknown"),
            agency_name=agencies.get(e.agency_id),
            role_label=Role(e.role).label if e.role else None,
            action=e.action,
            break_glass=e.action.endswith(BREAK_GLASS_ACTION_SUFFIX)
            or e.action in ("break_glass.grant", "break_glass.asked_again"),
        )
        for e in events
    ]


def recent_accesses(case: Case) -> list[Access]:
    """The last RECENT_ACCESSES accesses, newest first."""
    return as_accesses(list(db.session.scalars(accesses_query(case).limit(RECENT_ACCESSES))))
