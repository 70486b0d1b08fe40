"""approvals by leads: a role_approval may be about an identity provider's settings

Revision ID: 0014_approvals_by_leads
Revises: 0013_what_people_see

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_approvals_by_leads"
down_revision = "0013_what_people_see"
branch_labels = None
depends_on = None


def upgrade():
    # Providers already configured stay in use (server_default false): approval applies to
    # creations and changes from now on.
    with op.batch_alter_table("identity_provider", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("awaiting_approval", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("role_approval", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_provider_id", sa.Integer(), nullable=True))
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("role", existing_type=sa.String(length=20), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_role_approval_identity_provider_id"),
            ["identity_provider_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_role_approval_identity_provider_id_identity_provider"),
            "identity_provider",
            ["identity_provider_id"],
            ["id"],
        )


def downgrade():
    op.execute("DELETE FROM role_approval WHERE identity_provider_id IS NOT NULL")
    with op.batch_alter_table("role_approval", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_role_approval_identity_provider_id_identity_provider"),
            type_="foreignkey",
        )
        batch_op.drop_index(batch_op.f("ix_role_approval_identity_provider_id"))
        batch_op.alter_column("role", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("person_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("identity_provider_id")

    with op.batch_alter_table("identity_provider", schema=None) as batch_op:
        batch_op.drop_column("awaiting_approval")
