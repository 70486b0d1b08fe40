from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker import access, clock, inputs
from tracker.cases.forms import (
    AddAgencyForm,
    CaseSearchForm,
    CaseStatusForm,
    LinkSiblingForm,
    NewCaseForm,
    RemoveAgencyForm,
    choices,
    choose_first,
)
from tracker.extensions import db
from tracker.models import Case, Person, Role
from tracker.notes import views as notes_views
from tracker.protected_sources.views import prepare as prepare_protected_sources
from tracker.services import agencies, break_glass, cases, challenges, retention
from tracker.shares import views as shares_views
from tracker.thresholds import views as thresholds_views

blueprint = Blueprint("cases", __name__, url_prefix="/cases")


@blueprint.before_request
@login_required
def require_sign_in():
    """Every page here is case content."""


def _form_status(form) -> int:
    return 400 if form.errors else 200


@blueprint.route("/")
def index():
    form = CaseSearchForm(request.args)
    query = cases.recent_for(current_user)
    if form.validate():
        query = cases.search(query, form.q.data or "")
    page = inputs.paginate(query)
    cases.record_list_view(page.items, "case list")
    return render_template("cases/index.html", form=form, page=page, title="Cases"), _form_status(
        form
    )


def _agency_choices(exclude: set[int] | None = None):
    return choices(
        (a.id, a.name) for a in agencies.active_agencies() if a.id not in (exclude or set())
    )


@blueprint.route("/new", methods=["GET", "POST"])
def new():
    access.require(access.can_change_cases(current_user))
    form = NewCaseForm()
    form.lead_agency_id.choices = _agency_choices()
    if request.method == "GET":
        form.lead_agency_id.data = current_user.agency_id
    people = db.session.scalars(
        select(Person)
        .where(Person.active, Person.role.in_([Role.WORKER.value, Role.LEAD.value]))
        .order_by(Person.name)
    ).all()
    form.lead_professional_id.choices = [
        *choices([(0, "Not yet known")]),
        *choices((p.id, f"{p.name} ({p.agency.name})") for p in people),
    ]
    form.other_agency_ids.choices = _agency_choices()
    matches: list[Case] = []  # cases that may be this child's, that the person may open
    hidden_match = False  # a case that may be this child's exists that the person may not open
    if form.validate_on_submit():
        try:
            case = cases.create(
                current_user,
                child_name=form.child_name.data,
                date_of_birth=form.date_of_birth.data,
                lead_agency_id=form.lead_agency_id.data,
                lead_professional_id=form.lead_professional_id.data or None,
                other_agency_ids=form.other_agency_ids.data or [],
                nhs_number=form.nhs_number.data,
                upn=form.upn.data,
                confirm_not_a_match=bool(form.confirm_not_a_match.data),
            )
        except cases.CaseMatch as error:
            form.nhs_number.errors.append(str(error))
            matches = error.readable
            hidden_match = error.hidden
        except cases.CaseError as error:
            form.refused(error)
        else:
            flash(f"Case {case.reference} opened", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return render_template(
        "cases/new.html",
        form=form,
        matches=matches,
        hidden_match=hidden_match,
        title="Open a case",
    ), _form_status(form)


@blueprint.route("/<int:case_id>")
def show(case_id: int):
    case = access.case_for_reading(case_id)
    cases.record_view(case)  # the view of the case covers its sections: shares, challenges
    case_challenges = challenges.for_case(case)
    prepare_protected_sources([case.id])
    return render_template(
        "cases/show.html",
        case=case,
        case_sharing=shares_views.case_sharing(case),
        case_notes=notes_views.case_notes(case),
        case_thresholds=thresholds_views.case_thresholds(case),
        case_challenges=case_challenges,
        challenge_dues=challenges.dues(case_challenges, clock.now()),
        siblings=cases.linked_cases(case, current_user),
        can_change=access.can_change_cases(current_user) and access.is_involved(current_user, case),
        emergency=access.break_glass_grant(current_user, case),
        who_looked=break_glass.recent_accesses(case)
        if access.sees_who_looked(current_user, case)
        else None,
        hold=retention.standing_hold(case.id),
        title=f"{case.reference} {case.child_name}",
    )


def _show_with_form(case: Case, template: str, form, title: str):
    cases.record_view(case, "case.form_view")  # the page names the child: a view of case data
    return render_template(template, case=case, form=form, title=title), _form_status(form)


@blueprint.route("/<int:case_id>/agencies/add", methods=["GET", "POST"])
def add_agency(case_id: int):
    case = access.case_for_changing(case_id)
    form = AddAgencyForm()
    form.agency_id.choices = choose_first(_agency_choices(exclude=case.involved_agency_ids))
    if form.validate_on_submit():
        try:
            cases.add_agency(current_user, case, form.agency_id.data)
        except cases.CaseError as error:
            form.agency_id.errors.append(str(error))
        else:
            flash("Agency added to the case", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return _show_with_form(case, "cases/add_agency.html", form, "Add an agency")


@blueprint.route("/<int:case_id>/agencies/<int:involvement_id>/remove", methods=["GET", "POST"])
def remove_agency(case_id: int, involvement_id: int):
    case = access.case_for_changing(case_id)
    involvement = next((i for i in case.current_involvements if i.id == involvement_id), None)
    if involvement is None:
        return redirect(url_for("cases.show", case_id=case.id))
    form = RemoveAgencyForm()
    if form.validate_on_submit():
        try:
            cases.remove_agency(current_user, case, involvement_id, form.reason.data)
        except cases.CaseError as error:
            form.reason.errors.append(str(error))
        else:
            flash(f"{involvement.agency.name} is no longer involved", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    cases.record_view(case, "case.form_view")
    return render_template(
        "cases/remove_agency.html",
        case=case,
        involvement=involvement,
        form=form,
        title="Remove an agency",
    ), _form_status(form)


@blueprint.route("/<int:case_id>/siblings", methods=["GET", "POST"])
def link_sibling(case_id: int):
    case = access.case_for_changing(case_id)
    form = LinkSiblingForm()
    if form.validate_on_submit():
        other = db.session.scalar(
            access.visible_cases(current_user).where(Case.reference == form.reference.data.upper())
        )
        if other is None:
            form.reference.errors.append("No case with this reference that your agency works on")
        else:
            try:
                cases.link_sibling(current_user, case, other)
            except cases.CaseError as error:
                form.reference.errors.append(str(error))
            else:
                flash(f"Linked to {other.reference}", "success")
                return redirect(url_for("cases.show", case_id=case.id))
    return _show_with_form(case, "cases/link_sibling.html", form, "Link a sibling's case")


@blueprint.route("/<int:case_id>/status", methods=["GET", "POST"])
def status(case_id: int):
    case = access.case_for_changing(case_id)
    form = CaseStatusForm()
    if request.method == "GET":
        form.status.data = "closed" if case.status == "open" else "open"
    if form.validate_on_submit():
        try:
            cases.set_status(current_user, case, form.status.data, form.reason.data)
        except cases.CaseError as error:
            form.reason.errors.append(str(error))
        else:
            flash(f"Case {case.status}", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    return _show_with_form(case, "cases/status.html", form, "Close or reopen the case")
