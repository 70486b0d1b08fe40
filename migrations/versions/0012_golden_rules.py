"""golden rules of a share: decisions not to share, agency kind for lawful bases, the child's
identifier, the loop closed to the sender, ratings in working hours, partnership closure days

Revision ID: 0012_golden_rules
Revises: 0011_transparency_log

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_golden_rules'
down_revision = '0011_transparency_log'
branch_labels = None
depends_on = None

# Agencies that exist already: every kind but the voluntary sector and "other" is a public
# authority acting in its statutory tasks (an admin can change it).
NOT_PUBLIC = ('voluntary_sector', 'other')


def upgrade():
    op.create_table(
        'closure_day',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['person.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('day'),
    )
    op.create_table(
        'no_share_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('information', sa.Text(), nullable=False),
        sa.Column('reason_code', sa.String(length=40), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=False),
        sa.Column('decided_by_agency_id', sa.Integer(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['child_case.id']),
        sa.ForeignKeyConstraint(['decided_by_agency_id'], ['agency.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['person.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('no_share_decision', schema=None) as batch_op:
        batch_op.create_index('ix_no_share_decision_case', ['case_id', 'id'], unique=False)
    op.create_table(
        'no_share_decision_agency',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('decision_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id']),
        sa.ForeignKeyConstraint(['decision_id'], ['no_share_decision.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('decision_id', 'agency_id'),
    )
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('public_authority', sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute(
        sa.text("UPDATE agency SET public_authority = :no WHERE kind IN :kinds").bindparams(
            sa.bindparam('kinds', expanding=True), no=False, kinds=list(NOT_PUBLIC)
        )
    )
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.alter_column('public_authority', server_default=None)

    with op.batch_alter_table('child_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('nhs_number', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('upn', sa.String(length=13), nullable=True))
        batch_op.create_index('ix_child_case_nhs_number', ['nhs_number'], unique=False)

    with op.batch_alter_table('share', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('revisits_decision_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_share_revisits_decision', 'no_share_decision', ['revisits_decision_id'], ['id']
        )

    with op.batch_alter_table('share_version', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('special_category_circumstance', sa.String(length=50), nullable=True)
        )
        batch_op.add_column(sa.Column('identifier_absent', sa.String(length=30), nullable=True))

    with op.batch_alter_table('share_recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('viewed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('viewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('outcome_detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('outcome_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('outcome_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_share_recipient_viewed_by', 'person', ['viewed_by_id'], ['id']
        )
        batch_op.create_foreign_key(
            'fk_share_recipient_outcome_by', 'person', ['outcome_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('share_recipient', schema=None) as batch_op:
        batch_op.drop_constraint('fk_share_recipient_outcome_by', type_='foreignkey')
        batch_op.drop_constraint('fk_share_recipient_viewed_by', type_='foreignkey')
        for column in ('outcome_by_id', 'outcome_at', 'outcome_detail', 'outcome',
                       'viewed_by_id', 'viewed_at'):
            batch_op.drop_column(column)
    with op.batch_alter_table('share_version', schema=None) as batch_op:
        batch_op.drop_column('identifier_absent')
        batch_op.drop_column('special_category_circumstance')
    with op.batch_alter_table('share', schema=None) as batch_op:
        batch_op.drop_constraint('fk_share_revisits_decision', type_='foreignkey')
        batch_op.drop_column('revisits_decision_id')
        batch_op.drop_column('rating')
    with op.batch_alter_table('child_case', schema=None) as batch_op:
        batch_op.drop_index('ix_child_case_nhs_number')
        batch_op.drop_column('upn')
        batch_op.drop_column('nhs_number')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('public_authority')
    op.drop_table('no_share_decision_agency')
    with op.batch_alter_table('no_share_decision', schema=None) as batch_op:
        batch_op.drop_index('ix_no_share_decision_case')
    op.drop_table('no_share_decision')
    op.drop_table('closure_day')
