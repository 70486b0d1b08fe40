from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker import access, inputs
from tracker.extensions import db
from tracker.services import cases, clock, sharing

blueprint = Blueprint("main", __name__)


@blueprint.route("/")
@login_required
def home():
    """Each person's starting point: what needs their attention."""
    if access.can_administer(current_user):
        return redirect(url_for("admin.index"))
    recent = db.session.scalars(cases.recent_for(current_user).limit(10)).all()
    cases.record_list_view(recent, "home")
    return render_template(
        "main/home.html", recent=recent, title="Home", **_concern_lists(), now=clock.now()
    )


def _concern_lists() -> dict:
    """Information sharing: the agency's two lists of open concerns, each paginated on its own."""
    if not access.can_change_cases(current_user):
        return {}
    pages = {
        name: inputs.paginate(query, f"{name}_page")
        for name, query in (
            ("our", sharing.awaiting_our_response(current_user.agency_id)),
            ("their", sharing.awaiting_their_response(current_user.agency_id)),
        )
    }
    sharing.record_list_view([*pages["our"].items, *pages["their"].items], "home")
    return {"awaiting_ours": pages["our"], "awaiting_theirs": pages["their"]}
