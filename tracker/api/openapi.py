"""The OpenAPI 3.1 description of /api/v1/, served at /api/v1/openapi.json.

Request bodies are validated against these same schemas (tracker/api/validation.py), and
tests/api/test_openapi.py checks every route is described and every response matches, so the
document cannot drift from the code.
"""

from __future__ import annotations

from tracker import inputs
from tracker.challenges.forms import ACTION_SLOTS
from tracker.models import (
    ChallengeKind,
    ChallengeStatus,
    ConcernState,
    Consent,
    IdentifierAbsent,
    LawfulBasis,
    NoShareReason,
    Outcome,
    Priority,
    ShareMethod,
    SpecialCategoryCircumstance,
    Theme,
)
from tracker.services.sharing import REQUIRED_SHARE_FIELDS, SHARE_FIELDS

LOOP_STAGES = ["sent", "viewed", "acknowledged", "responded", "outcome_recorded"]

# Free text: no control characters other than tab and newlines (as the web forms refuse).
TEXT_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"
MAX_LIMIT = 100
DEFAULT_LIMIT = 25


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(max_length: int, *, required: bool = True, description: str = "") -> dict:
    schema = {"type": "string", "maxLength": max_length, "pattern": TEXT_PATTERN}
    if required:
        schema["minLength"] = 1
        schema["pattern"] = (
            "^(?=[\\s\\S]*\\S)[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"
        )
    if description:
        schema["description"] = description
    return schema


def _enum(values) -> dict:
    return {"type": "string", "enum": [str(v) for v in values]}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


DATE_TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
MAX_ID = inputs.MAX_ID
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
THEMES = {"type": "array", "items": _enum(Theme), "uniqueItems": True}
AGENCY = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": ID, "name": {"type": "string"}},
    "additionalProperties": False,
}


def _page_of(item: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "next_cursor": _nullable({"type": "string"}),
        },
        "additionalProperties": False,
    }


SCHEMAS: dict[str, dict] = {
    "Problem": {
        "type": "object",
        "description": "An error (RFC 9457), with the refused fields one by one.",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    "additionalProperties": False,
                },
            },
        },
    },
    "Agency": AGENCY,
    "Case": {
        "type": "object",
        "required": [
            "id",
            "reference",
            "child_name",
            "date_of_birth",
            "status",
            "lead_agency",
            "agencies",
            "created_at",
            "nhs_number",
            "upn",
        ],
        "properties": {
            "id": ID,
            "reference": {"type": "string"},
            "child_name": {"type": "string"},
            "date_of_birth": DATE,
            "nhs_number": _nullable(
                {
                    "type": "string",
                    "pattern": "^[0-9]{10}$",
                    "description": "The child's consistent identifier (modulus 11 checked)",
                }
            ),
            "upn": _nullable(
                {"type": "string", "description": "Unique pupil number (check letter checked)"}
            ),
            "status": _enum(["open", "closed"]),
            "lead_agency": _ref("Agency"),
            "agencies": {
                "type": "array",
                "items": _ref("Agency"),
                "description": "Agencies currently involved",
            },
            "created_at": DATE_TIME,
        },
        "additionalProperties": False,
    },
    "CasePage": _page_of("Case"),
    "ConcernResponse": {
        "type": "object",
        "required": ["action_taken", "next_steps", "recorded_at", "recorded_by", "amended"],
        "properties": {
            "action_taken": {"type": "string"},
            "next_steps": _nullable({"type": "string"}),
            "recorded_at": DATE_TIME,
            "recorded_by": {"type": "string"},
            "amended": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "Concern": {
        "type": "object",
        "description": "A receiving agency of a share; when a response is needed, its concern.",
        "required": [
            "id",
            "share_id",
            "case_id",
            "case_reference",
            "agency",
            "from_agency",
            "people_names",
            "state",
            "priority",
            "due_at",
            "overdue",
            "due_soon",
            "working_days_overdue",
            "acknowledged_at",
            "responded_at",
            "response",
            "loop_stage",
            "viewed_at",
            "viewed_by",
            "outcome",
            "outcome_detail",
            "outcome_at",
        ],
        "properties": {
            "loop_stage": {
                **_enum(LOOP_STAGES),
                "description": "How far the loop back to the sender has closed",
            },
            "viewed_at": _nullable(
                {**DATE_TIME, "description": "First opened by someone of the receiving agency"}
            ),
            "viewed_by": _nullable({"type": "string"}),
            "outcome": _nullable(
                {**_enum(Outcome), "description": "What the receiving agency did with it"}
            ),
            "outcome_detail": _nullable({"type": "string"}),
            "outcome_at": _nullable(DATE_TIME),
            "id": ID,
            "share_id": ID,
            "case_id": ID,
            "case_reference": {"type": "string"},
            "agency": _ref("Agency"),
            "from_agency": _ref("Agency"),
            "people_names": _nullable({"type": "string"}),
            "state": _enum(ConcernState),
            "priority": _enum(Priority),
            "due_at": _nullable(DATE_TIME),
            "overdue": {"type": "boolean"},
            "due_soon": {"type": "boolean", "description": "Due within a working day"},
            "working_days_overdue": {"type": "integer", "minimum": 0},
            "acknowledged_at": _nullable(DATE_TIME),
            "responded_at": _nullable(DATE_TIME),
            "response": _nullable(_ref("ConcernResponse")),
        },
        "additionalProperties": False,
    },
    "ConcernPage": _page_of("Concern"),
    "Share": {
        "type": "object",
        "required": [
            "id",
            "case_id",
            "recorded_as",
            "from_agency",
            "recorded_at",
            "recorded_by",
            "needs_response",
            "priority",
            "amended",
            *SHARE_FIELDS,
            "concerns",
            "rating",
            "revisits_decision_id",
            "nhs_number",
        ],
        "properties": {
            "rating": _nullable(
                {"type": "string", "description": "The procedure file's concern rating, if any"}
            ),
            "revisits_decision_id": _nullable(
                {**ID, "description": "The decision not to share this share revisits"}
            ),
            "special_category_circumstance": _nullable(_enum(SpecialCategoryCircumstance)),
            "nhs_number": _nullable(
                {"type": "string", "description": "The child's NHS number, carried with it"}
            ),
            "identifier_absent": _nullable(
                {**_enum(IdentifierAbsent), "description": "Why no NHS number is carried"}
            ),
            "id": ID,
            "case_id": ID,
            "recorded_as": _enum(["sent", "received"]),
            "from_agency": _ref("Agency"),
            "recorded_at": DATE_TIME,
            "recorded_by": {"type": "string"},
            "needs_response": {"type": "boolean"},
            "priority": _enum(Priority),
            "amended": {"type": "boolean"},
            "shared_at": DATE_TIME,
            "from_person_name": _nullable({"type": "string"}),
            "method": _enum(ShareMethod),
            "summary": {"type": "string"},
            "purpose": {"type": "string"},
            "lawful_basis": _enum(LawfulBasis),
            "special_category": {"type": "boolean"},
            "consent": _enum(Consent),
            "consent_reason": _nullable({"type": "string"}),
            "themes": THEMES,
            "concerns": {"type": "array", "items": _ref("Concern")},
        },
        "additionalProperties": False,
    },
    "SharePage": _page_of("Share"),
    "ShareCreate": {
        "type": "object",
        "description": "One act of information sharing, sent by your agency or received by it.",
        "required": [*REQUIRED_SHARE_FIELDS, "needs_response"],
        "properties": {
            "recorded_as": {**_enum(["sent", "received"]), "default": "sent"},
            "from_agency_id": {**ID, "description": "Who shared it with you (received only)"},
            "recipients": {
                "type": "array",
                "maxItems": 50,
                "items": {
                    "type": "object",
                    "required": ["agency_id"],
                    "properties": {
                        "agency_id": ID,
                        "people_names": _nullable(_text(500, required=False)),
                    },
                    "additionalProperties": False,
                },
            },
            "shared_at": {
                **DATE_TIME,
                "description": "When it was shared, with a time zone offset (minute precision)",
            },
            "from_person_name": _nullable(_text(120, required=False)),
            "method": _enum(ShareMethod),
            "summary": _text(5000),
            "purpose": _text(2000),
            "lawful_basis": _enum(LawfulBasis),
            "special_category": {"type": "boolean", "default": False},
            "consent": _enum(Consent),
            "consent_reason": _nullable(_text(2000, required=False)),
            "themes": THEMES,
            "needs_response": {"type": "boolean"},
            "priority": {**_enum(Priority), "default": "standard"},
            "special_category_circumstance": {
                **_enum(SpecialCategoryCircumstance),
                "description": "Needed with special_category: the DPA 2018 Schedule 1 "
                "paragraph 18 circumstance",
            },
            "identifier_absent": {
                **_enum(IdentifierAbsent),
                "description": "When the case has no NHS number, why (default unknown)",
            },
            "rating": {
                "type": "string",
                "maxLength": 20,
                "description": "A concern rating from the procedure file (e.g. red, amber, "
                "green): its timescale in working hours sets the due time",
            },
            "revisits_decision_id": {
                **ID,
                "description": "An earlier decision not to share this information, on this case",
            },
        },
        "additionalProperties": False,
    },
    "NoShareDecision": {
        "type": "object",
        "description": "A recorded decision not to share (golden rule 7).",
        "required": [
            "id",
            "case_id",
            "information",
            "agencies",
            "reason_code",
            "reason",
            "decided_by",
            "decided_by_agency",
            "decided_at",
            "revisited_by_share_ids",
        ],
        "properties": {
            "id": ID,
            "case_id": ID,
            "information": {"type": "string"},
            "agencies": {"type": "array", "items": _ref("Agency")},
            "reason_code": _enum(NoShareReason),
            "reason": {"type": "string"},
            "decided_by": {"type": "string"},
            "decided_by_agency": _ref("Agency"),
            "decided_at": DATE_TIME,
            "revisited_by_share_ids": {"type": "array", "items": ID},
        },
        "additionalProperties": False,
    },
    "NoShareDecisionPage": _page_of("NoShareDecision"),
    "NoShareDecisionCreate": {
        "type": "object",
        "description": "Your agency considered sharing information and decided not to.",
        "required": ["information", "agency_ids", "reason_code", "reason", "decided_at"],
        "properties": {
            "information": _text(5000, description="What information was considered"),
            "agency_ids": {
                "type": "array",
                "items": ID,
                "minItems": 1,
                "maxItems": 50,
                "uniqueItems": True,
                "description": "The agencies it was considered for",
            },
            "reason_code": _enum(NoShareReason),
            "reason": _text(5000),
            "decided_at": {**DATE_TIME, "description": "When decided, with an offset"},
        },
        "additionalProperties": False,
    },
    "AcknowledgementCreate": {
        "type": "object",
        "description": "Your agency has the share (any share, not only concerns).",
        "properties": {},
        "additionalProperties": False,
    },
    "OutcomeCreate": {
        "type": "object",
        "description": "What your agency did with what it was sent (once).",
        "required": ["outcome"],
        "properties": {
            "outcome": _enum(Outcome),
            "outcome_detail": _nullable(_text(2000, required=False)),
        },
        "additionalProperties": False,
    },
    "RatingChange": {
        "type": "object",
        "description": "Re-rate an open concern: its due time is recalculated.",
        "required": ["rating", "rationale"],
        "properties": {
            "rating": {"type": "string", "maxLength": 20},
            "rationale": _text(2000),
        },
        "additionalProperties": False,
    },
    "ResponseCreate": {
        "type": "object",
        "description": "Your agency's answer to a concern; answering again amends it (reason).",
        "required": ["action_taken"],
        "properties": {
            "action_taken": _text(5000),
            "next_steps": _nullable(_text(2000, required=False)),
            "reason": _nullable(_text(2000, required=False)),
        },
        "additionalProperties": False,
    },
    "ChallengeEvent": {
        "type": "object",
        "required": ["id", "kind", "at", "by", "from_stage", "to_stage", "text"],
        "properties": {
            "id": ID,
            "kind": {"type": "string"},
            "at": DATE_TIME,
            "by": {"type": "string"},
            "from_stage": _nullable({"type": "integer"}),
            "to_stage": {"type": "integer"},
            "text": {"type": "string"},
        },
        "additionalProperties": False,
    },
    "Challenge": {
        "type": "object",
        "required": [
            "id",
            "case_id",
            "raised_by_agency",
            "about_agency",
            "kind",
            "status",
            "stage",
            "stage_due_at",
            "overdue",
            "urgent",
            "immediate_risk",
            "raised_at",
            "closed_at",
            "what_happened",
            "outcome_wanted",
            "events",
        ],
        "properties": {
            "id": ID,
            "case_id": ID,
            "raised_by_agency": _ref("Agency"),
            "about_agency": _ref("Agency"),
            "kind": _enum(ChallengeKind),
            "status": _enum(ChallengeStatus),
            "stage": {"type": "integer", "minimum": 1},
            "stage_due_at": DATE_TIME,
            "overdue": {"type": "boolean"},
            "urgent": {"type": "boolean"},
            "immediate_risk": {"type": "boolean"},
            "raised_at": DATE_TIME,
            "closed_at": _nullable(DATE_TIME),
            "what_happened": {"type": "string"},
            "outcome_wanted": {"type": "string"},
            "events": {"type": "array", "items": _ref("ChallengeEvent")},
            "immediate_risk_advice": {
                "type": "string",
                "description": "Only when raised with immediate risk: who to contact now",
            },
        },
        "additionalProperties": False,
    },
    "ChallengePage": _page_of("Challenge"),
    "ChallengeCreate": {
        "type": "object",
        "description": "A professional challenge about another agency involved in the case.",
        "required": [
            "immediate_risk",
            "about_agency_id",
            "kind",
            "what_happened",
            "outcome_wanted",
            "urgent",
        ],
        "properties": {
            "immediate_risk": {
                "type": "boolean",
                "description": "Could the child be at immediate risk of harm? If so, contact "
                "the front door or emergency services now; the challenge is raised as urgent.",
            },
            "about_agency_id": ID,
            "kind": _enum(ChallengeKind),
            "what_happened": _text(5000),
            "outcome_wanted": _text(5000),
            "urgent": {"type": "boolean"},
            "share_ids": {"type": "array", "items": ID, "uniqueItems": True, "maxItems": 100},
            "note_ids": {"type": "array", "items": ID, "uniqueItems": True, "maxItems": 100},
        },
        "additionalProperties": False,
    },
    "ChallengeOutcome": {
        "type": "object",
        "description": "The outcome of the current stage: a discussion, escalation to the next "
        "stage, resolution (what was agreed, actions) or withdrawal (the raiser only).",
        "required": ["outcome", "text"],
        "properties": {
            "outcome": _enum(["discussion", "escalate", "resolve", "withdraw"]),
            "stage": {
                "type": "integer",
                "minimum": 1,
                "description": "The stage you are acting on: refused if it has moved on",
            },
            "text": _text(
                5000, description="What was discussed, why it escalates, what was agreed, or why"
            ),
            "actions": {
                "type": "array",
                "maxItems": ACTION_SLOTS,
                "items": {
                    "type": "object",
                    "required": ["description", "owner", "due_on"],
                    "properties": {
                        "description": _text(1000),
                        "owner": _text(120),
                        "due_on": DATE,
                    },
                    "additionalProperties": False,
                },
            },
            "themes": THEMES,
            "practice_issue": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "ChronologyEntry": {
        "type": "object",
        "required": [
            "at",
            "kind",
            "agency",
            "recorder",
            "what",
            "significance",
            "themes",
            "amended",
            "date_only",
        ],
        "properties": {
            "at": DATE_TIME,
            "kind": {"type": "string"},
            "agency": _ref("Agency"),
            "recorder": {"type": "string"},
            "what": {"type": "string"},
            "significance": {"type": "string"},
            "themes": {"type": "array", "items": {"type": "string"}},
            "amended": {"type": "boolean"},
            "date_only": {"type": "boolean", "description": "Dated by day, not time"},
        },
        "additionalProperties": False,
    },
    "ChronologyPage": _page_of("ChronologyEntry"),
}


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


PAGING = [
    _query("cursor", {"type": "string", "maxLength": 500}, "next_cursor of the previous page"),
    _query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "Items per page",
    ),
]
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"},
    "description": "A retry with the same key and body returns the first answer and records "
    "nothing new; the same key with a different body is refused (422).",
}


def _problem(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


def _ok(schema: str, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


COMMON_ERRORS = {
    "401": _problem("Missing, wrong, expired or revoked token"),
    "403": _problem("Your role does not allow this (auditors change nothing)"),
    "422": _problem("Invalid input, field by field"),
    "429": {
        **_problem("Too many requests with this token: wait Retry-After seconds"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
NOT_FOUND = {"404": _problem("Not found, or not a case your agency is involved in")}


def _get(summary: str, schema: str, params: list, op_id: str, not_found: bool = False) -> dict:
    return {
        "get": {
            "operationId": op_id,
            "summary": summary,
            "parameters": params,
            "responses": {"200": _ok(schema), **COMMON_ERRORS, **(NOT_FOUND if not_found else {})},
        }
    }


def _create(summary: str, body: str, schema: str, op_id: str) -> dict:
    return {
        "operationId": op_id,
        "summary": summary,
        "parameters": [IDEMPOTENCY],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        },
        "responses": {
            "201": _ok(schema, "Recorded"),
            "409": _problem("A call with this Idempotency-Key is still in progress"),
            **COMMON_ERRORS,
            **NOT_FOUND,
        },
    }


DATE_FILTERS = "(dates in the partnership's local time, inclusive)"
CONCERN_FILTERS = [
    _query("state", _enum(["awaiting_response", "acknowledged"]), "Only concerns in this state"),
    _query("overdue", {"type": "boolean"}, "Only overdue (true) or not yet overdue (false)"),
    _query("due_from", DATE, f"Due on or after this date {DATE_FILTERS}"),
    _query("due_to", DATE, f"Due on or before this date {DATE_FILTERS}"),
    *PAGING,
]


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Safeguarding partnership tracker API",
            "version": "1.0.0",
            "description": "Record shares, answer concerns, raise and move professional "
            "challenges, and read what is waiting for your agency, with the same rules as the "
            "web pages. Create a token on the API tokens page; see /api/guide.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token",
                }
            },
            "schemas": SCHEMAS,
        },
        "paths": {
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/api/v1/cases": _get(
                "Cases your agency is involved in (auditors: all cases)",
                "CasePage",
                [
                    _query("status", _enum(["open", "closed"]), "Only cases in this state"),
                    _query("created_from", DATE, f"Opened on or after {DATE_FILTERS}"),
                    _query("created_to", DATE, f"Opened on or before {DATE_FILTERS}"),
                    *PAGING,
                ],
                "listCases",
            ),
            "/api/v1/cases/{case_id}": _get(
                "One case", "Case", [_path("case_id")], "getCase", not_found=True
            ),
            "/api/v1/cases/{case_id}/shares": {
                **_get(
                    "Shares on a case, newest first",
                    "SharePage",
                    [
                        _path("case_id"),
                        _query("recorded_from", DATE, f"Recorded on or after {DATE_FILTERS}"),
                        _query("recorded_to", DATE, f"Recorded on or before {DATE_FILTERS}"),
                        _query("needs_response", {"type": "boolean"}, "Only concerns (true)"),
                        *PAGING,
                    ],
                    "listShares",
                    not_found=True,
                ),
                "post": {
                    **_create("Record a share", "ShareCreate", "Share", "createShare"),
                    "parameters": [_path("case_id"), IDEMPOTENCY],
                },
            },
            "/api/v1/shares/{share_id}": _get(
                "One share (the first look by a receiving agency is its first view)",
                "Share",
                [_path("share_id")],
                "getShare",
                not_found=True,
            ),
            "/api/v1/shares/{share_id}/rating": {
                "post": {
                    **_create(
                        "Change the rating of an open concern (with a rationale)",
                        "RatingChange",
                        "Share",
                        "changeRating",
                    ),
                    "parameters": [_path("share_id"), IDEMPOTENCY],
                }
            },
            "/api/v1/concerns/{concern_id}/acknowledgement": {
                "post": {
                    **_create(
                        "Acknowledge a share sent to your agency",
                        "AcknowledgementCreate",
                        "Concern",
                        "acknowledgeShare",
                    ),
                    "parameters": [_path("concern_id"), IDEMPOTENCY],
                }
            },
            "/api/v1/concerns/{concern_id}/outcome": {
                "post": {
                    **_create(
                        "Record what your agency did with a share sent to it",
                        "OutcomeCreate",
                        "Concern",
                        "recordShareOutcome",
                    ),
                    "parameters": [_path("concern_id"), IDEMPOTENCY],
                }
            },
            "/api/v1/cases/{case_id}/no-share-decisions": {
                **_get(
                    "Decisions not to share on a case, newest first",
                    "NoShareDecisionPage",
                    [_path("case_id"), *PAGING],
                    "listNoShareDecisions",
                    not_found=True,
                ),
                "post": {
                    **_create(
                        "Record a decision not to share",
                        "NoShareDecisionCreate",
                        "NoShareDecision",
                        "recordNoShareDecision",
                    ),
                    "parameters": [_path("case_id"), IDEMPOTENCY],
                },
            },
            "/api/v1/concerns/{concern_id}/response": {
                "post": {
                    **_create(
                        "Respond to a concern shared with your agency",
                        "ResponseCreate",
                        "Concern",
                        "respondToConcern",
                    ),
                    "parameters": [_path("concern_id"), IDEMPOTENCY],
                }
            },
            "/api/v1/concerns/awaiting-us": _get(
                "Concerns shared with your agency awaiting its response, soonest due first",
                "ConcernPage",
                CONCERN_FILTERS,
                "concernsAwaitingUs",
            ),
            "/api/v1/concerns/awaiting-them": _get(
                "Concerns your agency shared that others have not yet answered",
                "ConcernPage",
                CONCERN_FILTERS,
                "concernsAwaitingThem",
            ),
            "/api/v1/challenges": _get(
                "Professional challenges you may read, newest first",
                "ChallengePage",
                [
                    _query("status", _enum(ChallengeStatus), "Only challenges in this state"),
                    _query("case_id", ID, "Only challenges on this case"),
                    _query("raised_from", DATE, f"Raised on or after {DATE_FILTERS}"),
                    _query("raised_to", DATE, f"Raised on or before {DATE_FILTERS}"),
                    *PAGING,
                ],
                "listChallenges",
            ),
            "/api/v1/cases/{case_id}/challenges": {
                "post": {
                    **_create(
                        "Raise a professional challenge",
                        "ChallengeCreate",
                        "Challenge",
                        "raiseChallenge",
                    ),
                    "parameters": [_path("case_id"), IDEMPOTENCY],
                }
            },
            "/api/v1/challenges/{challenge_id}/outcomes": {
                "post": {
                    **_create(
                        "Record the outcome of the current stage",
                        "ChallengeOutcome",
                        "Challenge",
                        "recordStageOutcome",
                    ),
                    "parameters": [_path("challenge_id"), IDEMPOTENCY],
                }
            },
            "/api/v1/cases/{case_id}/chronology": _get(
                "A case's chronology, oldest first",
                "ChronologyPage",
                [
                    _path("case_id"),
                    _query("kind", {"type": "string", "maxLength": 40}, "Only this kind of entry"),
                    _query("agency_id", ID, "Only entries from this agency"),
                    _query("theme", _enum(Theme), "Only entries with this learning theme"),
                    _query("from", DATE, f"On or after {DATE_FILTERS}"),
                    _query("to", DATE, f"On or before {DATE_FILTERS}"),
                    *PAGING,
                ],
                "caseChronology",
                not_found=True,
            ),
        },
    }
