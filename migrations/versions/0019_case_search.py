"""case search: a trigram index over the case reference and the child's name

Revision ID: 0019_case_search
Revises: 0014_approvals_by_leads

The case list's search is a substring match (services.cases.search), which no B-tree serves: it
scanned every visible case. Trigrams serve a substring of three characters or more:

- PostgreSQL: pg_trgm GIN indexes on the same lower(...) expressions the search filters on, so the
  planner uses them for the LIKE as written. pg_trgm is a trusted extension (PostgreSQL 13+): the
  database's owner may create it. Where it cannot be created the upgrade stops and says so, rather
  than leave a deployment searching 100k cases by scan without anyone knowing.
- SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34+), holding no copy of the text
  (content= the case table), kept in step by triggers. Batch migrations that rebuild child_case
  drop its triggers with the old table: such a migration must recreate them (create_sqlite_index)
  and rebuild; tests/cases/test_search.py checks the index follows new cases after every upgrade.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0019_case_search"
down_revision = "0018_concern_table"
branch_labels = None
depends_on = None

SEARCHED = ("reference", "child_name")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        create_postgresql_index()
    else:
        create_sqlite_index()


def create_postgresql_index():
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as error:
        raise RuntimeError(
            "Case search needs PostgreSQL's pg_trgm extension, which this database user may not "
            "create. Ask the database's owner to run CREATE EXTENSION pg_trgm; in this database, "
            f"then run flask db upgrade again. ({error.orig})"
        ) from None
    for column in SEARCHED:
        op.execute(
            f"CREATE INDEX ix_child_case_{column}_trigram ON child_case "
            f"USING gin (lower({column}) gin_trgm_ops)"
        )


def create_sqlite_index():
    columns = ", ".join(SEARCHED)
    new = ", ".join(f"new.{c}" for c in SEARCHED)
    old = ", ".join(f"old.{c}" for c in SEARCHED)
    op.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS case_search USING fts5({columns}, "
        "content='child_case', content_rowid='id', tokenize='trigram')"
    )
    # Cases are never deleted; the delete trigger keeps the index right if a row ever is.
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS case_search_insert AFTER INSERT ON child_case BEGIN "
        f"INSERT INTO case_search(rowid, {columns}) VALUES (new.id, {new}); END"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS case_search_delete AFTER DELETE ON child_case BEGIN "
        f"INSERT INTO case_search(case_search, rowid, {columns}) VALUES ('delete', old.id, {old}); "
        "END"
    )
    op.execute(
        f"CREATE TRIGGER IF NOT EXISTS case_search_update AFTER UPDATE OF {columns} ON child_case "
        f"BEGIN INSERT INTO case_search(case_search, rowid, {columns}) "
        f"VALUES ('delete', old.id, {old}); "
        f"INSERT INTO case_search(rowid, {columns}) VALUES (new.id, {new}); END"
    )
    op.execute("INSERT INTO case_search(case_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in SEARCHED:
            op.execute(f"DROP INDEX IF EXISTS ix_child_case_{column}_trigram")
        return  # the extension stays: other objects may use it by now
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS case_search_{trigger}")
    op.execute("DROP TABLE IF EXISTS case_search")
