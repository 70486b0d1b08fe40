"""Professional challenges: raise (risk question, details, check your answers), act on a stage,
and the lists that show who is waiting on whom (the named leads: tracker/leads)."""

from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from tracker import access, clock, inputs
from tracker.cases.forms import choices
from tracker.challenges.forms import (
    DetailsForm,
    DiscussionForm,
    EscalateForm,
    ResolveForm,
    RiskForm,
    WithdrawForm,
)
from tracker.extensions import db
from tracker.models import CHALLENGE_KIND_LABELS, Agency, Case, Challenge, ChallengeKind
from tracker.protected_sources.views import prepare as prepare_protected_sources
from tracker.protected_sources.views import redactor
from tracker.services import cases, challenge_drafts, challenges, leads, procedure

blueprint = Blueprint("challenges", __name__)


@blueprint.before_request
@login_required
def require_sign_in():
    """Every page here is about a case or the people who lead on them."""


def _status(form) -> int:
    return 400 if form.errors else 200


# --- raising: risk question, details, check your answers ----------------------------------------

DRAFT_FIELDS = (
    "about_agency_id",
    "kind",
    "what_happened",
    "outcome_wanted",
    "share_ids",
    "note_ids",
    "urgent",
)


def _draft(case_id: int) -> dict | None:
    return challenge_drafts.answers(current_user, case_id)


def _save_draft(case_id: int, draft: dict) -> None:
    challenge_drafts.save(current_user, case_id, draft)


def _case_for_raising(case_id: int) -> Case:
    case = access.case_for_changing(case_id)
    access.require(access.can_raise_challenge(current_user, case))
    return case


def _prefill(case: Case) -> dict:
    """The answers a link starts the challenge with, its words as this reader may see them
    (another agency's threshold reason may name a protected source)."""
    concern = inputs.id_arg("concern")
    if concern is not None:
        prefill = challenges.prefill_from_concern(current_user, case, concern)
    elif request.args.get("from_threshold") == "1":
        prefill = challenges.prefill_from_threshold(current_user, case)
    else:
        return {}
    if "what_happened" in prefill:
        prefill["what_happened"] = redactor(case.id)(prefill["what_happened"])
    return prefill


@blueprint.route("/cases/<int:case_id>/challenges/new", methods=["GET", "POST"])
def raise_challenge(case_id: int):
    """Step 1: the immediate-risk question always comes first."""
    case = _case_for_raising(case_id)
    draft = _draft(case_id)
    if request.method == "GET" and (draft is None or request.args):
        draft = {k: v for k, v in _prefill(case).items() if v is not None}
        _save_draft(case_id, draft)
    form = RiskForm()
    if request.method == "GET" and draft and "immediate_risk" in draft:
        form.immediate_risk.data = "yes" if draft["immediate_risk"] else "no"
    if form.validate_on_submit():
        draft = draft or {}
        draft["immediate_risk"] = form.immediate_risk.data == "yes"
        if draft["immediate_risk"]:
            draft["risk_advice_shown_at"] = challenges.record_risk_advice(
                current_user, case
            ).isoformat()
            draft["urgent"] = "yes"
            _save_draft(case_id, draft)
            return redirect(url_for("challenges.immediate_risk", case_id=case.id))
        draft.pop("risk_advice_shown_at", None)
        _save_draft(case_id, draft)
        return redirect(url_for("challenges.details", case_id=case.id))
    cases.record_view(case, "case.form_view")  # the page names the child: a view of case data
    return render_template(
        "challenges/risk.html", case=case, form=form, title="Raise a professional challenge"
    ), _status(form)


@blueprint.route("/cases/<int:case_id>/challenges/new/immediate-risk")
def immediate_risk(case_id: int):
    case = _case_for_raising(case_id)
    draft = _draft(case_id)
    if not draft or not draft.get("immediate_risk"):
        return redirect(url_for("challenges.raise_challenge", case_id=case.id))
    cases.record_view(case, "case.form_view")
    return render_template(
        "challenges/immediate_risk.html",
        case=case,
        front_door=current_app.config["FRONT_DOOR_PHONE"],
        emergency=current_app.config["EMERGENCY_PHONE"],
        title="Contact the front door or emergency services now",
    )


def _details_form(case: Case, data: dict | None = None) -> DetailsForm:
    """The details form: from the request, or (data given) from the saved answers."""
    if data is None:
        form = DetailsForm()
    else:
        form = DetailsForm(formdata=None, data={k: data[k] for k in DRAFT_FIELDS if k in data})
    agencies = [
        i.agency for i in case.current_involvements if i.agency_id != current_user.agency_id
    ]
    form.about_agency_id.choices = choices((a.id, a.name) for a in agencies)
    shares, notes = challenges.evidence_options(case)
    protect = redactor(case.id)  # redacted before it is cut short, so no name is half shown
    form.share_ids.choices = choices(
        (
            s.id,
            f"{s.from_agency.name}, {s.current.shared_at:%-d %b %Y}: {protect(s.current.summary)[:80]}",
        )
        for s in shares
    )
    form.note_ids.choices = choices(
        (
            n.id,
            f"{n.agency.name}, {n.current.occurred_on:%-d %b %Y}: {protect(n.current.text)[:80]}",
        )
        for n in notes
    )
    return form


def _require_draft(case_id: int):
    draft = _draft(case_id)
    if not draft or "immediate_risk" not in draft:
        return None
    return draft


@blueprint.route("/cases/<int:case_id>/challenges/new/details", methods=["GET", "POST"])
def details(case_id: int):
    case = _case_for_raising(case_id)
    draft = _require_draft(case_id)
    if draft is None:
        return redirect(url_for("challenges.raise_challenge", case_id=case.id))
    form = _details_form(case, draft if request.method == "GET" else None)
    if draft["immediate_risk"] and request.method == "POST":
        form.urgent.data = "yes"  # immediate risk: always urgent
        form.urgent.raw_data = ["yes"]
    if form.validate_on_submit():
        draft.update({name: form[name].data for name in DRAFT_FIELDS})
        _save_draft(case_id, draft)
        return redirect(url_for("challenges.check", case_id=case.id))
    return _render_details(case, form, draft)


def _render_details(case: Case, form: DetailsForm, draft: dict):
    cases.record_view(case, "case.form_view")  # it lists the case's shares and notes too
    return render_template(
        "challenges/details.html",
        case=case,
        form=form,
        draft=draft,
        title="About the challenge",
    ), _status(form)


@blueprint.route("/cases/<int:case_id>/challenges/new/check", methods=["GET", "POST"])
def check(case_id: int):
    case = _case_for_raising(case_id)
    if request.method == "POST":  # the app-wide CSRF protection has checked the token
        # Under the draft's lock: the same answers sent twice raise one challenge.
        draft, raised = challenge_drafts.raising(current_user, case)
        if raised is not None:
            return redirect(url_for("challenges.show", challenge_id=raised.id))
    else:
        draft = _draft(case_id)
    if draft is None or "immediate_risk" not in draft:
        return redirect(url_for("challenges.raise_challenge", case_id=case.id))
    if any(name not in draft for name in DRAFT_FIELDS):  # the details step not yet answered
        return redirect(url_for("challenges.details", case_id=case.id))
    if request.method == "POST":
        try:
            challenge = challenges.raise_challenge(
                current_user,
                case,
                about_agency_id=draft["about_agency_id"],
                kind=draft["kind"],
                what_happened=draft["what_happened"],
                outcome_wanted=draft["outcome_wanted"],
                urgent=draft["urgent"] == "yes",
                immediate_risk=draft["immediate_risk"],
                risk_advice_shown_at=(
                    datetime.fromisoformat(draft["risk_advice_shown_at"])
                    if draft.get("risk_advice_shown_at")
                    else None
                ),
                share_ids=draft.get("share_ids") or [],
                note_ids=draft.get("note_ids") or [],
                concern_id=draft.get("concern_id"),
                threshold_view_id=draft.get("threshold_view_id"),
                commit=False,
            )
        except challenges.ChallengeError as error:
            details_form = _details_form(case, draft)
            details_form.refused(error, "what_happened")
            return _render_details(case, details_form, draft)
        challenge_drafts.mark_raised(current_user, case, challenge)
        db.session.commit()
        flash(f"Professional challenge {challenge.id} raised: stage 1 has begun", "success")
        return redirect(url_for("challenges.show", challenge_id=challenge.id))
    about = db.session.get(Agency, draft["about_agency_id"])
    shares, notes = challenges.evidence_options(case)
    prepare_protected_sources([case.id])
    cases.record_view(case, "case.form_view")
    return render_template(
        "challenges/check.html",
        case=case,
        draft=draft,
        about=about,
        kind_label=CHALLENGE_KIND_LABELS[ChallengeKind(draft["kind"])],
        evidence_shares=[s for s in shares if s.id in (draft.get("share_ids") or [])],
        evidence_notes=[n for n in notes if n.id in (draft.get("note_ids") or [])],
        title="Check your answers before raising the challenge",
    )


# --- one challenge ------------------------------------------------------------------------------


def _acting_on(challenge_id: int) -> Challenge:
    challenge = access.challenge_for_reading(challenge_id)
    access.require(access.can_act_on_stage(current_user, challenge))
    return challenge


@blueprint.route("/challenges/<int:challenge_id>")
def show(challenge_id: int):
    challenge = access.challenge_for_reading(challenge_id)
    challenges.record_view(challenge)
    can_act = access.can_act_on_stage(current_user, challenge)
    prepare_protected_sources([challenge.case_id])
    return render_template(
        "challenges/show.html",
        challenge=challenge,
        sides=challenges.sides(challenge) if challenge.is_open else [],
        named={
            side.agency.id: leads.current(side.agency.id, challenge.stage)
            for side in challenges.sides(challenge)
        },
        warning=challenges.unnamed_warning(challenge) if challenge.is_open else None,
        due=challenges.due(challenge),
        can_act=can_act,
        # Someone involved who may not act is told who can (nobody acts on their own challenge).
        who_can_act=access.stage_actor_names(challenge)
        if challenge.is_open and not can_act and access.can_change_cases(current_user)
        else [],
        can_withdraw=access.can_withdraw(current_user, challenge),
        can_see_case=access.is_involved(current_user, challenge.case)
        or access.reads_partnership_wide(current_user),
        title=f"Professional challenge {challenge.id}",
    )


def _stage_action(challenge_id: int, form_class, template: str, title: str, act, fallback: str):
    challenge = _acting_on(challenge_id)
    form = form_class()
    if request.method == "GET":
        form.stage.data = str(challenge.stage)
    if form.validate_on_submit():
        try:
            act(challenge, form)
        except challenges.ChallengeError as error:
            form.refused(error, fallback)
        else:
            return redirect(url_for("challenges.show", challenge_id=challenge.id))
    return render_template(template, challenge=challenge, form=form, title=title), _status(form)


@blueprint.route("/challenges/<int:challenge_id>/discussion", methods=["GET", "POST"])
def discussion(challenge_id: int):
    def act(challenge, form):
        challenges.record_discussion(current_user, challenge, form.text.data, form.expected_stage())
        flash("Discussion recorded", "success")

    return _stage_action(
        challenge_id,
        DiscussionForm,
        "challenges/discussion.html",
        "Record a discussion",
        act,
        "text",
    )


@blueprint.route("/challenges/<int:challenge_id>/escalate", methods=["GET", "POST"])
def escalate(challenge_id: int):
    challenge = _acting_on(challenge_id)
    if request.method == "GET" and challenge.stage >= challenge.procedure.last_stage:
        flash(f"Stage {challenge.stage} is the last stage: record a discussion or resolve it")
        return redirect(url_for("challenges.show", challenge_id=challenge.id))

    def act(challenge, form):
        challenges.escalate(current_user, challenge, form.why.data, form.expected_stage())
        flash(f"Escalated to stage {challenge.stage}", "success")

    return _stage_action(
        challenge_id,
        EscalateForm,
        "challenges/escalate.html",
        "Escalate to the next stage",
        act,
        "why",
    )


@blueprint.route("/challenges/<int:challenge_id>/resolve", methods=["GET", "POST"])
def resolve(challenge_id: int):
    def act(challenge, form):
        challenges.resolve(
            current_user, challenge, form.resolution(), expected_stage=form.expected_stage()
        )
        flash("Challenge resolved", "success")

    return _stage_action(
        challenge_id, ResolveForm, "challenges/resolve.html", "Resolve the challenge", act, "agreed"
    )


@blueprint.route("/challenges/<int:challenge_id>/withdraw", methods=["GET", "POST"])
def withdraw(challenge_id: int):
    challenge = access.challenge_for_reading(challenge_id)
    access.require(access.can_withdraw(current_user, challenge))
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            challenges.withdraw(current_user, challenge, form.why.data)
        except challenges.ChallengeError as error:
            form.refused(error, "why")
        else:
            flash("Challenge withdrawn", "success")
            return redirect(url_for("challenges.show", challenge_id=challenge.id))
    return render_template(
        "challenges/withdraw.html", challenge=challenge, form=form, title="Withdraw the challenge"
    ), _status(form)


# --- lists --------------------------------------------------------------------------------------


def _page(query, where: str):
    page = inputs.paginate(query)
    challenges.record_list_view(page.items, where)
    return page


@blueprint.route("/challenges/awaiting")
def awaiting():
    access.require(access.can_change_cases(current_user))
    named = sorted(leads.named_stages_of(current_user), key=lambda pair: pair[1])
    page = _page(challenges.awaiting(current_user), "challenges awaiting me")
    return render_template(
        "challenges/awaiting.html",
        page=page,
        challenge_dues=challenges.dues(page.items, clock.now()),
        named=[(db.session.get(Agency, a), stage) for a, stage in named],
        title="Challenges awaiting me",
    )


@blueprint.route("/challenges/")
def index():
    """The partnership list: every open challenge by stage (leads and auditors)."""
    access.require(
        access.sees_partnership_lists(current_user) or access.reads_partnership_wide(current_user)
    )
    page = _page(challenges.open_by_stage(current_user), "partnership list of open challenges")
    return render_template(
        "challenges/index.html",
        page=page,
        partnership_wide=access.reads_partnership_wide(current_user),
        challenge_dues=challenges.dues(page.items, clock.now()),
        stages=procedure.current().stages,
        counts=challenges.open_counts_by_stage(),
        title="Open professional challenges",
    )
