"""outbox priority: acks and answers go ahead of news in the same chat

Revision ID: 0002_outbox_priority
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_outbox_priority'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        # Rows already queued keep the plain order they had: all "news" (1).
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='1', nullable=False))
        batch_op.create_index('ix_outbox_queue', ['status', 'chat_id', 'priority', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_queue')
        batch_op.drop_column('priority')
