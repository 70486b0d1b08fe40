"""Subject access requests: auditors record them, gather the records, review each item and
produce the pack (tracker/services/subject_access.py)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from tracker import access
from tracker.extensions import db
from tracker.models import (
    EXEMPTION_LABELS,
    ITEM_DECISION_LABELS,
    Case,
    ItemDecision,
    RequestStatus,
    SubjectAccessRequest,
)
from tracker.services import subject_access
from tracker.subject_access.forms import ConfirmForm, ExtendForm, RequestForm, ReviewForm

blueprint = Blueprint("subject_access", __name__, url_prefix="/subject-access")


@blueprint.before_request
@login_required
def require_auditor():
    """Requests and packs are the partnership's information governance: auditors."""
    access.require(access.can_audit(current_user))


@blueprint.context_processor
def labels():
    return {
        "decision_labels": ITEM_DECISION_LABELS,
        "exemption_labels": EXEMPTION_LABELS,
    }


@blueprint.app_template_global("sar_overdue")
def sar_overdue(found: SubjectAccessRequest) -> bool:
    return subject_access.is_overdue(found)


def _request(request_id: int) -> SubjectAccessRequest:
    found = db.session.get(SubjectAccessRequest, request_id)
    if found is None:
        abort(404)
    return found


@blueprint.route("/")
def index():
    requests = db.session.scalars(subject_access.all_requests()).all()
    subject_access.record_list_view(requests, "subject access requests")
    return render_template(
        "subject_access/index.html", requests=requests, title="Subject access requests"
    )


@blueprint.route("/new", methods=["GET", "POST"])
def new():
    form = RequestForm()
    case = None

    def request_rules() -> list[subject_access.SubjectAccessError]:
        nonlocal case
        unknown = []
        if form.case_reference.data:
            case = db.session.scalar(
                select(Case).where(Case.reference == form.case_reference.data.upper())
            )
            if case is None:
                unknown = [
                    subject_access.SubjectAccessError(
                        "case_reference", "No case has that reference"
                    )
                ]
        # The field's own problem first: the service's about it then waits (form.refused).
        return unknown + subject_access.request_problems(
            requester_name=form.requester_name.data,
            requester_relationship=form.requester_relationship.data,
            case=case,
            person_named=form.person_named.data,
            received_on=form.received_on.data,
        )

    if form.validate_on_submit(request_rules):
        try:
            found = subject_access.record_request(
                current_user,
                requester_name=form.requester_name.data,
                requester_relationship=form.requester_relationship.data,
                case=case,
                person_named=form.person_named.data,
                received_on=form.received_on.data,
            )
        except subject_access.SubjectAccessError as error:
            form.add_problems(error.problems)
        else:
            flash(f"Request recorded: due {found.due_on:%-d %B %Y}", "success")
            return redirect(url_for("subject_access.show", request_id=found.id))
    return render_template(
        "subject_access/new.html", form=form, title="Record a subject access request"
    ), 400 if form.errors else 200


def _render_show(found: SubjectAccessRequest, form: ConfirmForm | None = None, status: int = 200):
    views = subject_access.item_views(found)
    subject_access.record_pack_view(found, current_user, "subject_access.view")
    return render_template(
        "subject_access/show.html",
        sar=found,
        views=views,
        pending=sum(1 for v in views if v.item.decision == ItemDecision.PENDING),
        form=form or ConfirmForm(formdata=None),
        open=found.status == RequestStatus.OPEN,
        title=f"Subject access request SAR-{found.id}",
    ), status


@blueprint.route("/<int:request_id>")
def show(request_id: int):
    return _render_show(_request(request_id))


@blueprint.route("/<int:request_id>/assemble", methods=["POST"])
def assemble(request_id: int):
    found = _request(request_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            added = subject_access.assemble(current_user, found)
        except subject_access.SubjectAccessError as error:
            form.add_problems(error.problems)
        else:
            flash(
                f"Records gathered: {added} new item{'s' if added != 1 else ''} to review",
                "success",
            )
            return redirect(url_for("subject_access.show", request_id=found.id))
    return _render_show(found, form, 400)


@blueprint.route("/<int:request_id>/complete", methods=["POST"])
def complete(request_id: int):
    found = _request(request_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            subject_access.complete(current_user, found)
        except subject_access.SubjectAccessError as error:
            form.add_problems(error.problems)
        else:
            flash("Pack produced: its decisions are now final", "success")
            return redirect(url_for("subject_access.show", request_id=found.id))
    return _render_show(found, form, 400)


@blueprint.route("/<int:request_id>/extend", methods=["GET", "POST"])
def extend(request_id: int):
    found = _request(request_id)
    form = ExtendForm()
    if form.validate_on_submit():
        try:
            subject_access.extend(current_user, found, int(form.months.data), form.reason.data)
        except subject_access.SubjectAccessError as error:
            form.add_problems(error.problems)
        else:
            flash(f"Due date extended to {found.extended_to:%-d %B %Y}", "success")
            return redirect(url_for("subject_access.show", request_id=found.id))
    return render_template(
        "subject_access/extend.html", sar=found, form=form, title="Extend the due date"
    ), 400 if form.errors else 200


@blueprint.route("/<int:request_id>/items/<int:item_id>", methods=["GET", "POST"])
def review(request_id: int, item_id: int):
    found = _request(request_id)
    view = subject_access.item_view(found, item_id)
    if view is None:
        abort(404)
    form = ReviewForm()
    if not form.is_submitted() and view.item.decision != ItemDecision.PENDING:
        form.decision.data = view.item.decision
        form.exemption.data = view.item.exemption
        form.passages.data = view.item.redactions
    if form.validate_on_submit():
        try:
            subject_access.review(
                current_user,
                found,
                view,
                decision=form.decision.data,
                exemption=form.exemption.data,
                passages=form.passages.data,
            )
        except subject_access.SubjectAccessError as error:
            form.add_problems(error.problems)
        else:
            flash("Decision recorded", "success")
            return redirect(url_for("subject_access.show", request_id=found.id, _anchor="items"))
    if not form.errors:
        subject_access.record_pack_view(found, current_user, "subject_access.item_view")
    return render_template(
        "subject_access/review.html",
        sar=found,
        view=view,
        form=form,
        title="Review an item",
    ), 400 if form.errors else 200


@blueprint.route("/<int:request_id>/pack")
def pack(request_id: int):
    found = _request(request_id)
    items = subject_access.pack_items(found)
    subject_access.record_pack_view(found, current_user, "subject_access.pack_view")
    return render_template(
        "subject_access/pack.html",
        sar=found,
        items=items,
        manifest=subject_access.manifest(found, items),
        final=found.status == RequestStatus.COMPLETED,
        title=f"Subject access pack SAR-{found.id}",
    )


@blueprint.route("/<int:request_id>/pack.zip")
def pack_archive(request_id: int):
    found = _request(request_id)
    if found.status != RequestStatus.COMPLETED:
        flash("Produce the pack before downloading it", "info")
        return redirect(url_for("subject_access.show", request_id=found.id))
    data = subject_access.archive(found)
    subject_access.record_pack_view(found, current_user, "subject_access.pack_export")
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="SAR-{found.id}.zip"'},
    )
