"""Named leads: who leads each stage of the procedure for each agency, and their deputy.

Admins keep the list for every agency; an agency's leads keep it for their own agency. Changing a
stage's lead ends the current row and starts a new one (audited), so who led when stays on record.
The partnership agency (Agency.kind == "partnership") names the leads of its own stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from tracker import clock
from tracker.extensions import db
from tracker.models import Agency, AgencyKind, NamedLead, Person, Role
from tracker.services import audit, locks, procedure


class LeadError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


_held: ContextVar[dict[tuple[int, int], NamedLead] | None] = ContextVar("named_leads", default=None)
_held_partnership: ContextVar[tuple[int, ...]] = ContextVar("partnership_ids", default=())


@contextmanager
def held() -> Iterator[dict[tuple[int, int], NamedLead]]:
    """Inside the block, `current` answers from one read of every current named lead, with its
    lead and deputy: the sweep reads who leads what once a pass, not once an item."""
    rows = db.session.scalars(
        select(NamedLead)
        .where(NamedLead.ended_at.is_(None))
        .options(joinedload(NamedLead.lead), joinedload(NamedLead.deputy))
    )
    table = {(row.agency_id, row.stage): row for row in rows}
    partnership = tuple(partnership_agency_ids())
    token, partnership_token = _held.set(table), _held_partnership.set(partnership)
    try:
        yield table
    finally:
        _held.reset(token)
        _held_partnership.reset(partnership_token)


def current(agency_id: int, stage: int) -> NamedLead | None:
    table = _held.get()
    if table is not None:
        return table.get((agency_id, stage))
    return db.session.scalar(
        select(NamedLead).where(
            NamedLead.agency_id == agency_id,
            NamedLead.stage == stage,
            NamedLead.ended_at.is_(None),
        )
    )


def stage_leads(agency_id: int, stage: int) -> list[Person]:
    """Who to alert for an agency at a stage: the named lead, or the deputy while the lead is away.

    Empty when the agency has nobody named for the stage (the caller must say so loudly).
    """
    return alerted(current(agency_id, stage))


def alerted(named: NamedLead | None) -> list[Person]:
    """Who a named-lead row alerts: the lead, or the deputy while the lead is away."""
    if named is None:
        return []
    lead, deputy = named.lead, named.deputy
    if (not lead.active or lead.away) and deputy is not None and deputy.active:
        return [deputy]
    return [lead] if lead.active else []


def named_people(agency_id: int, stage: int) -> list[Person]:
    """Everyone named for an agency at a stage (lead and deputy): the people who may act."""
    named = current(agency_id, stage)
    if named is None:
        return []
    return [p for p in (named.lead, named.deputy) if p is not None and p.active]


def partnership_agency_ids() -> list[int]:
    if _held.get() is not None:  # the sweep: read once a pass, with the named leads
        return list(_held_partnership.get())
    return list(
        db.session.scalars(
            select(Agency.id).where(Agency.kind == AgencyKind.PARTNERSHIP.value, Agency.active)
        )
    )


def partnership_leads(stage: int) -> list[Person]:
    """The partnership's leads for a stage (to alert), falling back to its last-stage leads."""
    last = procedure.current().last_stage
    for number in dict.fromkeys((stage, last)):
        found = [p for a in partnership_agency_ids() for p in stage_leads(a, number)]
        if found:
            return found
    return []


def partnership_people(stage: int) -> list[Person]:
    """Everyone the partnership names for a stage or its last stage (they may act)."""
    last = procedure.current().last_stage
    return [
        p
        for a in partnership_agency_ids()
        for number in dict.fromkeys((stage, last))
        for p in named_people(a, number)
    ]


def named_stages_of(person: Person) -> set[tuple[int, int]]:
    """(agency_id, stage) pairs where the person is the current lead or deputy."""
    rows = db.session.execute(
        select(NamedLead.agency_id, NamedLead.stage).where(
            NamedLead.ended_at.is_(None),
            or_(NamedLead.lead_id == person.id, NamedLead.deputy_id == person.id),
        )
    )
    return {(row.agency_id, row.stage) for row in rows}


# --- keeping the list ---------------------------------------------------------------------------


def can_manage(person: Person, agency_id: int) -> bool:
    """Admins for every agency; an agency's leads for their own."""
    if person.has_role(Role.ADMIN):
        return True
    return person.has_role(Role.LEAD) and person.agency_id == agency_id


def manageable_agencies(person: Person) -> list[Agency]:
    if not can_manage(person, person.agency_id):
        return []
    query = select(Agency).where(Agency.active).order_by(Agency.name)
    if not person.has_role(Role.ADMIN):
        query = query.where(Agency.id == person.agency_id)
    return list(db.session.scalars(query))


def agency_people(agency_ids: Iterable[int], roles: Iterable[Role]) -> dict[int, list[Person]]:
    """The active people of each agency who hold one of the roles, by name (one query for all).

    Every agency asked about is a key, with an empty list if it has nobody.
    """
    found: dict[int, list[Person]] = {agency_id: [] for agency_id in agency_ids}
    if not found:
        return found
    for person in db.session.scalars(
        select(Person)
        .where(
            Person.agency_id.in_(found),
            Person.active,
            Person.role.in_([role.value for role in roles]),
        )
        .order_by(Person.name, Person.id)
    ):
        found[person.agency_id].append(person)
    return found


def candidates(agency_id: int) -> list[Person]:
    """Who can be named for an agency: its active workers and leads."""
    return agency_people([agency_id], (Role.WORKER, Role.LEAD))[agency_id]


def table(agency_ids: list[int]) -> dict[tuple[int, int], NamedLead]:
    """The current named leads of these agencies, by (agency_id, stage)."""
    rows = db.session.scalars(
        select(NamedLead).where(NamedLead.agency_id.in_(agency_ids), NamedLead.ended_at.is_(None))
    )
    return {(row.agency_id, row.stage): row for row in rows}


def _snapshot(named: NamedLead | None) -> dict:
    if named is None:
        return {"lead_id": None, "deputy_id": None}
    return {"lead_id": named.lead_id, "deputy_id": named.deputy_id}


def assign(
    actor: Person | None,
    agency: Agency,
    stage: int,
    lead_id: int | None,
    deputy_id: int | None,
    *,
    actor_label: str | None = None,
) -> NamedLead | None:
    """Name (or, with no lead, clear) the lead and deputy of an agency's stage; audited."""
    if not 1 <= stage <= procedure.current().last_stage:
        raise LeadError("stage", "Select a stage of the procedure")
    allowed = {p.id: p for p in candidates(agency.id)}
    if lead_id and lead_id not in allowed:
        raise LeadError("lead_id", f"The lead must be an active member of {agency.name}")
    if deputy_id and deputy_id not in allowed:
        raise LeadError("deputy_id", f"The deputy must be an active member of {agency.name}")
    if deputy_id and not lead_id:
        raise LeadError("lead_id", "Select a lead before a deputy")
    if deputy_id and deputy_id == lead_id:
        raise LeadError("deputy_id", "The deputy must be someone other than the lead")
    locks.serialise(f"named_lead:{agency.id}:{stage}")
    before = current(agency.id, stage)
    if _snapshot(before) == {"lead_id": lead_id or None, "deputy_id": deputy_id or None}:
        return before
    now = clock.now()
    if before is not None:
        before.ended_at = now
        before.ended_by_id = actor.id if actor else None
    after = None
    if lead_id:
        after = NamedLead(
            agency_id=agency.id,
            stage=stage,
            lead_id=lead_id,
            deputy_id=deputy_id or None,
            started_at=now,
            started_by_id=actor.id if actor else None,
        )
        db.session.add(after)
    db.session.flush()
    audit.record(
        "named_lead.change",
        object_kind="named_lead",
        object_id=(after or before).id,
        changes={
            "agency_id": [agency.id, agency.id],
            "stage": [stage, stage],
            **audit.changes_between(_snapshot(before), _snapshot(after)),
        },
        actor=actor,
        actor_label=actor_label,
    )
    db.session.commit()
    return after
