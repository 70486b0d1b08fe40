"""Migration 0011: an old hash chain becomes the first leaves; a broken chain is refused."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, _pg_admin, _pg_url, make_app
from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.services import transparency

MIGRATION = Path(__file__).resolve().parents[2] / "migrations/versions/0011_transparency_log.py"
spec = importlib.util.spec_from_file_location("m0011", MIGRATION)
m0011 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m0011)

BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def old_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    name = f"tracker_m0011_{os.getpid()}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def old_chain(url: str, count: int, break_at: int | None = None) -> list[dict]:
    """Events as the old code wrote them: hash-chained, content in the row."""
    engine = create_engine(url)
    prev, rows = m0011.GENESIS, []
    for n in range(1, count + 1):
        row = {
            "id": n,
            "at": datetime(2026, 1, 1, 9, 0, n),
            "person_id": None,
            "person_name": f"Person {n}",
            "agency_id": None,
            "role": None,
            "address": "127.0.0.1",
            "user_agent": "test",
            "action": "case.view",
            "object_kind": "case",
            "object_id": n,
            "case_id": None,
            "changes": m0011.canonical_json({"n": [None, n]}),
            "reason": None,
            "prev_hash": prev,
        }
        payload = {f: row[f] for f in m0011.OLD_HASHED_FIELDS}
        row["hash"] = hashlib.sha256(m0011.canonical_json(payload).encode()).hexdigest()
        if n == break_at:
            row["reason"] = "edited after hashing"
        prev = row["hash"]
        rows.append(row)
    columns = ", ".join(rows[0])
    values = ", ".join(f":{c}" for c in rows[0])
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO audit_event ({columns}) VALUES ({values})"), rows)
    engine.dispose()
    return rows


def migrate(app, revision: str) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision=revision)
        db.engine.dispose()


def test_old_events_become_the_first_leaves_in_id_order(old_database, tmp_path):
    app = make_app(old_database, tmp_path)
    migrate(app, "0010_account_security")
    rows = old_chain(old_database, 12)
    migrate(app, "head")
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.person_name for e in events] == [r["person_name"] for r in rows]
        assert [e.changes for e in events] == [r["changes"] for r in rows]
        transparency.seal()
        db.session.expire_all()
        indices = db.session.scalars(db.select(AuditEvent.leaf_index).order_by(AuditEvent.id))
        assert list(indices) == list(range(12))
        result = app.test_cli_runner().invoke(args=["tracker", "audit", "verify"])
        assert result.exit_code == 0 and result.output.startswith("ok 12 events"), result.output
        db.session.remove()
        db.engine.dispose()


def test_a_broken_chain_is_refused(old_database, tmp_path, capfd):
    app = make_app(old_database, tmp_path)
    migrate(app, "0010_account_security")
    old_chain(old_database, 6, break_at=4)
    with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits 1
        migrate(app, "head")
    assert "The audit chain is broken at event 4" in capfd.readouterr().err
    engine = create_engine(old_database)
    with engine.connect() as conn:  # nothing was half-done: still before it, chain columns intact
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            == "0010_account_security"
        )
        assert conn.execute(text("SELECT count(hash) FROM audit_event")).scalar() == 6
    engine.dispose()
