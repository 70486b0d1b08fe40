"""Information sharing pages: shares and the concerns they raise (acknowledge, respond, outcome,
rating), and decisions not to share. Notes, threshold views, the chronology and the lists of open
concerns have their own folders (tracker/notes, thresholds, chronology, concerns)."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from tracker import access, clock
from tracker.cases.forms import choices, choose_first
from tracker.extensions import db
from tracker.models import OUTCOME_LABELS, Case, Concern, Outcome, ProtectedItem
from tracker.protected_sources.views import prepare as prepare_protected_sources
from tracker.protected_sources.views import redactor, require_nothing_hidden
from tracker.services import (
    cases,
    no_share,
    procedure,
    protected_sources,
    sharing,
    workdays,
)
from tracker.shares.forms import (
    CIRCUMSTANCE_LABELS,
    CONSENT_LABELS,
    IDENTIFIER_ABSENT_LABELS,
    LAWFUL_BASIS_LABELS,
    METHOD_LABELS,
    AcknowledgeForm,
    AmendShareForm,
    NoShareForm,
    OutcomeForm,
    RatingForm,
    ResponseForm,
    rating_choices,
    share_form,
)

blueprint = Blueprint("shares", __name__)


@blueprint.before_request
@login_required
def require_sign_in():
    """Every page here is case content."""


@blueprint.context_processor
def labels():
    return {
        "method_labels": METHOD_LABELS,
        "lawful_basis_labels": LAWFUL_BASIS_LABELS,
        "consent_labels": CONSENT_LABELS,
        "circumstance_labels": CIRCUMSTANCE_LABELS,
        "identifier_absent_labels": IDENTIFIER_ABSENT_LABELS,
        "outcome_labels": OUTCOME_LABELS,
    }


def _status(form) -> int:
    return 400 if form.errors else 200


def _involved_agencies(case: Case, exclude: int | None = None):
    return [i.agency for i in case.current_involvements if i.agency_id != exclude]


# --- Shares -------------------------------------------------------------------------------------


def _record(case_id: int, recorded_as: str):
    case = access.case_for_changing(case_id)
    others = _involved_agencies(case, exclude=current_user.agency_id)
    form = share_form(others)
    agency_choices = choices((a.id, a.name) for a in others)
    form.recipient_agency_ids.choices = agency_choices
    form.from_agency_id.choices = choose_first(agency_choices)
    protect = redactor(case.id)  # redacted before it is cut short, so no name is half shown
    form.revisits_decision_id.choices = (
        [
            *choices([(0, "No")]),
            *choices(
                (d.id, f"{d.decided_at:%-d %b %Y}: {protect(d.information)[:80]}")
                for d in decisions
            ),
        ]
        if (decisions := no_share.open_decisions(case.id))
        else []
    )
    form.lawful_context = (case, lambda: sharing.sharing_agency(recorded_as, form, current_user))
    received = recorded_as == sharing.RECEIVED
    if request.method == "GET":
        form.fill_now()
        if not received:
            form.from_person_name.data = current_user.name
            if len(others) == 1:  # the only agency it could have gone to
                form.recipient_agency_ids.data = [others[0].id]
        elif len(others) == 1:
            form.from_agency_id.data = others[0].id

    def recipient_ids() -> list[int]:
        return list(form.recipient_agency_ids.data or [])  # the service adds one's own if received

    def who_shared_with_whom():
        return sharing.recipient_problems(
            current_user, case, recorded_as, form.from_agency_id.data or 0, recipient_ids()
        )

    if form.validate_on_submit(who_shared_with_whom):
        try:
            share = sharing.record_share(
                current_user,
                case,
                recorded_as=recorded_as,
                from_agency_id=form.from_agency_id.data or 0,
                recipients=[
                    sharing.Recipient(agency_id, form.people_for(agency_id))
                    for agency_id in recipient_ids()
                ],
                details=form.details(),
                needs_response=form.needs_response.data == "yes",
                priority=form.priority.data or "standard",
                rating=form.rating.data or None,
                revisits_decision_id=form.revisits_decision_id.data or None,
            )
        except sharing.ShareError as error:
            form.refused(error)
        else:
            flash("Share recorded", "success")
            return redirect(url_for("shares.show", share_id=share.id))
    cases.record_view(case, "case.form_view")  # the page names the child: a view of case data
    return render_template(
        "shares/record.html",
        case=case,
        form=form,
        recorded_as=recorded_as,
        title="Record a share received" if received else "Record a share",
    ), _status(form)


@blueprint.route("/cases/<int:case_id>/shares/new", methods=["GET", "POST"])
def record_sent(case_id: int):
    return _record(case_id, sharing.SENT)


@blueprint.route("/cases/<int:case_id>/shares/received", methods=["GET", "POST"])
def record_received(case_id: int):
    return _record(case_id, sharing.RECEIVED)


def _render_share(share, *, status: int = 200, **forms):
    case = access.case_for_reading(share.case_id)
    sharing.record_share_view(share, current_user)
    forms.setdefault("rating_form", RatingForm(formdata=None))
    forms["rating_form"].rating.choices = rating_choices()
    forms.setdefault("outcome_form", OutcomeForm(formdata=None))
    prepare_protected_sources([case.id])
    return render_template(
        "shares/show.html",
        case=case,
        share=share,
        rating=procedure.current().rating(share.rating) if share.rating else None,
        share_agency_ids={share.from_agency_id, *(r.agency_id for r in share.recipients)},
        concern_dues=sharing.due_statuses(share.recipients, clock.now()),
        can_change=access.can_change_cases(current_user),
        title="Share",
        **forms,
    ), status


@blueprint.route("/shares/<int:share_id>")
def show(share_id: int):
    return _render_share(sharing.share_for_reading(share_id, current_user))


@blueprint.route("/shares/<int:share_id>/amend", methods=["GET", "POST"])
def amend(share_id: int):
    share = sharing.share_for_reading(share_id, current_user)
    case = access.case_for_changing(share.case_id)
    require_nothing_hidden(case.id, protected_sources.item_texts(ProtectedItem.SHARE, share))
    form = AmendShareForm()
    form.lawful_context = (case, lambda: share.from_agency)
    if request.method == "GET":
        form.fill_from(share.current)
        form.version.data = str(share.current.number)
    if form.validate_on_submit(lambda: sharing.amended_since(share, form.seen_version())):
        try:
            sharing.amend_share(
                current_user, share, form.details(), form.reason.data, form.seen_version()
            )
        except sharing.ShareError as error:
            form.refused(error)
        else:
            flash("Share amended: the earlier version stays in its history", "success")
            return redirect(url_for("shares.show", share_id=share.id))
    if form.seen_version() != share.current.number:  # and the page says so: saving is a choice
        form.version.data = str(share.current.number)
    cases.record_view(case, "case.form_view")
    return render_template(
        "shares/amend.html", case=case, share=share, form=form, title="Amend a share"
    ), _status(form)


def _concern(share_id: int, recipient_id: int) -> tuple[Case, Concern]:
    share = sharing.share_for_reading(share_id, current_user)
    case = access.case_for_changing(share.case_id)
    recipient = db.session.get(Concern, recipient_id)
    if recipient is None or recipient.share_id != share.id:
        abort(404)
    return case, recipient


@blueprint.route("/shares/<int:share_id>/concerns/<int:recipient_id>/acknowledge", methods=["POST"])
def acknowledge(share_id: int, recipient_id: int):
    _, recipient = _concern(share_id, recipient_id)
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            sharing.acknowledge(current_user, recipient)
        except sharing.ShareError as error:
            form.acknowledge.errors = [str(error)]
        else:
            flash(
                "Concern acknowledged: it stays open until your agency responds"
                if recipient.state == "acknowledged"
                else "Acknowledged: the sender can see your agency has it",
                "success",
            )
            return redirect(url_for("shares.show", share_id=share_id))
    return _render_share(recipient.share, status=400, form=form)


@blueprint.route(
    "/shares/<int:share_id>/concerns/<int:recipient_id>/respond", methods=["GET", "POST"]
)
def respond(share_id: int, recipient_id: int):
    case, recipient = _concern(share_id, recipient_id)
    form = ResponseForm()
    amending = recipient.response is not None
    if amending:
        require_nothing_hidden(
            case.id, protected_sources.item_texts(ProtectedItem.RESPONSE, recipient)
        )
    if request.method == "GET":
        form.version.data = str(len(recipient.responses))
        if amending:
            form.action_taken.data = recipient.response.action_taken
            form.next_steps.data = recipient.response.next_steps

    def what_an_answer_needs():
        return sharing.response_problems(
            recipient, form.action_taken.data, form.reason.data, form.seen_version()
        )

    if form.validate_on_submit(what_an_answer_needs):
        try:
            sharing.respond(
                current_user,
                recipient,
                action_taken=form.action_taken.data,
                next_steps=form.next_steps.data,
                reason=form.reason.data,
                seen=form.seen_version(),
            )
        except sharing.ShareError as error:
            form.refused(error)
        else:
            flash("Response amended" if amending else "Response recorded", "success")
            return redirect(url_for("shares.show", share_id=share_id))
    if form.seen_version() != len(recipient.responses):  # and the page says so: a choice now
        form.version.data = str(len(recipient.responses))
        amending = recipient.response is not None
    prepare_protected_sources([case.id])
    cases.record_view(case, "case.form_view")
    return render_template(
        "shares/respond.html",
        case=case,
        share=recipient.share,
        recipient=recipient,
        amending=amending,
        form=form,
        title="Amend the response" if amending else "Respond to a concern",
    ), _status(form)


@blueprint.route("/shares/<int:share_id>/concerns/<int:recipient_id>/outcome", methods=["POST"])
def record_outcome(share_id: int, recipient_id: int):
    _, recipient = _concern(share_id, recipient_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            sharing.record_outcome(
                current_user, recipient, form.outcome.data, form.outcome_detail.data
            )
        except sharing.ShareError as error:
            form.add_problems(getattr(error, "problems", None) or [error])
        else:
            flash("Outcome recorded: the sender can see what your agency did with it", "success")
            return redirect(url_for("shares.show", share_id=share_id))
    return _render_share(recipient.share, status=400, form=form, outcome_form=form)


@blueprint.route("/shares/<int:share_id>/rating", methods=["POST"])
def change_rating(share_id: int):
    share = sharing.share_for_reading(share_id, current_user)
    access.case_for_changing(share.case_id)
    form = RatingForm()
    form.rating.choices = rating_choices()
    if form.validate_on_submit():
        try:
            sharing.change_rating(current_user, share, form.rating.data, form.rationale.data)
        except sharing.ShareError as error:
            form.add_problems(getattr(error, "problems", None) or [error])
        else:
            flash("Rating changed: the due time has been recalculated", "success")
            return redirect(url_for("shares.show", share_id=share_id))
    return _render_share(share, status=400, form=form, rating_form=form)


@blueprint.route("/cases/<int:case_id>/no-share/new", methods=["GET", "POST"])
def record_no_share(case_id: int):
    case = access.case_for_changing(case_id)
    form = NoShareForm()
    form.agency_ids.choices = choices(
        (a.id, a.name) for a in _involved_agencies(case, exclude=current_user.agency_id)
    )
    if request.method == "GET":
        local = workdays.to_local(clock.now())
        form.decided_on.data, form.decided_time.data = local.date(), local.strftime("%H:%M")

    def what_a_decision_needs():
        when_wrong = form.decided_on.errors or form.decided_time.errors
        return no_share.decision_problems(
            current_user,
            case,
            information=form.information.data,
            agency_ids=list(form.agency_ids.data or []),
            reason_code=form.reason_code.data,
            reason=form.reason.data,
            decided_at=None if when_wrong or form.decided_on.data is None else form.decided_at(),
        )

    if form.validate_on_submit(what_a_decision_needs):
        try:
            no_share.record_decision(
                current_user,
                case,
                information=form.information.data,
                agency_ids=list(form.agency_ids.data or []),
                reason_code=form.reason_code.data,
                reason=form.reason.data,
                decided_at=form.decided_at(),
            )
        except no_share.NoShareError as error:
            form.add_problems(getattr(error, "problems", None) or [error])
        else:
            flash("Decision not to share recorded", "success")
            return redirect(url_for("cases.show", case_id=case.id, _anchor="no-share"))
    cases.record_view(case, "case.form_view")
    return render_template(
        "shares/no_share.html", case=case, form=form, title="Record a decision not to share"
    ), _status(form)


# --- Pieces other pages include -----------------------------------------------------------------


def case_sharing(case: Case) -> dict:
    """What the case page shows about sharing (templates/shares/_case_sections.html): its view
    prepares it, so that the template only renders."""
    now = clock.now()
    shares = db.session.scalars(sharing.shares_for_case(case.id).limit(10)).all()
    unanswered = sharing.unanswered_on_case(case.id, now)
    return {
        "concern_dues": sharing.due_statuses(
            [*unanswered, *(r for share in shares for r in share.recipients)], now
        ),
        "shares": shares,
        "share_count": db.session.scalar(
            db.select(db.func.count()).select_from(
                sharing.shares_for_case(case.id).order_by(None).subquery()
            )
        ),
        "unanswered": unanswered,
        "no_share": db.session.scalars(no_share.for_case(case.id)).all(),
    }


blueprint.add_app_template_global(sharing.CONCERN_STATE_LABELS.get, "concern_state_label")


def loop_summary(recipient: Concern) -> str:
    """Where the loop back to the sender has got to, for the sender's lists and the share."""
    stage = sharing.loop_stage(recipient)
    label = sharing.LOOP_STAGE_LABELS[stage]
    if stage == "sent":
        return "Not yet opened"
    if stage == "viewed":
        return f"Opened {workdays.local_time(recipient.viewed_at)}"
    if stage == "outcome_recorded":
        return f"Outcome: {OUTCOME_LABELS[Outcome(recipient.outcome)]}"
    return label


blueprint.add_app_template_global(loop_summary, "loop_summary")
