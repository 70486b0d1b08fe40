"""The one place that decides who may see or change what.

- A worker or lead sees and changes only cases their agency is currently involved in.
- An auditor sees every case and changes nothing.
- An admin manages agencies and people and never reads case content.

Case content outside one's rights is NotFound (the case's existence is not revealed); other
refusals are Forbidden (tracker/domain.py; tracker/errors.py maps them to 404 and 403). Views get
cases only through the functions here, so a query for case data cannot forget the rule.
Nothing here knows about requests: the person is passed in, or is the one acting now
(tracker.services.context).
"""

from __future__ import annotations

from sqlalchemy import Select, exists, or_, select, true

from tracker.domain import Forbidden, NotFound
from tracker.extensions import db
from tracker.models import AgencyKind, AlertKind, Case, CaseAgency, Challenge, Person, Role
from tracker.services import context, leads

CASE_READERS = (Role.WORKER, Role.LEAD, Role.AUDITOR)
CASE_WRITERS = (Role.WORKER, Role.LEAD)


def can_read_cases(person: Person) -> bool:
    return person.has_role(*CASE_READERS)


def can_change_cases(person: Person) -> bool:
    return person.has_role(*CASE_WRITERS)


def can_administer(person: Person) -> bool:
    return person.has_role(Role.ADMIN)


def can_read_mail_copy(alert) -> bool:
    """An administrator reads copies of alert emails (to check delivery), but never one that
    carries a person's set-password link: that is theirs alone (no takeover by reading it).
    A copy whose alert is unknown is not shown either."""
    return alert is not None and alert.kind != AlertKind.ACCOUNT_LINK.value


def sees_partnership_lists(person: Person) -> bool:
    """Partnership-wide lists (unanswered concerns, open challenges): leads and auditors. What
    a lead outside the partnership's business unit sees in them is narrowed to what they may
    read (partnership_list_scope for concerns, visible_challenges for challenges)."""
    return person.has_role(Role.LEAD, Role.AUDITOR)


def can_audit(person: Person) -> bool:
    """The audit trail and evidence packs: auditors only (they read everything, change nothing)."""
    return person.has_role(Role.AUDITOR)


def reviews_retention(person: Person) -> bool:
    """Records governance (the disposal review queue, legal holds, the disposal report):
    auditors, the partnership's record keepers. Disposal changes no record's meaning: it
    replaces personal content with a placeholder, as the retention schedule requires."""
    return person.has_role(Role.AUDITOR)


def reads_partnership_wide(person: Person) -> bool:
    """Partnership reports and every challenge: auditors, and leads of the partnership's own
    business unit (the last stage of every challenge is theirs)."""
    if person.has_role(Role.AUDITOR):
        return True
    return person.has_role(Role.LEAD) and person.agency.kind == AgencyKind.PARTNERSHIP.value


def agency_involved(agency_id: int):
    """SQL condition: the agency is currently involved in the case."""
    return exists().where(
        CaseAgency.case_id == Case.id,
        CaseAgency.agency_id == agency_id,
        CaseAgency.removed_at.is_(None),
    )


def partnership_list_scope(person: Person):
    """SQL condition on Case for the partnership lists (sees_partnership_lists): partnership-wide
    readers (auditors, the partnership's own leads) see every agency's rows; any other reader
    only rows on cases their agency is currently involved in (what they may open). The query
    must join Case."""
    if reads_partnership_wide(person):
        return true()
    if person.has_role(*CASE_WRITERS):
        return agency_involved(person.agency_id)
    raise Forbidden


def visible_cases(person: Person) -> Select[tuple[Case]]:
    """Every case this person may read, as a query to filter and paginate further."""
    if person.has_role(Role.AUDITOR):
        return select(Case)
    if person.has_role(*CASE_WRITERS):
        return select(Case).where(agency_involved(person.agency_id))
    raise Forbidden


def is_involved(person: Person, case: Case) -> bool:
    return person.agency_id in case.involved_agency_ids


def can_read_case(person: Person, case: Case) -> bool:
    """The predicate behind case_for_reading, for lists that must not reveal a case."""
    return can_read_cases(person) and (person.has_role(Role.AUDITOR) or is_involved(person, case))


def _acting(person: Person | None) -> Person:
    """The person given, else the one acting now; nobody signed in may do nothing."""
    person = person or context.actor()
    if person is None:
        raise Forbidden
    return person


def case_for_reading(case_id: int, person: Person | None = None) -> Case:
    person = _acting(person)
    if not can_read_cases(person):
        raise Forbidden
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound
    if not (person.has_role(Role.AUDITOR) or is_involved(person, case)):
        _read_under_break_glass(person, case)
    return case


def case_for_changing(case_id: int, person: Person | None = None) -> Case:
    person = _acting(person)
    case = case_for_reading(case_id, person)
    # Break-glass reads and never changes: only an involved agency's people change a case.
    if not (can_change_cases(person) and is_involved(person, case)):
        raise Forbidden
    if case.disposed_at is not None:
        raise Forbidden  # disposed of under the retention schedule: nothing is added to it again
    return case


# --- break-glass and who looked ----------------------------------------------------------------


def break_glass_grant(person: Person, case: Case):
    """The person's live emergency read access to a case their agency is not involved in (None:
    none, or expired). Checked in the database on every request."""
    from tracker.services import break_glass

    if is_involved(person, case) or not person.has_role(*CASE_WRITERS):
        return None
    return break_glass.live_grant(person, case)


def _read_under_break_glass(person: Person, case: Case) -> None:
    """Let the person read the case under a live grant, marking the request's events (else 404)."""
    from tracker.services import audit, break_glass

    grant = break_glass_grant(person, case)
    if grant is None:
        raise NotFound
    break_glass.note_opened(grant)
    audit.read_under_break_glass(case.id, person.id, grant.id)


def can_request_break_glass(person: Person) -> bool:
    """Agency workers and leads (auditors read everything already; admins never read cases)."""
    return can_change_cases(person)


def sees_who_looked(person: Person, case: Case) -> bool:
    """Who looked at a case: its involved agencies' leads, and auditors."""
    return person.has_role(Role.AUDITOR) or (
        person.has_role(Role.LEAD) and is_involved(person, case)
    )


def require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden


# --- professional challenges --------------------------------------------------------------------


def can_read_challenge(person: Person, challenge) -> bool:
    if reads_partnership_wide(person):
        return True
    if not can_read_cases(person):
        return False
    return person.agency_id in {
        challenge.raised_by_agency_id,
        challenge.about_agency_id,
    } or is_involved(person, challenge.case)


def visible_challenges(person: Person):
    """Every challenge the person may read (can_read_challenge, as a query): the API's list."""
    query = select(Challenge).join(Case, Challenge.case_id == Case.id)
    if reads_partnership_wide(person):
        return query
    if not can_read_cases(person):
        raise Forbidden
    return query.where(
        or_(
            Challenge.raised_by_agency_id == person.agency_id,
            Challenge.about_agency_id == person.agency_id,
            agency_involved(person.agency_id),
        )
    )


def challenge_for_reading(challenge_id: int, person: Person | None = None):
    """A challenge the person may read; NotFound when they may not know it exists, Forbidden for
    admins."""
    person = _acting(person)
    if not can_read_cases(person):
        raise Forbidden
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None or not can_read_challenge(person, challenge):
        raise NotFound
    return challenge


def stage_actors(challenge) -> set[int]:
    """Ids of the people the procedure names for the challenge's current stage.

    Each side: its named lead and deputy for the stage; where the side is the partnership, or
    nobody is named for it, the partnership's named leads. Where the stage is between
    practitioners, every practitioner (worker or lead) of the raising agency, and of the agency
    the challenge is about when that agency names nobody for the stage.

    Nobody acts alone on their own challenge: the person who raised it acts only when nobody
    else is named for the raising side at this stage (a raiser who is also the deputy at the
    next stage does not escalate her own challenge while her lead is named).
    """
    stage = challenge.current_stage
    partnership_needed = False
    sides: list[set[int]] = []
    named_for_raising: set[int] = set()
    for agency_id, participant, raising in (
        (challenge.raised_by_agency_id, stage.raising_side, True),
        (challenge.about_agency_id, stage.other_side, False),
    ):
        side: set[int] = set()
        if participant == "partnership":
            partnership_needed = True
            sides.append(side)
            continue
        named = leads.named_people(agency_id, challenge.stage)
        partnership_needed |= not named
        side |= {p.id for p in named}
        if raising:
            named_for_raising = {p.id for p in named}
        if participant == "practitioner" and (raising or not named):
            side |= {p.id for p in leads.agency_people([agency_id], CASE_WRITERS)[agency_id]}
        sides.append(side)
    raising_side, about_side = sides
    if partnership_needed:
        partnership = {p.id for p in leads.partnership_people(challenge.stage)}
        if stage.raising_side == "partnership":
            named_for_raising |= partnership
        raising_side |= partnership
    if named_for_raising - {challenge.raised_by_id}:
        raising_side.discard(challenge.raised_by_id)
        about_side.discard(challenge.raised_by_id)
    return raising_side | about_side


def stage_actor_names(challenge) -> list[str]:
    """Who may act on the challenge's current stage, by name and agency (for the page)."""
    ids = stage_actors(challenge)
    people = db.session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.name))
    return [f"{p.name} ({p.agency.name})" for p in people]


def can_act_on_stage(person: Person, challenge) -> bool:
    """Record a discussion, resolve or escalate: only those named for the current stage."""
    return (
        challenge.is_open
        and can_change_cases(person)
        and can_read_challenge(person, challenge)
        and person.id in stage_actors(challenge)
    )


def can_withdraw(person: Person, challenge) -> bool:
    """Only the person who raised it withdraws a challenge."""
    return challenge.is_open and can_change_cases(person) and person.id == challenge.raised_by_id


def can_raise_challenge(person: Person, case: Case) -> bool:
    return can_change_cases(person) and is_involved(person, case)


def reads_without_acting(person: Person) -> bool:
    """Auditors: read every case and challenge, act on none."""
    return can_read_cases(person) and not can_change_cases(person)


def can_manage_leads(person: Person) -> bool:
    """The named-leads list: admins (every agency) and leads (their own agency)."""
    return person.has_role(Role.ADMIN, Role.LEAD)


def approves_own_agencys_people(person: Person) -> bool:
    """A lead approves new workers and leads of their own agency (which requests, and when an
    administrator decides instead: tracker.services.approvals.approvers)."""
    return person.has_role(Role.LEAD)
