"""Agencies of the partnership: created and amended by admins, never deleted."""

from __future__ import annotations

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Agency, AgencyKind, Person, Role
from tracker.services import audit, people


class AgencyError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _snapshot(agency: Agency) -> dict:
    return {
        "name": agency.name,
        "kind": agency.kind,
        "secure_mailbox": agency.secure_mailbox,
        "active": agency.active,
        "public_authority": agency.public_authority,
    }


def name_problems(name: str | None, agency_id: int | None = None) -> list[AgencyError]:
    """An agency's name is unique, whatever its case (a missing name is its field's to report)."""
    name = (name or "").strip()
    if not name:
        return []
    query = select(Agency.id).where(func.lower(Agency.name) == name.lower())
    if agency_id is not None:
        query = query.where(Agency.id != agency_id)
    if db.session.scalar(query) is not None:
        return [AgencyError("name", "An agency with this name already exists")]
    return []


def _check_name_free(name: str, agency_id: int | None = None) -> None:
    for problem in name_problems(name, agency_id):
        raise problem


def create(
    actor: Person,
    *,
    name: str,
    kind: str,
    secure_mailbox: str,
    public_authority: bool | None = None,
) -> Agency:
    """A new agency; unless told, a public authority by its kind (AgencyKind)."""
    name = name.strip()
    _check_name_free(name)
    agency = Agency(
        name=name,
        kind=AgencyKind(kind).value,
        secure_mailbox=secure_mailbox.strip(),
        public_authority=AgencyKind(kind).usually_public_authority
        if public_authority is None
        else public_authority,
    )
    db.session.add(agency)
    db.session.flush()
    audit.record(
        "agency.create",
        object_kind="agency",
        object_id=agency.id,
        changes=audit.changes_between({}, _snapshot(agency)),
        actor=actor,
    )
    db.session.commit()
    return agency


def update(
    actor: Person,
    agency: Agency,
    *,
    name: str,
    kind: str,
    secure_mailbox: str,
    active: bool,
    public_authority: bool | None = None,
) -> None:
    name = name.strip()
    _check_name_free(name, agency.id)
    if not active and agency.id == actor.agency_id:
        # Its people, the administrator included, would all be signed out and kept out.
        raise AgencyError("active", "You cannot make your own agency inactive")
    kind = AgencyKind(kind).value
    partnership = AgencyKind.PARTNERSHIP.value
    if (kind == partnership) != (agency.kind == partnership) and _active_leads(agency):
        # Its leads would gain or lose every challenge of the partnership (access.
        # reads_partnership_wide) on one administrator's word: four eyes go through the people.
        raise AgencyError(
            "kind",
            "This agency has active leads, who would read every challenge of the partnership "
            "(or stop reading them): deactivate them first, change its kind, then reactivate "
            "them, which another administrator approves",
        )
    before = _snapshot(agency)
    agency.name = name
    agency.kind = kind
    agency.secure_mailbox = secure_mailbox.strip()
    agency.active = active
    if public_authority is not None:
        agency.public_authority = public_authority
    changes = audit.changes_between(before, _snapshot(agency))
    if changes:
        audit.record(
            "agency.update", object_kind="agency", object_id=agency.id, changes=changes, actor=actor
        )
        db.session.commit()
    if "active" in changes and not active:
        _deactivate_people(actor, agency)


def _deactivate_people(actor: Person, agency: Agency) -> None:
    """An agency made inactive has left the partnership: each of its people is deactivated as
    any person is (signed out everywhere, tokens revoked, told, audited), so that none is
    alerted or asked to approve any more, and bringing one back, the agency active again, is a
    reactivation someone else approves. (Person.is_active keeps out anyone of it meanwhile.)"""
    for person in db.session.scalars(
        select(Person).where(Person.agency_id == agency.id, Person.active)
    ).all():
        people.update(actor, person, role=person.role, active=False, away=person.away)


def _active_leads(agency: Agency) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(Person.id)).where(
                Person.agency_id == agency.id, Person.active, Person.role == Role.LEAD.value
            )
        )
    )


def active_agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).where(Agency.active).order_by(Agency.name)))
