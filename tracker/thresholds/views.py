"""Threshold views: each agency's view of a case's level of need (disagreement prompts a
professional challenge)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker import access
from tracker.cases.forms import choices
from tracker.models import Case
from tracker.services import cases, notes
from tracker.thresholds.forms import ThresholdForm

blueprint = Blueprint("thresholds", __name__)


@blueprint.before_request
@login_required
def require_sign_in():
    """Every page here is case content."""


@blueprint.route("/cases/<int:case_id>/threshold", methods=["GET", "POST"])
def threshold(case_id: int):
    case = access.case_for_changing(case_id)
    form = ThresholdForm()
    form.level.choices = choices((level, level) for level in notes.threshold_levels())
    if form.validate_on_submit():
        try:
            notes.record_threshold_view(
                current_user, case, level=form.level.data, reason=form.reason.data
            )
        except notes.NoteError as error:
            form.refused(error)
        else:
            flash("Threshold view recorded", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    cases.record_view(case, "case.form_view")  # the page names the child: a view of case data
    return render_template(
        "thresholds/threshold.html",
        case=case,
        form=form,
        title="Record your agency's threshold view",
    ), 400 if form.errors else 200


def case_thresholds(case: Case) -> dict:
    """What the case page shows of the agencies' threshold views
    (templates/thresholds/_case_thresholds.html)."""
    views = notes.current_threshold_views(case)
    return {
        "threshold_views": sorted(views.values(), key=lambda v: v.agency.name),
        "thresholds_disagree": notes.thresholds_disagree(case),
        "challenge_url": url_for("challenges.raise_challenge", case_id=case.id, from_threshold=1)
        if "challenges.raise_challenge" in current_app.view_functions
        else None,
    }
