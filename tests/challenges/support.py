"""Shared set-up for the challenge tests: a partnership with named leads for every stage."""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import World, add_person
from tracker.extensions import db
from tracker.models import Challenge, Person, Role
from tracker.services import challenges, leads


@dataclass
class Leads:
    head_a: Person
    head_b: Person
    chair: Person


def name_leads(world: World, password_hash: str) -> Leads:
    """Stage 1: the practitioners; 2: the agencies' leads (B's deputy is Worker B);
    3: heads of service; 4: the partnership's chair."""
    named = Leads(
        head_a=add_person("Head A", world.agency_a, Role.LEAD, password_hash),
        head_b=add_person("Head B", world.agency_b, Role.LEAD, password_hash),
        chair=add_person("Chair P", world.partnership, Role.LEAD, password_hash),
    )
    db.session.commit()
    for agency, stage, lead, deputy in (
        (world.agency_a, 1, world.worker_a, None),
        (world.agency_b, 1, world.worker_b, None),
        (world.agency_a, 2, world.lead_a, None),
        (world.agency_b, 2, world.lead_b, world.worker_b),
        (world.agency_a, 3, named.head_a, None),
        (world.agency_b, 3, named.head_b, None),
        (world.partnership, 4, named.chair, None),
    ):
        leads.assign(world.admin, agency, stage, lead.id, deputy.id if deputy else None)
    return named


def raise_one(world: World, **overrides) -> Challenge:
    values = {
        "about_agency_id": world.agency_b.id,
        "kind": "threshold",
        "what_happened": "Police closed the referral as no further action.",
        "outcome_wanted": "A joint strategy discussion this week.",
        "urgent": False,
    }
    values.update(overrides)
    return challenges.raise_challenge(world.worker_a, world.case, **values)


def awaiting_ids(person: Person) -> list[int]:
    return [c.id for c in db.session.scalars(challenges.awaiting(person))]
