"""console sessions, used login links, Open311 channel requests

Revision ID: 0003_console
Revises: 0002_outbox_priority
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0003_console'
down_revision = '0002_outbox_priority'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_requests',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('first_name', sa.String(length=128), nullable=True),
    sa.Column('last_name', sa.String(length=128), nullable=True),
    sa.Column('address_string', sa.Text(), nullable=True),
    sa.Column('address_id', sa.String(length=128), nullable=True),
    sa.Column('device_id', sa.String(length=128), nullable=True),
    sa.Column('account_id', sa.String(length=128), nullable=True),
    sa.Column('media_url', sa.Text(), nullable=True),
    sa.Column('received_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_index(op.f('ix_channel_requests_channel'), 'channel_requests', ['channel'], unique=False)
    op.create_table('console_logins',
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('used_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce')
    )
    op.create_table('console_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_console_sessions_user_id'), 'console_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_console_sessions_user_id'), table_name='console_sessions')
    op.drop_table('console_sessions')
    op.drop_table('console_logins')
    op.drop_index(op.f('ix_channel_requests_channel'), table_name='channel_requests')
    op.drop_table('channel_requests')
