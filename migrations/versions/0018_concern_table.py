"""concern table: share_recipient is called what it is everywhere else, a concern

Revision ID: 0018_concern_table
Revises: 0014_approvals_by_leads

The table, its indexes and every constraint that carries its name are renamed, in the tables that
point at it too. The rows keep their ids, and so do the audit events and alert keys that name
them ("share_recipient" in their object kind and event key is stored text, kept as it is).

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_concern_table"
down_revision = "0017_break_glass"
branch_labels = None
depends_on = None

OLD, NEW = "share_recipient", "concern"
POINTING_AT_IT = ("concern_response", "challenge")  # their foreign keys' names end in its name


def _rename(old: str, new: str) -> None:
    op.rename_table(old, new)  # SQLite rewrites the other tables' references to it as well
    if op.get_bind().dialect.name == "postgresql":
        _rename_in_place(old, new)
    else:
        # SQLite keeps constraint names inside each table's CREATE statement: only a rebuild
        # renames them (migrations/env.py turns foreign keys off while tables are rebuilt).
        for table in (new, *POINTING_AT_IT):
            _rebuild_with_names(table, old, new)


def _renamed(name: str | None, table: str, old: str, new: str) -> str | None:
    """A constraint or index name of `table` with the renamed table's old name swapped where the
    naming convention put it: after the kind on its own (pk_share_recipient,
    uq_share_recipient_share_id), at the end of a foreign key to it
    (fk_challenge_concern_id_share_recipient). None if the name does not change."""
    if not name:
        return None
    kind, _, rest = name.partition("_")
    if table == new and (rest == old or rest.startswith(old + "_")):
        rest = new + rest[len(old) :]
    if kind == "fk" and rest.endswith("_" + old):
        rest = rest[: -len(old)] + new
    renamed = f"{kind}_{rest}"
    return renamed if renamed != name else None


def _rename_in_place(old: str, new: str) -> None:
    """PostgreSQL renames without copying a row: the sequence, constraints, indexes."""
    inspector = sa.inspect(op.get_bind())
    op.execute(f'ALTER SEQUENCE "{old}_id_seq" RENAME TO "{new}_id_seq"')
    for table in (new, *POINTING_AT_IT):
        names = [inspector.get_pk_constraint(table)["name"]]
        names += [u["name"] for u in inspector.get_unique_constraints(table)]
        names += [fk["name"] for fk in inspector.get_foreign_keys(table)]
        for name in names:
            if renamed := _renamed(name, table, old, new):
                op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{name}" TO "{renamed}"')
    for index in inspector.get_indexes(new):
        if renamed := _renamed(index["name"], new, old, new):
            op.execute(f'ALTER INDEX "{index["name"]}" RENAME TO "{renamed}"')


def _rebuild_with_names(table: str, old: str, new: str) -> None:
    """Rebuild a SQLite table as it is, with its constraint and index names renamed."""
    copy = sa.Table(table, sa.MetaData(), autoload_with=op.get_bind())
    for item in (*copy.constraints, *copy.indexes):
        if renamed := _renamed(item.name, table, old, new):
            item.name = renamed
    with op.batch_alter_table(table, copy_from=copy, recreate="always"):
        pass


def upgrade():
    _rename(OLD, NEW)


def downgrade():
    _rename(NEW, OLD)
