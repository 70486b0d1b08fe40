"""what people see: who each alert is from, shown in the inbox (never emailed)

Revision ID: 0013_what_people_see
Revises: 0012_golden_rules

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_what_people_see'
down_revision = '0012_golden_rules'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('sender')
