"""retention: closure dates, looked-after cases, the disposal review queue and legal holds

Revision ID: 0015_retention
Revises: 0014_approvals_by_leads

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0015_retention"
down_revision = "0014_approvals_by_leads"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("child_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("looked_after", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("disposed_at", sa.DateTime(), nullable=True))
    # Cases closed before this revision: retention runs from their last status change (the
    # audit trail has it); a closed case with no such event counts from when it was opened.
    op.execute(
        "UPDATE child_case SET closed_at = COALESCE("
        "(SELECT MAX(audit_event.at) FROM audit_event WHERE audit_event.case_id = child_case.id "
        "AND audit_event.action = 'case.status_change'), created_at) WHERE status = 'closed'"
    )

    op.create_table(
        "disposal_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("rule_label", sa.String(length=200), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("deferred_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["child_case.id"], name=op.f("fk_disposal_review_case_id_child_case")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["person.id"], name=op.f("fk_disposal_review_decided_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_review")),
    )
    with op.batch_alter_table("disposal_review", schema=None) as batch_op:
        batch_op.create_index("ix_disposal_review_case", ["case_id", "id"], unique=False)
        batch_op.create_index("ix_disposal_review_status", ["status", "id"], unique=False)
        batch_op.create_index(
            "uq_disposal_review_pending",
            ["case_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column("lifted_at", sa.DateTime(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["child_case.id"], name=op.f("fk_legal_hold_case_id_child_case")
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"], ["person.id"], name=op.f("fk_legal_hold_lifted_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["person.id"], name=op.f("fk_legal_hold_set_by_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.create_index("ix_legal_hold_case", ["case_id", "id"], unique=False)
        batch_op.create_index(
            "uq_legal_hold_standing",
            ["case_id"],
            unique=True,
            sqlite_where=sa.text("lifted_at IS NULL"),
            postgresql_where=sa.text("lifted_at IS NULL"),
        )


def downgrade():
    op.drop_table("legal_hold")
    op.drop_table("disposal_review")
    with op.batch_alter_table("child_case", schema=None) as batch_op:
        batch_op.drop_column("disposed_at")
        batch_op.drop_column("looked_after")
        batch_op.drop_column("closed_at")
