"""extensions remember the handling round they were asked in

An extension asked before a 办结 (or before a 退单 and a new dispatch) could still be approved
after the ticket came back, and it replaced the new round's deadline with its own date. Each
request now records the dispatch (`assignment_id`) and the ticket's reopen_count (`round`) it
belongs to; requests from before this revision have neither and are judged as before.

Revision ID: 0013_extension_round
Revises: 0012_merged_index
"""
import sqlalchemy as sa
from alembic import op


revision = '0013_extension_round'
down_revision = '0012_merged_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('extensions') as batch:
        batch.add_column(sa.Column('assignment_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('round', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('extensions') as batch:
        batch.drop_column('round')
        batch.drop_column('assignment_id')
