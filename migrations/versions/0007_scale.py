"""partnership scale: indexes for the newest-first case lists and the sweep's challenge check

Revision ID: 0007_scale
Revises: 0006_api
Depends on: 0003_challenges (the challenge table)

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_scale'
down_revision = '0006_api'
branch_labels = None
depends_on = '0003_challenges'


def upgrade():
    with op.batch_alter_table('child_case', schema=None) as batch_op:
        batch_op.create_index('ix_child_case_created', ['created_at', 'id'], unique=False)

    with op.batch_alter_table('challenge', schema=None) as batch_op:
        batch_op.create_index('ix_challenge_concern', ['concern_id'], unique=False)


def downgrade():
    with op.batch_alter_table('challenge', schema=None) as batch_op:
        batch_op.drop_index('ix_challenge_concern')

    with op.batch_alter_table('child_case', schema=None) as batch_op:
        batch_op.drop_index('ix_child_case_created')
