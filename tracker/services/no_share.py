"""Decisions not to share (golden rule 7: record the decision, whether or not you share).

A decision records what information was considered, for which agencies, the reason (a code and
text: Children Act 2004 s.16LA's "more detrimental to the child" among them), who decided and
when. It is never edited: a later share of the same information cites it (Share.
revisits_decision_id) and the decision then shows as revisited.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from tracker import access, clock, inputs
from tracker.extensions import db
from tracker.models import (
    Agency,
    Case,
    NoShareDecision,
    NoShareDecisionAgency,
    NoShareReason,
    Person,
    Share,
)
from tracker.services import audit, chronology, workdays

INFORMATION_MAX = 5000
REASON_MAX = 5000


class NoShareError(ValueError):
    """Bad input for a decision; `problems` holds every refusal of one round."""

    def __init__(self, field: str, message: str, problems: list[NoShareError] | None = None):
        super().__init__(message)
        self.field = field
        self.problems = problems or [self]


def decision_problems(
    actor: Person,
    case: Case,
    *,
    information: str | None,
    agency_ids: list[int],
    reason_code: str | None,
    reason: str | None,
    decided_at: datetime | None,
) -> list[NoShareError]:
    """Every rule a decision not to share must meet, each broken one against its field (the web
    form and the API show them with their own checks, in one round; record_decision refuses on
    them). A decided_at of None (its field already wrong) is not judged again."""
    problems: list[NoShareError] = []
    if not access.is_involved(actor, case):
        problems.append(NoShareError("agency_ids", "Your agency is not involved in this case"))
    # As a form takes text, for the API too: what shows nothing is no answer.
    information = inputs.visible_text(information or "")
    reason = inputs.visible_text(reason or "")
    if not information:
        problems.append(NoShareError("information", "Enter what information was considered"))
    elif len(information) > INFORMATION_MAX:
        problems.append(
            NoShareError(
                "information", f"Information must be {INFORMATION_MAX} characters or fewer"
            )
        )
    wanted = list(dict.fromkeys(agency_ids or []))
    if not wanted:
        problems.append(
            NoShareError("agency_ids", "Select the agencies the information was considered for")
        )
    elif actor.agency_id in wanted:
        problems.append(NoShareError("agency_ids", "Select other agencies: not your own agency"))
    elif len(db.session.scalars(select(Agency.id).where(Agency.id.in_(wanted))).all()) != len(
        wanted
    ):
        problems.append(NoShareError("agency_ids", "Select agencies from the list"))
    if reason_code not in set(NoShareReason):
        problems.append(NoShareError("reason_code", "Select the reason for not sharing"))
    if not reason:
        problems.append(NoShareError("reason", "Enter why the information was not shared"))
    elif len(reason) > REASON_MAX:
        problems.append(NoShareError("reason", f"Reason must be {REASON_MAX} characters or fewer"))
    if decided_at is not None and decided_at > clock.now():
        problems.append(NoShareError("decided_on", "The decision date must be now or in the past"))
    return problems


def record_decision(
    actor: Person,
    case: Case,
    *,
    information: str,
    agency_ids: list[int],
    reason_code: str,
    reason: str,
    decided_at: datetime,
) -> NoShareDecision:
    """Record that the actor's agency considered sharing and decided not to (audited); refused,
    with every problem, unless decision_problems finds none."""
    problems = decision_problems(
        actor,
        case,
        information=information,
        agency_ids=agency_ids,
        reason_code=reason_code,
        reason=reason,
        decided_at=decided_at,
    )
    if decided_at is None:
        problems.append(NoShareError("decided_on", "Enter the date and time decided"))
    if problems:
        raise NoShareError(problems[0].field, str(problems[0]), problems)
    information = inputs.visible_text(information)
    reason = inputs.visible_text(reason)
    wanted = list(dict.fromkeys(agency_ids))
    decision = NoShareDecision(
        case_id=case.id,
        information=information,
        reason_code=reason_code,
        reason=reason,
        decided_by_id=actor.id,
        decided_by_agency_id=actor.agency_id,
        decided_at=decided_at,
        recorded_at=clock.now(),
    )
    db.session.add(decision)
    db.session.flush()
    for agency_id in sorted(wanted):
        db.session.add(NoShareDecisionAgency(decision_id=decision.id, agency_id=agency_id))
    db.session.flush()
    audit.record(
        "no_share.record",
        object_kind="no_share_decision",
        object_id=decision.id,
        case_id=case.id,
        changes=audit.changes_between(
            {},
            {
                "information": information,
                "agency_ids": sorted(wanted),
                "reason_code": reason_code,
                "reason": reason,
                "decided_at": decided_at,
            },
        ),
        actor=actor,
    )
    db.session.commit()
    return decision


def for_case(case_id: int) -> Select[tuple[NoShareDecision]]:
    return (
        select(NoShareDecision)
        .where(NoShareDecision.case_id == case_id)
        .options(
            selectinload(NoShareDecision.considered_for),
            selectinload(NoShareDecision.revisited_by).selectinload(Share.versions),
            selectinload(NoShareDecision.decided_by),
        )
        .order_by(NoShareDecision.decided_at, NoShareDecision.id)
    )


def open_decisions(case_id: int) -> list[NoShareDecision]:
    """A case's decisions a new share could cite (any: revisiting one twice is allowed)."""
    return list(
        db.session.scalars(
            select(NoShareDecision)
            .where(NoShareDecision.case_id == case_id)
            .order_by(NoShareDecision.decided_at.desc(), NoShareDecision.id.desc())
        )
    )


def decision_for_reading(decision_id: int, person: Person) -> NoShareDecision | None:
    decision = db.session.get(NoShareDecision, decision_id)
    if decision is None:
        return None
    access.case_for_reading(decision.case_id, person)
    return decision


def record_view(decisions: list[NoShareDecision], case_id: int) -> None:
    if decisions:
        audit.record(
            "no_share.view",
            object_kind="no_share_decision",
            case_id=case_id,
            changes={"shown": [None, [d.id for d in decisions]]},
        )
    audit.commit_view()


def counts_by_reason_and_agency(since: datetime | None = None) -> list[tuple[str, str, int]]:
    """(reason code, agency considered for, decisions) for the report."""
    query = (
        select(NoShareDecision.reason_code, Agency.name, func.count(NoShareDecision.id))
        .join(NoShareDecisionAgency, NoShareDecisionAgency.decision_id == NoShareDecision.id)
        .join(Agency, Agency.id == NoShareDecisionAgency.agency_id)
        .group_by(NoShareDecision.reason_code, Agency.name)
        .order_by(NoShareDecision.reason_code, Agency.name)
    )
    if since is not None:
        query = query.where(NoShareDecision.decided_at >= since)
    return [tuple(row) for row in db.session.execute(query)]


def chronology_entries(case_id: int) -> list[chronology.Entry]:
    entries = []
    for decision in db.session.scalars(for_case(case_id)):
        considered = ", ".join(a.agency.name for a in decision.considered_for)
        parts = [f"Reason: {decision.reason_label}: {decision.reason}"]
        if decision.revisited:
            first = min(s.current.shared_at for s in decision.revisited_by)
            parts.append(f"Revisited: shared after all on {workdays.local_time(first)}")
        entries.append(
            chronology.Entry(
                at=decision.decided_at,
                kind="no_share",
                agency_id=decision.decided_by_agency_id,
                agency_name=decision.decided_by_agency.name,
                recorder=decision.decided_by.name,
                what=f"Decided not to share with {considered}: {decision.information}",
                significance=" ".join(p.rstrip(". ") + "." for p in parts),
                link=("cases.show", {"case_id": case_id, "decision_id": decision.id}),
            )
        )
    return entries


chronology.register_source("no_share", "Decision not to share", chronology_entries)
