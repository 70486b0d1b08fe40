"""Break-glass: asking for emergency read access to a case, the auditors' review of each use, and
the full list of who looked at a case (tracker.services.break_glass)."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker import access, inputs
from tracker.break_glass.forms import RequestForm, ReviewForm
from tracker.extensions import db
from tracker.models import BreakGlassGrant, Case, GrantReview
from tracker.services import audit, break_glass

blueprint = Blueprint("break_glass", __name__, url_prefix="/emergency-access")


@blueprint.before_request
@login_required
def require_sign_in():
    """Every page here is about cases."""


def _status(form) -> int:
    return 400 if form.errors else 200


@blueprint.route("/", methods=["GET", "POST"])
def request_access():
    access.require(access.can_request_break_glass(current_user))
    form = RequestForm()
    found: list[Case] = []

    def case_problems():
        if form.case.errors:
            return []
        try:
            found.append(break_glass.find_case(form.case.data))
        except break_glass.BreakGlassError as error:
            return [error]
        return []

    if form.validate_on_submit(case_problems):
        try:
            grant, new = break_glass.request_access(current_user, found[0], form.reason.data)
        except break_glass.BreakGlassError as error:
            form.refused(error)
        else:
            flash(
                "Emergency read access granted: the case's agencies have been told"
                if new
                else "You already have emergency read access to this case",
                "success",
            )
            return redirect(url_for("cases.show", case_id=grant.case_id))
    return render_template(
        "break_glass/request.html",
        form=form,
        hours=current_app.config["BREAK_GLASS_HOURS"],
        title="Ask for emergency access to a case",
    ), _status(form)


@blueprint.route("/reviews")
def reviews():
    access.require(access.can_audit(current_user))
    page = inputs.paginate(break_glass.review_queue())
    reviewed = break_glass.recently_reviewed()
    audit.record_trail_view(
        "break_glass.queue_view",
        changes={"shown": [None, [g.id for g in [*page.items, *reviewed]]]},
    )
    return render_template(
        "break_glass/reviews.html",
        page=page,
        reviewed=reviewed,
        title="Emergency access to review",
    )


@blueprint.route("/<int:grant_id>/review", methods=["GET", "POST"])
def review(grant_id: int):
    access.require(access.can_audit(current_user))
    grant = db.session.get(BreakGlassGrant, grant_id)
    if grant is None:
        abort(404)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            break_glass.review(current_user, grant, form.decision.data, form.reason.data)
        except break_glass.BreakGlassError as error:
            form.refused(error)
        else:
            flash(f"Emergency access {grant.review_label.lower()}", "success")
            return redirect(url_for("break_glass.reviews"))
    reads = break_glass.reads_under(grant)
    audit.record_trail_view(
        "break_glass.review_view",
        case_id=grant.case_id,
        changes={"grant_id": [None, grant.id]},
    )
    return render_template(
        "break_glass/review.html",
        grant=grant,
        reads=reads,
        form=form,
        pending=grant.review_status == GrantReview.PENDING.value,
        title="Review emergency access",
    ), _status(form)


@blueprint.route("/cases/<int:case_id>/who-looked")
def who_looked(case_id: int):
    access.require(access.can_audit(current_user))
    case = access.case_for_reading(case_id)
    page = inputs.paginate(break_glass.accesses_query(case))
    accesses = break_glass.as_accesses(page.items)
    audit.record_trail_view("case.who_looked", case_id=case.id)
    return render_template(
        "break_glass/who_looked.html",
        case=case,
        page=page,
        accesses=accesses,
        title=f"Who looked at {case.reference}",
    )
