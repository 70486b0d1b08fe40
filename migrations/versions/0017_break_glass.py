"""break-glass: emergency read access to a case, its review by auditors

Revision ID: 0017_break_glass
Revises: 0014_approvals_by_leads

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017_break_glass"
down_revision = "0016_subject_access"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "break_glass_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("first_opened_at", sa.DateTime(), nullable=True),
        sa.Column("review_status", sa.String(length=20), nullable=False),
        sa.Column("reviewed_by_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_break_glass_grant_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["child_case.id"], name=op.f("fk_break_glass_grant_case_id_child_case")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_break_glass_grant_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by_id"],
            ["person.id"],
            name=op.f("fk_break_glass_grant_reviewed_by_id_person"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_grant")),
    )
    with op.batch_alter_table("break_glass_grant", schema=None) as batch_op:
        batch_op.create_index(
            "ix_break_glass_grant_lookup", ["case_id", "person_id", "expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_break_glass_grant_review", ["review_status", "granted_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("break_glass_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_break_glass_grant_review")
        batch_op.drop_index("ix_break_glass_grant_lookup")
    op.drop_table("break_glass_grant")
