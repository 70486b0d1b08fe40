import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from tracker import security
from tracker.auth.forms import EnrolmentForm, SecurityCodeForm, SetPasswordForm, SignInForm
from tracker.extensions import db
from tracker.models import Person
from tracker.services import identity, people, two_factor

# Between the password and the second factor: how long the half-done sign-in stays usable.
PENDING_SECONDS = 600
THROTTLED_MESSAGE = (
    "Too many failed attempts to sign in. Wait 15 minutes and try again, "
    "or ask an administrator to send you a new set-password link."
)

blueprint = Blueprint("auth", __name__)


def load_person(user_id: str) -> Person | None:
    """Flask-Login's loader: the id carries a session token, so a rotated token signs out."""
    person_id, _, token = user_id.partition(":")
    if not person_id.isdigit():
        return None
    person = db.session.get(Person, int(person_id))
    if person is None or person.session_token != token or not person.is_active:
        return None
    return person


def safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after sign-in is a phishing aid.
    return security.safe_next(target) or url_for("main.home")


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if current_user.is_authenticated:  # e.g. a link from an email, opened signed out (Strict)
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        result = people.authenticate(form.email.data, form.password.data, request.remote_addr)
        if result.throttled:
            form.email.errors.append(THROTTLED_MESSAGE)
            status = 429
        elif result.person is None:
            form.email.errors.append("Enter a correct email address and password")
            status = 401
        else:
            session.clear()  # a fresh session at sign-in (no fixation)
            person = result.person
            next_url = safe_next(request.args.get("next"))
            if not two_factor.asked_for(person):
                complete_sign_in(person)
                return redirect(next_url)
            return begin_second_factor(person, next_url)
    elif form.errors:
        status = 400
    return render_template(
        "auth/sign_in.html",
        form=form,
        providers=identity.providers_for_sign_in(),
        next_url=request.args.get("next"),
        title="Sign in",
    ), status


def begin_second_factor(person: Person, next_url: str, provider_session_id: int | None = None):
    """The first factor (password, or an identity provider without multi-factor) is done; the
    person is not signed in until the second is."""
    session.clear()
    session["pending_sign_in"] = {
        "id": person.get_id(),
        "at": time.time(),
        "next": next_url,
        "provider_session": provider_session_id,
    }
    step = "auth.second_factor" if person.has_two_factor else "auth.set_up_two_factor"
    return redirect(url_for(step))


def complete_sign_in(person: Person, provider_session_id: int | None = None) -> None:
    """Every factor checked: the person is signed in, in a fresh session."""
    session.clear()
    login_user(person)
    session["last_seen"] = session["signed_in_at"] = time.time()
    if provider_session_id is not None:
        # Checked with the provider now and then (tracker.identity.views).
        session["provider_session"] = provider_session_id


def _pending_person() -> tuple[Person | None, str]:
    """The person who gave the first factor in this session moments ago, if any."""
    pending = session.get("pending_sign_in") or {}
    if time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, ""
    return load_person(str(pending.get("id", ""))), safe_next(pending.get("next"))


def _finish_pending(person: Person) -> None:
    pending = session.get("pending_sign_in") or {}
    complete_sign_in(person, pending.get("provider_session"))


def _start_again():
    session.pop("pending_sign_in", None)
    flash("Sign in again to continue", "info")
    return redirect(url_for("auth.sign_in"))


@blueprint.route("/sign-in/security-code", methods=["GET", "POST"])
def second_factor():
    person, next_url = _pending_person()
    if person is None or not person.has_two_factor:
        return _start_again()
    form = SecurityCodeForm()
    status = 200
    if form.validate_on_submit():
        result = two_factor.verify(person, form.code.data, request.remote_addr)
        if result.throttled:
            form.code.errors.append(THROTTLED_MESSAGE)
            status = 429
        elif result.person is None:
            form.code.errors.append(
                "Enter the security code your authenticator app shows now (each code works once),"
                " or an unused recovery code"
            )
            status = 401
        else:
            _finish_pending(result.person)
            return redirect(next_url)
    elif form.errors:
        status = 400
    return render_template(
        "auth/security_code.html", form=form, title="Enter your security code"
    ), status


@blueprint.route("/sign-in/set-up-two-factor", methods=["GET", "POST"])
def set_up_two_factor():
    person, next_url = _pending_person()
    if person is None:
        return _start_again()
    if person.has_two_factor:
        return redirect(url_for("auth.second_factor"))
    secret = two_factor.start_enrolment(person)
    form = EnrolmentForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(person, form.code.data)
        except two_factor.TwoFactorError as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            _finish_pending(person)
            # Shown in this response only: the codes are stored hashed and cannot be shown again.
            return render_template(
                "auth/recovery_codes.html",
                codes=codes,
                next_url=next_url,
                title="Your recovery codes",
            )
    status = 400 if form.errors else 200
    return render_template(
        "auth/set_up_two_factor.html",
        form=form,
        secret=secret,
        qr_code=two_factor.qr_code_data_uri(two_factor.provisioning_uri(person)),
        title="Set up two-factor sign-in",
    ), status


@blueprint.before_app_request
def end_idle_sessions():
    """Sign out a session that has been idle too long (a computer left unlocked)."""
    if "_user_id" not in session or request.endpoint == "static":
        return None
    # Real time between requests, not the app's clock (which tests and sweeps move by days).
    now = time.time()
    last_seen = session.get("last_seen")
    signed_in_at = session.setdefault("signed_in_at", now)  # sessions begun before this
    too_old = now - signed_in_at > current_app.permanent_session_lifetime.total_seconds()
    if too_old or last_seen is None or now - last_seen > current_app.config["IDLE_MINUTES"] * 60:
        if current_user.is_authenticated:
            people.record_sign_out(current_user, inactive=True)
        identity.session_ended(session.get("provider_session"), "inactive")
        logout_user()
        session.clear()
        return redirect(url_for("auth.signed_out_inactive"))
    session["last_seen"] = now
    return None


# How long before the idle sign-out a page warns of it: two minutes, or half the limit when the
# limit is shorter than four (WCAG 2.2.1: at least 20 seconds to answer with a simple action).
IDLE_WARNING_SECONDS = 120


@blueprint.app_context_processor
def idle_warning() -> dict:
    """For the timeout warning every signed-in page carries (templates/layout/base.html and
    tracker.js): typing makes no request, so without it a person writing a long share would
    be signed out unwarned, and what they typed lost."""
    idle = current_app.config["IDLE_MINUTES"] * 60
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    used = time.time() - session.get("signed_in_at", time.time())
    return {
        "idle_seconds": round(idle),
        "idle_warn_seconds": round(min(IDLE_WARNING_SECONDS, idle / 2)),
        # The session's whole lifetime ends it too, however busy (end_idle_sessions): its end
        # is warned of as well, and no "stay signed in" can put it off.
        "session_left_seconds": max(0, round(lifetime - used)),
    }


@blueprint.route("/session/keep-alive", methods=["POST"])
@login_required
def keep_alive():
    """ "Stay signed in" on the timeout warning: the request itself counts as use
    (end_idle_sessions). Nothing of a case is read, so nothing is audited."""
    return "", 204


@blueprint.route("/signed-out")
def signed_out_inactive():
    return render_template(
        "auth/signed_out_inactive.html",
        minutes=current_app.config["IDLE_MINUTES"],
        title="You have been signed out",
    )


@blueprint.route("/sign-out", methods=["POST"])
@login_required
def sign_out():
    people.record_sign_out(current_user)
    identity.session_ended(session.get("provider_session"), "signed_out")
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
