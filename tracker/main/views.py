from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker import access
from tracker.extensions import db
from tracker.services import cases

blueprint = Blueprint("main", __name__)


@blueprint.route("/")
@login_required
def home():
    """Each person's starting point: what needs their attention."""
    if access.can_administer(current_user):
        return redirect(url_for("admin.index"))
    recent = db.session.scalars(cases.recent_for(current_user).limit(10)).all()
    cases.record_list_view(recent, "home")
    return render_template("main/home.html", recent=recent, title="Home")
