from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker.auth.forms import SetPasswordForm, SignInForm
from tracker.extensions import db
from tracker.models import Person
from tracker.services import people

blueprint = Blueprint("auth", __name__)


def load_person(user_id: str) -> Person | None:
    """Flask-Login's loader: the id carries a session token, so a rotated token signs out."""
    person_id, _, token = user_id.partition(":")
    if not person_id.isdigit():
        return None
    person = db.session.get(Person, int(person_id))
    if person is None or person.session_token != token or not person.active:
        return None
    return person


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after sign-in is a phishing aid.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("main.home")


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        result = people.authenticate(form.email.data, form.password.data, request.remote_addr)
        if result.throttled:
            form.email.errors.append(
                "Too many failed attempts to sign in. Wait 15 minutes and try again, "
                "or ask an administrator to send you a new set-password link."
            )
            status = 429
        elif result.person is None:
            form.email.errors.append("Enter a correct email address and password")
            status = 401
        else:
            session.clear()  # a fresh session at sign-in (no fixation)
            login_user(result.person)
            return redirect(_safe_next(request.args.get("next")))
    elif form.errors:
        status = 400
    return render_template("auth/sign_in.html", form=form, title="Sign in"), status


@blueprint.route("/sign-out", methods=["POST"])
@login_required
def sign_out():
    people.record_sign_out(current_user)
    logout_user()
    session.clear()
    flash("You have signed out", "success")
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    person = people.person_for_invite(token)
    if person is None:
        abort(404)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            people.set_password(person, form.password.data)
        except people.PeopleError as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            flash("Your password is set. Sign in to continue.", "success")
            return redirect(url_for("auth.sign_in"))
    status = 400 if form.errors else 200
    return render_template(
        "auth/set_password.html", form=form, person=person, title="Set your password"
    ), status
