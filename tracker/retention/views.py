"""Records governance pages: the disposal review queue and its decisions, the disposal report,
legal holds (reviewers: access.reviews_retention), and whether a child is looked after (the
people working on the case: it sets which retention rule applies)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import access, inputs
from tracker.extensions import db
from tracker.models import DisposalReview, ReviewStatus
from tracker.retention.forms import DecisionForm, HoldForm, LiftHoldForm, LookedAfterForm
from tracker.services import cases, retention

blueprint = Blueprint("retention", __name__, url_prefix="/retention")


@blueprint.before_request
@login_required
def require_sign_in():
    """Every page here names cases."""


def _status(form) -> int:
    return 400 if form.errors else 200


@blueprint.route("/")
def queue():
    access.require(access.reviews_retention(current_user))
    items = retention.queue()
    retention.record_list_view("retention.queue_view", items)
    return render_template("retention/queue.html", items=items, title="Disposal review queue")


@blueprint.route("/disposed")
def report():
    access.require(access.reviews_retention(current_user))
    page = inputs.paginate(retention.disposed())
    retention.record_list_view("retention.report_view", page.items)
    return render_template("retention/report.html", page=page, title="Disposal report")


@blueprint.route("/items/<int:review_id>", methods=["GET", "POST"])
def decide(review_id: int):
    access.require(access.reviews_retention(current_user))
    item = db.get_or_404(DisposalReview, review_id)
    if item.status != ReviewStatus.PENDING.value:
        flash("This item has already been decided", "info")
        return redirect(url_for("retention.queue"))
    form = DecisionForm()

    def decision() -> retention.Decision:
        return retention.Decision(
            form.decision.data, form.reason.data or "", form.deferred_until.data
        )

    if form.validate_on_submit(lambda: retention.decision_problems(decision(), item)):
        try:
            retention.decide(current_user, item.id, decision())
        except retention.RetentionError as error:
            form.refused(error, "decision")
        else:
            done = "disposed of" if form.decision.data == retention.DISPOSE else "deferred"
            flash(f"{item.case.reference} {done}", "success")
            return redirect(url_for("retention.queue"))
    cases.record_view(item.case, "case.form_view")
    return render_template(
        "retention/decide.html",
        item=item,
        case=item.case,
        hold=retention.standing_hold(item.case_id),
        history=retention.history(item.case_id),
        form=form,
        title=f"Review {item.case.reference} for disposal",
    ), _status(form)


@blueprint.route("/cases/<int:case_id>/hold", methods=["GET", "POST"])
def hold(case_id: int):
    access.require(access.reviews_retention(current_user))
    case = access.case_for_reading(case_id)
    form = HoldForm()
    if form.validate_on_submit():
        try:
            retention.set_hold(current_user, case.id, form.reason.data)
        except retention.RetentionError as error:
            form.refused(error)
        else:
            flash("Legal hold set: the records will not be disposed of while it stands", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    cases.record_view(case, "case.form_view")
    return render_template(
        "retention/hold.html", case=case, form=form, title="Set a legal hold"
    ), _status(form)


@blueprint.route("/cases/<int:case_id>/hold/lift", methods=["GET", "POST"])
def lift_hold(case_id: int):
    access.require(access.reviews_retention(current_user))
    case = access.case_for_reading(case_id)
    standing = retention.standing_hold(case.id)
    if standing is None:
        return redirect(url_for("cases.show", case_id=case.id))
    form = LiftHoldForm()
    if form.validate_on_submit():
        try:
            retention.lift_hold(current_user, case.id, form.reason.data)
        except retention.RetentionError as error:
            form.refused(error)
        else:
            flash("Legal hold lifted", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    cases.record_view(case, "case.form_view")
    return render_template(
        "retention/lift_hold.html", case=case, hold=standing, form=form, title="Lift the legal hold"
    ), _status(form)


@blueprint.route("/cases/<int:case_id>/looked-after", methods=["GET", "POST"])
def looked_after(case_id: int):
    case = access.case_for_changing(case_id)
    form = LookedAfterForm()
    if request.method == "GET":
        form.looked_after.data = "yes" if case.looked_after else "no"
    if form.validate_on_submit():
        try:
            retention.set_looked_after(
                current_user, case, form.looked_after.data == "yes", form.reason.data
            )
        except retention.RetentionError as error:
            form.refused(error)
        else:
            flash("Saved", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    cases.record_view(case, "case.form_view")
    return render_template(
        "retention/looked_after.html", case=case, form=form, title="Is the child looked after?"
    ), _status(form)
