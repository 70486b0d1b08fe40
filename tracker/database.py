"""Engine settings that keep SQLite honest as the embedded database.

SQLite gets foreign keys, WAL, a busy timeout, and a choice of BEGIN per transaction:

- a browser page's GET (and HEAD) reads in an ordinary deferred transaction, which takes no lock:
  under WAL any number of readers run beside the one writer;
- every other transaction (a form post, the API, the scheduler, the CLI) begins IMMEDIATE: it
  takes the write lock at BEGIN, so a read-check-write never has its snapshot go stale under it
  (in WAL a deferred reader that later writes after another commit fails with SQLITE_BUSY,
  which the busy timeout cannot wait out);
- a page's view event is written after its reads, in a short transaction of its own begun
  inside `writing()` (tracker.services.audit.commit_view).

PostgreSQL needs none of this: its row locks and MVCC let readers and writers run side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tracker.extensions import db

_writing: ContextVar[bool] = ContextVar("sqlite_writing", default=False)
READ_METHODS = frozenset({"GET", "HEAD"})


def _page_read() -> bool:
    from tracker.api import API_PREFIX  # the API's GETs count calls in the database: they write

    return (
        has_request_context()
        and request.method in READ_METHODS
        and not request.path.startswith(API_PREFIX)
    )


def reading() -> bool:
    """True while this thread's SQLite transactions are read-only page reads (never on PostgreSQL)."""
    if _writing.get() or not _page_read():
        return False
    return db.session.get_bind().dialect.name == "sqlite"


@contextmanager
def writing() -> Iterator[None]:
    """Transactions begun inside take SQLite's write lock at BEGIN."""
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def configure_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        read_only = not _writing.get() and _page_read()
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
