"""an index on tickets.on_behalf_user_id: /my lists the tickets a volunteer filed for someone too

The person a grid volunteer reported for follows, rates and may reopen the ticket; their /my reads
the tickets they reported or that were reported for them, each side by its own index.

Revision ID: 0014_on_behalf_index
Revises: 0013_extension_round
"""
from alembic import op


revision = '0014_on_behalf_index'
down_revision = '0013_extension_round'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tickets_on_behalf', 'tickets', ['on_behalf_user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_on_behalf', table_name='tickets')
