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

SQLite's own lower() folds A-Z only ("Émile" stays "Émile"); PostgreSQL's folds every letter. Text
compared without regard to case goes through `folded`, which is lower() on PostgreSQL and, on
SQLite, a function of the app's own registered on each connection (`fold_case`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import String, and_, event, func, literal, or_
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

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
        dbapi_connection.create_function(SQLITE_FOLD, 1, fold_case, deterministic=True)

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


# Case-insensitive matching. The built-in lower() is left as it is: an index, CHECK or trigger
# built on it (none today) must keep meaning what it meant when it was built, in every connection,
# the sqlite3 shell's and PRAGMA integrity_check's included. The app's function has a name of its
# own and is for queries only: never use it in the schema (an index, CHECK, trigger, view or
# generated column on it could not be read, checked or migrated by a connection without it).
SQLITE_FOLD = "tracker_fold_case"
# Python's str.lower() is letter by letter except for two mappings of Unicode's SpecialCasing:
# "İ" becomes two characters, and "Σ" becomes "ς" at the end of a word, so a term lowered alone
# would not be a substring of the name it came from. PostgreSQL's lower() maps each letter alone.
_ONE_BY_ONE = str.maketrans({"\u0130": "i", "\u03a3": "\u03c3"})
# The only letters beyond ASCII whose lower case is in ASCII: "İ" and the Kelvin sign "K".
INTO_ASCII = {"\u0130": "i", "\u212a": "k"}


def fold_case(text):
    """Lower-case as PostgreSQL's lower() does: each letter by its own (simple) lower case, one
    character for one."""
    if not isinstance(text, str):
        return text  # NULL stays NULL
    return text.lower() if text.isascii() else text.translate(_ONE_BY_ONE).lower()


class folded(FunctionElement):  # noqa: N801 (an SQL function, named as func.lower is)
    """lower(text) that folds every letter alike on both databases: PostgreSQL's own lower() (so
    its expression indexes on lower(...) still serve), SQLite's `fold_case`."""

    type = String()
    name = "folded"
    inherit_cache = True


@compiles(folded)
def _folded(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    return f"{SQLITE_FOLD}({compiler.process(element.clauses, **kw)})"


def like_folded(expression, pattern: str, dialect: str, escape: str = "/"):
    """`expression LIKE pattern`, both folded by `folded`.

    On SQLite a Python function called row by row costs more than the search (twice a scan of
    every case for the case list's one- and two-character terms), so SQLite's own LIKE, which
    folds A-Z itself, answers first: with each letter of the pattern beyond ASCII left to "_"
    (the fold maps one character to one) it keeps every row the fold could match, and for a
    pattern all in ASCII it is the answer, but for a text holding a letter that lower-cases into
    one of the pattern's ("İ" into "i", "K" into "k"). The fold decides the rest.
    """
    decided = folded(expression).like(folded(literal(pattern, String)), escape=escape)
    if dialect != "sqlite":
        return decided
    lowered = fold_case(pattern)
    near = "".join(c if c.isascii() else "_" for c in lowered)
    could = expression.like(near, escape=escape)
    beyond = [func.instr(expression, c) > 0 for c, into in INTO_ASCII.items() if into in near]
    if lowered.isascii():
        return or_(could, and_(or_(*beyond), decided)) if beyond else could
    return and_(or_(could, *beyond), decided)


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
