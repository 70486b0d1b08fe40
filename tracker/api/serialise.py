"""What the API returns: plain JSON objects shaped as the OpenAPI document says."""

from __future__ import annotations

from datetime import datetime

from tracker.models import Agency, Case, Challenge, Concern, NoShareDecision, Share
from tracker.protected_sources.views import redactor
from tracker.services import challenges, chronology, sharing


def moment(value: datetime | None) -> str | None:
    """Naive UTC as RFC 3339."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def agency(value: Agency) -> dict:
    return {"id": value.id, "name": value.name}


def case(value: Case) -> dict:
    return {
        "id": value.id,
        "reference": value.reference,
        "child_name": value.child_name,
        "date_of_birth": value.date_of_birth.isoformat(),
        "status": value.status,
        "lead_agency": agency(value.lead_agency),
        "agencies": [agency(i.agency) for i in value.current_involvements],
        "created_at": moment(value.created_at),
        "nhs_number": value.nhs_number,
        "upn": value.upn,
    }


def concern(value: Concern, now: datetime) -> dict:
    share = value.share
    response = value.response
    status = sharing.concern_due_status(value, now)
    protect = redactor(share.case_id)  # protected sources: the caller's agency may not see them
    return {
        "id": value.id,
        "share_id": share.id,
        "case_id": share.case_id,
        "case_reference": share.case.reference,
        "agency": agency(value.agency),
        "from_agency": agency(share.from_agency),
        "people_names": protect(value.people_names),
        "state": value.state,
        "priority": share.priority,
        "due_at": moment(value.due_at),
        "overdue": sharing.is_unanswered(value, now),
        "due_soon": status == "due_soon",
        "working_days_overdue": sharing.days_overdue(value, now),
        "acknowledged_at": moment(value.acknowledged_at),
        "responded_at": moment(value.responded_at),
        "loop_stage": sharing.loop_stage(value),
        "viewed_at": moment(value.viewed_at),
        "viewed_by": value.viewed_by.name if value.viewed_by else None,
        "outcome": value.outcome,
        "outcome_detail": protect(value.outcome_detail),
        "outcome_at": moment(value.outcome_at),
        "response": None
        if response is None
        else {
            "action_taken": protect(response.action_taken),
            "next_steps": protect(response.next_steps),
            "recorded_at": moment(response.recorded_at),
            "recorded_by": response.recorded_by.name,
            "amended": len(value.responses) > 1,
        },
    }


def share(value: Share, now: datetime) -> dict:
    version = value.current
    protect = redactor(value.case_id)
    return {
        "id": value.id,
        "case_id": value.case_id,
        "recorded_as": value.recorded_as,
        "from_agency": agency(value.from_agency),
        "recorded_at": moment(value.recorded_at),
        "recorded_by": value.recorded_by.name,
        "needs_response": value.needs_response,
        "priority": value.priority,
        "amended": value.amended,
        "shared_at": moment(version.shared_at),
        "from_person_name": protect(version.from_person_name),
        "method": version.method,
        "summary": protect(version.summary),
        "purpose": protect(version.purpose),
        "lawful_basis": version.lawful_basis,
        "special_category": version.special_category,
        "consent": version.consent,
        "consent_reason": protect(version.consent_reason),
        "themes": [t.value for t in version.theme_list],
        "concerns": [concern(r, now) for r in value.recipients],
        "rating": value.rating,
        "revisits_decision_id": value.revisits_decision_id,
        "special_category_circumstance": version.special_category_circumstance,
        # The identifier travels with the share unless a reason it is absent was recorded.
        "nhs_number": None if version.identifier_absent else value.case.nhs_number,
        "identifier_absent": version.identifier_absent,
    }


def no_share_decision(value: NoShareDecision) -> dict:
    protect = redactor(value.case_id)
    return {
        "id": value.id,
        "case_id": value.case_id,
        "information": protect(value.information),
        "agencies": [agency(a.agency) for a in value.considered_for],
        "reason_code": value.reason_code,
        "reason": protect(value.reason),
        "decided_by": value.decided_by.name,
        "decided_by_agency": agency(value.decided_by_agency),
        "decided_at": moment(value.decided_at),
        "revisited_by_share_ids": [s.id for s in value.revisited_by],
    }


def challenge(value: Challenge, now: datetime) -> dict:
    protect = redactor(value.case_id)
    return {
        "id": value.id,
        "case_id": value.case_id,
        "raised_by_agency": agency(value.raised_by_agency),
        "about_agency": agency(value.about_agency),
        "kind": value.kind,
        "status": value.status,
        "stage": value.stage,
        "stage_due_at": moment(value.stage_due_at),
        "overdue": challenges.due(value, now).status == "overdue",
        "urgent": value.urgent,
        "immediate_risk": value.immediate_risk,
        "raised_at": moment(value.raised_at),
        "closed_at": moment(value.closed_at),
        "what_happened": protect(value.what_happened),
        "outcome_wanted": protect(value.outcome_wanted),
        "events": [
            {
                "id": event.id,
                "kind": event.kind,
                "at": moment(event.at),
                "by": event.person.name if event.person else (event.actor_label or ""),
                "from_stage": event.from_stage,
                "to_stage": event.to_stage,
                "text": protect(event.text),
            }
            for event in value.events
        ],
    }


def entry(value: chronology.Entry) -> dict:
    return {
        "at": moment(value.at),
        "kind": value.kind,
        "agency": {"id": value.agency_id, "name": value.agency_name},
        "recorder": value.recorder,
        "what": value.full_text,
        "significance": value.significance,
        "themes": list(value.themes),
        "amended": value.amended,
        "date_only": value.date_only,
    }
