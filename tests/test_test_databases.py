"""The suite's own PostgreSQL database per worker (tests/conftest.py: _PgDatabase) gives each
test exactly the template back: no row, sequences at 1, and the schema whole even after a test
disabled the audit log's triggers (an attacker test does)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import PG_URL, _pg_url
from tracker.extensions import db

pytestmark = pytest.mark.skipif(not PG_URL, reason="TRACKER_TEST_DATABASE_URL is not set")

DISABLED = "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'"
ROWS = "SELECT (SELECT count(*) FROM person) + (SELECT count(*) FROM audit_event)"


def _reopened(pg_database) -> object:
    """The database as the next test gets it, read on a connection of its own."""
    db.engine.dispose()  # this test's app is done with it
    return create_engine(_pg_url(pg_database.take()), poolclass=NullPool)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_rows_go_and_sequences_start_again(app, world, pg_database):
    assert db.session.scalar(text(ROWS)) > 0
    db.session.commit()
    engine = _reopened(pg_database)
    with engine.begin() as connection:
        assert connection.scalar(text(ROWS)) == 0
        assert connection.scalar(text("SELECT nextval('person_id_seq')")) == 1
    engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_schema_changed_by_a_test_is_copied_again(app, world, pg_database):
    db.session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    db.session.commit()
    assert db.session.scalar(text(DISABLED)) > 0
    db.session.commit()
    engine = _reopened(pg_database)
    with engine.connect() as connection:
        assert connection.scalar(text(DISABLED)) == 0
        assert connection.scalar(text(ROWS)) == 0
    engine.dispose()
