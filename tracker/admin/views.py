from email import message_from_string

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker import access, inputs
from tracker.admin.forms import (
    AgencyForm,
    ClosureDayForm,
    IdentityProviderForm,
    InviteForm,
    PersonForm,
)
from tracker.approvals.views import decide_from_form
from tracker.cases.forms import choices, choose_first
from tracker.errors import render_error
from tracker.extensions import db
from tracker.models import Agency, Alert, IdentityProvider, Person
from tracker.services import agencies, closures, identity, people
from tracker.services.approvals import (
    decided_by_whom,
    may_decide,
    pending_approval,
    pending_approvals,
)


def _yes_no(value: str | None) -> bool | None:
    return None if not value else value == "yes"


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
                public_authority=_yes_no(form.public_authority.data),
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
    if not form.is_submitted():
        form.public_authority.data = "yes" if agency.public_authority else "no"
    if form.validate_on_submit(lambda: agencies.name_problems(form.name.data, agency.id)):
        try:
            agencies.update(
                current_user,
                agency,
                name=form.name.data,
                kind=form.kind.data,
                secure_mailbox=form.secure_mailbox.data,
                active=form.active.data,
                public_authority=_yes_no(form.public_authority.data),
            )
        except agencies.AgencyError as error:
            form.refused(error)
        else:
            flash(f"{agency.name} saved", "success")
            return redirect(url_for("admin.index"))
    return render_template(
        "admin/agency.html", form=form, agency=agency, title=f"Edit {agency.name}"
    ), _status(form)


@blueprint.route("/closure-days", methods=["GET", "POST"])
def closure_days():
    """Partnership closure days: skipped like bank holidays; adding one moves open due times."""
    form = ClosureDayForm()
    if form.validate_on_submit():
        try:
            closure, moved = closures.close_day(current_user, form.day.data, form.reason.data)
        except closures.ClosureError as error:
            getattr(form, error.field).errors.append(str(error))
        else:
            flash(
                f"{closure.day:%-d %B %Y} is a closure day; {moved} open due "
                f"time{'' if moved == 1 else 's'} moved",
                "success",
            )
            return redirect(url_for("admin.closure_days"))
    return render_template(
        "admin/closure_days.html",
        form=form,
        closures=closures.closures(),
        title="Closure days",
    ), _status(form)


@blueprint.route("/people")
def people_list():
    page = inputs.paginate(select(Person).order_by(Person.name))
    return render_template("admin/people.html", page=page, title="People")


@blueprint.route("/people/invite", methods=["GET", "POST"])
def invite():
    form = InviteForm()
    form.agency_id.choices = choose_first(
        choices((a.id, a.name) for a in agencies.active_agencies())
    )
    if form.validate_on_submit(lambda: people.invite_problems(form.email.data, None)):
        try:
            person = people.invite(
                current_user,
                name=form.name.data,
                email=form.email.data,
                agency_id=form.agency_id.data,
                role=form.role.data,
            )
        except people.PeopleError as error:
            form.refused(error)
        else:
            _flash_waiting(pending_approval(person))
            return redirect(url_for("admin.person", person_id=person.id))
    return render_template("admin/invite.html", form=form, title="Invite a person"), _status(form)


def _flash_waiting(approval) -> None:
    flash(
        f"{approval.person.name} is to be {approval.role_label}: this takes effect, and a "
        f"set-password link goes to {approval.person.email} if they need one, once "
        f"{decided_by_whom(approval)} approves",
        "success",
    )


@blueprint.route("/people/<int:person_id>", methods=["GET", "POST"])
def person(person_id: int):
    person = db.get_or_404(Person, person_id)
    form = PersonForm(obj=person)
    if form.validate_on_submit():
        try:
            approval = people.update(
                current_user,
                person,
                role=form.role.data,
                active=form.active.data,
                away=form.away.data,
            )
        except people.PeopleError as error:
            form.role.errors.append(str(error))
        else:
            if approval is not None:
                _flash_waiting(approval)
            else:
                flash(f"{person.name} saved", "success")
            return redirect(url_for("admin.person", person_id=person.id))
    return render_template(
        "admin/person.html",
        form=form,
        person=person,
        links=identity.links_for_person(person),
        pending=(pending := pending_approval(person)),
        waits_for=decided_by_whom(pending) if pending else None,
        title=person.name,
    ), _status(form)


@blueprint.route("/people/<int:person_id>/new-link", methods=["POST"])
def renew_link(person_id: int):
    """A forgotten password: the link goes to the person's own email, never to this page."""
    return _send_link(person_id, clears_two_factor=False)


@blueprint.route("/people/<int:person_id>/reset-two-factor", methods=["POST"])
def reset_two_factor(person_id: int):
    """A lost phone with no recovery codes left: a link to the person's own email clears their
    two-factor sign-in when they use it (they set it up again at their next sign-in)."""
    return _send_link(person_id, clears_two_factor=True)


def _send_link(person_id: int, *, clears_two_factor: bool):
    person = db.get_or_404(Person, person_id)
    try:
        people.send_reset_link(current_user, person, clears_two_factor=clears_two_factor)
    except people.PeopleError as error:
        return render_error(400, str(error))
    flash(f"A single-use link has gone to {person.email}", "success")
    return redirect(url_for("admin.person", person_id=person.id))


@blueprint.route("/approvals")
def approvals():
    return render_template(
        "admin/approvals.html",
        approvals=pending_approvals(),
        may_decide=may_decide,
        decided_by_whom=decided_by_whom,
        title="Requests waiting for approval",
    )


@blueprint.route("/approvals/<int:approval_id>", methods=["POST"])
def decide(approval_id: int):
    return decide_from_form(approval_id, "admin.approvals")


@blueprint.route("/mail")
def mail():
    """Alert emails written to instance/mail/ (no SMTP server set), and alerts that failed."""
    from tracker.services import delivery

    failed = inputs.paginate(delivery.failed_alerts())
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
    if text is None or not access.can_read_mail_copy(_alert_of(text)):
        abort(404)
    return render_template("admin/mail_message.html", name=name, text=text, title=name)


@blueprint.route("/identity-providers")
def identity_providers():
    return render_template(
        "admin/identity_providers.html",
        providers=identity.provider_summaries(),
        title="Identity providers",
    )


def _provider_settings(form: IdentityProviderForm) -> identity.ProviderSettings:
    return identity.ProviderSettings(
        agency_id=form.agency_id.data,
        name=form.name.data,
        issuer=form.issuer.data,
        client_id=form.client_id.data,
        client_secret=form.client_secret.data or "",
        email_domains=form.email_domains.data,
        mfa_satisfies=form.mfa_satisfies.data,
        mfa_acr_values=form.mfa_acr_values.data or "",
        active=form.active.data,
    )


def _provider_form(provider: IdentityProvider | None):
    form = IdentityProviderForm(obj=provider)
    if provider is None and not form.is_submitted():
        form.active.data = True
    options = agencies.active_agencies()
    if provider is not None and provider.agency not in options:
        options = [provider.agency, *options]  # an agency since made inactive: still editable
    form.agency_id.choices = choose_first(choices((a.id, a.name) for a in options))
    if form.validate_on_submit():
        try:
            if provider is None:
                provider = identity.create_provider(current_user, _provider_settings(form))
            else:
                identity.update_provider(current_user, provider, _provider_settings(form))
        except ExceptionGroup as problems:
            for problem in problems.exceptions:
                getattr(form, problem.field).errors.append(str(problem))
        else:
            waits = ": it is used once a second administrator approves it"
            flash(f"{provider.name} saved{waits if provider.awaiting_approval else ''}", "success")
            return redirect(url_for("admin.edit_identity_provider", provider_id=provider.id))
    return render_template(
        "admin/identity_provider.html",
        form=form,
        provider=provider,
        links=identity.links_for_provider(provider) if provider else [],
        title=f"Edit {provider.name}" if provider else "Add an identity provider",
    ), _status(form)


@blueprint.route("/identity-providers/new", methods=["GET", "POST"])
def new_identity_provider():
    return _provider_form(None)


@blueprint.route("/identity-providers/<int:provider_id>", methods=["GET", "POST"])
def edit_identity_provider(provider_id: int):
    return _provider_form(db.get_or_404(IdentityProvider, provider_id))


def _alert_of(text: str) -> Alert | None:
    alert_id = inputs.id_arg_of(message_from_string(text).get("X-Tracker-Alert", ""))
    return db.session.get(Alert, alert_id) if alert_id else None
