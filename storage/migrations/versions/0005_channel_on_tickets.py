"""an Open311 request's channel lives on its ticket only (tickets.channel)

Revision ID: 0005_channel_on_tickets
Revises: 0004_ticket_facts
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_channel_on_tickets'
down_revision = '0004_ticket_facts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Carry the fact over before the duplicate goes: one writer, one column.
    op.execute("UPDATE tickets SET channel = (SELECT channel FROM channel_requests "
               "WHERE channel_requests.ticket_id = tickets.id) "
               "WHERE id IN (SELECT ticket_id FROM channel_requests)")
    op.drop_index(op.f('ix_channel_requests_channel'), table_name='channel_requests')
    with op.batch_alter_table('channel_requests', schema=None) as batch_op:
        batch_op.drop_column('channel')


def downgrade() -> None:
    with op.batch_alter_table('channel_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=64), nullable=False, server_default='telegram'))
    op.execute("UPDATE channel_requests SET channel = (SELECT channel FROM tickets "
               "WHERE tickets.id = channel_requests.ticket_id)")
    op.create_index(op.f('ix_channel_requests_channel'), 'channel_requests', ['channel'], unique=False)
