"""an index on tickets.merged_into_id: every appeal counts the tickets merged into its neighbours

The hotspot check after each appeal counts supporters and merged tickets for the tickets of its
area and category; without this index the merged count read the whole tickets table, so an
appeal cost more the more tickets the office had ever stored.

Revision ID: 0012_merged_index
Revises: 0011_rating_round_from_rows
"""
from alembic import op


revision = '0012_merged_index'
down_revision = '0011_rating_round_from_rows'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tickets_merged_into', 'tickets', ['merged_into_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_merged_into', table_name='tickets')
