"""Subject access requests (UK GDPR Article 15): the request, the pack, the review of each item.

An auditor records who asked, about which child (a case) or which person (a name), when it was
received and when it is due: one calendar month (Article 12(3); where the next month has no such
day, its last day), extendable once or twice up to two further months for a complex or numerous
request, with a reason. Assembling gathers every record about the person as items; each item
points at an immutable row (a share version, a response, a note version...), never a copy, so
the pack shows the record as it stood and holds no second copy of personal data.

Every item's text has protected sources removed before anyone reviews it (the pack goes to an
outsider: tracker.services.protected_sources). The reviewer then releases it, redacts passages
from it under an exemption, or withholds it under an exemption. The pack (printable page and
zip) holds released and redacted items only, and its manifest names each redaction's exemption
and the reviewer; withheld items, and why, stay in the tracker.
"""

from __future__ import annotations

import calendar
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from tracker import clock
from tracker.extensions import db
from tracker.models import (
    CONSENT_LABELS,
    EXEMPTION_LABELS,
    METHOD_LABELS,
    OUTCOME_LABELS,
    Case,
    CaseNote,
    CaseNoteVersion,
    Challenge,
    Concern,
    ConcernResponse,
    Exemption,
    ItemDecision,
    NoShareDecision,
    Person,
    RequestStatus,
    Share,
    ShareVersion,
    SubjectAccessItem,
    SubjectAccessRequest,
    ThresholdView,
)
from tracker.services import audit, locks, notes, protected_sources, workdays

NAME_MAX = 120
REASON_MAX = 2000
MAX_EXTENSION_MONTHS = 2
REDACTED = "[redacted]"


class SubjectAccessError(ValueError):
    """Bad input; `problems` holds every refusal of one round."""

    def __init__(self, field: str, message: str, problems: list[SubjectAccessError] | None = None):
        super().__init__(message)
        self.field = field
        self.problems = problems or [self]


def _raise(problems: list[SubjectAccessError]) -> None:
    if problems:
        raise SubjectAccessError(problems[0].field, str(problems[0]), problems)


def add_months(start: date, months: int) -> date:
    """The same day `months` calendar months on; the month's last day where it has no such day."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def is_overdue(request: SubjectAccessRequest, on: date | None = None) -> bool:
    return request.status == RequestStatus.OPEN and (on or workdays.today()) > request.answer_by


def overdue_requests(on: date | None = None) -> Select[tuple[SubjectAccessRequest]]:
    """Open requests past their (extended) due date, the longest overdue first."""
    answer_by = func.coalesce(SubjectAccessRequest.extended_to, SubjectAccessRequest.due_on)
    return (
        select(SubjectAccessRequest)
        .where(
            SubjectAccessRequest.status == RequestStatus.OPEN, answer_by < (on or workdays.today())
        )
        .order_by(answer_by, SubjectAccessRequest.id)
    )


def all_requests() -> Select[tuple[SubjectAccessRequest]]:
    return select(SubjectAccessRequest).order_by(SubjectAccessRequest.id.desc())


def _one_line(value: str | None) -> str:
    return " ".join((value or "").split())


def _check_name(problems, field: str, value: str | None, missing: str) -> None:
    value = _one_line(value)
    if not value:
        problems.append(SubjectAccessError(field, missing))
    elif len(value) > NAME_MAX:
        problems.append(SubjectAccessError(field, f"Must be {NAME_MAX} characters or fewer"))


def request_problems(
    *,
    requester_name: str | None,
    requester_relationship: str | None,
    case: Case | None,
    person_named: str | None,
    received_on: date | None,
) -> list[SubjectAccessError]:
    """Every rule a request must meet, each broken one against its field (the web form shows
    them with its own in one round; record_request refuses with them)."""
    problems: list[SubjectAccessError] = []
    _check_name(problems, "requester_name", requester_name, "Enter who made the request")
    _check_name(
        problems,
        "requester_relationship",
        requester_relationship,
        "Enter who they are (the child, a parent, someone acting for them)",
    )
    person_named = _one_line(person_named) or None
    if case is None and person_named is None:
        problems.append(
            SubjectAccessError(
                "case_reference", "Enter the case reference, or the name of the person it is about"
            )
        )
    elif case is not None and person_named is not None:
        problems.append(
            SubjectAccessError("person_named", "Give a case reference or a person's name, not both")
        )
    elif person_named is not None and len(person_named) > NAME_MAX:
        problems.append(
            SubjectAccessError("person_named", f"Name must be {NAME_MAX} characters or fewer")
        )
    if received_on is None:
        problems.append(
            SubjectAccessError("received_on", "Enter the date the request was received")
        )
    elif received_on > workdays.today():
        problems.append(
            SubjectAccessError("received_on", "The date received must be today or in the past")
        )
    return problems


def record_request(
    actor: Person,
    *,
    requester_name: str,
    requester_relationship: str,
    case: Case | None,
    person_named: str | None,
    received_on: date | None,
) -> SubjectAccessRequest:
    """Record a request as received (audited); due one calendar month after receipt."""
    _raise(
        request_problems(
            requester_name=requester_name,
            requester_relationship=requester_relationship,
            case=case,
            person_named=person_named,
            received_on=received_on,
        )
    )
    requester_name = _one_line(requester_name)
    requester_relationship = _one_line(requester_relationship)
    person_named = _one_line(person_named) or None
    request = SubjectAccessRequest(
        requester_name=requester_name,
        requester_relationship=requester_relationship,
        case_id=case.id if case else None,
        person_named=person_named,
        received_on=received_on,
        due_on=add_months(received_on, 1),
        status=RequestStatus.OPEN.value,
        recorded_by_id=actor.id,
        recorded_at=clock.now(),
    )
    db.session.add(request)
    db.session.flush()
    _audit(
        "subject_access.record",
        request,
        actor,
        audit.changes_between(
            {},
            {
                "requester_name": requester_name,
                "requester_relationship": requester_relationship,
                "case_id": request.case_id,
                "person_named": person_named,
                "received_on": received_on,
                "due_on": request.due_on,
            },
        ),
    )
    db.session.commit()
    return request


def _audit(
    action: str,
    request: SubjectAccessRequest,
    actor: Person,
    changes=None,
    reason=None,
    case_id: int | None = None,
):
    """`case_id`: the case the event is about (default: the request's, None for a request by
    name), so that the case's disposal erases it with the case's other events."""
    audit.record(
        action,
        object_kind="subject_access_request",
        object_id=request.id,
        case_id=case_id or request.case_id,
        changes=changes,
        reason=reason,
        actor=actor,
    )


def _lock(request: SubjectAccessRequest) -> None:
    """One writer per request at a time: a twin click waits, then sees what the first did."""
    locks.serialise(f"subject_access:{request.id}")
    db.session.refresh(request)


def extend(actor: Person, request: SubjectAccessRequest, months: int | None, reason: str) -> None:
    """Extend the due date by one or two further months (Article 12(3)), with a reason."""
    _lock(request)
    problems: list[SubjectAccessError] = []
    if request.status != RequestStatus.OPEN:
        problems.append(SubjectAccessError("months", "This request has been answered"))
    if months not in range(1, MAX_EXTENSION_MONTHS + 1):
        problems.append(SubjectAccessError("months", "Choose one or two further months"))
    elif workdays.today() > request.due_on:
        # Article 12(3): the requester is told of an extension within the first month.
        problems.append(
            SubjectAccessError(
                "months",
                f"An extension must be made by {request.due_on:%-d %B %Y}, within one month "
                "of receiving the request",
            )
        )
    reason = (reason or "").strip()
    if not reason:
        problems.append(
            SubjectAccessError("reason", "Enter why the request is complex or numerous")
        )
    elif len(reason) > REASON_MAX:
        problems.append(SubjectAccessError("reason", f"Must be {REASON_MAX} characters or fewer"))
    _raise(problems)
    before = request.extended_to
    request.extended_to = add_months(request.received_on, 1 + months)
    request.extension_reason = reason
    _audit(
        "subject_access.extend",
        request,
        actor,
        {"extended_to": [before, request.extended_to]},
        reason=reason,
    )
    db.session.commit()


# --- assembling ---------------------------------------------------------------------------------


def _text_match(column, name: str):
    return func.lower(column).contains(name.lower(), autoescape=True)


def _case_ids(request: SubjectAccessRequest) -> set[int]:
    if request.case_id is not None:
        return {request.case_id}
    return set(
        db.session.scalars(
            select(Case.id).where(func.lower(Case.child_name) == request.person_named.lower())
        )
    )


def _found(request: SubjectAccessRequest) -> list[tuple[str, int, datetime]]:
    """(kind, object id, when) of every record about the request's person."""
    case_ids = _case_ids(request)
    name = request.person_named
    found: list[tuple[str, int, datetime]] = []

    shares = db.session.scalars(select(Share).where(Share.case_id.in_(case_ids))).all()
    if name:
        shares += db.session.scalars(
            select(Share).where(
                Share.id.in_(
                    select(ShareVersion.share_id).where(
                        or_(
                            _text_match(ShareVersion.summary, name),
                            _text_match(ShareVersion.purpose, name),
                            _text_match(ShareVersion.consent_reason, name),
                        )
                    )
                )
                | Share.id.in_(
                    select(Concern.share_id).where(_text_match(Concern.people_names, name))
                )
            )
        ).all()
    for share in {s.id: s for s in shares}.values():
        found.append(("share", share.current.id, share.current.shared_at))
        for recipient in share.recipients:
            if recipient.response is not None:
                found.append(("response", recipient.response.id, recipient.response.recorded_at))
            if recipient.outcome is not None:
                found.append(("outcome", recipient.id, recipient.outcome_at))

    note_query = select(CaseNote).where(CaseNote.case_id.in_(case_ids))
    if name:
        note_query = select(CaseNote).where(
            CaseNote.case_id.in_(case_ids)
            | CaseNote.id.in_(
                select(CaseNoteVersion.note_id).where(_text_match(CaseNoteVersion.text, name))
            )
        )
    for note in db.session.scalars(note_query):
        found.append(("note", note.current.id, note.current.recorded_at))

    for case_id in sorted(case_ids):
        case = db.session.get(Case, case_id)
        found.append(("case", case.id, case.created_at))
    for view in db.session.scalars(
        select(ThresholdView).where(ThresholdView.case_id.in_(case_ids))
    ):
        found.append(("threshold", view.id, view.recorded_at))
    for decision in db.session.scalars(
        select(NoShareDecision).where(NoShareDecision.case_id.in_(case_ids))
    ):
        found.append(("no_share", decision.id, decision.decided_at))
    for challenge in db.session.scalars(select(Challenge).where(Challenge.case_id.in_(case_ids))):
        found.append(("challenge", challenge.id, challenge.raised_at))
    return found


def assemble(actor: Person, request: SubjectAccessRequest) -> int:
    """Gather every record about the person as items to review; run again, it adds only what is
    new (an amended share's new version is a new item). Returns how many were added."""
    _lock(request)
    if request.status != RequestStatus.OPEN:
        raise SubjectAccessError("assemble", "This request has been answered")
    have = {(i.kind, i.object_id) for i in request.items}
    added = [
        SubjectAccessItem(request_id=request.id, kind=kind, object_id=object_id, occurred_at=at)
        for kind, object_id, at in _found(request)
        if (kind, object_id) not in have
    ]
    db.session.add_all(added)
    request.assembled_at = clock.now()
    _audit("subject_access.assemble", request, actor, {"items_added": [None, len(added)]})
    try:
        db.session.commit()
    except IntegrityError:  # a twin on SQLite got there first: its items stand
        db.session.rollback()
        return 0
    return len(added)


# --- what each item says ------------------------------------------------------------------------


@dataclass
class ItemView:
    """An item as the reviewer and the pack see it (protected sources already removed)."""

    item: SubjectAccessItem
    case_id: int
    title: str
    text: str

    @property
    def released_text(self) -> str:
        """The text as it goes in the pack: the reviewer's passages replaced."""
        text = self.text
        for passage in sorted(self.item.redaction_list, key=len, reverse=True):
            text = text.replace(passage, REDACTED)
        return text


def _lines(*pairs: tuple[str, str | None]) -> str:
    return "\n".join(f"{label}: {value}" for label, value in pairs if value)


def _day(moment: datetime | None) -> str:
    return workdays.to_local(moment).strftime("%-d %B %Y") if moment else ""


def _share(version_id: int) -> tuple[int, str, str]:
    version = db.session.get(ShareVersion, version_id)
    share = version.share
    return (
        share.case_id,
        f"Information shared by {share.from_agency.name}, {_day(version.shared_at)}",
        _lines(
            ("Shared with", ", ".join(r.agency.name for r in share.recipients)),
            ("Named people", "; ".join(r.people_names for r in share.recipients if r.people_names)),
            ("How", METHOD_LABELS.get(version.method, version.method)),
            ("What was shared", version.summary),
            ("Why", version.purpose),
            ("Consent", CONSENT_LABELS.get(version.consent, version.consent)),
            ("Consent reason", version.consent_reason),
        ),
    )


def _response(response_id: int) -> tuple[int, str, str]:
    response = db.session.get(ConcernResponse, response_id)
    recipient = response.recipient
    return (
        recipient.share.case_id,
        f"Response by {recipient.agency.name}, {_day(response.recorded_at)}",
        _lines(
            ("What was done or decided", response.action_taken), ("Next steps", response.next_steps)
        ),
    )


def _outcome(recipient_id: int) -> tuple[int, str, str]:
    recipient = db.session.get(Concern, recipient_id)
    return (
        recipient.share.case_id,
        f"Outcome recorded by {recipient.agency.name}, {_day(recipient.outcome_at)}",
        _lines(
            ("Outcome", OUTCOME_LABELS.get(recipient.outcome)), ("Detail", recipient.outcome_detail)
        ),
    )


def _note(version_id: int) -> tuple[int, str, str]:
    version = db.session.get(CaseNoteVersion, version_id)
    note = version.note
    label = notes.NOTE_KIND_LABELS.get(note.kind, note.kind)
    return (
        note.case_id,
        f"{label} recorded by {note.agency.name}, {version.occurred_on:%-d %B %Y}",
        version.text,
    )


def _case(case_id: int) -> tuple[int, str, str]:
    case = db.session.get(Case, case_id)
    return (
        case.id,
        f"Case record {case.reference}",
        _lines(
            ("Name", case.child_name),
            ("Date of birth", f"{case.date_of_birth:%-d %B %Y}"),
            ("NHS number", case.nhs_number),
            ("Lead agency", case.lead_agency.name),
            ("Agencies involved", ", ".join(i.agency.name for i in case.current_involvements)),
            ("Status", case.status),
        ),
    )


def _threshold(view_id: int) -> tuple[int, str, str]:
    view = db.session.get(ThresholdView, view_id)
    return (
        view.case_id,
        f"Level of need recorded by {view.agency.name}, {_day(view.recorded_at)}",
        _lines(("Level", view.level), ("Reason", view.reason)),
    )


def _no_share(decision_id: int) -> tuple[int, str, str]:
    decision = db.session.get(NoShareDecision, decision_id)
    return (
        decision.case_id,
        f"Decision not to share by {decision.decided_by_agency.name}, {_day(decision.decided_at)}",
        _lines(
            ("Information considered", decision.information),
            ("With", ", ".join(a.agency.name for a in decision.considered_for)),
            ("Reason", f"{decision.reason_label}: {decision.reason}"),
        ),
    )


def _challenge(challenge_id: int) -> tuple[int, str, str]:
    challenge = db.session.get(Challenge, challenge_id)
    steps = [f"{_day(e.at)}, {e.kind_label}: {e.text}" for e in challenge.events]
    return (
        challenge.case_id,
        f"Professional challenge by {challenge.raised_by_agency.name} to "
        f"{challenge.about_agency.name}, {_day(challenge.raised_at)}",
        _lines(
            ("What happened", challenge.what_happened),
            ("Outcome wanted", challenge.outcome_wanted),
            ("Steps", "\n".join(steps)),
        ),
    )


RENDERERS: dict[str, Callable[[int], tuple[int, str, str]]] = {
    "case": _case,
    "share": _share,
    "response": _response,
    "outcome": _outcome,
    "note": _note,
    "threshold": _threshold,
    "no_share": _no_share,
    "challenge": _challenge,
}


def item_views(request: SubjectAccessRequest) -> list[ItemView]:
    """Every item in date order, its text with protected sources removed (an outsider's view)."""
    redactors: dict[int, protected_sources.Redactor] = {}
    views = []
    for item in sorted(request.items, key=lambda i: (i.occurred_at, i.id)):
        case_id, title, text = RENDERERS[item.kind](item.object_id)
        if case_id not in redactors:
            redactors[case_id] = protected_sources.redactor_for(None, case_id)
        protect = redactors[case_id]
        views.append(ItemView(item, case_id, protect(title), protect(text)))
    return views


def item_view(request: SubjectAccessRequest, item_id: int) -> ItemView | None:
    return next((v for v in item_views(request) if v.item.id == item_id), None)


# --- reviewing ----------------------------------------------------------------------------------


def review(
    actor: Person,
    request: SubjectAccessRequest,
    view: ItemView,
    *,
    decision: str | None,
    exemption: str | None,
    passages: str | None,
) -> None:
    """Release, redact (passages, under an exemption) or withhold (under an exemption) an item."""
    _lock(request)
    item = view.item
    problems: list[SubjectAccessError] = []
    if request.status != RequestStatus.OPEN:
        problems.append(
            SubjectAccessError("decision", "The pack has been produced: its decisions are final")
        )
    choices = {ItemDecision.RELEASED, ItemDecision.REDACTED, ItemDecision.WITHHELD}
    if decision not in choices:
        problems.append(SubjectAccessError("decision", "Choose release, redact or withhold"))
    needs_exemption = decision in (ItemDecision.REDACTED, ItemDecision.WITHHELD)
    if needs_exemption and exemption not in set(Exemption):
        problems.append(SubjectAccessError("exemption", "Choose the exemption that applies"))
    lines = list(dict.fromkeys(p.strip() for p in (passages or "").splitlines() if p.strip()))
    if decision == ItemDecision.REDACTED:
        missing = [p for p in lines if p not in view.text]
        if not lines:
            problems.append(
                SubjectAccessError("passages", "Enter the passages to redact, one a line")
            )
        elif missing:
            problems.append(
                SubjectAccessError(
                    "passages",
                    f"Copy each passage exactly from the item; not found: {missing[0][:80]}",
                )
            )
    _raise(problems)
    before = {"decision": item.decision, "exemption": item.exemption, "redactions": item.redactions}
    item.decision = decision
    item.exemption = exemption if needs_exemption else None
    item.redactions = "\n".join(lines) if decision == ItemDecision.REDACTED else None
    item.reviewed_by_id = actor.id
    item.reviewed_at = clock.now()
    after = {"decision": item.decision, "exemption": item.exemption, "redactions": item.redactions}
    _audit(
        "subject_access.review",
        request,
        actor,
        audit.changes_between(before, after) | {"item": [None, f"{item.kind} {item.object_id}"]},
        case_id=view.case_id,  # the passages are the case's words, whoever the request is for
    )
    db.session.commit()


def complete(actor: Person, request: SubjectAccessRequest) -> None:
    """Fix the pack: every item reviewed, nothing can change after (audited)."""
    _lock(request)
    problems = []
    if request.status != RequestStatus.OPEN:
        problems.append(SubjectAccessError("complete", "The pack has already been produced"))
    elif request.assembled_at is None:
        problems.append(SubjectAccessError("complete", "Gather the records before the pack"))
    else:
        pending = sum(1 for i in request.items if i.decision == ItemDecision.PENDING)
        if pending:
            problems.append(
                SubjectAccessError("complete", f"Review every item first: {pending} not reviewed")
            )
    _raise(problems)
    request.status = RequestStatus.COMPLETED.value
    request.completed_at = clock.now()
    _audit(
        "subject_access.complete",
        request,
        actor,
        {"status": [RequestStatus.OPEN.value, RequestStatus.COMPLETED.value]},
    )
    db.session.commit()


# --- the pack -----------------------------------------------------------------------------------


def pack_items(request: SubjectAccessRequest) -> list[ItemView]:
    """What goes to the requester: released and redacted items only."""
    return [
        v
        for v in item_views(request)
        if v.item.decision in (ItemDecision.RELEASED, ItemDecision.REDACTED)
    ]


def _moment(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def manifest(request: SubjectAccessRequest, items: list[ItemView]) -> dict:
    """Items, their exemptions and reviewers; nothing about what was withheld."""
    return {
        "request": {
            "reference": f"SAR-{request.id}",
            "requester": request.requester_name,
            "about": request.about,
            "received_on": request.received_on.isoformat(),
            "due_on": request.answer_by.isoformat(),
            "completed_at": _moment(request.completed_at),
        },
        "items": [
            {
                "number": number,
                "file": f"items/{number:04d}.txt",
                "title": view.title,
                "decision": view.item.decision,
                "exemptions": [EXEMPTION_LABELS[Exemption(view.item.exemption)]]
                if view.item.exemption
                else [],
                "redactions": len(view.item.redaction_list),
                "reviewed_by": view.item.reviewed_by.name if view.item.reviewed_by else None,
                "reviewed_at": _moment(view.item.reviewed_at),
            }
            for number, view in enumerate(items, start=1)
        ],
    }


def archive(request: SubjectAccessRequest) -> bytes:
    """The zip: one text file an item and manifest.json."""
    items = pack_items(request)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zip_file:
        for number, view in enumerate(items, start=1):
            zip_file.writestr(f"items/{number:04d}.txt", f"{view.title}\n\n{view.released_text}\n")
        zip_file.writestr(
            "manifest.json", json.dumps(manifest(request, items), indent=2, ensure_ascii=False)
        )
    return out.getvalue()


def record_list_view(requests: list[SubjectAccessRequest], where: str) -> None:
    """The list names each request's child and requester: a view of case data, audited."""
    if requests:
        audit.record(
            "subject_access.list",
            object_kind="subject_access_request",
            changes={"page": [None, where], "shown": [None, [r.id for r in requests]]},
        )
    audit.commit_view()


def record_pack_view(request: SubjectAccessRequest, actor: Person, what: str) -> None:
    """Looking at the pack is a view of case data (audited, committed with the page's reads)."""
    _audit(what, request, actor)
    audit.commit_view()
