from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tracker import access, clock, security
from tracker.extensions import db
from tracker.protected_sources.views import prepare as prepare_protected_sources
from tracker.services import audit, cases, challenges, sharing, subject_access

blueprint = Blueprint("main", __name__)

# Each list on the home page shows its first few, with "see all" to the full list.
HOME_LIST_SIZE = 5


@blueprint.route("/")
@login_required
def home():
    """Each person's starting point: what needs their attention, most pressing first."""
    if access.can_administer(current_user):
        return redirect(url_for("admin.index"))
    with audit.views_committed_together():
        recent = db.session.scalars(cases.recent_for(current_user).limit(HOME_LIST_SIZE)).all()
        cases.record_list_view(recent, "home")
        to_do = _to_do()
    return render_template(
        "main/home.html",
        recent=recent,
        title="Home",
        now=clock.now(),
        **to_do,
        **_governance(),
    )


def _governance() -> dict:
    """For an auditor: subject access requests past their due date."""
    if not access.can_audit(current_user):
        return {}
    return {"overdue_requests": db.session.scalars(subject_access.overdue_requests()).all()}


def _first(query):
    return db.paginate(query, page=1, per_page=HOME_LIST_SIZE, error_out=False)


def _to_do() -> dict:
    """For a worker or lead: what their agency owes, what it waits for, what waits on them."""
    if not access.can_change_cases(current_user):
        return {}
    agency_id, now = current_user.agency_id, clock.now()
    lists = {
        "overdue": _first(sharing.awaiting_our_response(agency_id, sharing.OVERDUE, now)),
        "due_soon": _first(sharing.awaiting_our_response(agency_id, sharing.DUE_SOON, now)),
        "theirs": _first(sharing.awaiting_their_response(agency_id)),
    }
    concerns = [r for page in lists.values() for r in page.items]
    sharing.record_list_view(concerns, "home")
    prepare_protected_sources(r.share.case_id for r in concerns)
    awaiting_me = _first(challenges.awaiting(current_user))
    challenges.record_list_view(awaiting_me.items, "home: challenges awaiting me")
    agency_challenges = challenges.open_for_agency(agency_id, limit=5)
    challenges.record_list_view(agency_challenges, "home: my agency's open challenges")
    return {
        "lists": lists,
        "concern_dues": sharing.due_statuses(concerns, now),
        "awaiting_me": awaiting_me,
        "agency_challenges": agency_challenges,
        "challenge_dues": challenges.dues([*awaiting_me.items, *agency_challenges], now),
    }


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
