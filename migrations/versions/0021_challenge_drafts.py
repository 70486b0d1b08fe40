"""challenge drafts: a challenge's answers, while it is being raised, kept on the server

Revision ID: 0021_challenge_drafts
Revises: 0020_erasure_recorded

The steps of raising a challenge kept their answers in the session, a cookie signed but not
encrypted: what happened, in the raiser's words or prefilled from another agency's record, sat in
the browser, readable without the app's key. They are kept here instead, one row a person and case,
which also names the challenge once raised (the same answers sent twice raise it once).
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0021_challenge_drafts"
down_revision = "0020_erasure_recorded"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "challenge_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.Column("raised_challenge_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["child_case.id"], name=op.f("fk_challenge_draft_case_id_child_case")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_challenge_draft_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["raised_challenge_id"],
            ["challenge.id"],
            name=op.f("fk_challenge_draft_raised_challenge_id_challenge"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_draft")),
        sa.UniqueConstraint(
            "person_id", "case_id", name=op.f("uq_challenge_draft_person_id")
        ),
    )


def downgrade():
    op.drop_table("challenge_draft")
