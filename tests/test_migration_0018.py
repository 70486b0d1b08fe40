"""Migration 0018: the share_recipient table becomes concern, with its rows, its indexes, its
constraints and what points at it; and back (both backends)."""

from __future__ import annotations

from datetime import datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from tests.concerns.test_lists import concern
from tracker.database import described_by_models
from tracker.extensions import db
from tracker.models import Concern, Person
from tracker.services import sharing


def _migrate(step, revision: str) -> None:
    db.session.remove()
    db.engine.dispose()  # no connection of the test's holds a lock the migration needs
    step(revision=revision)
    db.engine.dispose()


def _rows(table: str) -> list[tuple]:
    with db.engine.connect() as connection:
        return list(connection.execute(text(f"SELECT id, share_id, agency_id, state FROM {table}")))


def _referred(table: str) -> set[str]:
    """The tables the foreign keys of `table` point at."""
    return {fk["referred_table"] for fk in inspect(db.engine).get_foreign_keys(table)}


def _names(table: str) -> set[str]:
    """The names of a table's indexes and constraints."""
    inspector = inspect(db.engine)
    names = {i["name"] for i in inspector.get_indexes(table)}
    names |= {u["name"] for u in inspector.get_unique_constraints(table)}
    names |= {fk["name"] for fk in inspector.get_foreign_keys(table)}
    names.add(inspector.get_pk_constraint(table)["name"])
    return names - {None}


def test_concerns_keep_their_rows_and_references_both_ways(app, world, frozen):
    frozen(datetime(2026, 12, 24, 10, 30))
    share = concern(world, datetime(2026, 12, 24, 9, 0))
    sharing.respond(world.worker_b, share.recipients[0], action_taken="Home visit booked")
    db.session.commit()
    rows = _rows("concern")
    answerer = world.worker_b.id
    assert len(rows) == 1
    postgres = db.engine.dialect.name == "postgresql"

    _migrate(downgrade, "0014_approvals_by_leads")
    tables = set(inspect(db.engine).get_table_names())
    assert "share_recipient" in tables and "concern" not in tables
    assert _rows("share_recipient") == rows
    assert "share_recipient" in _referred("concern_response") & _referred("challenge")
    assert {"ix_share_recipient_state_due", "ix_share_recipient_agency_state_due"} <= _names(
        "share_recipient"
    )
    assert "fk_concern_response_recipient_id_share_recipient" in _names("concern_response")
    assert not any("concern" in name for name in _names("share_recipient"))

    _migrate(upgrade, "head")
    assert _rows("concern") == rows
    assert "concern" in _referred("concern_response") & _referred("challenge")
    assert {"ix_concern_state_due", "ix_concern_agency_state_due"} <= _names("concern")
    assert "fk_concern_response_recipient_id_concern" in _names("concern_response")
    assert "fk_challenge_concern_id_concern" in _names("challenge")
    assert not any("share_recipient" in name for name in _names("concern"))
    if postgres:
        with db.engine.connect() as connection:  # new rows still get ids from the sequence
            assert connection.execute(text("SELECT nextval('concern_id_seq')")).scalar() > 1
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": described_by_models,
            },
        )
        assert compare_metadata(context, db.metadata) == []
    # The app works on the renamed table: a second response amends the first.
    db.session.remove()
    recipient = db.session.get(Concern, rows[0][0])
    sharing.respond(
        db.session.get(Person, answerer),
        recipient,
        action_taken="Visit done",
        reason="The visit happened",
    )
    db.session.commit()
    assert len(recipient.responses) == 2
