"""Engine settings that keep SQLite honest as the embedded database.

SQLite gets foreign keys, WAL, a busy timeout, and a choice of BEGIN per transaction:

- a browser page's GET (and HEAD) reads in an ordinary deferred transaction, which takes no lock:
  under WAL any number of readers run beside the one writer;
- every other transaction (a form post, the API, the scheduler, the CLI) begins IMMEDIATE: it
  takes the write lock at BEGIN, so a read-check-write never has its snapshot go stale under it
  (in WAL a deferred reader that later writes after another commit fails with SQLITE_BUSY,
  which the busy timeout cannot wait out);
- when such a page does write (its view event, an idle sign-out), its read transaction ends
  there and a write transaction begins on the same connection (`upgrade_for_write`, also done
  before any INSERT, UPDATE, DELETE or SAVEPOINT): a deferred reader must never upgrade itself, because in
  WAL that fails at once with SQLITE_BUSY if anyone committed since it began.

PostgreSQL needs none of this: its row locks and MVCC let readers and writers run side by side.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

_writing: ContextVar[bool] = ContextVar("sqlite_writing", default=False)
READ_METHODS = frozenset({"GET", "HEAD"})


def _page_read() -> bool:
    from tracker.api import API_PREFIX  # the API's GETs count calls in the database: they write

    return (
        has_request_context()
        and request.method in READ_METHODS
        and not request.path.startswith(API_PREFIX)
    )


_DEFERRED = "tracker_deferred"


def _upgrade(dbapi_connection, info) -> None:
    """End a read transaction that has written nothing, and begin a write transaction."""
    if info.get(_DEFERRED):
        info[_DEFERRED] = False
        dbapi_connection.execute("COMMIT")
        dbapi_connection.execute("BEGIN IMMEDIATE")


def upgrade_for_write(session) -> None:
    """Before a read-then-write (e.g. reading the highest id to take the next): hold the write
    lock first. No-op on PostgreSQL and in transactions that began IMMEDIATE."""
    connection = session.connection()
    if connection.dialect.name == "sqlite" and connection.info.get(_DEFERRED):
        _upgrade(connection.connection.dbapi_connection, connection.info)


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
        # Every commit is on disk before it returns, power cut included: a recorded share or its
        # audit event never vanishes after the page said it was saved. (Delivery's own connection
        # alone records "sent" with NORMAL: services.delivery._Run.)
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        # Freed space is zeroed: erased and disposed-of personal content must not linger in the
        # file's free space (retention disposal, audit content erasure).
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        read_only = not autocommit and not _writing.get() and _page_read()
        connection.info[_DEFERRED] = read_only  # per connection, reused from the pool: always set
        if autocommit:
            return  # each statement commits itself (delivery's own connection)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(connection, cursor, statement, parameters, context, executemany):
        if connection.info.get(_DEFERRED) and statement.lstrip()[:7].upper().startswith(
            ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOI")
        ):  # a savepoint is begun to write: it must live inside the write transaction
            _upgrade(cursor.connection, connection.info)


# The case search indexes (migration 0019_case_search), made by hand because the models cannot
# describe them: SQLite's FTS5 table with its shadow tables, PostgreSQL's pg_trgm GIN indexes.
_HAND_MADE = {
    "table": re.compile(r"case_search(_(data|idx|docsize|config|content))?"),
    "index": re.compile(r"ix_child_case_\w+_trigram"),
}


def described_by_models(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name: what autogenerate compares with the models."""
    hand_made = _HAND_MADE.get(type_)
    return not (hand_made and name and hand_made.fullmatch(name))
