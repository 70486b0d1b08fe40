"""Marking a person named in a share, response or note as a protected source, and the template
filter every page uses to show case text to its reader (through the one redaction function)."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required

from tracker import access
from tracker.models import ProtectedItem
from tracker.protected_sources.forms import ProtectedSourceForm
from tracker.services import cases, notes, protected_sources, sharing

blueprint = Blueprint("protected_sources", __name__)


def prepare(case_ids: Iterable[int]) -> None:
    """A view's step before it renders case text: this reader's reading of each case's protected
    sources, so that the template's `protect` filter and `protected_marks` only look up what the
    view prepared (templates never query)."""
    readings = g.setdefault("protected_source_readings", {})
    viewer = current_user if current_user.is_authenticated else None
    readings.update(protected_sources.readings_for(viewer, set(case_ids) - readings.keys()))


def _prepared(case_id: int) -> protected_sources.Reading:
    try:
        return g.protected_source_readings[case_id]
    except (AttributeError, KeyError):
        # Failing loudly: a page that showed case text unredacted would break golden rule 5.
        raise LookupError(f"the view did not prepare case {case_id}'s protected sources") from None


def redactor(case_id: int) -> protected_sources.Redactor:
    """The signed-in reader's (or API caller's) redaction for a case, loaded once a request."""
    prepare([case_id])
    return _prepared(case_id).redactor


def require_nothing_hidden(case_id: int, texts: list[str]) -> None:
    """An amendment form holds the record's words: not for someone a protected source in them
    is hidden from (they could not see what they were changing)."""
    access.require(not redactor(case_id).hides_any(texts))


@blueprint.app_template_filter("protect")
def protect(text: str | None, case_id: int) -> str | None:
    """`{{ share.current.summary | protect(share.case_id) }}`: case text as this reader may see it."""
    return _prepared(case_id).redactor(text)


@blueprint.app_template_global("protected_marks")
def protected_marks(case_id: int, kind: str, object_id: int):
    """The marks on a record that the reader may see (the recording agency and auditors)."""
    return _prepared(case_id).marks(kind, object_id)


def _mark(kind: str, item, case_id: int, back: str):
    case = access.case_for_changing(case_id)
    access.require(protected_sources.may_mark(current_user, kind, item))
    form = ProtectedSourceForm()

    def what_a_mark_needs():
        return protected_sources.mark_problems(
            current_user,
            kind,
            item,
            name=form.name.data,
            passages=form.passages.data,
            reason=form.reason.data,
        )

    if form.validate_on_submit(what_a_mark_needs):
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
    prepare([case.id])
    cases.record_view(case, "case.form_view")  # the page names the child: a view of case data
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
    back = url_for("notes.note", case_id=case.id, note_id=note.id)
    return _mark(ProtectedItem.NOTE, note, case.id, back)
