"""Lists of open concerns: the agency's own two (what it owes, what it waits for; the home page's
"see all") and the partnership's list of unanswered concerns. A concern itself is answered on its
share's page (tracker/shares)."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from tracker import access, clock, inputs
from tracker.cases.forms import choices
from tracker.concerns.forms import UnansweredFilterForm
from tracker.protected_sources.views import prepare as prepare_protected_sources
from tracker.services import agencies, sharing

blueprint = Blueprint("concerns", __name__)


@blueprint.before_request
@login_required
def require_sign_in():
    """Every list here names cases."""


# --- The agency's own lists (the home page's "see all") -----------------------------------------

AGENCY_LISTS = {
    "ours": (sharing.awaiting_our_response, "Shared with us, awaiting our response"),
    "theirs": (sharing.awaiting_their_response, "Waiting on other agencies"),
}
DUE_TITLES = {sharing.OVERDUE: "overdue", sharing.DUE_SOON: "due soon"}


@blueprint.route("/concerns/<any(ours, theirs):which>")
def agency_concerns(which: str):
    """One of the agency's two lists of open concerns, optionally only overdue or due soon."""
    access.require(access.can_change_cases(current_user))
    due = request.args.get("due")
    if due not in DUE_TITLES:
        due = None
    query, title = AGENCY_LISTS[which]
    now = clock.now()
    page = inputs.paginate(query(current_user.agency_id, due, now))
    sharing.record_list_view(page.items, f"concerns: {which}" + (f", {due}" if due else ""))
    prepare_protected_sources(r.share.case_id for r in page.items)
    return render_template(
        "concerns/agency_concerns.html",
        page=page,
        which=which,
        due=due,
        concern_dues=sharing.due_statuses(page.items, now),
        title=f"{title}: {DUE_TITLES[due]}" if due else title,
    )


# --- The partnership list -----------------------------------------------------------------------


@blueprint.route("/concerns/unanswered")
def unanswered():
    """Every agency's rows for partnership-wide readers; a lead of any other agency sees only
    concerns on cases their agency is involved in (access.partnership_list_scope)."""
    access.require(access.sees_partnership_lists(current_user))
    form = UnansweredFilterForm(request.args)
    form.agency.choices = [
        *choices([(0, "All agencies")]),
        *choices((a.id, a.name) for a in agencies.active_agencies()),
    ]
    valid = form.validate()

    def chosen(field):  # a filter with an error is left out (and named in the error summary)
        return None if field.errors else field.data or None

    now = clock.now()
    query = sharing.unanswered_concerns(
        now,
        agency_id=chosen(form.agency),
        min_days_overdue=chosen(form.min_days) or 0,
        priority=chosen(form.priority),
        reader=current_user,
    )
    page = inputs.paginate(query)
    sharing.record_list_view(page.items, "unanswered concerns")
    prepare_protected_sources(r.share.case_id for r in page.items)
    return render_template(
        "concerns/unanswered.html",
        form=form,
        filter_form=form,
        page=page,
        days_overdue={r.id: sharing.days_overdue(r, now) for r in page.items},
        partnership_wide=access.reads_partnership_wide(current_user),
        title="Unanswered concerns",
    ), 200 if valid else 400
