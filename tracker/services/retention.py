"""Records governance: the disposal review queue, legal holds, and disposal.

- `review` (daily in the scheduler, and `flask tracker retention review --at`) puts every closed
  case past its retention date (tracker/services/retention_schedule.py) in the queue, once: a
  partial unique index allows one pending item a case, so a second run, or a concurrent twin,
  adds nothing. A case under a legal hold, deferred to a later day, or disposed of is left out.
- A reviewer (an auditor: access.reviews_retention) disposes of a queued case or defers it to a
  later day, with a reason.
- A legal hold on a case, with a reason, refuses its disposal until it is lifted (with a reason).
- Disposal replaces the case's personal content in every table with "disposed of on DATE under
  RULE" and erases the personal content of its audit events (audit.erase_case_content), keeping
  the structure (dates, agencies, counts) the reports count. That includes what is kept about
  the case: its protected sources, break-glass grants and subject access requests (and the
  passages redacted from its records in any request). The leaves of the audit log keep their
  commitments, so `flask tracker audit verify` and packs handed out before still pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy import case as when
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from tracker import clock
from tracker.extensions import db
from tracker.models import (
    BreakGlassGrant,
    Case,
    CaseAgency,
    CaseNote,
    CaseNoteVersion,
    CaseStatus,
    Challenge,
    ChallengeAction,
    ChallengeDraft,
    ChallengeEvent,
    Concern,
    ConcernResponse,
    DisposalReview,
    IdempotencyRecord,
    LegalHold,
    NoShareDecision,
    Person,
    ProtectedSource,
    ReviewStatus,
    Share,
    ShareVersion,
    SubjectAccessItem,
    SubjectAccessRequest,
    ThresholdView,
)
from tracker.services import audit, locks, protected_sources, retention_schedule, workdays

DISPOSE = "dispose"
DEFER = "defer"


class RetentionError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _due(found: Case, today: date) -> tuple[retention_schedule.Rule, date] | None:
    """The rule and last day of keeping, when that day has passed (else None)."""
    kept = retention_schedule.current().retention(found)
    return kept if kept is not None and kept[1] < today else None


# --- The review -----------------------------------------------------------------------------


def _insert_pending(values: dict) -> int | None:
    """Queue one item unless the case has a pending one (the unique key decides, so a
    concurrent twin's insert waits for ours and then does nothing). The new id, or None."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(DisposalReview)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["case_id"], index_where=text("status = 'pending'"))
        .returning(DisposalReview.id)
    )
    return db.session.execute(statement).scalar()


def review(now: datetime | None = None) -> dict:
    """Fill the disposal review queue as at `now`; what it did, as counts. Idempotent."""
    now = now or clock.now()
    today = workdays.today(now)
    counts = {"queued": 0, "already_queued": 0, "held": 0, "deferred": 0}
    closed = db.session.scalars(
        select(Case)
        .where(Case.status == CaseStatus.CLOSED.value, Case.disposed_at.is_(None))
        .options(selectinload(Case.involvements))
        .order_by(Case.id)
    )
    held = set(db.session.scalars(select(LegalHold.case_id).where(LegalHold.lifted_at.is_(None))))
    queued_ids = set(
        db.session.scalars(
            select(DisposalReview.case_id).where(
                DisposalReview.status == ReviewStatus.PENDING.value
            )
        )
    )
    deferred_ids = set(
        db.session.scalars(
            select(DisposalReview.case_id).where(
                DisposalReview.status == ReviewStatus.DEFERRED.value,
                DisposalReview.deferred_until > today,
            )
        )
    )
    for found in closed.all():
        due = _due(found, today)
        if due is None:
            continue
        rule, until = due
        if found.id in held:
            counts["held"] += 1
        elif found.id in deferred_ids:
            counts["deferred"] += 1
        elif found.id in queued_ids:
            counts["already_queued"] += 1
        else:
            new_id = _insert_pending(
                {
                    "case_id": found.id,
                    "rule": rule.name,
                    "rule_label": rule.label,
                    "retain_until": until,
                    "queued_at": now,
                    "status": ReviewStatus.PENDING.value,
                }
            )
            if new_id is None:  # a twin queued it first
                counts["already_queued"] += 1
                continue
            counts["queued"] += 1
            audit.record(
                "retention.queue",
                object_kind="disposal_review",
                object_id=new_id,
                case_id=found.id,
                changes={"rule": [None, rule.name], "retain_until": [None, until]},
                actor_label="scheduler",
            )
    db.session.commit()
    return {"at": now.strftime("%Y-%m-%dT%H:%M:%S"), **counts}


# --- The queue and the report ---------------------------------------------------------------


def queue() -> list[DisposalReview]:
    return list(
        db.session.scalars(
            select(DisposalReview)
            .where(DisposalReview.status == ReviewStatus.PENDING.value)
            .order_by(DisposalReview.retain_until, DisposalReview.id)
        )
    )


def disposed():
    """The disposal report: what was disposed of, under which rule, who approved it (newest first)."""
    return (
        select(DisposalReview)
        .where(DisposalReview.status == ReviewStatus.DISPOSED.value)
        .order_by(DisposalReview.decided_at.desc(), DisposalReview.id.desc())
    )


def history(case_id: int) -> list[DisposalReview]:
    return list(
        db.session.scalars(
            select(DisposalReview)
            .where(DisposalReview.case_id == case_id)
            .order_by(DisposalReview.id)
        )
    )


def standing_hold(case_id: int) -> LegalHold | None:
    return db.session.scalar(
        select(LegalHold).where(LegalHold.case_id == case_id, LegalHold.lifted_at.is_(None))
    )


def holds(case_id: int) -> list[LegalHold]:
    return list(
        db.session.scalars(
            select(LegalHold).where(LegalHold.case_id == case_id).order_by(LegalHold.id)
        )
    )


def record_list_view(what: str, shown: list[DisposalReview]) -> None:
    """The queue and the report name cases: reading them is audited."""
    audit.record(
        what,
        object_kind="disposal_review",
        changes={"shown": [None, [item.id for item in shown]]},
    )
    audit.commit_view()


# --- Decisions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    decision: str | None  # DISPOSE or DEFER
    reason: str
    deferred_until: date | None = None


def decision_problems(decision: Decision, item: DisposalReview) -> list[RetentionError]:
    """The rules a decision breaks (every one, for one round of errors)."""
    problems = []
    if decision.decision == DEFER:
        if decision.deferred_until is None:
            problems.append(RetentionError("deferred_until", "Enter the day to review it again"))
        elif decision.deferred_until <= workdays.today():
            problems.append(
                RetentionError("deferred_until", "The day to review it again must be in the future")
            )
    if decision.decision == DISPOSE and item.case.disposed_at is not None:
        problems.append(RetentionError("decision", "This case has already been disposed of"))
    elif decision.decision == DISPOSE and _due(item.case, workdays.today()) is None:
        problems.append(
            RetentionError(
                "decision",
                "This case is no longer past its retention date (it was reopened, or is now "
                "kept longer): defer it",
            )
        )
    if decision.decision == DISPOSE and standing_hold(item.case_id) is not None:
        problems.append(
            RetentionError(
                "decision",
                "This case is under a legal hold: it cannot be disposed of until the hold is lifted",
            )
        )
    return problems


def decide(reviewer: Person, item_id: int, decision: Decision) -> DisposalReview:
    """Dispose of a queued case, or defer it, with a reason. A decided item is refused (the
    first decision stands): the item's row is locked, so a concurrent twin sees it decided."""
    item = locks.row(DisposalReview, item_id)
    if item is None or item.status != ReviewStatus.PENDING.value:
        raise RetentionError("decision", "This item has already been decided")
    if decision.decision not in (DISPOSE, DEFER):
        raise RetentionError("decision", "Select dispose of or defer")
    if not decision.reason.strip():
        raise RetentionError("reason", "Enter the reason for your decision")
    # Lock the case: a legal hold set at the same moment either comes first (and refuses this)
    # or waits until the case is disposed of.
    found = locks.row(Case, item.case_id)
    problems = decision_problems(decision, item)
    if problems:
        raise problems[0]
    item.decided_by_id = reviewer.id
    item.decided_at = clock.now()
    item.reason = decision.reason.strip()
    if decision.decision == DEFER:
        item.status = ReviewStatus.DEFERRED.value
        item.deferred_until = decision.deferred_until
        audit.record(
            "retention.defer",
            object_kind="disposal_review",
            object_id=item.id,
            case_id=item.case_id,
            changes={"deferred_until": [None, decision.deferred_until]},
            reason=item.reason,
            actor=reviewer,
        )
    else:
        item.status = ReviewStatus.DISPOSED.value
        _dispose(reviewer, found, item)
    db.session.commit()
    if decision.decision == DISPOSE:
        _sqlite_checkpoint()
    return item


# --- Legal holds ----------------------------------------------------------------------------


def set_hold(reviewer: Person, case_id: int, reason: str) -> LegalHold:
    found = locks.row(Case, case_id)
    if not reason.strip():
        raise RetentionError("reason", "Enter why the records must be kept")
    if found is None or found.disposed_at is not None:
        raise RetentionError("reason", "This case has been disposed of: there is nothing to hold")
    if standing_hold(case_id) is not None:
        raise RetentionError("reason", "This case is already under a legal hold")
    hold = LegalHold(
        case_id=case_id, reason=reason.strip(), set_by_id=reviewer.id, set_at=clock.now()
    )
    db.session.add(hold)
    db.session.flush()
    audit.record(
        "retention.hold_set",
        object_kind="legal_hold",
        object_id=hold.id,
        case_id=case_id,
        reason=hold.reason,
        actor=reviewer,
    )
    db.session.commit()
    return hold


def lift_hold(reviewer: Person, case_id: int, reason: str) -> LegalHold:
    locks.row(Case, case_id)
    hold = standing_hold(case_id)
    if hold is None:
        raise RetentionError("reason", "This case is not under a legal hold")
    if not reason.strip():
        raise RetentionError("reason", "Enter why the hold is lifted")
    hold.lifted_by_id = reviewer.id
    hold.lifted_at = clock.now()
    hold.lift_reason = reason.strip()
    audit.record(
        "retention.hold_lift",
        object_kind="legal_hold",
        object_id=hold.id,
        case_id=case_id,
        reason=hold.lift_reason,
        actor=reviewer,
    )
    db.session.commit()
    return hold


def set_looked_after(actor: Person, found: Case, looked_after: bool, reason: str) -> None:
    """The case's record kind for the schedule: a looked-after child's records are kept longest."""
    if looked_after == found.looked_after:
        return
    if not reason.strip():
        raise RetentionError("reason", "Enter why this is changing")
    audit.record(
        "case.looked_after",
        object_kind="case",
        object_id=found.id,
        case_id=found.id,
        changes={"looked_after": [found.looked_after, looked_after]},
        reason=reason.strip(),
        actor=actor,
    )
    found.looked_after = looked_after
    db.session.commit()


# --- Disposal -------------------------------------------------------------------------------


def placeholder(on: datetime, rule: str) -> str:
    return f"disposed of on {workdays.to_local(on):%-d %B %Y} under {rule}"


def _replace(model, ids, columns: tuple[str, ...], marker: str, key: str = "id") -> None:
    """Put the placeholder in the text columns of the rows whose `key` is in `ids` (a column
    that was empty stays empty: the structure says what was there)."""
    values = {
        name: when((getattr(model, name).is_(None), None), else_=marker)
        if getattr(model, name).nullable
        else marker
        for name in columns
    }
    db.session.execute(
        update(model)
        .where(getattr(model, key).in_(ids))
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _dispose(reviewer: Person, found: Case, item: DisposalReview) -> None:
    now = clock.now()
    marker = placeholder(now, item.rule)
    case_id = found.id
    shares = select(Share.id).where(Share.case_id == case_id)
    recipients = select(Concern.id).where(Concern.share_id.in_(shares))
    challenges = select(Challenge.id).where(Challenge.case_id == case_id)
    events = select(ChallengeEvent.id).where(ChallengeEvent.challenge_id.in_(challenges))
    notes = select(CaseNote.id).where(CaseNote.case_id == case_id)
    _replace(
        ShareVersion,
        shares,
        ("from_person_name", "summary", "purpose", "consent_reason", "reason"),
        marker,
        key="share_id",
    )
    _replace(Concern, recipients, ("people_names", "outcome_detail"), marker)
    _replace(
        ConcernResponse,
        recipients,
        ("action_taken", "next_steps", "reason"),
        marker,
        "recipient_id",
    )
    _replace(NoShareDecision, [case_id], ("information", "reason"), marker, key="case_id")
    _replace(CaseNoteVersion, notes, ("text", "reason"), marker, key="note_id")
    _replace(ThresholdView, [case_id], ("reason",), marker, key="case_id")
    _replace(CaseAgency, [case_id], ("removal_reason",), marker, key="case_id")
    _replace(Challenge, [case_id], ("what_happened", "outcome_wanted"), marker, key="case_id")
    _replace(ChallengeEvent, challenges, ("text",), marker, key="challenge_id")
    _replace(ChallengeAction, events, ("description", "owner"), marker, key="event_id")
    _replace(LegalHold, [case_id], ("reason", "lift_reason"), marker, key="case_id")
    earlier = select(DisposalReview.id).where(
        DisposalReview.case_id == case_id, DisposalReview.id != item.id
    )
    _replace(DisposalReview, earlier, ("reason",), marker)
    _replace_protected_sources(case_id, marker)
    # Why someone outside the case needed it in an emergency, and the auditor's view of that;
    # who asked, from which agency, when, and who reviewed it (and how) stay.
    _replace(BreakGlassGrant, [case_id], ("reason", "review_reason"), marker, key="case_id")
    # A challenge someone had begun to raise on the case: its answers go, it starts again.
    _replace(ChallengeDraft, [case_id], ("answers",), json.dumps({}), key="case_id")
    _replace_subject_access(case_id, shares, recipients, notes, challenges, marker)
    _replace_api_answers(case_id, shares, recipients, challenges, marker)
    counts = {
        "shares": db.session.scalar(select(func.count()).select_from(shares.subquery())),
        "notes": db.session.scalar(select(func.count()).select_from(notes.subquery())),
        "challenges": db.session.scalar(select(func.count()).select_from(challenges.subquery())),
    }
    found.child_name = marker
    found.nhs_number = None
    found.upn = None
    # The year of birth stays (age at referral, in reports); the day and month go.
    found.date_of_birth = date(found.date_of_birth.year, 1, 1)
    found.disposed_at = now
    db.session.flush()
    erased = audit.erase_case_content(case_id, rule=item.rule, reason=marker, actor=reviewer)
    audit.record(
        "case.dispose",
        object_kind="disposal_review",
        object_id=item.id,
        case_id=case_id,
        changes={
            "rule": [None, item.rule],
            "retain_until": [None, item.retain_until],
            "audit_events_erased": [None, len(erased)],
            **{f"{name}_kept": [None, count] for name, count in counts.items()},
        },
        reason=item.reason,
        actor=reviewer,
    )


def _replace_protected_sources(case_id: int, marker: str) -> None:
    """An informant's name, the passages that identify them and why they fear harm. The name and
    passages are the case's redaction terms (tracker.services.protected_sources): the marker there
    would hide the disposal marker itself from other agencies, so the name becomes the redaction
    placeholder (a term that only ever matches itself) and the passages none. Who marked it,
    for which agency, on which record and when stay."""
    db.session.execute(
        update(ProtectedSource)
        .where(ProtectedSource.case_id == case_id)
        .values(name=protected_sources.PLACEHOLDER, passages="", reason=marker)
        .execution_options(synchronize_session=False)
    )


def _replace_subject_access(case_id, shares, recipients, notes, challenges, marker: str) -> None:
    """A request about the child names who asked and why it took longer; the passages a reviewer
    redacted from an item are copies of the case's words, in this case's requests and in those
    about a person named in its records. The dates, decisions, exemptions and reviewers stay."""
    _replace(
        SubjectAccessRequest,
        [case_id],
        ("requester_name", "requester_relationship", "person_named", "extension_reason"),
        marker,
        key="case_id",
    )
    records = subject_access_records(case_id, shares, recipients, notes, challenges)
    requests = select(SubjectAccessRequest.id).where(SubjectAccessRequest.case_id == case_id)
    items = select(SubjectAccessItem.id).where(
        or_(
            SubjectAccessItem.request_id.in_(requests),
            *(
                and_(SubjectAccessItem.kind == kind, SubjectAccessItem.object_id.in_(ids))
                for kind, ids in records.items()
            ),
        )
    )
    _replace(SubjectAccessItem, items, ("redactions",), marker)


def subject_access_records(case_id, shares, recipients, notes, challenges) -> dict:
    """A subject access item's kind -> the ids of this case's records of that kind (every kind
    of tracker.services.subject_access.RENDERERS: a test keeps the two in step)."""
    return {
        "case": [case_id],
        "share": select(ShareVersion.id).where(ShareVersion.share_id.in_(shares)),
        "response": select(ConcernResponse.id).where(ConcernResponse.recipient_id.in_(recipients)),
        "outcome": recipients,
        "note": select(CaseNoteVersion.id).where(CaseNoteVersion.note_id.in_(notes)),
        "threshold": select(ThresholdView.id).where(ThresholdView.case_id == case_id),
        "no_share": select(NoShareDecision.id).where(NoShareDecision.case_id == case_id),
        "challenge": challenges,
    }


def _replace_api_answers(case_id, shares, recipients, challenges, marker: str) -> None:
    """API answers kept for idempotency-key retries carry what was created: a retry after
    disposal gets the placeholder instead."""
    paths = [IdempotencyRecord.path.like(f"%/cases/{case_id}/%")]
    for name, ids in (("shares", shares), ("concerns", recipients), ("challenges", challenges)):
        paths += [
            IdempotencyRecord.path.like("%/" + name + "/" + str(object_id) + "/%")
            for object_id in db.session.scalars(ids)
        ]
    db.session.execute(
        update(IdempotencyRecord)
        .where(or_(*paths), IdempotencyRecord.response_body.is_not(None))
        .values(response_body=json.dumps({"disposed": marker}))
        .execution_options(synchronize_session=False)
    )


def _sqlite_checkpoint() -> None:
    """Move the write-ahead log into the database file and empty it, so the old page images
    with the disposed text are not left in the -wal file."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        connection.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
