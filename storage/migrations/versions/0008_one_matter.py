"""one matter: supporters, related tickets, hotspot alerts, 专项 (issue #11)

Revision ID: 0008_one_matter
Revises: 0007_reports
"""
from alembic import op
import sqlalchemy as sa
import storage.models


revision = '0008_one_matter'
down_revision = '0007_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supporters',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('how', sa.String(length=16), nullable=False),
    sa.Column('created_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id', 'person_id')
    )
    op.create_table('related_tickets',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('related_to_id', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['related_to_id'], ['tickets.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_index(op.f('ix_related_tickets_related_to_id'), 'related_tickets', ['related_to_id'], unique=False)
    op.create_table('hotspot_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('window_start', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('trigger', sa.String(length=8), nullable=False),
    sa.Column('ticket_count', sa.Integer(), nullable=False),
    sa.Column('support_count', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('area_code', 'category', 'window_start', name='uq_hotspot_window')
    )
    op.create_table('hotspot_alert_tickets',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['hotspot_alerts.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('alert_id', 'ticket_id')
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_code', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('lead_dept', sa.String(length=64), nullable=False),
    sa.Column('leader_id', sa.BigInteger(), nullable=False),
    sa.Column('goal', sa.Text(), nullable=False),
    sa.Column('deadline', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', storage.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.BigInteger(), nullable=True),
    sa.Column('cause_text', sa.Text(), nullable=True),
    sa.Column('cause_by', sa.BigInteger(), nullable=True),
    sa.Column('cause_at', storage.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reminded', sa.Float(), nullable=False),
    sa.Column('overdue_sent', sa.Boolean(), nullable=False),
    sa.Column('nag_at', storage.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', storage.models.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['hotspot_alerts.id'], ),
    sa.ForeignKeyConstraint(['area_code'], ['areas.code'], ),
    sa.ForeignKeyConstraint(['lead_dept'], ['departments.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_campaigns_next_check', 'campaigns', ['next_check_at'], unique=False)
    op.create_index('ix_campaigns_scope', 'campaigns', ['area_code', 'category'], unique=False)
    op.create_table('campaign_tickets',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('joined_at', storage.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('ticket_id')
    )
    op.create_index(op.f('ix_campaign_tickets_campaign_id'), 'campaign_tickets', ['campaign_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_campaign_tickets_campaign_id'), table_name='campaign_tickets')
    op.drop_table('campaign_tickets')
    op.drop_index('ix_campaigns_scope', table_name='campaigns')
    op.drop_index('ix_campaigns_next_check', table_name='campaigns')
    op.drop_table('campaigns')
    op.drop_table('hotspot_alert_tickets')
    op.drop_table('hotspot_alerts')
    op.drop_index(op.f('ix_related_tickets_related_to_id'), table_name='related_tickets')
    op.drop_table('related_tickets')
    op.drop_table('supporters')
