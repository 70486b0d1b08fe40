"""The case chronology: the whole multi-agency history of one case, filtered, on a page or as CSV."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import login_required

from tracker import access
from tracker.cases.forms import choices
from tracker.chronology.forms import ChronologyFilterForm
from tracker.protected_sources.views import redactor
from tracker.services import cases, chronology

blueprint = Blueprint("chronology", __name__)


@blueprint.before_request
@login_required
def require_sign_in():
    """Every page here is case content."""


def _chronology(case_id: int):
    case = access.case_for_reading(case_id)
    form = ChronologyFilterForm(request.args)
    form.agency.choices = [
        *choices([(0, "All agencies")]),
        *choices((i.agency_id, i.agency.name) for i in case.involvements),
    ]
    form.kind.choices = [
        *choices([("", "All kinds")]),
        *choices((kind, label) for kind, (label, _) in chronology.SOURCES.items()),
    ]
    form.validate()
    entries = chronology.entries_for(
        case.id,
        # a filter with an error is left out (and named in the error summary)
        agency_id=None if form.agency.errors else form.agency.data or None,
        theme=form.theme.data or None,
        kind=form.kind.data or None,
    )
    protect = redactor(case.id)
    return case, form, [protect.entry(e) for e in entries]


@blueprint.route("/cases/<int:case_id>/chronology")
def case_chronology(case_id: int):
    case, form, entries = _chronology(case_id)
    cases.record_view(case, "chronology.view")
    return render_template(
        "chronology/chronology.html",
        case=case,
        form=form,
        filter_form=form,
        entries=entries,
        csv_url=url_for("chronology.chronology_csv", case_id=case.id, **request.args.to_dict()),
        title=f"Chronology {case.reference}",
    ), 400 if form.errors else 200


@blueprint.route("/cases/<int:case_id>/chronology.csv")
def chronology_csv(case_id: int):
    case, _, entries = _chronology(case_id)
    cases.record_view(case, "chronology.export")
    return Response(
        chronology.to_csv(entries),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="chronology-{case.reference}.csv"'},
    )
