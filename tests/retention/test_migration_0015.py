"""Migration 0015: cases closed before it count their retention from their last status change."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from tests.audit.test_migration_0011 import BACKENDS, migrate
from tests.conftest import RUN_ID, _pg_admin, _pg_url, make_app


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    name = f"tracker_m0015_{RUN_ID}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_closed_cases_take_their_closure_from_the_trail(empty_database, tmp_path):
    app = make_app(empty_database, tmp_path)
    migrate(app, "0014_approvals_by_leads")
    engine = create_engine(empty_database)
    opened = datetime(2026, 1, 5, 9, 0)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO agency (id, name, kind, secure_mailbox, public_authority, active, "
                "created_at) VALUES (1, 'A', 'police', 'a@example.org', true, true, :at)"
            ),
            {"at": opened},
        )
        conn.execute(
            text(
                "INSERT INTO person (id, name, email, agency_id, role, active, away, "
                "invite_clears_two_factor, session_token, created_at) VALUES "
                "(1, 'W', 'w@example.org', 1, 'worker', true, false, false, 't', :at)"
            ),
            {"at": opened},
        )
        for case_id, status in ((1, "closed"), (2, "closed"), (3, "open")):
            conn.execute(
                text(
                    "INSERT INTO child_case (id, reference, child_name, date_of_birth, "
                    "lead_agency_id, status, created_at, created_by_id) VALUES "
                    "(:id, :ref, 'C', '2015-01-01', 1, :status, :at, 1)"
                ),
                {"id": case_id, "ref": f"R{case_id}", "status": status, "at": opened},
            )
        # Case 1 was closed, reopened and closed again: the last change counts.
        for event_id, day in ((1, 10), (2, 20), (3, 28)):
            conn.execute(
                text(
                    "INSERT INTO audit_event (id, at, action, case_id, content_commitment, "
                    "leaf_hash) VALUES (:id, :at, 'case.status_change', 1, 'c', 'h')"
                ),
                {"id": event_id, "at": datetime(2026, 1, day, 12, 0)},
            )
    migrate(app, "head")
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, closed_at FROM child_case")).all())
        looked_after = conn.execute(text("SELECT count(*) FROM child_case WHERE looked_after"))
        assert looked_after.scalar() == 0
    engine.dispose()
    as_datetime = {
        k: v if v is None or isinstance(v, datetime) else datetime.fromisoformat(v)
        for k, v in rows.items()
    }
    # Case 2 closed with no trail of it: from when it was opened. Case 3 is open.
    assert as_datetime == {1: datetime(2026, 1, 28, 12, 0), 2: opened, 3: None}
