"""A named lead's approvals: new or returning people of their own agency, who cannot sign in
until someone who already reads the agency's cases says they belong (tracker.services.people
.approvers). Administrators decide the rest at Admin > Approvals."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker import access
from tracker.admin.forms import ApprovalForm
from tracker.errors import render_error
from tracker.services import approvals, people

blueprint = Blueprint("approvals", __name__, url_prefix="/approvals")


@blueprint.before_request
@login_required
def require_lead():
    access.require(access.approves_own_agencys_people(current_user))


@blueprint.route("/")
def index():
    return render_template(
        "approvals/index.html",
        approvals=approvals.approvals_for(current_user),
        title="New people waiting for your approval",
    )


@blueprint.route("/<int:approval_id>", methods=["POST"])
def decide(approval_id: int):
    return decide_from_form(approval_id, "approvals.index")


def decide_from_form(approval_id: int, back: str):
    """One decision, from the lead's page or the administrators' (people.decide checks who)."""
    form = ApprovalForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        approval = people.decide(current_user, approval_id, approve=form.decision.data == "approve")
    except people.PeopleError as error:
        return render_error(409, str(error))
    about = approval.identity_provider.name if approval.identity_provider else approval.person.name
    flash(f"{about}: {approval.role_label} {approval.outcome}", "success")
    return redirect(url_for(back))
