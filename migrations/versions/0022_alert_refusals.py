"""alert refusals: what counts against a message apart from every try

Revision ID: 0022_alert_refusals
Revises: 0021_challenge_drafts

Every try of an alert's email counts in `attempts` (its backoff); only a refusal of the message
itself (a 5xx reply) or a sender killed with it in hand counts in `refusals`, which decides when
it is given up. A relay down for hours no longer uses up a message's tries.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0022_alert_refusals"
down_revision = "0021_challenge_drafts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("refusals", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("refusals")
