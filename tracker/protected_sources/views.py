"""Marking a person named in a share, response or note as a protected source, and the template
filter every page uses to show case text to its reader (through the one redaction function)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker import access
from tracker.models import ProtectedItem
from tracker.protected_sources.forms import ProtectedSourceForm
from tracker.services import notes, protected_sources, sharing

blueprint = Blueprint("protected_sources", __name__)


def redactor(case_id: int) -> protected_sources.Redactor:
    """The signed-in reader's (or API caller's) redaction for a case, loaded once a request."""
    cache = g.setdefault("protected_source_redactors", {})
    if case_id not in cache:
        viewer = current_user if current_user.is_authenticated else None
        cache[case_id] = protected_sources.redactor_for(viewer, case_id)
    return cache[case_id]


@blueprint.app_template_filter("protect")
def protect(text: str | None, case_id: int) -> str | None:
    """`{{ share.current.summary | protect(share.case_id) }}`: case text as this reader may see it."""
    return redactor(case_id)(text)


@blueprint.app_template_global("protected_marks")
def protected_marks(case_id: int, kind: str, object_id: int):
    """The marks on a record that the reader may see (the recording agency and auditors)."""
    return protected_sources.visible_sources(current_user, case_id, kind, object_id)


def _mark(kind: str, item, case_id: int, back: str):
    case = access.case_for_changing(case_id)
    access.require(protected_sources.may_mark(current_user, kind, item))
    form = ProtectedSourceForm()
    if form.validate_on_submit():
        try:
            protected_sources.mark(
                current_user,
                kind,
                item,
                name=form.name.data,
                passages=form.passages.data,
                reason=form.reason.data,
            )
        except protected_sources.ProtectedSourceError as error:
            form.add_problems(error.problems)
        else:
            flash("Protected source marked: other agencies see [protected source]", "success")
            return redirect(back)
    return render_template(
        "protected_sources/mark.html",
        case=case,
        form=form,
        texts=[t for t in protected_sources.item_texts(kind, item) if t],
        back=back,
        title="Protect a source",
    ), 400 if form.errors else 200


@blueprint.route("/shares/<int:share_id>/protected-sources/new", methods=["GET", "POST"])
@login_required
def mark_share(share_id: int):
    share = sharing.share_for_reading(share_id, current_user)
    back = url_for("shares.show", share_id=share.id)
    return _mark(ProtectedItem.SHARE, share, share.case_id, back)


@blueprint.route(
    "/shares/<int:share_id>/concerns/<int:recipient_id>/protected-sources/new",
    methods=["GET", "POST"],
)
@login_required
def mark_response(share_id: int, recipient_id: int):
    share = sharing.share_for_reading(share_id, current_user)
    recipient = next((r for r in share.recipients if r.id == recipient_id), None)
    if recipient is None:
        abort(404)
    access.case_for_changing(share.case_id)
    access.require(protected_sources.may_mark(current_user, ProtectedItem.RESPONSE, recipient))
    if recipient.response is None:
        abort(404)  # nothing answered yet: no words to protect anyone in
    back = url_for("shares.show", share_id=share.id)
    return _mark(ProtectedItem.RESPONSE, recipient, share.case_id, back)


@blueprint.route(
    "/cases/<int:case_id>/notes/<int:note_id>/protected-sources/new", methods=["GET", "POST"]
)
@login_required
def mark_note(case_id: int, note_id: int):
    case = access.case_for_reading(case_id)
    note = notes.note_for_case(case, note_id)
    if note is None:
        abort(404)
    back = url_for("shares.note", case_id=case.id, note_id=note.id)
    return _mark(ProtectedItem.NOTE, note, case.id, back)
