"""the rating round is read from rating_rounds: drop tickets.rating_round

Since 0004 every round has its `rating_rounds` row and the column repeated the newest row's
number (`Ticket.rating_round` now reads it from the rows). A round the column counted without a
row (none should exist) gets its row first, asked when the ticket was resolved, so nothing is
lost; the downgrade fills the column from the rows again.

Revision ID: 0011_rating_round_from_rows
Revises: 0010_report_indexes
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0011_rating_round_from_rows'
down_revision = '0010_report_indexes'
branch_labels = None
depends_on = None

Utc = storage.models.UtcDateTime


def upgrade() -> None:
    bind = op.get_bind()
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('rating_round', sa.Integer),
                       sa.column('lead_dept', sa.String), sa.column('resolved_at', Utc()),
                       sa.column('updated_at', Utc()))
    rounds = sa.table('rating_rounds', sa.column('ticket_id', sa.Integer), sa.column('round', sa.Integer),
                      sa.column('dept_code', sa.String), sa.column('asked_at', Utc()),
                      sa.column('process_skipped', sa.Boolean), sa.column('not_rated', sa.Boolean))
    have = {(r.ticket_id, r.round) for r in bind.execute(sa.select(rounds.c.ticket_id, rounds.c.round))}
    for t in bind.execute(sa.select(tickets).where(tickets.c.rating_round > 0)).mappings():
        for n in range(1, t['rating_round'] + 1):
            if (t['id'], n) not in have:
                bind.execute(rounds.insert().values(
                    ticket_id=t['id'], round=n, dept_code=t['lead_dept'], process_skipped=False, not_rated=False,
                    asked_at=t['resolved_at'] or t['updated_at'] or datetime.now(timezone.utc)))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('rating_round')


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating_round', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE tickets SET rating_round = (SELECT COALESCE(MAX(round), 0) FROM rating_rounds"
               " WHERE rating_rounds.ticket_id = tickets.id)")
