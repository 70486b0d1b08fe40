"""The evidence pack for a case review: everything about a child, each item tied to the audit log.

A pack holds the chronology, every share (each version, with its lawful basis and consent), every
concern with its response and timeliness, every challenge with every stage transition, and the
case's audit trail. Each item lists the audit events that created it (id, leaf index, leaf
hash). audit/proofs.json carries every event's leaf bytes, its content and salt (or its erasure
record) and an inclusion proof against one signed checkpoint (audit/checkpoint.txt, with the
log's verifier key beside it); the manifest lists a SHA-256 of every file; verify_pack.py checks
it all offline (`python verify_pack.py PACK.zip --key KEYFILE`). Events newer than the checkpoint
(inside the merge delay) are listed as pending, not proven. The event that records the
production commits to the files' hashes, so a later checkpoint proves the pack as a whole.

An item "traces" to the events that recorded or changed its object (views and lists excluded).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker import clock, verify_pack
from tracker.extensions import db
from tracker.models import (
    AuditCheckpoint,
    AuditEvent,
    Case,
    Challenge,
    ChallengeEvent,
    Concern,
    ConcernResponse,
    ConcernState,
    NoShareDecision,
    Person,
    Share,
    ShareVersion,
    ThresholdView,
)
from tracker.services import audit, chronology, no_share, sharing, transparency, workdays


@dataclass
class Item:
    """One row of a pack file, with the audit events it traces to."""

    file: str
    kind: str
    object_id: int
    row: dict[str, Any]
    events: list[AuditEvent] = field(default_factory=list)

    @property
    def trace(self) -> list[dict[str, Any]]:
        return [_event_ref(e) | {"action": e.action} for e in self.events]


@dataclass
class Timeliness:
    due_at: datetime | None
    responded_at: datetime | None
    working_days: int | None  # to respond (or so far, if not answered)
    verdict: str  # "on time", "late", "awaiting (on time so far)", "awaiting (overdue)"


@dataclass
class EvidencePack:
    case: Case
    produced_at: datetime
    produced_by: Person
    chronology: list[chronology.Entry]
    shares: list[Item]
    responses: list[Item]
    challenges: list[Item]
    trail: list[AuditEvent]
    chronology_trace: list[list[AuditEvent]]
    checkpoint: AuditCheckpoint | None = None
    production_event: AuditEvent | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    decisions: list[Item] = field(default_factory=list)  # decisions not to share

    @property
    def items(self) -> list[Item]:
        return [*self.shares, *self.responses, *self.challenges, *self.decisions]

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads(self.files["manifest.json"])


def timeliness(recipient: Concern, shared_at: datetime, now: datetime) -> Timeliness:
    """How a concern was answered against its due time, counted in working days."""
    if recipient.due_at is None:
        return Timeliness(None, recipient.responded_at, None, "no response needed")
    start = workdays.to_local(shared_at).date()
    if recipient.responded_at is not None:
        days = workdays.working_days_between(
            start, workdays.to_local(recipient.responded_at).date()
        )
        verdict = "on time" if recipient.responded_at <= recipient.due_at else "late"
        return Timeliness(recipient.due_at, recipient.responded_at, days, verdict)
    days = workdays.working_days_between(start, workdays.to_local(now).date())
    verdict = "awaiting (overdue)" if now > recipient.due_at else "awaiting (on time so far)"
    return Timeliness(recipient.due_at, None, days, verdict)


def _local(moment: datetime | None) -> str:
    return workdays.local_time(moment, "%Y-%m-%d %H:%M")


def _is_view(event: AuditEvent) -> bool:
    """Looking (case.view, case.form_view, share.list, chronology.export...) creates nothing."""
    last = event.action.rsplit(".", 1)[-1]
    return last.endswith("view") or last in {"list", "export"}


def _creating_events(case_id: int) -> dict[tuple[str, int], list[AuditEvent]]:
    """The case's events that recorded or changed something, by the object they were on."""
    index: dict[tuple[str, int], list[AuditEvent]] = defaultdict(list)
    for event in db.session.scalars(audit.case_trail(case_id)):
        if event.object_kind and event.object_id is not None and not _is_view(event):
            index[(event.object_kind, event.object_id)].append(event)
    return index


def _version_events(events: list[AuditEvent], number: int, recorded_at) -> list[AuditEvent]:
    """The event that made version `number` (1-based): the services write one per version, in
    order. A version without its own event (loaded in bulk) traces to the latest event on the
    share recorded after it existed, which covers the share as it then stood."""
    if number <= len(events):
        return events[number - 1 : number]
    return [e for e in events if e.at >= recorded_at][-1:]


def _share_items(case_id: int, index) -> tuple[list[Item], list[Item]]:
    shares = db.session.scalars(
        select(Share)
        .where(Share.case_id == case_id)
        .order_by(Share.id)
        .options(
            selectinload(Share.versions).selectinload(ShareVersion.recorded_by),
            selectinload(Share.recipients)
            .selectinload(Concern.responses)
            .selectinload(ConcernResponse.recorded_by),
        )
    ).all()
    now = clock.now()
    share_items, response_items = [], []
    for share in shares:
        share_events = index.get(("share", share.id), [])
        to = "; ".join(r.agency.name for r in share.recipients)
        for version in share.versions:
            events = _version_events(share_events, version.number, version.recorded_at)
            share_items.append(
                Item(
                    "shares.csv",
                    "share_version",
                    version.id,
                    {
                        "Share": share.id,
                        "Version": version.number,
                        "Shared at": _local(version.shared_at),
                        "From agency": share.from_agency.name,
                        "From person": version.from_person_name or "",
                        "To agencies": to,
                        "Recorded as": share.recorded_as,
                        "Method": version.method,
                        "What was shared": version.summary,
                        "Why": version.purpose,
                        "Lawful basis": version.lawful_basis,
                        "Special category (DPA 2018 Sch 1 para 18)": (
                            "yes" if version.special_category else "no"
                        ),
                        "Paragraph 18 circumstance": version.special_category_circumstance or "",
                        # The child's consistent identifier, or why it did not go.
                        "Child's NHS number": share.case.nhs_number or ""
                        if not version.identifier_absent
                        else "",
                        "NHS number absent because": version.identifier_absent or "",
                        "Rating": share.rating or "",
                        "Revisits decision not to share": share.revisits_decision_id or "",
                        "Consent": version.consent,
                        "Consent reason": version.consent_reason or "",
                        "Learning themes": "; ".join(t.label for t in version.theme_list),
                        "Response needed": f"yes ({share.priority})"
                        if share.needs_response
                        else "no",
                        "Recorded by": version.recorded_by.name,
                        "Recorded at": _local(version.recorded_at),
                        "Reason for amendment": version.reason or "",
                    },
                    events,
                )
            )
        for recipient in share.recipients:
            if not share.needs_response:
                continue
            timing = timeliness(recipient, share.current.shared_at, now)
            response = recipient.response
            events = [
                *share_events[:1],  # the share that raised the concern
                *index.get(("share_recipient", recipient.id), []),
                *(
                    e
                    for r in recipient.responses
                    for e in index.get(("concern_response", r.id), [])
                ),
            ]
            response_items.append(
                Item(
                    "responses.csv",
                    "concern",
                    recipient.id,
                    {
                        "Share": share.id,
                        "From agency": share.from_agency.name,
                        "To agency": recipient.agency.name,
                        "Priority": share.priority,
                        "Shared at": _local(share.current.shared_at),
                        "Due at": _local(recipient.due_at),
                        "State": ConcernState(recipient.state).value,
                        "Acknowledged at": _local(recipient.acknowledged_at),
                        "Responded at": _local(recipient.responded_at),
                        "Working days to respond": (
                            "" if timing.working_days is None else timing.working_days
                        ),
                        "Timeliness": timing.verdict,
                        "What was done or decided": response.action_taken if response else "",
                        "Next steps": (response.next_steps or "") if response else "",
                        "Response versions": len(recipient.responses),
                        "First opened at": _local(recipient.viewed_at),
                        "First opened by": recipient.viewed_by.name if recipient.viewed_by else "",
                        "Loop stage": sharing.loop_stage(recipient),
                        "Outcome": recipient.outcome or "",
                        "Outcome detail": recipient.outcome_detail or "",
                        "Outcome recorded at": _local(recipient.outcome_at),
                    },
                    sorted(events, key=lambda e: e.id),
                )
            )
    return share_items, response_items


def _decision_items(case_id: int, index) -> list[Item]:
    decisions: list[NoShareDecision] = list(db.session.scalars(no_share.for_case(case_id)))
    return [
        Item(
            "no_share_decisions.csv",
            "no_share_decision",
            decision.id,
            {
                "Decision": decision.id,
                "Decided at": _local(decision.decided_at),
                "Decided by": decision.decided_by.name,
                "Agency": decision.decided_by_agency.name,
                "Information considered": decision.information,
                "Considered for": "; ".join(a.agency.name for a in decision.considered_for),
                "Reason": decision.reason_label,
                "Reasoning": decision.reason,
                "Revisited by shares": "; ".join(str(s.id) for s in decision.revisited_by),
                "Recorded at": _local(decision.recorded_at),
            },
            index.get(("no_share_decision", decision.id), []),
        )
        for decision in decisions
    ]


def _challenge_items(case_id: int, index) -> list[Item]:
    challenges = db.session.scalars(
        select(Challenge)
        .where(Challenge.case_id == case_id)
        .order_by(Challenge.id)
        .options(
            selectinload(Challenge.events)
            .selectinload(ChallengeEvent.person)
            .selectinload(Person.agency),
            selectinload(Challenge.events).selectinload(ChallengeEvent.actions),
        )
    ).all()
    items = []
    for challenge in challenges:
        on_challenge = index.get(("challenge", challenge.id), [])
        for number, step in enumerate(challenge.events):
            # Recorded either on the transition itself or, in order, on the challenge.
            events = index.get(("challenge_event", step.id)) or on_challenge[number : number + 1]
            items.append(
                Item(
                    "challenges.csv",
                    "challenge_event",
                    step.id,
                    {
                        "Challenge": challenge.id,
                        "Raised by agency": challenge.raised_by_agency.name,
                        "About agency": challenge.about_agency.name,
                        "Kind": challenge.kind_label,
                        "Urgent": "yes" if challenge.urgent else "no",
                        "Immediate risk": "yes" if challenge.immediate_risk else "no",
                        "Status now": challenge.status,
                        "Transition": step.kind_label,
                        "At": _local(step.at),
                        "By": step.who,
                        "From stage": step.from_stage or "",
                        "To stage": step.to_stage or "",
                        "Stage deadline set": _local(step.deadline_set),
                        "Why / what was agreed": step.text,
                        "Actions": "; ".join(
                            f"{a.description} ({a.owner}, by {a.due_on.isoformat()})"
                            for a in step.actions
                        ),
                        "Learning themes": "; ".join(t.label for t in step.theme_list),
                    },
                    events,
                )
            )
    return items


def _chronology_trace(case_id: int, entries, items: list[Item], index) -> list[list[AuditEvent]]:
    """The events behind each chronology line, found through the record the line shows."""
    shares: dict[int, dict[int, AuditEvent]] = defaultdict(dict)
    for item in items:
        if item.kind == "share_version":
            shares[item.row["Share"]].update((e.id, e) for e in item.events)
    views = {
        (agency_id, at): view_id
        for agency_id, at, view_id in db.session.execute(
            select(ThresholdView.agency_id, ThresholdView.recorded_at, ThresholdView.id).where(
                ThresholdView.case_id == case_id
            )
        )
    }
    traces = []
    for entry in entries:
        _, values = entry.link or ("", {})
        if "note_id" in values:
            traces.append(index.get(("case_note", values["note_id"]), []))
        elif "share_id" in values:
            traces.append(list(shares.get(values["share_id"], {}).values()))
        elif "decision_id" in values:
            traces.append(index.get(("no_share_decision", values["decision_id"]), []))
        elif "challenge_id" in values:
            traces.append(index.get(("challenge", values["challenge_id"]), []))
        elif entry.kind == "threshold":
            view_id = views.get((entry.agency_id, entry.at))
            traces.append(index.get(("threshold_view", view_id), []))
        else:
            traces.append([])
    return traces


def _csv(rows: list[dict[str, Any]], extra: list[list[AuditEvent]] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    if rows:
        writer.writerow([*rows[0], "Audit events"])
    for n, row in enumerate(rows):
        trace = " ".join(str(e.id) for e in (extra[n] if extra else []))
        writer.writerow([chronology.neutralise(str(v)) for v in [*row.values(), trace]])
    return out.getvalue().encode("utf-8")


def _items_csv(items: list[Item]) -> bytes:
    return _csv([i.row for i in items], [i.events for i in items])


AUDIT_COLUMNS = [
    "Event",
    "At (UTC)",
    "At (local)",
    "Person",
    "Agency",
    "Role",
    "Address",
    "User agent",
    "Action",
    "Object",
    "Object id",
    "Changes (before, after)",
    "Reason",
    "Leaf index",
    "Leaf hash",
]


def _trail_csv(events: list[AuditEvent]) -> bytes:
    rows = audit.trail_rows(events)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        e = row.event
        values = [
            e.id,
            e.at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            _local(e.at),
            e.person_name or "",
            row.agency_name or "",
            e.role or "",
            e.address or "",
            e.user_agent or "",
            e.action,
            e.object_kind or "",
            "" if e.object_id is None else e.object_id,
            e.changes if not e.erasure else erased_note(e),
            e.reason or "",
            "" if e.leaf_index is None else e.leaf_index,
            e.leaf_hash,
        ]
        writer.writerow([chronology.neutralise(str(v)) for v in values])
    return out.getvalue().encode("utf-8")


def erased_note(event: AuditEvent) -> str:
    erasure = event.erasure
    return f"erased on {erasure.erased_at:%Y-%m-%d} under {erasure.erased_rule}"


def _proofs(events: list[AuditEvent]) -> tuple[AuditCheckpoint | None, dict[str, Any]]:
    """Leaf bytes, content and inclusion proofs of the events against the latest checkpoint."""
    proven = transparency.inclusion_proofs(events)
    if proven is None:
        return None, {"tree_size": 0, "events": [], "pending": [e.id for e in events]}
    entries = []
    for e in events:
        if e.id not in proven.proofs:
            continue
        content = e.content_row
        entries.append(
            {
                "id": e.id,
                "leaf_index": e.leaf_index,
                "leaf": base64.b64encode(audit.leaf_bytes(e)).decode(),
                "proof": [base64.b64encode(p).decode() for p in proven.proofs[e.id]],
                "content": content.content,
                "salt": content.salt,
                "erased": None
                if content.erased_at is None
                else {
                    "at_utc": content.erased_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                    "by": content.erased_by,
                    "rule": content.erased_rule,
                    "reason": content.erased_reason,
                    "erasure_event": content.erasure_event_id,
                },
            }
        )
    return proven.checkpoint, {
        "tree_size": proven.checkpoint.tree_size,
        "root_hash": proven.checkpoint.root_hash,
        "hashing": "RFC 6962 2.1; leaf bytes and content commitments: tracker/services/audit.py",
        "events": entries,
        "pending": proven.pending,
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def produce(actor: Person, case: Case) -> EvidencePack:
    """Assemble the pack, record its production in the chain (with the file hashes), commit."""
    index = _creating_events(case.id)
    entries = chronology.entries_for(case.id)
    shares, responses = _share_items(case.id, index)
    pack = EvidencePack(
        case=case,
        produced_at=clock.now(),
        produced_by=actor,
        chronology=entries,
        shares=shares,
        responses=responses,
        challenges=_challenge_items(case.id, index),
        trail=list(db.session.scalars(audit.case_trail(case.id))),
        chronology_trace=[],
        decisions=_decision_items(case.id, index),
    )
    pack.chronology_trace = _chronology_trace(case.id, entries, shares, index)
    chronology_csv = chronology.to_csv(entries).encode("utf-8")
    files = {
        "chronology.csv": chronology_csv,
        "shares.csv": _items_csv(pack.shares),
        "responses.csv": _items_csv(pack.responses),
        "challenges.csv": _items_csv(pack.challenges),
        "no_share_decisions.csv": _items_csv(pack.decisions),
        "audit_trail.csv": _trail_csv(pack.trail),
    }
    pack.checkpoint, proofs = _proofs(pack.trail)
    if pack.checkpoint is not None:
        files["audit/checkpoint.txt"] = pack.checkpoint.note.encode("utf-8")
        files["audit/verifier-key.txt"] = (pack.checkpoint.verifier_key + "\n").encode("utf-8")
    if pack.checkpoint is not None:
        proofs["consistency"] = _consistency_from_earlier_packs(case.id, pack.checkpoint.tree_size)
    files["audit/proofs.json"] = json.dumps(proofs, indent=1, ensure_ascii=False).encode("utf-8")
    files["verify_pack.py"] = _verifier_source()
    digests = {name: _sha256(data) for name, data in files.items()}
    pack.production_event = audit.record(
        "evidence.produce",
        object_kind="case",
        object_id=case.id,
        case_id=case.id,
        changes={
            "files": [None, digests],
            "checkpoint": [None, pack.checkpoint.tree_size if pack.checkpoint else 0],
        },
        actor=actor,
    )
    audit.commit_view()  # the page's reads end here; the event is written on its own
    manifest = {
        "case": {"id": case.id, "reference": case.reference},
        "produced_at_utc": pack.produced_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "produced_by": {"id": actor.id, "name": actor.name, "agency": actor.agency.name},
        "checkpoint": {"tree_size": proofs["tree_size"], "root_hash": proofs.get("root_hash")},
        "production_event": _event_ref(pack.production_event),
        "how_to_check": "python verify_pack.py THIS.zip --key VERIFIER-KEY-FILE "
        "(Python 3.11+ and the cryptography package); get the verifier key from the partnership, "
        "not from this pack",
        "files": {
            name: {"sha256": digest, "bytes": len(files[name])} for name, digest in digests.items()
        },
        "items": [
            {"file": i.file, "kind": i.kind, "id": i.object_id, "audit_events": i.trace}
            for i in pack.items
        ],
        "chronology": [
            {"row": n + 1, "kind": e.kind, "audit_events": [_event_ref(x) for x in trace]}
            for n, (e, trace) in enumerate(zip(entries, pack.chronology_trace, strict=True))
        ],
        "audit_trail": {
            "events": len(pack.trail),
            "first": _event_ref(pack.trail[0]) if pack.trail else None,
            "last": _event_ref(pack.trail[-1]) if pack.trail else None,
        },
    }
    files["manifest.json"] = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
    pack.files = files
    return pack


def _consistency_from_earlier_packs(case_id: int, size: int) -> dict[str, list[str]]:
    """Consistency proofs to this pack's checkpoint from the checkpoint of every earlier pack of
    the case, so a reviewer holding one (`verify_pack.py --checkpoint OLD`) can check the log
    grew from it without forking."""
    sizes = set()
    for event in db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.action == "evidence.produce"
        )
    ):
        held = json.loads(event.changes).get("checkpoint")  # {} once its content is erased
        if isinstance(held, list) and len(held) == 2 and isinstance(held[1], int):
            if 0 < held[1] < size:
                sizes.add(held[1])
    tree = transparency.stored_tree(size)
    return {
        str(old): [base64.b64encode(p).decode() for p in tree.consistency_proof(old)]
        for old in sorted(sizes)
    }


def _verifier_source() -> bytes:
    """The offline checker, shipped whole inside the pack (it needs only Python and cryptography)."""
    return Path(verify_pack.__file__).read_bytes()


def _event_ref(event: AuditEvent | None) -> dict[str, Any] | None:
    if event is None:
        return None
    return {"id": event.id, "leaf_index": event.leaf_index, "leaf_hash": event.leaf_hash}


def archive(pack: EvidencePack) -> bytes:
    """The pack as a zip under one folder named for the case, in the one canonical byte layout
    verify_pack checks (stored, fixed dates), so a change to any byte of it is found."""
    folder = f"evidence-{pack.case.reference}"
    return verify_pack.canonical_zip(
        [(f"{folder}/{name}", data) for name, data in pack.files.items()]
    )
