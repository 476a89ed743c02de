"""the inbox: raw updates committed before Telegram is told they arrived

Revision ID: 0006_inbox
Revises: 0005_channel_on_tickets
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0006_inbox'
down_revision = '0005_channel_on_tickets'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chat_key', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('received_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('not_before', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', storage.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('done_at', storage.models.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('update_id')
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_chat', ['status', 'chat_key', 'update_id'], unique=False)
        batch_op.create_index('ix_inbox_due', ['status', 'not_before'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_due')
        batch_op.drop_index('ix_inbox_chat')
    op.drop_table('inbox')
