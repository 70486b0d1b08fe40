"""Jinja: GOV.UK Frontend macros, the WTForms widgets, and the filters every page uses."""

from __future__ import annotations

from datetime import date

from flask import Flask, request, url_for
from flask_login import current_user
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from tracker import access
from tracker.services import workdays


def long_date(value: date | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""


def page_url(page: int) -> str:
    """This page's URL with another page number, keeping the filters."""
    args = request.args.to_dict()
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


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


def navigation_items() -> list[dict]:
    return [
        {"text": text, "href": url_for(endpoint)}
        for text, endpoint, allowed in NAVIGATION
        if allowed(current_user)
    ]


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
    app.jinja_env.globals["navigation_items"] = navigation_items
    app.jinja_env.globals["access"] = access
    WTFormsHelpers(app)

    @app.context_processor
    def partnership():
        return {"partnership_name": app.config["PARTNERSHIP_NAME"]}
