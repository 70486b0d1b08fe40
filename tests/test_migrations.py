"""The migrations and the models agree, and upgrade runs on an empty database (both backends)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tracker.database import described_by_models
from tracker.extensions import db


def test_upgrade_builds_every_table_and_autogenerate_finds_nothing(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": described_by_models,
            },
        )
        differences = compare_metadata(context, db.metadata)
        tables = set(inspect(connection).get_table_names())
    assert differences == []
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables
