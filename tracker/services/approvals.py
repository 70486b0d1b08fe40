"""Requests that wait for a second person: who may decide them, and telling those who should know.

A role that reads cases or reaches everything, and an identity provider's settings, are only asked
for (tracker.services.people and tracker.services.identity ask); this module is the one home for
"who approves what". Deciding is tracker.services.people.decide.
"""

from __future__ import annotations

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import AlertKind, Person, Role, RoleApproval
from tracker.services import alerts, leads

# Roles that reach everything (an auditor reads every case; an administrator manages people):
# giving one needs a second administrator's approval.
WIDE_ROLES = (Role.AUDITOR.value, Role.ADMIN.value)
# Roles that read their own agency's cases: giving one needs someone who already reads them
# (approvers), or an administrator could invite themselves in under an address they control.
CASE_ROLES = (Role.WORKER.value, Role.LEAD.value)


def pending_approval(person: Person) -> RoleApproval | None:
    return db.session.scalar(
        select(RoleApproval).where(
            RoleApproval.person_id == person.id, RoleApproval.outcome.is_(None)
        )
    )


def pending_approvals() -> list[RoleApproval]:
    return list(
        db.session.scalars(
            select(RoleApproval).where(RoleApproval.outcome.is_(None)).order_by(RoleApproval.id)
        )
    )


def approvals_for(person: Person) -> list[RoleApproval]:
    """The pending requests this person may decide (a lead's page: their agency's new people)."""
    return [a for a in pending_approvals() if may_decide(person, a)]


def _active_people(*conditions) -> list[Person]:
    return list(db.session.scalars(select(Person).where(Person.active, *conditions)))


def approvers(approval: RoleApproval) -> list[Person]:
    """Who may decide a request: the one home for "who approves what". Never the one who
    asked, nor the person it is about.

    - A new or returning worker or lead: an active lead of their agency (who already reads its
      cases, and knows its staff); only when the agency has none, a second administrator.
    - An auditor, an administrator, or an identity provider's settings: a second administrator.
    """
    excluded = [approval.requested_by_id]
    if approval.person_id is not None:
        excluded.append(approval.person_id)
    if approval.role in CASE_ROLES:
        agency_leads = _active_people(
            Person.agency_id == approval.person.agency_id,
            Person.role == Role.LEAD.value,
            Person.id.not_in(excluded),
        )
        if agency_leads:
            return agency_leads
    return _active_people(Person.role == Role.ADMIN.value, Person.id.not_in(excluded))


def may_decide(person: Person, approval: RoleApproval) -> bool:
    return approval.outcome is None and person.id in {p.id for p in approvers(approval)}


def decided_by_whom(approval: RoleApproval) -> str:
    """For the page and message that say who the request now waits for."""
    if approval.role in CASE_ROLES and any(p.role == Role.LEAD.value for p in approvers(approval)):
        return f"a named lead of {approval.person.agency.name}"
    return "a second administrator"


def _partnership_leads() -> list[Person]:
    """The named leads of the partnership's own agencies (its business unit)."""
    return list(
        db.session.scalars(
            select(Person).where(
                Person.agency_id.in_(leads.partnership_agency_ids()),
                Person.role == Role.LEAD.value,
                Person.active,
            )
        )
    )


def alert_approval(approval: RoleApproval, stage: str) -> None:
    """A request goes to those who may decide it (an administrator's link to Approvals, a
    lead's to their own page); a new auditor or administrator, asked for or approved, is also
    told to the partnership's leads. No case detail, as in every alert. Caller's transaction."""
    what = approval.role_label if approval.role else "identity provider settings"
    subject = {
        "requested": f"A request waits for your approval: {what}",
        "approved": f"A request was approved: {what}",
    }[stage]
    recipients: list[tuple[list[Person], str]] = []
    if stage == "requested":
        deciders = approvers(approval)
        recipients += [
            ([p for p in deciders if p.role == Role.ADMIN.value], "admin.approvals"),
            ([p for p in deciders if p.role == Role.LEAD.value], "approvals.index"),
        ]
    if approval.role in WIDE_ROLES:
        recipients.append((_partnership_leads(), "inbox.index"))
    for people_, link in recipients:
        alerts.raise_alert(
            event=f"role_approval:{approval.id}:{stage}:{link}",
            recipients=people_,
            kind=AlertKind.ROLE_APPROVAL.value,
            subject=subject,
            link=alerts.app_path(link),
            urgent=True,
            actor=approval.decided_by if stage == "approved" else approval.requested_by,
        )
