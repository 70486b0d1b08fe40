"""Pages about the API for signed-in people: their API tokens, and how to make a first call."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import access, clock
from tracker.api.forms import RevokeForm, TokenForm
from tracker.services import api_tokens

blueprint = Blueprint("api_tokens", __name__)


@blueprint.route("/account/api-tokens", methods=["GET", "POST"])
@login_required
def index():
    # The API is case content: only people who read cases may hold a token.
    access.require(access.can_read_cases(current_user))
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            token, secret = api_tokens.create(current_user, form.name.data, form.expires_on.data)
        except api_tokens.TokenError as error:
            form[error.field].errors = [*form[error.field].errors, str(error)]
        else:
            flash(
                f"Token “{token.name}” created: copy it now, it will not be shown again", "success"
            )
            form = TokenForm(formdata=None)
    return render_template(
        "api/tokens.html",
        form=form,
        secret=secret,
        tokens=api_tokens.tokens_for(current_user),
        revoke_form=RevokeForm(),
        now=clock.now(),
        max_days=api_tokens.max_days(),
        title="API tokens",
    ), 400 if form.errors else 200


@blueprint.route("/account/api-tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            token = api_tokens.revoke(current_user, token_id)
        except api_tokens.TokenError as error:
            flash(str(error), "info")
        else:
            flash(f"Token “{token.name}” revoked: it no longer works", "success")
    return redirect(url_for("api_tokens.index"))


@blueprint.route("/api/guide")
def guide():
    """How to get a token and make a first call (public: it shows no case data)."""
    return render_template(
        "api/guide.html",
        base_url=request.host_url.rstrip("/"),
        title="Using the tracker's API",
    )
