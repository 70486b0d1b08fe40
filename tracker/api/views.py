"""/api/v1/: the JSON API for agency systems.

Thin like the web views: check the token, parse and validate the input (the OpenAPI schema, then
the web's own form class), call the same service the web page calls, serialise. Access comes from
tracker/access.py and audit events from the services, exactly as for the web pages.

Authentication is a bearer token only: the session cookie is never read or written here, so a
browser's session cannot be used to call the API and the blueprint can be exempt from CSRF.
This module holds the calls; beside it: auth.py (the token), ratelimit.py (the limits),
idempotency.py (Idempotency-Key on create calls), errors.py (every error a problem document).
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import and_, or_
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException

from tracker import access, clock
from tracker.api import API_PREFIX, auth, errors, openapi, serialise
from tracker.api import validation as v
from tracker.api.idempotency import idempotent
from tracker.api.problems import ApiError, invalid
from tracker.cases.forms import choices, choose_first
from tracker.challenges.forms import (
    ACTION_SLOTS,
    DetailsForm,
    DiscussionForm,
    EscalateForm,
    ResolveForm,
    WithdrawForm,
)
from tracker.domain import Refused
from tracker.errors import refused
from tracker.extensions import csrf, db
from tracker.models import (
    OPEN_CONCERN_STATES,
    Case,
    Challenge,
    ChallengeEvent,
    Concern,
    NoShareDecision,
    Share,
    Theme,
)
from tracker.protected_sources.views import redactor
from tracker.services import cases, challenges, chronology, no_share, sharing, workdays
from tracker.shares.forms import (
    AcknowledgeForm,
    NoShareForm,
    OutcomeForm,
    RatingForm,
    ResponseForm,
    ShareForm,
    share_form,
)

blueprint = Blueprint("api", __name__, url_prefix=API_PREFIX.rstrip("/"))
csrf.exempt(blueprint)  # bearer tokens only, never cookies: nothing for a forged form to ride on


# Authentication and the rate limits run before every call; errors become problem documents.
blueprint.before_request(auth.authenticate)
blueprint.register_error_handler(ApiError, errors.api_error)
# The rules' refusals (404, 403) as everywhere else: before this blueprint's catch-all below.
blueprint.register_error_handler(Refused, refused)
blueprint.register_error_handler(HTTPException, errors.http_error)
blueprint.register_error_handler(Exception, errors.unexpected_error)


def _person():
    return g.api_token.person


# --- paging -------------------------------------------------------------------------------------


def _after(keys, values):
    """Rows after the cursor in the (column, descending, ...) order: a keyset condition."""
    (column, descending, *_), value = keys[0], values[0]
    beyond = column < value if descending else column > value
    if len(keys) == 1:
        return beyond
    return or_(beyond, and_(column == value, _after(keys[1:], values[1:])))


def _page(query, keys, serialise_item) -> tuple[list, dict]:
    """One page of a query in a stable key order; keys are (column, descending, parse, read)."""
    size = v.limit()
    after = v.decode_cursor([parse for _, _, parse, _ in keys])
    if after is not None:
        query = query.where(_after(keys, after))
    order = [column.desc() if descending else column.asc() for column, descending, _, _ in keys]
    rows = list(db.session.scalars(query.order_by(None).order_by(*order).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    cursor = v.encode_cursor([read(rows[-1]) for _, _, _, read in keys]) if more and rows else None
    return rows, {"items": [serialise_item(row) for row in rows], "next_cursor": cursor}


def _date_range(query, column, start_name: str, end_name: str):
    start, end = v.query_date(start_name), v.query_date(end_name)
    if start is not None:
        query = query.where(column >= v.day_start(start))
    if end is not None:
        query = query.where(column < v.day_after(end))
    return query


def by_id_desc(model) -> list:
    """Newest first: the order of ids, which never changes once given."""
    return [(model.id, True, v.cursor_int, lambda row: row.id)]


# --- the document -------------------------------------------------------------------------------


@blueprint.route("/openapi.json")
def openapi_document():
    return jsonify(openapi.document())


# --- cases --------------------------------------------------------------------------------------


@blueprint.route("/cases")
def list_cases():
    query = access.visible_cases(_person())
    status = v.query_choice("status", ["open", "closed"])
    if status:
        query = query.where(Case.status == status)
    query = _date_range(query, Case.created_at, "created_from", "created_to")
    rows, body = _page(query, by_id_desc(Case), serialise.case)
    cases.record_list_view(rows, "api: cases")
    return jsonify(body)


@blueprint.route("/cases/<int:case_id>")
def get_case(case_id: int):
    case = access.case_for_reading(case_id, _person())
    cases.record_view(case)
    return jsonify(serialise.case(case))


# --- shares and concerns ------------------------------------------------------------------------


@blueprint.route("/cases/<int:case_id>/shares")
def list_shares(case_id: int):
    case = access.case_for_reading(case_id, _person())
    query = _date_range(
        sharing.shares_for_case(case.id).options(
            selectinload(Share.recipients).selectinload(Concern.share)
        ),
        Share.recorded_at,
        "recorded_from",
        "recorded_to",
    )
    needs_response = v.query_bool("needs_response")
    if needs_response is not None:
        query = query.where(Share.needs_response == needs_response)
    now = clock.now()
    _, body = _page(query, by_id_desc(Share), lambda s: serialise.share(s, now))
    cases.record_view(case, "share.list")
    return jsonify(body)


SHARE_ALIASES = {
    "shared_on": "shared_at",
    "shared_time": "shared_at",
    "recipient_agency_ids": "recipients",
}


@blueprint.route("/cases/<int:case_id>/shares", methods=["POST"])
@idempotent
def create_share(case_id: int):
    person = _person()
    case = access.case_for_changing(case_id, person)
    body = v.json_body("ShareCreate", ShareForm, SHARE_ALIASES)
    recipients = body.get("recipients") or []
    recorded_as = body.get("recorded_as", sharing.SENT)
    received = recorded_as == sharing.RECEIVED
    others = [i.agency for i in case.current_involvements if i.agency_id != person.agency_id]
    try:  # a time that cannot be read is one problem among the rest (one 422 names them all)
        local, found = _local_time("shared_at", body["shared_at"]), []
    except ApiError as error:
        local, found = None, error.errors
    form = share_form(
        others,
        formdata=v.form_data(
            [
                *(v.date_parts("shared_on", local.date()) if local else []),
                ("shared_time", local.strftime("%H:%M") if local else None),
                *(
                    (name, body.get(name))
                    for name in (
                        "from_person_name",
                        "method",
                        "summary",
                        "purpose",
                        "lawful_basis",
                        "consent",
                        "consent_reason",
                        "themes",
                        "special_category_circumstance",
                        "identifier_absent",
                        "rating",
                    )
                ),
                # Who shared it matters only for a share received (as on the web form).
                ("from_agency_id", body.get("from_agency_id") if received else None),
                ("special_category", "y" if body.get("special_category") else None),
                ("needs_response", v.yes_no(body["needs_response"])),
                ("priority", body.get("priority", "standard")),
                ("recipient_agency_ids", [r["agency_id"] for r in recipients]),
                ("revisits_decision_id", body.get("revisits_decision_id")),
            ]
        ),
        meta={"csrf": False},
    )
    form.lawful_context = (case, lambda: sharing.sharing_agency(recorded_as, form, person))
    form.revisits_decision_id.choices = []  # any id: the service checks it is this case's
    agency_choices = choices((a.id, a.name) for a in others)
    form.recipient_agency_ids.choices = agency_choices
    form.from_agency_id.choices = choose_first(agency_choices)

    def who_shared_with_whom():  # as on the web form (tracker/shares/views.py)
        return sharing.recipient_problems(
            person,
            case,
            recorded_as,
            body.get("from_agency_id") or 0,
            [r["agency_id"] for r in recipients],
        )

    v.run_form(form, SHARE_ALIASES, checks=[who_shared_with_whom], found=found)
    recipient_list = [sharing.Recipient(r["agency_id"], r.get("people_names")) for r in recipients]
    try:
        share = sharing.record_share(
            person,
            case,
            recorded_as=recorded_as,
            from_agency_id=body.get("from_agency_id") or 0,
            recipients=recipient_list,
            details=form.details(),
            needs_response=body["needs_response"],
            priority=form.priority.data or "standard",
            rating=body.get("rating") or None,
            revisits_decision_id=body.get("revisits_decision_id"),
        )
    except sharing.ShareError as error:
        raise v.service_error(error, SHARE_ALIASES) from None
    return jsonify(serialise.share(share, clock.now())), 201


def _local_time(field: str, value: str):
    """An RFC 3339 date-time as the partnership's local time (the web form's date and time)."""
    moment = v.parse_datetime(field, value)
    try:
        return workdays.to_local(moment)
    except (OverflowError, ValueError):
        raise invalid(field, "Enter a date after 1900") from None


@blueprint.route("/shares/<int:share_id>")
def get_share(share_id: int):
    person = _person()
    share = sharing.share_for_reading(share_id, person)  # 404 unless the case is readable
    sharing.record_share_view(share, person)
    return jsonify(serialise.share(share, clock.now()))


@blueprint.route("/shares/<int:share_id>/rating", methods=["POST"])
@idempotent
def change_rating(share_id: int):
    person = _person()
    share = sharing.share_for_reading(share_id, person)
    access.case_for_changing(share.case_id, person)
    body = v.json_body("RatingChange", RatingForm)
    try:
        sharing.change_rating(person, share, body["rating"], body["rationale"])
    except sharing.ShareError as error:
        raise v.service_error(error) from None
    db.session.refresh(share)
    return jsonify(serialise.share(share, clock.now())), 201


def _recipient_for_changing(concern_id: int, person) -> Concern:
    concern = db.session.get(Concern, concern_id)
    if concern is None:
        raise ApiError(404)
    sharing.share_for_reading(concern.share_id, person)  # 404 unless the case is readable
    access.case_for_changing(concern.share.case_id, person)
    return concern


@blueprint.route("/concerns/<int:concern_id>/acknowledgement", methods=["POST"])
@idempotent
def acknowledge(concern_id: int):
    person = _person()
    concern = _recipient_for_changing(concern_id, person)
    v.json_body("AcknowledgementCreate", AcknowledgeForm)
    try:
        sharing.acknowledge(person, concern)
    except sharing.ShareError as error:
        raise v.service_error(error) from None
    return jsonify(serialise.concern(concern, clock.now())), 201


@blueprint.route("/concerns/<int:concern_id>/outcome", methods=["POST"])
@idempotent
def record_share_outcome(concern_id: int):
    person = _person()
    concern = _recipient_for_changing(concern_id, person)
    body = v.json_body("OutcomeCreate", OutcomeForm)
    try:
        sharing.record_outcome(person, concern, body["outcome"], body.get("outcome_detail"))
    except sharing.ShareError as error:
        raise v.service_error(error) from None
    return jsonify(serialise.concern(concern, clock.now())), 201


# --- decisions not to share ---------------------------------------------------------------------


@blueprint.route("/cases/<int:case_id>/no-share-decisions")
def list_no_share_decisions(case_id: int):
    case = access.case_for_reading(case_id, _person())
    rows, body = _page(
        no_share.for_case(case.id), by_id_desc(NoShareDecision), serialise.no_share_decision
    )
    no_share.record_view(rows, case.id)
    return jsonify(body)


@blueprint.route("/cases/<int:case_id>/no-share-decisions", methods=["POST"])
@idempotent
def record_no_share_decision(case_id: int):
    person = _person()
    case = access.case_for_changing(case_id, person)
    body = v.json_body("NoShareDecisionCreate", NoShareForm)
    aliases = {"decided_on": "decided_at"}
    try:  # a time that cannot be read is one problem among the rest (one 422 names them all)
        decided_at, found = v.parse_datetime("decided_at", body["decided_at"]), []
    except ApiError as error:
        decided_at, found = None, error.errors
    what = {
        "information": body["information"],
        "agency_ids": body["agency_ids"],
        "reason_code": body["reason_code"],
        "reason": body["reason"],
    }
    problems = no_share.decision_problems(person, case, **what, decided_at=decided_at)
    if found or problems:
        raise v.problems_error(found + v.service_problems(problems, aliases))
    try:
        decision = no_share.record_decision(person, case, **what, decided_at=decided_at)
    except no_share.NoShareError as error:
        raise v.service_error(error, aliases) from None
    return jsonify(serialise.no_share_decision(decision)), 201


@blueprint.route("/concerns/<int:concern_id>/response", methods=["POST"])
@idempotent
def respond(concern_id: int):
    person = _person()
    concern = db.session.get(Concern, concern_id)
    if concern is None:
        raise ApiError(404)
    sharing.share_for_reading(concern.share_id, person)  # 404 unless the case is readable
    access.case_for_changing(concern.share.case_id, person)
    body = v.json_body("ResponseCreate", ResponseForm)
    form = ResponseForm(
        formdata=v.form_data((k, body.get(k)) for k in ("action_taken", "next_steps", "reason")),
        meta={"csrf": False},
    )
    v.run_form(form)
    try:
        sharing.respond(
            person,
            concern,
            action_taken=form.action_taken.data,
            next_steps=form.next_steps.data,
            reason=form.reason.data,
        )
    except sharing.ShareError as error:
        raise v.service_error(error) from None
    return jsonify(serialise.concern(concern, clock.now())), 201


def _concerns(query, where: str):
    access.require(access.can_read_cases(_person()))
    now = clock.now()
    state = v.query_choice("state", OPEN_CONCERN_STATES)
    if state:
        query = query.where(Concern.state == state)
    overdue = v.query_bool("overdue")
    if overdue is not None:
        query = query.where(Concern.due_at < now if overdue else Concern.due_at >= now)
    query = _date_range(query, Concern.due_at, "due_from", "due_to")
    keys = [
        (Concern.due_at, False, v.cursor_datetime, lambda r: r.due_at.isoformat()),
        (Concern.id, False, v.cursor_int, lambda r: r.id),
    ]
    rows, body = _page(query, keys, lambda r: serialise.concern(r, now))
    sharing.record_list_view(rows, where)
    return jsonify(body)


@blueprint.route("/concerns/awaiting-us")
def concerns_awaiting_us():
    return _concerns(
        sharing.awaiting_our_response(_person().agency_id), "api: awaiting our response"
    )


@blueprint.route("/concerns/awaiting-them")
def concerns_awaiting_them():
    return _concerns(
        sharing.awaiting_their_response(_person().agency_id), "api: awaiting their response"
    )


# --- challenges ---------------------------------------------------------------------------------


@blueprint.route("/challenges")
def list_challenges():
    query = access.visible_challenges(_person()).options(
        selectinload(Challenge.events).selectinload(ChallengeEvent.person)
    )
    status = v.query_choice("status", ["open", "resolved", "withdrawn"])
    if status:
        query = query.where(Challenge.status == status)
    case_id = v.query_int("case_id")
    if case_id is not None:
        query = query.where(Challenge.case_id == case_id)
    query = _date_range(query, Challenge.raised_at, "raised_from", "raised_to")
    now = clock.now()
    rows, body = _page(query, by_id_desc(Challenge), lambda c: serialise.challenge(c, now))
    challenges.record_list_view(rows, "api: challenges")
    return jsonify(body)


CHALLENGE_ALIASES = {"why": "text", "agreed": "text", "challenge": "stage"}
# Each outcome is the web's form for it; "text" is its main field (so its words are the web's).
OUTCOME_FORMS = {
    "discussion": DiscussionForm,
    "escalate": EscalateForm,
    "withdraw": WithdrawForm,
    "resolve": ResolveForm,
}
OUTCOME_TEXT = {"why": "text", "agreed": "text"}


@blueprint.route("/cases/<int:case_id>/challenges", methods=["POST"])
@idempotent
def raise_challenge(case_id: int):
    person = _person()
    case = access.case_for_changing(case_id, person)
    access.require(access.can_raise_challenge(person, case))
    body = v.json_body("ChallengeCreate", DetailsForm)
    immediate_risk = body["immediate_risk"]
    form = DetailsForm(
        formdata=v.form_data(
            [
                *((k, body.get(k)) for k in ("about_agency_id", "kind", "what_happened")),
                ("outcome_wanted", body.get("outcome_wanted")),
                ("share_ids", body.get("share_ids") or []),
                ("note_ids", body.get("note_ids") or []),
                # Immediate risk: always urgent (disagreement never delays safeguarding).
                ("urgent", v.yes_no(body["urgent"] or immediate_risk)),
            ]
        ),
        meta={"csrf": False},
    )
    others = [i.agency for i in case.current_involvements if i.agency_id != person.agency_id]
    form.about_agency_id.choices = choices((a.id, a.name) for a in others)
    shares, notes = challenges.evidence_options(case)
    form.share_ids.choices = choices((s.id, str(s.id)) for s in shares)
    form.note_ids.choices = choices((n.id, str(n.id)) for n in notes)
    v.run_form(form)
    advice_at = challenges.record_risk_advice(person, case) if immediate_risk else None
    try:
        challenge = challenges.raise_challenge(
            person,
            case,
            about_agency_id=form.about_agency_id.data,
            kind=form.kind.data,
            what_happened=form.what_happened.data,
            outcome_wanted=form.outcome_wanted.data,
            urgent=form.urgent.data == "yes",
            immediate_risk=immediate_risk,
            risk_advice_shown_at=advice_at,
            share_ids=form.share_ids.data or [],
            note_ids=form.note_ids.data or [],
        )
    except challenges.ChallengeError as error:
        raise v.service_error(error, CHALLENGE_ALIASES) from None
    result = serialise.challenge(challenge, clock.now())
    if immediate_risk:
        result["immediate_risk_advice"] = (
            "If the child may be at immediate risk of harm, contact the front door on "
            f"{current_app.config['FRONT_DOOR_PHONE']} or emergency services on "
            f"{current_app.config['EMERGENCY_PHONE']} now. The partnership and both agencies' "
            "leads have been alerted."
        )
    return jsonify(result), 201


# The resolve form's action rows are the body's actions, in order.
ACTION_ALIASES = {
    f"{part}_{number}": f"actions.{number - 1}.{key}"
    for number in range(1, ACTION_SLOTS + 1)
    for part, key in (("action", "description"), ("owner", "owner"), ("due", "due_on"))
}


def _resolve_form(body: dict) -> tuple[ResolveForm, list[dict]]:
    """The web's resolve form filled from the body, and the due dates it could not read (one
    problem each among the rest: one 422 names them all)."""
    pairs = [
        ("agreed", body["text"]),
        ("themes", body.get("themes") or []),
        ("practice_issue", v.yes_no(body.get("practice_issue"))),
    ]
    found = []
    for number, action in enumerate(body.get("actions") or [], start=1):
        try:
            due_parts = v.date_parts(
                f"due_{number}", v.parse_date(ACTION_ALIASES[f"due_{number}"], action["due_on"])
            )
        except ApiError as error:
            due_parts, found = [], found + error.errors
        pairs += [
            (f"action_{number}", action["description"]),
            (f"owner_{number}", action["owner"]),
            *due_parts,
        ]
    return ResolveForm(formdata=v.form_data(pairs), meta={"csrf": False}), found


@blueprint.route("/challenges/<int:challenge_id>/outcomes", methods=["POST"])
@idempotent
def record_outcome(challenge_id: int):
    person = _person()
    challenge = access.challenge_for_reading(challenge_id, person)
    raw = request.get_json(silent=True)
    form_class = OUTCOME_FORMS.get(raw.get("outcome") if isinstance(raw, dict) else None)
    body = v.json_body("ChallengeOutcome", form_class, OUTCOME_TEXT | ACTION_ALIASES)
    outcome = body["outcome"]
    if outcome == "withdraw":
        access.require(access.can_withdraw(person, challenge))
    else:
        access.require(access.can_act_on_stage(person, challenge))
    aliases, found = CHALLENGE_ALIASES, []
    no_csrf = {"csrf": False}
    if outcome == "discussion":
        form = DiscussionForm(formdata=v.form_data([("text", body["text"])]), meta=no_csrf)
    elif outcome == "escalate":
        form = EscalateForm(formdata=v.form_data([("why", body["text"])]), meta=no_csrf)
    elif outcome == "withdraw":
        form = WithdrawForm(formdata=v.form_data([("why", body["text"])]), meta=no_csrf)
    else:
        form, found = _resolve_form(body)
        aliases = CHALLENGE_ALIASES | ACTION_ALIASES
    v.run_form(form, aliases, found=found)
    try:
        if outcome == "discussion":
            challenges.record_discussion(person, challenge, form.text.data, body.get("stage"))
        elif outcome == "escalate":
            challenges.escalate(person, challenge, form.why.data, body.get("stage"))
        elif outcome == "withdraw":
            challenges.withdraw(person, challenge, form.why.data)
        else:
            challenges.resolve(
                person, challenge, form.resolution(), expected_stage=body.get("stage")
            )
    except challenges.ChallengeError as error:
        raise v.service_error(error, aliases) from None
    db.session.refresh(challenge)
    return jsonify(serialise.challenge(challenge, clock.now())), 201


# --- chronology ---------------------------------------------------------------------------------


@blueprint.route("/cases/<int:case_id>/chronology")
def case_chronology(case_id: int):
    case = access.case_for_reading(case_id, _person())
    kind = v.query_choice("kind", chronology.SOURCES)
    theme = request.args.get("theme")
    if theme is not None:
        theme = v.query_choice("theme", [t.value for t in Theme])
    entries = chronology.entries_for(
        case.id, agency_id=v.query_int("agency_id"), theme=theme, kind=kind
    )
    start, end = v.query_date("from"), v.query_date("to")
    if start is not None:
        entries = [e for e in entries if e.at >= v.day_start(start)]
    if end is not None:
        entries = [e for e in entries if e.at < v.day_after(end)]
    size = v.limit()
    offset = (v.decode_cursor([v.cursor_int]) or [0])[0]
    if offset < 0:
        raise invalid("cursor", "The cursor is not valid: use the next_cursor of the previous page")
    protect = redactor(case.id)
    shown = [protect.entry(e) for e in entries[offset : offset + size]]
    more = offset + size < len(entries)
    cases.record_view(case, "chronology.view")
    return jsonify(
        {
            "items": [serialise.entry(e) for e in shown],
            "next_cursor": v.encode_cursor([offset + size]) if more else None,
        }
    )
