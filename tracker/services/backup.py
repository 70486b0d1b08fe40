"""Backups of the embedded SQLite database, taken while the app runs (SQLite's online backup API).
PostgreSQL installs use pg_dump instead (see the README)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tracker import clock
from tracker.extensions import db
from tracker.services import audit


class BackupError(Exception):
    pass


def backup_sqlite(destination: str | None, instance_dir: str, actor_label: str) -> str:
    """Copy the database to `destination` (a new file; by default a dated one in the instance
    folder's backups/), check the copy's integrity, audit it; return where it went."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise BackupError("This database is PostgreSQL: back it up with pg_dump.")
    if destination is None:
        folder = Path(instance_dir) / "backups"
        folder.mkdir(parents=True, exist_ok=True)
        destination = str(folder / f"tracker-{clock.now():%Y%m%d-%H%M%S}.sqlite3")
    if Path(destination).exists():
        raise BackupError(f"{destination} exists: choose a new file")
    source = sqlite3.connect(engine.url.database)
    target = sqlite3.connect(destination)
    try:
        with target:
            source.backup(target)
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        raise BackupError(f"The copy failed its integrity check: {check}")
    audit.record("database.backup", reason=destination, actor_label=actor_label)
    db.session.commit()
    return destination
