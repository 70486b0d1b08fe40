"""Transaction-scoped locks that serialise writers across processes.

PostgreSQL: an advisory lock held until the transaction ends. SQLite: every write
transaction begins with BEGIN IMMEDIATE (see tracker/database.py), so the single writer is the lock.
"""

from __future__ import annotations

import zlib

from sqlalchemy import select, text

from tracker.extensions import db


def lock_key(name: str) -> int:
    return zlib.crc32(name.encode())


def serialise(name: str) -> None:
    """Hold the named lock until the current transaction commits or rolls back."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})


def row(model, row_id: int):
    """The row, re-read and locked until the transaction ends (FOR UPDATE; its joined relations
    are not locked: PostgreSQL refuses FOR UPDATE on an outer join's nullable side)."""
    return db.session.scalar(
        select(model)
        .where(model.id == row_id)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    )


def hold(record) -> None:
    """Serialise the writers of one record, then read it afresh: of twin requests (a double
    submit, two colleagues at once) the second sees what the first wrote, not what it read
    before the first committed."""
    serialise(f"{record.__tablename__}:{record.id}")
    db.session.refresh(record)


def try_serialise(name: str) -> bool:
    """Take the named lock if it is free; False if another transaction holds it."""
    if db.session.get_bind().dialect.name == "postgresql":
        return bool(
            db.session.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": lock_key(name)}
            ).scalar()
        )
    return True
