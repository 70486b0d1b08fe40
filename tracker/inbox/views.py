"""The in-app inbox: each person's alerts, unread first, and the weekly digest page."""

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user, login_required

from tracker import access, clock, inputs
from tracker.extensions import db
from tracker.inbox.forms import AlertForm, ReadAllForm
from tracker.models import Case
from tracker.services import alerts, cases
from tracker.services.digest import digest_cases, digest_week

blueprint = Blueprint("inbox", __name__, url_prefix="/inbox")


@blueprint.app_context_processor
def unread_alerts() -> dict:
    """The header's unread count (no query for someone signed out)."""
    if not current_user.is_authenticated:
        return {}
    # Once a request: every form widget's render runs the context processors again.
    if "unread_alert_count" not in g:
        g.unread_alert_count = alerts.unread_count(current_user)
    return {"unread_alert_count": g.unread_alert_count}


@blueprint.before_request
@login_required
def require_sign_in():
    """Everyone signed in has an inbox."""


@blueprint.route("/")
def index():
    page = inputs.paginate(alerts.inbox_query(current_user))
    return render_template(
        "inbox/index.html",
        page=page,
        form=AlertForm(),
        read_all=ReadAllForm(),
        title="Inbox",
    )


@blueprint.route("/read-all", methods=["POST"])
def read_all():
    if not ReadAllForm().validate_on_submit():
        abort(400)
    marked = alerts.mark_all_read(current_user)
    flash(f"{marked} alert{'s' if marked != 1 else ''} marked as read", "success")
    return redirect(url_for("inbox.index"))


@blueprint.route("/<int:alert_id>/read", methods=["POST"])
def read(alert_id: int):
    alert = alerts.alert_for(current_user, alert_id)
    if alert is None:
        abort(404)
    form = AlertForm()
    if not form.validate_on_submit():
        abort(400)
    alerts.mark_read(current_user, alert)
    if form.open.data:
        return redirect(alert.link)
    return redirect(url_for("inbox.index", page=inputs.id_arg("page")))


@blueprint.route("/digest")
def digest():
    """The cases behind a weekly digest: those led by the reader's agency needing attention."""
    access.require(access.can_read_cases(current_user))
    now = clock.now()
    flagged = digest_cases(now).get(current_user.agency_id, {})
    rows = db.session.scalars(
        access.visible_cases(current_user)
        .where(Case.id.in_(list(flagged)))
        .order_by(Case.reference)
    ).all()
    cases.record_list_view(rows, "weekly digest")
    return render_template(
        "inbox/digest.html",
        rows=rows,
        reasons=flagged,
        week=digest_week(now),
        title="Cases needing attention",
    )
