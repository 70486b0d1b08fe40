"""the audit trail becomes a transparency log: leaf hashes, erasable content, tree nodes, checkpoints

Checks the old hash chain one last time and refuses to run on a broken chain; then moves each
event's personal content into audit_content (with a salted commitment in the event), gives each
event its leaf hash, and drops the chain columns. Existing events stay unsealed: the sealer's
first run makes them the first leaves of the tree, in id order (it seals in id order), and signs
the first checkpoint.

Revision ID: 0011_transparency_log
Revises: 0010_account_security

"""
import hashlib
import json
import secrets
from datetime import date, datetime

import sqlalchemy as sa
from alembic import op


revision = '0011_transparency_log'
down_revision = '0010_account_security'
branch_labels = None
depends_on = None

BATCH = 5000

# Frozen copies of the serialisations (migrations must not change when the app's code does).
OLD_HASHED_FIELDS = (
    "id", "at", "person_id", "person_name", "agency_id", "role", "address", "user_agent",
    "action", "object_kind", "object_id", "case_id", "changes", "reason", "prev_hash",
)
LEAF_FIELDS = (
    "id", "at", "person_id", "agency_id", "role", "action", "object_kind", "object_id",
    "case_id", "content_commitment",
)
GENESIS = "0" * 64


def _json_value(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(_json_value(v) for v in value)
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def canonical_json(value) -> str:
    return json.dumps(_json_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _as_datetime(value):
    if isinstance(value, str):  # SQLite hands back text from a raw select
        return datetime.fromisoformat(value)
    return value


class BrokenChain(RuntimeError):
    pass


def upgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    _walk_chain(bind, move=False)  # first, and changing nothing: SQLite's DDL is not transactional

    op.create_table('audit_content',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=True),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('erased_at', sa.DateTime(), nullable=True),
    sa.Column('erased_by', sa.String(length=120), nullable=True),
    sa.Column('erased_rule', sa.String(length=120), nullable=True),
    sa.Column('erased_reason', sa.Text(), nullable=True),
    sa.Column('erasure_event_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_audit_content'))
    )  # its foreign key comes last: SQLite rebuilds audit_event below, and a key would block that
    op.create_table('audit_node',
    sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('level', 'index', name=op.f('pk_audit_node'))
    )
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('verifier_key', sa.String(length=200), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint')),
    sa.UniqueConstraint('tree_size', name=op.f('uq_audit_checkpoint_tree_size'))
    )

    _drop_old_triggers(postgresql)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_commitment', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('leaf_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('leaf_index', sa.BigInteger(), nullable=True))

    _walk_chain(bind, move=True)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_event_hash', type_='unique')
        for column in ('person_name', 'address', 'user_agent', 'changes', 'reason', 'prev_hash', 'hash'):
            batch_op.drop_column(column)
        batch_op.alter_column('content_commitment', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('leaf_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index('uq_audit_event_leaf_index', ['leaf_index'], unique=True)
        batch_op.create_index(
            'ix_audit_event_unsealed', ['id'], unique=False,
            sqlite_where=sa.text('leaf_index IS NULL'),
            postgresql_where=sa.text('leaf_index IS NULL'),
        )
    with op.batch_alter_table('audit_content', schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f('fk_audit_content_event_id_audit_event'), 'audit_event', ['event_id'], ['id']
        )
    _create_triggers(postgresql)


def _walk_chain(bind, move: bool):
    """A pass in id order checking the old chain; with move, also write content rows and leaf
    hashes."""
    expected_prev, expected_id, last = GENESIS, 1, 0
    columns = ", ".join(("hash",) + OLD_HASHED_FIELDS)
    while True:
        rows = bind.execute(
            sa.text(f"SELECT {columns} FROM audit_event WHERE id > :last ORDER BY id LIMIT {BATCH}"),
            {"last": last},
        ).mappings().all()
        if not rows:
            return
        contents, leaves = [], []
        for row in rows:
            row = dict(row)
            row["at"] = _as_datetime(row["at"])
            if row["id"] != expected_id:
                raise BrokenChain(
                    f"The audit chain is broken at event {expected_id} (missing): this migration "
                    "refuses to run; restore the trail from a backup first"
                )
            payload = {field: row[field] for field in OLD_HASHED_FIELDS}
            digest = hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()
            if row["prev_hash"] != expected_prev or digest != row["hash"]:
                raise BrokenChain(
                    f"The audit chain is broken at event {row['id']}: this migration refuses to "
                    "run; restore the trail from a backup first"
                )
            expected_prev, expected_id = row["hash"], row["id"] + 1
            if not move:
                continue
            content = canonical_json({
                "person_name": row["person_name"],
                "address": row["address"],
                "user_agent": row["user_agent"],
                "changes": json.loads(row["changes"]),
                "reason": row["reason"],
            })
            salt = secrets.token_hex(16)
            commitment = hashlib.sha256(bytes.fromhex(salt) + content.encode("utf-8")).hexdigest()
            leaf = {field: row[field] for field in LEAF_FIELDS if field != "content_commitment"}
            leaf["content_commitment"] = commitment
            leaf_bytes = canonical_json(leaf).encode("utf-8")
            contents.append({"event_id": row["id"], "salt": salt, "content": content})
            leaves.append({
                "event_id": row["id"],
                "commitment": commitment,
                "leaf_hash": hashlib.sha256(b"\x00" + leaf_bytes).hexdigest(),
            })
        last = rows[-1]["id"]
        if not move:
            continue
        bind.execute(
            sa.text("INSERT INTO audit_content (event_id, salt, content) VALUES (:event_id, :salt, :content)"),
            contents,
        )
        bind.execute(
            sa.text(
                "UPDATE audit_event SET content_commitment = :commitment, leaf_hash = :leaf_hash "
                "WHERE id = :event_id"
            ),
            leaves,
        )


def _drop_old_triggers(postgresql):
    if postgresql:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_refuse_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


EVENT_CONTENT_COLUMNS = (
    "id", "at", "person_id", "agency_id", "role", "action", "object_kind", "object_id",
    "case_id", "content_commitment", "leaf_hash",
)
CONTENT_COLUMNS = ("event_id",)


def _create_triggers(postgresql):
    """Append-only in the database itself. The one update an event allows is its sealing
    (leaf_index from NULL to a number, once); the one update its content allows is an erasure
    (once); tree nodes and checkpoints allow none."""
    if postgresql:
        op.execute(
            """
            CREATE FUNCTION audit_refuse_change() RETURNS trigger AS $$
            BEGIN
              RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            """
            CREATE FUNCTION audit_event_seal_only() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND OLD.leaf_index IS NULL AND NEW.leaf_index IS NOT NULL
                 AND (to_jsonb(OLD) - 'leaf_index') = (to_jsonb(NEW) - 'leaf_index') THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION 'the audit log is append-only: % on audit_event refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            """
            CREATE FUNCTION audit_content_erase_only() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL
                 AND NEW.content IS NULL AND NEW.salt IS NULL
                 AND NEW.event_id = OLD.event_id THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION 'the audit log is append-only: % on audit_content refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION audit_event_seal_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_content_append_only BEFORE UPDATE OR DELETE ON audit_content "
            "FOR EACH ROW EXECUTE FUNCTION audit_content_erase_only()"
        )
        for table in ("audit_node", "audit_checkpoint"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()"
            )
        for table in ("audit_event", "audit_content", "audit_node", "audit_checkpoint"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()"
            )
        return
    refuse = "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {what} refused'); END"
    op.execute(
        f"CREATE TRIGGER audit_event_no_update BEFORE UPDATE OF {', '.join(EVENT_CONTENT_COLUMNS)} "
        f"ON audit_event {refuse.format(what='UPDATE')}"
    )
    op.execute(
        "CREATE TRIGGER audit_event_seal_once BEFORE UPDATE OF leaf_index ON audit_event "
        "WHEN OLD.leaf_index IS NOT NULL OR NEW.leaf_index IS NULL "
        f"{refuse.format(what='UPDATE')}"
    )
    op.execute(
        f"CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event {refuse.format(what='DELETE')}"
    )
    op.execute(
        "CREATE TRIGGER audit_content_erase_once BEFORE UPDATE ON audit_content "
        "WHEN OLD.erased_at IS NOT NULL OR NEW.erased_at IS NULL OR NEW.content IS NOT NULL "
        "OR NEW.salt IS NOT NULL OR NEW.event_id IS NOT OLD.event_id "
        f"{refuse.format(what='UPDATE')}"
    )
    op.execute(
        f"CREATE TRIGGER audit_content_no_delete BEFORE DELETE ON audit_content {refuse.format(what='DELETE')}"
    )
    for table in ("audit_node", "audit_checkpoint"):
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"{refuse.format(what=operation)}"
            )


def downgrade():
    raise RuntimeError(
        "The transparency log cannot be turned back into a hash chain: restore the backup taken "
        "before the upgrade"
    )
