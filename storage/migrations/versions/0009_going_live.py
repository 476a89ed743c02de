"""going live (issue #13): the on-duty dispatcher set with /duty, a private appeal's area

Revision ID: 0009_going_live
Revises: 0008_one_matter
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0009_going_live'
down_revision = '0008_one_matter'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('desk_duty',
    sa.Column('desk', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('set_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('desk')
    )
    with op.batch_alter_table('drafts') as batch:
        batch.add_column(sa.Column('area_code', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('drafts') as batch:
        batch.drop_column('area_code')
    op.drop_table('desk_duty')
