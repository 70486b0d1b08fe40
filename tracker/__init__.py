"""The application factory: a table of contents for the whole app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from tracker import acting, cli, errors, inputs, oidc, security, templating
from tracker.database import configure_sqlite, described_by_models
from tracker.extensions import csrf, db, login_manager, migrate
from tracker.services import procedure, retention_schedule

BLUEPRINTS = (
    "tracker.auth.views",
    "tracker.identity.views",
    "tracker.main.views",
    "tracker.cases.views",
    "tracker.admin.views",
    "tracker.audit.views",
    "tracker.reports.views",
    "tracker.shares.views",
    "tracker.notes.views",
    "tracker.thresholds.views",
    "tracker.chronology.views",
    "tracker.concerns.views",
    "tracker.inbox.views",
    "tracker.approvals.views",
    "tracker.challenges.views",
    "tracker.leads.views",
    "tracker.break_glass.views",
    "tracker.api.views",
    "tracker.api.pages",
    "tracker.retention.views",
    "tracker.protected_sources.views",
    "tracker.subject_access.views",
)


def create_app(overrides: dict | None = None) -> Flask:
    import config

    app = security.TrackerApp(__name__, template_folder="../templates", static_folder="static")
    app.config.update(config.from_environment(**(overrides or {})))
    # Loaded and checked once: a broken procedure file stops the app here, naming the problem.
    app.extensions[procedure.EXTENSION] = procedure.load(app.config.get("PROCEDURE_FILE") or None)
    # And so does a broken retention schedule.
    app.extensions[retention_schedule.EXTENSION] = retention_schedule.load(
        app.config.get("RETENTION_FILE") or None, app.config["RETENTION_DEFAULT_YEARS"]
    )

    register_extensions(app)
    acting.init_app()  # services learn who acts, and from where, through tracker.services.context
    inputs.init_app(app)  # before the blueprints: their routes use its bounded converters
    register_blueprints(app)
    templating.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    from tracker import models  # noqa: F401  (the full metadata, for Alembic)

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(
        app,
        db,
        directory=str(Path(app.root_path).parent / "migrations"),
        include_name=described_by_models,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to continue"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    oidc.init_app(app)  # agencies' identity providers (Authlib), registered lazily per provider

    from tracker.api.auth import person_from_token
    from tracker.auth.views import load_person

    login_manager.user_loader(load_person)  # browser pages: the session cookie
    login_manager.request_loader(person_from_token)  # the API: a bearer token


def register_blueprints(app: Flask) -> None:
    from importlib import import_module

    for module_name in BLUEPRINTS:
        app.register_blueprint(import_module(module_name).blueprint)
