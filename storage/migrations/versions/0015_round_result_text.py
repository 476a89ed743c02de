"""rating rounds remember the result they rated

The 满意度评价表 showed every rating of a reopened ticket beside the ticket's latest 办理结果,
so a 不满意 of the first result read as a verdict on the second. Each round now keeps the result
text it was asked about. Rounds from before this revision get the text of the ticket's resolved
event of the same order (the n-th 办结 opened the n-th round); a round with no such event keeps
none and the ledger falls back to the ticket's latest result.

Revision ID: 0015_round_result_text
Revises: 0014_on_behalf_index
"""
import sqlalchemy as sa
from alembic import op


revision = '0015_round_result_text'
down_revision = '0014_on_behalf_index'
branch_labels = None
depends_on = None

_rounds = sa.table('rating_rounds', sa.column('id', sa.Integer), sa.column('ticket_id', sa.Integer),
                   sa.column('round', sa.Integer), sa.column('result_text', sa.Text))
_events = sa.table('ticket_events', sa.column('id', sa.Integer), sa.column('ticket_id', sa.Integer),
                   sa.column('kind', sa.String), sa.column('data', sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table('rating_rounds') as batch:
        batch.add_column(sa.Column('result_text', sa.Text(), nullable=True))
    bind = op.get_bind()
    texts: dict[int, list[str | None]] = {}
    for ticket_id, data in bind.execute(sa.select(_events.c.ticket_id, _events.c.data)
                                        .where(_events.c.kind == 'resolved').order_by(_events.c.id)):
        texts.setdefault(ticket_id, []).append((data or {}).get('text') if isinstance(data, dict) else None)
    for round_id, ticket_id, n in bind.execute(sa.select(_rounds.c.id, _rounds.c.ticket_id, _rounds.c.round)):
        done = texts.get(ticket_id, [])
        if 1 <= n <= len(done) and done[n - 1]:
            bind.execute(_rounds.update().where(_rounds.c.id == round_id).values(result_text=done[n - 1]))


def downgrade() -> None:
    with op.batch_alter_table('rating_rounds') as batch:
        batch.drop_column('result_text')
