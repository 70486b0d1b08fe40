"""Information sharing: record a share (sent or received), the concerns it raises, and answers.

A share's content lives in versions (ShareVersion); each receiving agency is a Concern,
which is the concern it owes when the sender asked for a response. A concern is due at the end of
the Nth working day after it was shared (workdays.deadline; N from the settings by priority).
Nothing is edited in place: an amendment adds a version with a reason.

Interfaces other features call:
- `open_concerns()`: every concern still awaiting a response (the sweep adds `overdue_before`).
- `unanswered_concerns(now, ...)`: past due without a response (partnership list, alerts, reports).
- `awaiting_our_response(agency_id)`, `awaiting_their_response(agency_id)`: the home-page lists.
- `days_overdue(recipient, now)`: whole working days past due.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime, time, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from tracker import access, clock, inputs, models
from tracker.domain import NotFound
from tracker.extensions import db
from tracker.models import (
    OPEN_CONCERN_STATES,
    Agency,
    Case,
    Concern,
    ConcernResponse,
    ConcernState,
    Consent,
    IdentifierAbsent,
    LawfulBasis,
    NoShareDecision,
    Outcome,
    Person,
    Priority,
    Share,
    ShareMethod,
    ShareVersion,
    SpecialCategoryCircumstance,
    Theme,
)
from tracker.services import audit, locks, procedure, settings, workdays

SENT = "sent"
RECEIVED = "received"


class ShareError(ValueError):
    """Bad input for a share or response; `field` names the form field to show it against.

    `problems` holds every refusal of one round (itself when there is only one)."""

    def __init__(self, field: str, message: str, problems: list[ShareError] | None = None):
        super().__init__(message)
        self.field = field
        self.problems = problems or [self]


def _all(problems: list[ShareError]) -> None:
    if problems:
        raise ShareError(problems[0].field, str(problems[0]), problems)


@dataclass
class ShareDetails:
    """What one version of a share says (the "record it" fields)."""

    shared_at: datetime | None  # naive UTC; None only while a form is still wrong
    method: str
    summary: str
    purpose: str
    lawful_basis: str
    consent: str
    consent_reason: str | None = None
    special_category: bool = False
    from_person_name: str | None = None
    themes: list[str] = field(default_factory=list)
    special_category_circumstance: str | None = None
    identifier_absent: str | None = None

    def as_changes(self) -> dict:
        """The fields as a version stores them (themes comma-separated), for audit and columns."""
        return {name: getattr(self, name) for name in SHARE_FIELDS} | {
            "themes": ",".join(self.themes)
        }

    @classmethod
    def of_version(cls, version: ShareVersion) -> ShareDetails:
        return cls(
            **{name: getattr(version, name) for name in SHARE_FIELDS if name != "themes"},
            themes=[t.value for t in version.theme_list],
        )


# A share's field list, the one home: what each version records (ShareVersion has a column for
# each); the form, the API's document and its calls take their fields from here.
SHARE_FIELDS = tuple(f.name for f in fields(ShareDetails))
# The fields a new share cannot do without (the rest have a default).
REQUIRED_SHARE_FIELDS = tuple(
    f.name for f in fields(ShareDetails) if f.default is MISSING and f.default_factory is MISSING
)


@dataclass
class Recipient:
    agency_id: int
    people_names: str | None = None


LEGITIMATE_INTEREST_BASES = (
    LawfulBasis.LEGITIMATE_INTERESTS.value,
    LawfulBasis.RECOGNISED_LEGITIMATE_INTERESTS.value,
)


def lawful_sharing_problems(
    details: ShareDetails, sharing_agency: Agency, case: Case
) -> list[ShareError]:
    """The law's cross-field rules for one share, every one that is broken (web and API alike).

    - UK GDPR Art 6(1), last sentence: legitimate interests, and the Data (Use and Access) Act
      2025's recognised legitimate interests, are not for a public authority in its tasks.
    - Special category data needs a DPA 2018 Schedule 1 paragraph 18 circumstance.
    - Consent as the basis contradicts "consent refused, but shared".
    - The child's NHS number travels with a share; without one on the case, the reason is
      recorded ("unknown" unless the sharer says it would be more detrimental).
    """
    problems = []
    if details.lawful_basis in LEGITIMATE_INTEREST_BASES and sharing_agency.public_authority:
        problems.append(
            ShareError(
                "lawful_basis",
                f"{sharing_agency.name} is a public authority: it cannot rely on legitimate "
                "interests (Article 6(1)(f)) or recognised legitimate interests (Article "
                "6(1)(ea)) for its statutory tasks. Choose public task, legal obligation or "
                "another basis",
            )
        )
    circumstance = details.special_category_circumstance or None
    if details.special_category:
        if circumstance not in set(SpecialCategoryCircumstance):
            problems.append(
                ShareError(
                    "special_category_circumstance",
                    "Select why special category data was shared without consent: consent "
                    "cannot be given, cannot reasonably be obtained, or obtaining it would "
                    "prejudice the child's protection (DPA 2018 Schedule 1 paragraph 18)",
                )
            )
    elif circumstance is not None:
        details.special_category_circumstance = None  # only meaningful with special category
    if details.lawful_basis == LawfulBasis.CONSENT and details.consent == Consent.REFUSED:
        problems.append(
            ShareError(
                "consent",
                "Consent cannot be the lawful basis when consent was refused: choose the basis "
                "the information was shared under",
            )
        )
    absent = details.identifier_absent or None
    if case.nhs_number:
        details.identifier_absent = None  # the share carries the case's NHS number
    elif absent is None:
        # Without a choice the recorded reason is the plain fact: the tracker does not know it.
        details.identifier_absent = IdentifierAbsent.UNKNOWN.value
    elif absent not in set(IdentifierAbsent):
        problems.append(
            ShareError(
                "identifier_absent",
                "Select why the share goes without the child's NHS number: not known, or "
                "including it would be more detrimental to the child",
            )
        )
    return problems


def sharing_agency(recorded_as: str, form, actor: Person) -> Agency | None:
    """Whose lawful basis a share form states: the actor's agency when sent, the chosen one
    when received (None until one is chosen)."""
    if recorded_as == SENT:
        return actor.agency
    agency_id = form.from_agency_id.data
    return db.session.get(Agency, agency_id) if isinstance(agency_id, int) and agency_id else None


def details_problems(details: ShareDetails) -> list[ShareError]:
    """Every rule about what a version of a share says, each against its field.

    A value that is missing here (None: its form field was already wrong) is not judged again.
    """
    problems = []
    if details.shared_at is not None and details.shared_at > clock.now():
        problems.append(
            ShareError("shared_on", "The date and time shared must be now or in the past")
        )
    if details.method not in set(ShareMethod):
        problems.append(ShareError("method", "Select how it was shared"))
    if not (details.summary or "").strip():
        problems.append(ShareError("summary", "Enter what was shared"))
    if not (details.purpose or "").strip():
        problems.append(ShareError("purpose", "Enter why it was shared"))
    if details.lawful_basis not in set(LawfulBasis):
        problems.append(ShareError("lawful_basis", "Select the lawful basis for sharing"))
    if details.consent not in set(Consent):
        problems.append(ShareError("consent", "Select whether consent was given"))
    reason = (details.consent_reason or "").strip()
    if details.consent == Consent.NOT_SOUGHT and not reason:
        problems.append(ShareError("consent_reason", "Enter why consent was not sought"))
    if details.consent == Consent.REFUSED and not reason:
        problems.append(
            ShareError(
                "consent_reason",
                "Enter why the information was shared when consent was refused",
            )
        )
    if any(t not in set(Theme) for t in details.themes):
        problems.append(ShareError("themes", "Select learning themes from the list"))
    return problems


def _validate(details: ShareDetails) -> ShareDetails:
    problems = details_problems(details)
    if details.shared_at is None:
        problems.insert(0, ShareError("shared_on", "Enter the date and time it was shared"))
    if problems:
        raise problems[0]
    reason = (details.consent_reason or "").strip() or None
    details.consent_reason = None if details.consent == Consent.GIVEN else reason
    details.summary = details.summary.strip()
    details.purpose = details.purpose.strip()
    details.themes = [t.value for t in Theme if t.value in details.themes]  # canonical order
    return details


def concern_days(priority: str) -> int:
    key = "CONCERN_DAYS_URGENT" if priority == Priority.URGENT else "CONCERN_DAYS_STANDARD"
    return settings.get(key)


def due_time(shared_at: datetime, priority: str, rating: str | None = None) -> datetime:
    """The rating's timescale from the procedure file if it has one (working hours or days);
    else the end of the Nth working day after the share (N by priority, from the settings)."""
    rule = procedure.current().rating(rating) if rating else None
    if rule is not None:
        return workdays.due_after(
            shared_at,
            working_hours=rule.working_hours,
            working_days=rule.working_days,
            out_of_hours=rule.out_of_hours,
        )
    return workdays.deadline(shared_at, concern_days(priority))


def new_version(
    share: Share, number: int, details: ShareDetails, actor: Person, reason: str | None
) -> ShareVersion:
    columns = details.as_changes()
    columns["from_person_name"] = (details.from_person_name or "").strip() or None
    return ShareVersion(
        share=share,
        number=number,
        **columns,
        recorded_by_id=actor.id,
        recorded_at=clock.now(),
        reason=reason,
    )


def with_own_agency(actor: Person, recorded_as: str, agency_ids: list[int]) -> list[int]:
    """The agencies a share went to: those named and, for a share received, the actor's own
    first (it received it), whether or not the form or the call named it."""
    if recorded_as == RECEIVED and actor.agency_id not in agency_ids:
        return [actor.agency_id, *agency_ids]
    return list(agency_ids)


def recipient_problems(
    actor: Person,
    case: Case,
    recorded_as: str,
    from_agency_id: int | None,
    recipient_ids: list[int],
) -> list[ShareError]:
    """Every rule about who shared with whom: each agency must be involved in the case (so it can
    read and answer it), named once, and a share goes from one agency to others."""
    if recorded_as not in (SENT, RECEIVED):
        raise ValueError(f"recorded_as must be {SENT!r} or {RECEIVED!r}")
    if not access.is_involved(actor, case):
        return [ShareError("recipient_agency_ids", "Your agency is not involved in this case")]
    problems = []
    involved = case.involved_agency_ids
    recipient_set = set(with_own_agency(actor, recorded_as, recipient_ids))
    if len(set(recipient_ids)) != len(recipient_ids):
        # Twice (the API's recipients, each with its people): one would silently be lost.
        problems.append(
            ShareError(
                "recipient_agency_ids", "Name each agency once, with all its people together"
            )
        )
    if recorded_as == SENT:
        from_agency_id = actor.agency_id
        if not recipient_set:
            problems.append(
                ShareError("recipient_agency_ids", "Select at least one agency it was shared with")
            )
    else:
        if from_agency_id == actor.agency_id:
            problems.append(
                ShareError("from_agency_id", "Select the agency that shared it with you")
            )
        elif from_agency_id not in involved:
            problems.append(ShareError("from_agency_id", "Select an agency involved in this case"))
    said_already = recorded_as == RECEIVED and from_agency_id == actor.agency_id
    if from_agency_id in recipient_set and not said_already:
        problems.append(
            ShareError(
                "recipient_agency_ids",
                "A share goes to other agencies: you cannot share with your own agency",
            )
        )
    if recipient_set - involved:
        problems.append(
            ShareError(
                "recipient_agency_ids",
                "Select agencies involved in this case (add an agency to the case first)",
            )
        )
    return problems


def record_share(
    actor: Person,
    case: Case,
    *,
    recorded_as: str,
    from_agency_id: int,
    recipients: list[Recipient],
    details: ShareDetails,
    needs_response: bool,
    priority: str = Priority.STANDARD.value,
    rating: str | None = None,
    revisits_decision_id: int | None = None,
) -> Share:
    """Record one act of sharing, sent by the actor's agency or received by it.

    Every agency involved must currently be involved in the case (so it can read and answer it).
    `revisits_decision_id` cites an earlier decision not to share this information.
    """
    problems = recipient_problems(
        actor, case, recorded_as, from_agency_id, [r.agency_id for r in recipients]
    )
    if priority not in set(Priority):
        problems.append(ShareError("priority", "Select standard or urgent"))
    if problems:
        raise problems[0]
    if recorded_as == SENT:
        from_agency_id = actor.agency_id
    named = {r.agency_id: r for r in reversed(recipients)}  # the first naming of an agency wins
    by_agency = {
        agency_id: named.get(agency_id, Recipient(agency_id))
        for agency_id in with_own_agency(actor, recorded_as, [r.agency_id for r in recipients])
    }
    rating = rating or None
    if rating is not None and procedure.current().rating(rating) is None:
        raise ShareError("rating", "Select a rating from the list")
    if revisits_decision_id:
        decision = db.session.get(NoShareDecision, revisits_decision_id)
        if decision is None or decision.case_id != case.id:
            raise ShareError("revisits_decision_id", "Select a decision not to share on this case")
    details = _validate(details)
    _all(lawful_sharing_problems(details, db.session.get(Agency, from_agency_id), case))
    now = clock.now()
    rating = rating if needs_response else None
    due = due_time(details.shared_at, priority, rating) if needs_response else None
    share = Share(
        case_id=case.id,
        from_agency_id=from_agency_id,
        recorded_as=recorded_as,
        recorded_by_id=actor.id,
        recorded_by_agency_id=actor.agency_id,
        recorded_at=now,
        needs_response=needs_response,
        priority=priority if needs_response else Priority.STANDARD.value,
        rating=rating,
        revisits_decision_id=revisits_decision_id or None,
    )
    db.session.add(share)
    db.session.add(new_version(share, 1, details, actor, None))
    for agency_id, recipient in by_agency.items():
        db.session.add(
            Concern(
                share=share,
                agency_id=agency_id,
                people_names=(recipient.people_names or "").strip() or None,
                state=(ConcernState.AWAITING if needs_response else ConcernState.NOT_NEEDED).value,
                due_at=due,
            )
        )
    db.session.flush()
    audit.record(
        f"share.record_{recorded_as}",
        object_kind="share",
        object_id=share.id,
        case_id=case.id,
        changes=audit.changes_between(
            {},
            {
                **details.as_changes(),
                "from_agency_id": from_agency_id,
                "recipients": sorted(by_agency),
                "needs_response": needs_response,
                "priority": share.priority,
                "rating": rating,
                "due_at": due,
                "revisits_decision_id": share.revisits_decision_id,
                "nhs_number_carried": bool(case.nhs_number),
            },
        ),
        actor=actor,
    )
    db.session.commit()
    return share


def amended_since(share: Share, seen: int | None) -> list[ShareError]:
    """A page older than the share: saving its amendment would undo a newer one unseen."""
    if seen is None or seen == share.current.number:
        return []
    return [
        ShareError(
            "version",
            "Someone amended this share since you opened it: check their amendment, then save "
            "yours again if it is still needed",
        )
    ]


def amend_share(
    actor: Person, share: Share, details: ShareDetails, reason: str, seen: int | None = None
) -> ShareVersion:
    """A correction by the recording agency: a new version with a reason; the old ones stay.
    `seen`: the version the amending page showed (default: the one read now). A newer one,
    saved by someone else meanwhile, refuses the amendment rather than undo theirs unseen."""
    if actor.agency_id != share.recorded_by_agency_id:
        raise ShareError("reason", "Only the agency that recorded this share can amend it")
    if not reason.strip():
        raise ShareError("reason", "Enter why you are amending this share")
    details = _validate(details)
    _all(lawful_sharing_problems(details, share.from_agency, share.case))
    seen = share.current.number if seen is None else seen
    locks.hold(share)
    _all(amended_since(share, seen))
    before = share.current
    before_changes = ShareDetails.of_version(before).as_changes()
    version = new_version(share, before.number + 1, details, actor, reason.strip())
    db.session.add(version)
    changes = audit.changes_between(before_changes, details.as_changes())
    if share.needs_response and details.shared_at != before.shared_at:
        # The due time follows the corrected date for concerns still open.
        due = due_time(details.shared_at, share.priority, share.rating)
        for recipient in share.recipients:
            if recipient.state in OPEN_CONCERN_STATES:
                recipient.due_at = due
        changes["due_at"] = [None, due]
    db.session.flush()
    audit.record(
        "share.amend",
        object_kind="share",
        object_id=share.id,
        case_id=share.case_id,
        changes=changes,
        reason=version.reason,
        actor=actor,
    )
    db.session.commit()
    return version


def change_rating(actor: Person, share: Share, rating: str, rationale: str) -> datetime | None:
    """Re-rate a share's open concerns (e.g. amber to red): a rationale is needed; the due time
    is recalculated from when it was shared, and the change audited. Returns the new due time."""
    problems = []
    if actor.agency_id not in {share.from_agency_id, *(r.agency_id for r in share.recipients)}:
        problems.append(
            ShareError("rating", "Only the agencies on this share can change its rating")
        )
    if procedure.current().rating(rating or "") is None:
        problems.append(ShareError("rating", "Select a rating from the list"))
    elif rating == share.rating:
        problems.append(ShareError("rating", "Select a different rating from the current one"))
    rationale = inputs.visible_text(rationale or "")  # the API reaches here without a form
    if not rationale:
        problems.append(ShareError("rationale", "Enter why the rating is changing"))
    open_ones = [r for r in share.recipients if r.state in OPEN_CONCERN_STATES]
    if not open_ones:
        problems.append(ShareError("rating", "Only an open concern can be re-rated"))
    _all(problems)
    due = due_time(share.current.shared_at, share.priority, rating)
    before = {"rating": share.rating, "due_at": open_ones[0].due_at}
    share.rating = rating
    for recipient in open_ones:
        recipient.due_at = due
    audit.record(
        "share.change_rating",
        object_kind="share",
        object_id=share.id,
        case_id=share.case_id,
        changes=audit.changes_between(before, {"rating": rating, "due_at": due}),
        reason=rationale,
        actor=actor,
    )
    db.session.commit()
    return due


def recalculate_due_times(since: datetime, why: str) -> int:
    """After the working calendar changes (a closure day from `since`): every open concern due
    after `since` gets its due time again from its timescale; each move is audited (the caller
    commits). The sweep's alert keys name the concern, not the due time: nothing is raised twice.
    """
    moved = 0
    for recipient in db.session.scalars(open_concerns().where(Concern.due_at >= since)):
        share = recipient.share
        due = due_time(share.current.shared_at, share.priority, share.rating)
        if due == recipient.due_at:
            continue
        audit.record(
            "concern.due_recalculated",
            object_kind="share_recipient",
            object_id=recipient.id,
            case_id=share.case_id,
            changes={"due_at": [recipient.due_at, due]},
            reason=why,
            actor_label="working calendar",
        )
        recipient.due_at = due
        moved += 1
    return moved


def record_first_view(person: Person, share: Share) -> None:
    """The first time someone of a receiving agency opens the share: who and when (once, even
    against a concurrent twin: the conditional update lets one of them win)."""
    now = clock.now()
    for recipient in share.recipients:
        if recipient.agency_id != person.agency_id or recipient.viewed_at is not None:
            continue
        won = db.session.execute(
            update(Concern)
            .where(Concern.id == recipient.id, Concern.viewed_at.is_(None))
            .values(viewed_at=now, viewed_by_id=person.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            db.session.refresh(recipient)
            audit.record(
                "share.first_view",
                object_kind="share_recipient",
                object_id=recipient.id,
                case_id=share.case_id,
                changes={"viewed_at": [None, now], "viewed_by_id": [None, person.id]},
                actor=person,
            )


def record_outcome(
    actor: Person, recipient: Concern, outcome: str, detail: str | None = None
) -> None:
    """What the receiving agency did with what it was sent, so the sender learns it."""
    problems = []
    if actor.agency_id != recipient.agency_id:
        problems.append(
            ShareError("outcome", f"Only {recipient.agency.name} can record what it did with this")
        )
    if outcome not in set(Outcome):
        problems.append(ShareError("outcome", "Select what your agency did with it"))
    detail = inputs.visible_text(detail or "") or None  # as a form takes it, API too
    if outcome == Outcome.OTHER and not detail:
        problems.append(ShareError("outcome_detail", "Enter what your agency did with it"))
    _all(problems)
    now = clock.now()
    won = db.session.execute(
        update(Concern)
        .where(Concern.id == recipient.id, Concern.outcome.is_(None))
        .values(outcome=outcome, outcome_detail=detail, outcome_at=now, outcome_by_id=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        db.session.rollback()
        raise ShareError("outcome", "An outcome has already been recorded for this share")
    db.session.refresh(recipient)
    audit.record(
        "share.record_outcome",
        object_kind="share_recipient",
        object_id=recipient.id,
        case_id=recipient.share.case_id,
        changes={"outcome": [None, outcome], "outcome_detail": [None, detail]},
        actor=actor,
    )
    db.session.commit()


LOOP_STAGES = ("sent", "viewed", "acknowledged", "responded", "outcome_recorded")
LOOP_STAGE_LABELS = {
    "sent": "Sent",
    "viewed": "Viewed",
    "acknowledged": "Acknowledged",
    "responded": "Responded",
    "outcome_recorded": "Outcome recorded",
}


def loop_stage(recipient: Concern) -> str:
    """How far the loop back to the sender has closed for one receiving agency."""
    if recipient.outcome:
        return "outcome_recorded"
    if recipient.responded_at:
        return "responded"
    if recipient.acknowledged_at:
        return "acknowledged"
    if recipient.viewed_at:
        return "viewed"
    return "sent"


def unviewed_past(cutoff: datetime) -> Select[tuple[Concern]]:
    """Shares not yet opened by their receiving agency that were recorded before `cutoff`."""
    return (
        select(Concern)
        .join(Concern.share)
        .where(Concern.viewed_at.is_(None), Share.recorded_at <= cutoff)
        .order_by(Concern.id)
    )


def _check_answering(actor: Person, recipient: Concern, field: str) -> None:
    if actor.agency_id != recipient.agency_id:
        raise ShareError(
            field, f"Only {recipient.agency.name} can answer this concern: it is not your agency's"
        )
    if recipient.state == ConcernState.NOT_NEEDED:
        raise ShareError(field, "This share did not ask for a response")


def acknowledge(actor: Person, recipient: Concern) -> None:
    """The receiving agency has seen the concern and is dealing with it (it stays open)."""
    if actor.agency_id != recipient.agency_id:
        raise ShareError(
            "acknowledge",
            f"Only {recipient.agency.name} can acknowledge this: it is not your agency's",
        )
    locks.hold(recipient)
    if recipient.acknowledged_at is not None or recipient.state not in (
        ConcernState.AWAITING,
        ConcernState.NOT_NEEDED,
    ):
        raise ShareError("acknowledge", "This share has already been acknowledged or answered")
    before = recipient.state
    # Every share is acknowledged (the loop to the sender); only a concern changes state.
    if recipient.state == ConcernState.AWAITING:
        recipient.state = ConcernState.ACKNOWLEDGED.value
    recipient.acknowledged_at = clock.now()
    recipient.acknowledged_by_id = actor.id
    audit.record(
        "concern.acknowledge",
        object_kind="share_recipient",
        object_id=recipient.id,
        case_id=recipient.share.case_id,
        changes={"state": [before, recipient.state], "acknowledged_at": [None, clock.now()]},
        actor=actor,
    )
    db.session.commit()


def response_problems(
    recipient: Concern, action_taken: str | None, reason: str | None, seen: int | None = None
) -> list[ShareError]:
    """What an answer must say; answering again amends, so it needs a reason too. `seen`: how
    many answers the answering page showed; another saved since is not overwritten unseen."""
    problems = []
    if seen is not None and seen != len(recipient.responses):
        problems.append(
            ShareError(
                "version",
                "Someone in your agency answered this concern since you opened it: read their "
                "answer, then save yours again if it is still needed",
            )
        )
    if not (action_taken or "").strip():
        problems.append(ShareError("action_taken", "Enter what your agency did or decided"))
    if recipient.response is not None and not (reason or "").strip():
        problems.append(ShareError("reason", "Enter why you are amending the response"))
    return problems


def respond(
    actor: Person,
    recipient: Concern,
    *,
    action_taken: str,
    next_steps: str | None = None,
    reason: str | None = None,
    seen: int | None = None,
) -> ConcernResponse:
    """Answer a concern (what was done or decided). Answering again amends: a reason is needed.
    `seen`: how many answers the answering page showed (default: as read now). Another answer
    saved meanwhile refuses this one rather than overwrite it unseen."""
    _check_answering(actor, recipient, "action_taken")
    seen = len(recipient.responses) if seen is None else seen
    locks.hold(recipient)
    problems = response_problems(recipient, action_taken, reason, seen)
    if problems:
        raise problems[0]
    amending = recipient.response is not None
    response = ConcernResponse(
        recipient=recipient,
        number=len(recipient.responses) + 1,
        action_taken=action_taken.strip(),
        next_steps=(next_steps or "").strip() or None,
        recorded_by_id=actor.id,
        recorded_at=clock.now(),
        reason=(reason or "").strip() or None if amending else None,
    )
    db.session.add(response)
    before_state = recipient.state
    if not amending:
        recipient.state = ConcernState.RESPONDED.value
        recipient.responded_at = response.recorded_at
    db.session.flush()
    audit.record(
        "concern.amend_response" if amending else "concern.respond",
        object_kind="concern_response",
        object_id=response.id,
        case_id=recipient.share.case_id,
        changes={
            "state": [before_state, recipient.state],
            "action_taken": [None, response.action_taken],
            "next_steps": [None, response.next_steps],
        },
        reason=response.reason,
        actor=actor,
    )
    db.session.commit()
    return response


# --- Reading --------------------------------------------------------------------------------


def share_for_reading(share_id: int, person: Person) -> Share:
    """The share, if the person may read its case (else 404, as for the case itself)."""
    share = db.session.get(Share, share_id)
    if share is None:
        raise NotFound
    access.case_for_reading(share.case_id, person)
    return share


def record_share_view(share: Share, person: Person | None = None) -> None:
    audit.record("share.view", object_kind="share", object_id=share.id, case_id=share.case_id)
    if person is not None:
        record_first_view(person, share)
    audit.commit_view()


def record_list_view(recipients: list[Concern], where: str) -> None:
    """A list of concerns shows case data: audit which concerns were shown, and where."""
    if recipients:
        audit.record(
            "concern.list",
            object_kind="share_recipient",
            changes={"page": [None, where], "shown": [None, [r.id for r in recipients]]},
        )
    audit.commit_view()


def _concerns() -> Select[tuple[Concern]]:
    return (
        select(Concern)
        .join(Concern.share)
        .join(Share.case)
        .options(
            contains_eager(Concern.share).contains_eager(Share.case),
            contains_eager(Concern.share).joinedload(Share.from_agency),
            selectinload(Concern.share, Share.versions),
        )
    )


def open_concerns() -> Select[tuple[Concern]]:
    """Every concern still awaiting a response, soonest due first."""
    return (
        _concerns()
        .where(Concern.state.in_(OPEN_CONCERN_STATES))
        .order_by(Concern.due_at, Concern.id)
    )


OVERDUE = "overdue"
DUE_SOON = "due_soon"


def _due(query: Select, due: str | None, now: datetime | None) -> Select:
    """Narrow open concerns to those overdue or due soon, as `workdays.due_status` says."""
    if due is None:
        return query
    now = now or clock.now()
    if due == OVERDUE:
        return query.where(Concern.due_at < now)
    if due == DUE_SOON:
        return query.where(Concern.due_at >= now, Concern.due_at <= workdays.deadline(now, 1))
    raise ValueError(f"due must be {OVERDUE!r} or {DUE_SOON!r}, not {due!r}")


def awaiting_our_response(
    agency_id: int, due: str | None = None, now: datetime | None = None
) -> Select[tuple[Concern]]:
    """Concerns shared with this agency still open, on cases it is involved in."""
    query = open_concerns().where(Concern.agency_id == agency_id, access.agency_involved(agency_id))
    return _due(query, due, now)


def awaiting_their_response(
    agency_id: int, due: str | None = None, now: datetime | None = None
) -> Select[tuple[Concern]]:
    """Concerns this agency shared that other agencies have not yet answered."""
    query = open_concerns().where(
        Share.from_agency_id == agency_id, access.agency_involved(agency_id)
    )
    return _due(query, due, now)


def unanswered_concerns(
    now: datetime,
    *,
    agency_id: int | None = None,
    min_days_overdue: int = 0,
    priority: str | None = None,
    reader: Person | None = None,
) -> Select[tuple[Concern]]:
    """Concerns past their due time without a response, longest overdue first.

    agency_id narrows to concerns owed by or sent from that agency; min_days_overdue to those at
    least that many whole working days overdue (as `days_overdue` counts them); reader to what
    that person may see (access.partnership_list_scope). Every list shown to a person passes
    the reader.
    """
    query = (
        _concerns()
        .where(Concern.state.in_(OPEN_CONCERN_STATES), Concern.due_at < now)
        .order_by(Concern.due_at, Concern.id)
    )
    if min_days_overdue > 0:
        # As days_overdue counts them (working days after the due time's local date up to
        # today): due on a local date before the Nth working day back from today, inclusive.
        # Due times are not always 17:00 (working-hour ratings, out of hours: 23:30, a Sunday).
        today = workdays.to_local(now).date()
        nth_back = workdays.working_days_before(today + timedelta(days=1), min_days_overdue)
        query = query.where(Concern.due_at < workdays.to_utc(datetime.combine(nth_back, time(0))))
    if agency_id:
        query = query.where((Concern.agency_id == agency_id) | (Share.from_agency_id == agency_id))
    if priority:
        query = query.where(Share.priority == priority)
    if reader is not None:
        query = query.where(access.partnership_list_scope(reader))
    return query


def days_overdue(recipient: Concern, now: datetime) -> int:
    if recipient.due_at is None or recipient.state not in OPEN_CONCERN_STATES:
        return 0
    return workdays.working_days_overdue(recipient.due_at, now)


CONCERN_STATE_LABELS = {state.value: label for state, label in models.CONCERN_STATE_LABELS.items()}


def concern_due_status(recipient: Concern, now: datetime) -> str | None:
    """'overdue' or 'due_soon' (within a working day) for an open concern, else None."""
    if recipient.state not in OPEN_CONCERN_STATES:
        return None
    return workdays.due_status(recipient.due_at, now)


def due_statuses(recipients: Iterable[Concern], now: datetime) -> dict[int, str | None]:
    """concern_due_status of each concern a page lists, keyed by id: worked out by the view, as
    it reads the closure days, so that the template only shows it."""
    return {recipient.id: concern_due_status(recipient, now) for recipient in recipients}


def is_unanswered(recipient: Concern, now: datetime) -> bool:
    return (
        recipient.state in OPEN_CONCERN_STATES
        and recipient.due_at is not None
        and now > recipient.due_at
    )


def shares_for_case(case_id: int) -> Select[tuple[Share]]:
    """A case's shares, newest first, with everything a list of them shows loaded up front."""
    return (
        select(Share)
        .where(Share.case_id == case_id)
        .options(
            selectinload(Share.versions).joinedload(ShareVersion.recorded_by),
            selectinload(Share.recipients).selectinload(Concern.responses),
            joinedload(Share.recorded_by),
        )
        .order_by(Share.id.desc())
    )


def unanswered_on_case(case_id: int, now: datetime) -> list[Concern]:
    return list(db.session.scalars(unanswered_concerns(now).where(Share.case_id == case_id)))
