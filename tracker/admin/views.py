from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker import access
from tracker.admin.forms import AgencyForm, InviteForm, PersonForm
from tracker.cases.forms import choices
from tracker.extensions import db
from tracker.models import Agency, Person
from tracker.services import agencies, people, two_factor

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.before_request
@login_required
def require_admin():
    access.require(access.can_administer(current_user))


def _status(form) -> int:
    return 400 if form.errors else 200


@blueprint.route("/")
def index():
    return render_template(
        "admin/index.html",
        agencies=db.session.scalars(select(Agency).order_by(Agency.name)).all(),
        title="Administration",
    )


@blueprint.route("/agencies/new", methods=["GET", "POST"])
def new_agency():
    form = AgencyForm()
    if form.validate_on_submit(lambda: agencies.name_problems(form.name.data)):
        try:
            agency = agencies.create(
                current_user,
                name=form.name.data,
                kind=form.kind.data,
                secure_mailbox=form.secure_mailbox.data,
            )
        except agencies.AgencyError as error:
            form.refused(error)
        else:
            flash(f"{agency.name} added", "success")
            return redirect(url_for("admin.index"))
    return render_template("admin/agency.html", form=form, title="Add an agency"), _status(form)


@blueprint.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
def edit_agency(agency_id: int):
    agency = db.get_or_404(Agency, agency_id)
    form = AgencyForm(obj=agency)
    if form.validate_on_submit(lambda: agencies.name_problems(form.name.data, agency.id)):
        try:
            agencies.update(
                current_user,
                agency,
                name=form.name.data,
                kind=form.kind.data,
                secure_mailbox=form.secure_mailbox.data,
                active=form.active.data,
            )
        except agencies.AgencyError as error:
            form.refused(error)
        else:
            flash(f"{agency.name} saved", "success")
            return redirect(url_for("admin.index"))
    return render_template(
        "admin/agency.html", form=form, agency=agency, title=f"Edit {agency.name}"
    ), _status(form)


@blueprint.route("/people")
def people_list():
    page = db.paginate(
        select(Person).order_by(Person.name),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    return render_template("admin/people.html", page=page, title="People")


@blueprint.route("/people/invite", methods=["GET", "POST"])
def invite():
    form = InviteForm()
    form.agency_id.choices = choices((a.id, a.name) for a in agencies.active_agencies())
    if form.validate_on_submit(lambda: people.invite_problems(form.email.data, None)):
        try:
            person, token = people.invite(
                current_user,
                name=form.name.data,
                email=form.email.data,
                agency_id=form.agency_id.data,
                role=form.role.data,
            )
        except people.PeopleError as error:
            form.refused(error)
        else:
            return _show_invite_link(person, token)
    return render_template("admin/invite.html", form=form, title="Invite a person"), _status(form)


def _show_invite_link(person: Person, token: str):
    # Shown once, never stored in clear: the admin passes it to the person securely.
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.set_password", token=token)
    return render_template(
        "admin/invite_link.html", person=person, link=link, title="Set-password link"
    )


@blueprint.route("/people/<int:person_id>", methods=["GET", "POST"])
def person(person_id: int):
    person = db.get_or_404(Person, person_id)
    form = PersonForm(obj=person)
    if form.validate_on_submit():
        try:
            people.update(
                current_user,
                person,
                role=form.role.data,
                active=form.active.data,
                away=form.away.data,
            )
        except people.PeopleError as error:
            form.role.errors.append(str(error))
        else:
            flash(f"{person.name} saved", "success")
            return redirect(url_for("admin.people_list"))
    return render_template(
        "admin/person.html", form=form, person=person, title=person.name
    ), _status(form)


@blueprint.route("/people/<int:person_id>/new-link", methods=["POST"])
def renew_link(person_id: int):
    person = db.get_or_404(Person, person_id)
    if not person.active:
        abort(400)
    return _show_invite_link(person, people.renew_invite(current_user, person))


@blueprint.route("/people/<int:person_id>/reset-two-factor", methods=["POST"])
def reset_two_factor(person_id: int):
    """For a lost phone with no recovery codes left: they set up again at their next sign-in."""
    person = db.get_or_404(Person, person_id)
    if not person.has_two_factor:
        abort(400)
    two_factor.reset(current_user, person)
    flash(
        f"Two-factor sign-in reset for {person.name}: they set it up again when they next sign in",
        "success",
    )
    return redirect(url_for("admin.person", person_id=person.id))


@blueprint.route("/mail")
def mail():
    """Alert emails written to instance/mail/ (no SMTP server set), and alerts that failed."""
    from tracker.services import delivery

    failed = db.paginate(
        delivery.failed_alerts(), per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    return render_template(
        "admin/mail.html",
        files=delivery.mail_files(),
        smtp=current_app.config["MAIL_SERVER"],
        failed=failed,
        page=failed,
        title="Alert emails",
    )


@blueprint.route("/mail/<name>")
def mail_message(name: str):
    from tracker.services import delivery

    text = delivery.mail_file(name)
    if text is None:
        abort(404)
    return render_template("admin/mail_message.html", name=name, text=text, title=name)
