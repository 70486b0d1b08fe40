"""Jinja: GOV.UK Frontend macros, the WTForms widgets, and the filters every page uses."""

from __future__ import annotations

from collections import ChainMap
from datetime import date
from functools import lru_cache
from urllib.parse import urlencode

from flask import Flask, current_app, request, url_for
from flask.templating import Environment as FlaskEnvironment
from flask_login import current_user
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from markupsafe import Markup

from tracker import access
from tracker.services import workdays


class _Globals(ChainMap):
    """A template's globals over the environment's. Jinja tests every global's name against them
    on each {% from ... import %}, a few hundred times a page; ChainMap's own test builds a
    generator for each."""

    def __contains__(self, key) -> bool:
        for mapping in self.maps:
            if key in mapping:
                return True
        return False


class Environment(FlaskEnvironment):
    def make_globals(self, d):
        return _Globals(d or {}, self.globals)


def long_date(value: date | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""


def error_summary(form) -> dict:
    """GOV.UK error summary parameters for a form: a date's link goes to its day box (the
    wrapper div its id names cannot take focus, so the link would leave focus where it was)."""
    from govuk_frontend_wtf.main import wtforms_errors

    from tracker.forms import GovDateField

    params = wtforms_errors(form)
    dates = {f"#{field.id}" for field in form if isinstance(field, GovDateField)}
    for error in params["errorList"]:
        if error["href"] in dates:
            error["href"] += "-day"
    return params


def page_url(page: int) -> str:
    """This page's URL with another page number, keeping the filters."""
    # Every value of a repeated key (a date's day, month and year boxes share one name), as a
    # query string of its own: url_for would read a key such as _anchor or _method as its own.
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    path = url_for(request.endpoint, **(request.view_args or {}))
    return f"{path}?{urlencode(args, doseq=True)}"


# The service navigation: (text, endpoint, who sees it). Features add their entry here.
NAVIGATION = (
    ("Home", "main.home", lambda person: True),
    ("Cases", "cases.index", access.can_read_cases),
    ("Inbox", "inbox.index", lambda person: True),
    ("Unanswered concerns", "concerns.unanswered", access.sees_partnership_lists),
    ("Audit trail", "audit.index", access.can_audit),
    ("Emergency access", "break_glass.reviews", access.can_audit),
    ("Subject access", "subject_access.index", access.can_audit),
    ("Reports", "reports.index", access.reads_partnership_wide),
    ("Retention", "retention.queue", access.reviews_retention),
    ("Challenges", "challenges.awaiting", access.can_change_cases),
    ("Challenges", "challenges.index", access.reads_without_acting),
    ("Named leads", "leads.named_leads", access.can_administer),
    ("Approvals", "approvals.index", access.approves_own_agencys_people),
    ("Administration", "admin.index", access.can_administer),
    ("API tokens", "api_tokens.index", access.can_read_cases),
)


# The sign-out form's place in the cached navigation, filled in per request (it holds the CSRF
# token and the person's name, which no cache may hold). Nothing a person types reaches the
# cached HTML, so nothing else can contain this marker.
_END_SLOT = Markup("<!-- tracker: end slot -->")  # noqa: S704 (a constant)


@lru_cache(maxsize=512)
def _rendered_part(name: str, args: tuple) -> Markup:
    """A macro of layout/parts.html, rendered once per process for these arguments: the GOV.UK
    header, navigation, skip link and footer macros cost more than the rest of a small page."""
    return getattr(current_app.jinja_env.get_template("layout/parts.html").module, name)(*args)


def layout_part(name: str, *args) -> Markup:
    return _rendered_part(name, args)


def layout_header(sign_out: Markup, unread_alert_count: int | None) -> Markup:
    """The header and service navigation: cached by what varies (which items the person's roles
    show, which one is this section, the unread count), the sign-out form put in afterwards."""
    navigation: tuple = ()
    if current_user.is_authenticated:
        path = request.path
        items = []
        for text, endpoint, allowed in NAVIGATION:
            if not allowed(current_user):
                continue
            href = url_for(endpoint)
            if endpoint == "inbox.index" and unread_alert_count:
                text = f"{text} ({unread_alert_count:d} unread)"
            active = path.startswith(href) and href != "/" or path == href
            items.append((text, href, active))
        navigation = tuple(items)
    home = url_for("main.home")
    header = _rendered_part(
        "header", (current_app.config["PARTNERSHIP_NAME"], home, navigation, _END_SLOT)
    )
    return header.replace(_END_SLOT, sign_out, 1)  # Markup into Markup: nothing re-escaped


def init_app(app: Flask) -> None:
    app.jinja_loader = ChoiceLoader(
        [
            app.jinja_loader,
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["local_time"] = workdays.local_time
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["error_summary"] = error_summary
    app.jinja_env.globals["layout_part"] = layout_part
    app.jinja_env.globals["layout_header"] = layout_header
    app.jinja_env.globals["access"] = access
    WTFormsHelpers(app)

    @app.context_processor
    def partnership():
        return {"partnership_name": app.config["PARTNERSHIP_NAME"]}
