"""Named leads: who acts for each agency at each stage of the challenge procedure (admins for every
agency, leads for their own)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import access
from tracker.cases.forms import choices
from tracker.extensions import db
from tracker.leads.forms import NamedLeadForm
from tracker.models import Agency
from tracker.services import leads, procedure

blueprint = Blueprint("leads", __name__)


@blueprint.before_request
@login_required
def require_sign_in():
    """Who leads on challenges is for leads and administrators only."""


@blueprint.route("/challenges/leads")
def named_leads():
    access.require(access.can_manage_leads(current_user))
    agencies = leads.manageable_agencies(current_user)
    return render_template(
        "leads/index.html",
        agencies=agencies,
        stages=procedure.current().stages,
        table=leads.table([a.id for a in agencies]),
        title="Named leads for professional challenges",
    )


@blueprint.route("/challenges/leads/<int:agency_id>/<int:stage>", methods=["GET", "POST"])
def edit_named_lead(agency_id: int, stage: int):
    access.require(access.can_manage_leads(current_user))
    agency = db.get_or_404(Agency, agency_id)
    access.require(leads.can_manage(current_user, agency.id))
    if not 1 <= stage <= procedure.current().last_stage:
        abort(404)
    form = NamedLeadForm()
    people = choices((p.id, p.name) for p in leads.candidates(agency.id))
    form.lead_id.choices = [*choices([(0, "Nobody named")]), *people]
    form.deputy_id.choices = [*choices([(0, "No deputy")]), *people]
    named = leads.current(agency.id, stage)
    if request.method == "GET" and named:
        form.lead_id.data = named.lead_id
        form.deputy_id.data = named.deputy_id or 0
    if form.validate_on_submit():
        try:
            leads.assign(current_user, agency, stage, form.lead_id.data, form.deputy_id.data)
        except leads.LeadError as error:
            form.refused(error, "lead_id")
        else:
            flash(f"{agency.name}: stage {stage} lead saved", "success")
            return redirect(url_for("leads.named_leads"))
    return render_template(
        "leads/edit.html",
        agency=agency,
        stage=procedure.current().stage(stage),
        form=form,
        title=f"Stage {stage} lead for {agency.name}",
    ), 400 if form.errors else 200
