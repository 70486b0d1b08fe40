"""Case notes: the child's lived experience, parents' capacity to change, significant events;
each amended as a new version with a reason."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import access
from tracker.extensions import db
from tracker.models import Case, ProtectedItem
from tracker.notes.forms import AmendNoteForm, NoteForm
from tracker.protected_sources.views import prepare as prepare_protected_sources
from tracker.protected_sources.views import require_nothing_hidden
from tracker.services import cases, notes, protected_sources, workdays

blueprint = Blueprint("notes", __name__)


@blueprint.before_request
@login_required
def require_sign_in():
    """Every page here is case content."""


@blueprint.route("/cases/<int:case_id>/notes/new", methods=["GET", "POST"])
def record_note(case_id: int):
    case = access.case_for_changing(case_id)
    form = NoteForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind", "lived_experience")
    if form.validate_on_submit():
        try:
            notes.record_note(
                current_user,
                case,
                kind=form.kind.data,
                occurred_on=form.occurred_on.data,
                text=form.text.data,
                themes=list(form.themes.data or []),
            )
        except notes.NoteError as error:
            form.refused(error)
        else:
            flash("Note recorded", "success")
            return redirect(url_for("cases.show", case_id=case.id))
    cases.record_view(case, "case.form_view")  # the page names the child: a view of case data
    return render_template(
        "notes/note_form.html", case=case, form=form, note=None, title="Add a case note"
    ), 400 if form.errors else 200


def _note(case: Case, note_id: int):
    note = notes.note_for_case(case, note_id)
    if note is None:
        abort(404)
    return note


@blueprint.route("/cases/<int:case_id>/notes/<int:note_id>")
def note(case_id: int, note_id: int):
    case = access.case_for_reading(case_id)
    found = _note(case, note_id)
    cases.record_view(case, "note.view")
    prepare_protected_sources([case.id])
    return render_template(
        "notes/note.html",
        case=case,
        note=found,
        kind_labels=notes.NOTE_KIND_LABELS,
        can_change=access.can_change_cases(current_user),
        title="Case note",
    )


@blueprint.route("/cases/<int:case_id>/notes/<int:note_id>/amend", methods=["GET", "POST"])
def amend_note(case_id: int, note_id: int):
    case = access.case_for_changing(case_id)
    found = _note(case, note_id)
    require_nothing_hidden(case.id, protected_sources.item_texts(ProtectedItem.NOTE, found))
    form = AmendNoteForm()
    if request.method == "GET":
        form.occurred_on.data = found.current.occurred_on
        form.text.data = found.current.text
        form.themes.data = [t for t in found.current.themes.split(",") if t]
        form.version.data = str(found.current.number)
    if form.validate_on_submit(lambda: notes.amended_since(found, form.seen_version())):
        try:
            notes.amend_note(
                current_user,
                found,
                occurred_on=form.occurred_on.data,
                text=form.text.data,
                themes=list(form.themes.data or []),
                reason=form.reason.data,
                seen=form.seen_version(),
            )
        except notes.NoteError as error:
            form.refused(error)
        else:
            flash("Note amended: the earlier version stays in its history", "success")
            return redirect(url_for("notes.note", case_id=case.id, note_id=found.id))
    if form.seen_version() != found.current.number:  # and the page says so: saving is a choice
        form.version.data = str(found.current.number)
    cases.record_view(case, "case.form_view")
    return render_template(
        "notes/note_form.html", case=case, form=form, note=found, title="Amend a case note"
    ), 400 if form.errors else 200


def case_notes(case: Case) -> dict:
    """What the case page shows of its notes (templates/notes/_case_notes.html)."""
    latest = notes.latest_lived_experience(case)
    return {
        "notes": db.session.scalars(notes.notes_for_case(case.id).limit(10)).all(),
        "note_labels": notes.NOTE_KIND_LABELS,
        "lived_experience_stale": notes.is_stale(latest, workdays.today()),
        "latest_lived_experience": latest,
    }
