"""Partnership reports: for the partnership's named leads and auditors. Read-only, audited."""

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user, login_required

from tracker import access
from tracker.extensions import db
from tracker.reports.forms import PeriodForm
from tracker.services import reports, subject_access

blueprint = Blueprint("reports", __name__, url_prefix="/reports")


@blueprint.before_request
@login_required
def require_report_reader():
    access.require(access.reads_partnership_wide(current_user))


def _period(form: PeriodForm) -> reports.Period | None:
    """The chosen period (defaults fill a missing end), or None when the form has errors."""
    if not form.validate():
        return None
    default = reports.default_period()
    end = form.to_date.data or default.end
    start = form.from_date.data or min(default.start, end)
    return reports.Period(start, end)


@blueprint.route("/")
def index():
    form = PeriodForm(request.args)
    period = _period(form)
    if period is None:
        return render_template("reports/index.html", form=form, report=None, title="Reports"), 400
    report = reports.build(period)
    reports.record_view(report)
    if not request.args:
        form.from_date.data, form.to_date.data = period.start, period.end
    return render_template(
        "reports/index.html",
        form=form,
        report=report,
        outcome_columns=reports.OUTCOMES,
        # Information governance is the auditors' (a partnership lead reads reports too).
        overdue_requests=db.session.scalars(subject_access.overdue_requests()).all()
        if access.can_audit(current_user)
        else None,
        title="Reports",
    )


@blueprint.route("/<name>.csv")
def export(name: str):
    if name not in reports.EXPORTS:
        abort(404)
    form = PeriodForm(request.args)
    period = _period(form)
    if period is None:
        return render_template("reports/index.html", form=form, report=None, title="Reports"), 400
    report = reports.build(period)
    reports.record_view(report, f"report.export_{name}")
    filename = f"{name}-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    return Response(
        reports.EXPORTS[name](report),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
