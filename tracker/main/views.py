from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tracker import access, clock, security
from tracker.extensions import db
from tracker.protected_sources.views import prepare as prepare_protected_sources
from tracker.services import home as home_lists

blueprint = Blueprint("main", __name__)


@blueprint.route("/")
@login_required
def home():
    """Each person's starting point: what needs their attention, most pressing first."""
    if access.can_administer(current_user):
        return redirect(url_for("admin.index"))
    now = clock.now()
    shown = home_lists.for_person(current_user, now)
    prepare_protected_sources(concern.share.case_id for concern in shown.pop("concerns", []))
    return render_template("main/home.html", title="Home", now=now, **shown)


@blueprint.route(security.HEALTH_PATH)
def health():
    """For the deployment's probes: the app runs and its database answers. No session, no audit
    (nothing of a case is read), and nothing about the failure beyond "unavailable": the reason
    goes to the log, not to whoever can reach the port."""
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        current_app.logger.exception("Health check: the database did not answer")
        db.session.rollback()
        return "unavailable\n", 503, headers
    db.session.rollback()  # nothing to keep: end the read at once
    return "ok\n", 200, headers
