"""ticket facts in columns: rating rounds, assignments, cards per round, channel

Moves what `tickets.sla_state` held for others into columns and tables, and keeps the rest
(the deadline clocks' own bookkeeping) as `tickets.clock_state`:

* `rating_rounds` replaces `ratings`: one row per round from the moment it is asked
  (asked/reminded/answered times, levels, reason, not rated), filled from the old rows, the
  JSON's "rating" entry and the ticket's events;
* `tickets.first_progress_at`, `tickets.public_response_at` / `public_response_skipped`
  from the JSON's "progress_at" and "public_response";
* `cards.round`, unique per (ticket, department, round), from the JSON's "carded" list;
* `assignments`: one row per dispatch to a lead department, rebuilt from the events;
* `tickets.channel` ('telegram' for every existing ticket).

Revision ID: 0004_ticket_facts
Revises: 0003_console
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0004_ticket_facts'
down_revision = '0003_console'
branch_labels = None
depends_on = None

Utc = storage.models.UtcDateTime


def _when(value: object) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def upgrade() -> None:
    bind = op.get_bind()
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('status', sa.String),
                       sa.column('lead_dept', sa.String), sa.column('rating_round', sa.Integer),
                       sa.column('resolved_at', Utc()), sa.column('accept_due', Utc()),
                       sa.column('resolve_due', Utc()), sa.column('sla_state', sa.JSON))
    events = sa.table('ticket_events', sa.column('id', sa.Integer), sa.column('ticket_id', sa.Integer),
                      sa.column('at', Utc()), sa.column('actor_id', sa.BigInteger), sa.column('kind', sa.String),
                      sa.column('data', sa.JSON))
    old_ratings = sa.table('ratings', sa.column('ticket_id', sa.Integer), sa.column('round', sa.Integer),
                           sa.column('rater_id', sa.BigInteger), sa.column('result_score', sa.Integer),
                           sa.column('process_score', sa.Integer), sa.column('reason', sa.String),
                           sa.column('comment', sa.Text), sa.column('at', Utc()))
    cards = sa.table('cards', sa.column('id', sa.Integer), sa.column('ticket_id', sa.Integer),
                     sa.column('dept_code', sa.String), sa.column('round', sa.Integer))

    ticket_rows = list(bind.execute(sa.select(tickets)).mappings())
    event_rows: dict[int, list] = {}
    for e in bind.execute(sa.select(events).order_by(events.c.id)).mappings():
        event_rows.setdefault(e['ticket_id'], []).append(e)
    rating_rows = list(bind.execute(sa.select(old_ratings)).mappings())

    # -- tickets: new columns; the JSON keeps only the clocks' own keys
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=64), server_default='telegram', nullable=False))
        batch_op.add_column(sa.Column('first_progress_at', Utc(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('public_response_at', Utc(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('public_response_skipped', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('clock_state', sa.JSON(), nullable=True))
    new_tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('first_progress_at', Utc()),
                           sa.column('public_response_at', Utc()), sa.column('public_response_skipped', sa.String),
                           sa.column('clock_state', sa.JSON))
    carded: dict[int, list[str]] = {}
    for t in ticket_rows:
        state = dict(t['sla_state'] or {})
        response = state.get('public_response') or {}
        carded[t['id']] = list(state.get('carded') or [])
        clock_state = {k: v for k, v in state.items() if k in ('clocks', 'nag_at', 'on_time', 'waiting')}
        bind.execute(new_tickets.update().where(new_tickets.c.id == t['id']).values(
            first_progress_at=_when(state.get('progress_at')),
            public_response_at=_when(response.get('sent_at') or response.get('at')) if response else None,
            public_response_skipped=str(response['skipped'])[:64] if response.get('skipped') else None,
            clock_state=clock_state or None))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('sla_state')

    # -- rating rounds (the old table goes first: its constraint name is reused)
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratings_ticket_id'))
    op.drop_table('ratings')
    op.create_table('rating_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('dept_code', sa.String(length=64), nullable=True),
    sa.Column('asked_at', Utc(timezone=True), nullable=False),
    sa.Column('reminded_at', Utc(timezone=True), nullable=True),
    sa.Column('answered_at', Utc(timezone=True), nullable=True),
    sa.Column('rater_id', sa.BigInteger(), nullable=True),
    sa.Column('result_level', sa.Integer(), nullable=True),
    sa.Column('process_level', sa.Integer(), nullable=True),
    sa.Column('process_skipped', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('reason_asked_at', Utc(timezone=True), nullable=True),
    sa.Column('reason_choice', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('not_rated', sa.Boolean(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'round', name='uq_rating_round')
    )
    with op.batch_alter_table('rating_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_rounds_ticket_id'), ['ticket_id'], unique=False)
    rounds_table = sa.table('rating_rounds', *[sa.column(c) for c in (
        'ticket_id', 'round', 'dept_code', 'rater_id', 'result_level', 'process_level', 'process_skipped',
        'reason_choice', 'reason', 'comment', 'not_rated')],
        sa.column('asked_at', Utc()), sa.column('reminded_at', Utc()), sa.column('answered_at', Utc()),
        sa.column('reason_asked_at', Utc()))
    old_by_round = {(r['ticket_id'], r['round']): r for r in rating_rows}
    for t in ticket_rows:
        evs = event_rows.get(t['id'], [])
        resolved = [e['at'] for e in evs if e['kind'] == 'resolved']
        reminded = {(e['data'] or {}).get('round'): e['at'] for e in evs if e['kind'] == 'rating_reminded'}
        skipped = {(e['data'] or {}).get('round') for e in evs if e['kind'] == 'process_skipped'}
        live = dict((t['sla_state'] or {}).get('rating') or {})
        rounds = set(range(1, (t['rating_round'] or 0) + 1)) | {n for tid, n in old_by_round if tid == t['id']}
        for n in sorted(rounds):
            old = old_by_round.get((t['id'], n)) or {}
            current = live if live.get('round') == n else {}
            asked = (_when(current.get('asked_at')) or (resolved[n - 1] if n <= len(resolved) else None)
                     or t['resolved_at'] or old.get('at') or datetime.now(timezone.utc))
            score = old.get('result_score')
            bind.execute(rounds_table.insert().values(
                ticket_id=t['id'], round=n, dept_code=t['lead_dept'], asked_at=asked,
                reminded_at=_when(current.get('reminded_at')) or reminded.get(n),
                answered_at=old.get('at') if score is not None else None, rater_id=old.get('rater_id'),
                result_level=score, process_level=old.get('process_score'), process_skipped=n in skipped,
                reason_asked_at=_when(current.get('await_reason')) if old.get('reason') is None else None,
                reason_choice=current.get('reason_choice'), reason=old.get('reason'), comment=old.get('comment'),
                not_rated=bool(old) and score is None))

    # -- cards: one per (ticket, department, round)
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Integer(), server_default='0', nullable=False))
    seen: dict[tuple[int, str], list[int]] = {}
    for c in bind.execute(sa.select(cards).order_by(cards.c.id)).mappings():
        keys = [int(k.rpartition(':')[2]) for k in carded.get(c['ticket_id'], [])
                if k.rpartition(':')[0] == c['dept_code'] and k.rpartition(':')[2].isdigit()]
        used = seen.setdefault((c['ticket_id'], c['dept_code']), [])
        free = [k for k in keys if k not in used]
        round_ = free[0] if free else max(used + keys + [-1]) + 1
        used.append(round_)
        bind.execute(cards.update().where(cards.c.id == c['id']).values(round=round_))
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_card_round', ['ticket_id', 'dept_code', 'round'])

    # -- assignments, rebuilt from the events
    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('dept_code', sa.String(length=64), nullable=False),
    sa.Column('dispatched_at', Utc(timezone=True), nullable=False),
    sa.Column('dispatched_by', sa.BigInteger(), nullable=True),
    sa.Column('accept_due', Utc(timezone=True), nullable=True),
    sa.Column('accepted_at', Utc(timezone=True), nullable=True),
    sa.Column('accepted_by', sa.BigInteger(), nullable=True),
    sa.Column('returned_at', Utc(timezone=True), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('resolve_due', Utc(timezone=True), nullable=True),
    sa.Column('first_resolved_at', Utc(timezone=True), nullable=True),
    sa.Column('resolved_at', Utc(timezone=True), nullable=True),
    sa.Column('reopen_count', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['dept_code'], ['departments.code'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_dept', ['dept_code', 'dispatched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_ticket_id'), ['ticket_id'], unique=False)
    assignments = sa.table('assignments', *[sa.column(c) for c in (
        'ticket_id', 'dept_code', 'dispatched_by', 'accepted_by', 'return_reason', 'reopen_count')],
        *[sa.column(c, Utc()) for c in ('dispatched_at', 'accept_due', 'accepted_at', 'returned_at', 'resolve_due',
                                        'first_resolved_at', 'resolved_at')])
    for t in ticket_rows:
        rows: list[dict] = []
        for e in event_rows.get(t['id'], []):
            data, cur = e['data'] or {}, (rows[-1] if rows and rows[-1]['returned_at'] is None else None)
            if e['kind'] == 'dispatched' and data.get('lead'):
                rows.append(dict(ticket_id=t['id'], dept_code=data['lead'], dispatched_at=e['at'],
                                 dispatched_by=e['actor_id'], accept_due=None, accepted_at=None, accepted_by=None,
                                 returned_at=None, return_reason=None, resolve_due=None, first_resolved_at=None,
                                 resolved_at=None, reopen_count=0))
            elif cur is None:
                continue
            elif e['kind'] == 'accepted':
                cur.update(accepted_at=e['at'], accepted_by=e['actor_id'])
            elif e['kind'] == 'returned':
                cur.update(returned_at=e['at'], return_reason=data.get('reason'))
            elif e['kind'] == 'resolved':
                cur.update(resolved_at=e['at'], first_resolved_at=cur['first_resolved_at'] or e['at'])
            elif e['kind'] in ('reopened', 'review_reopened'):
                cur.update(resolved_at=None, reopen_count=cur['reopen_count'] + 1, resolve_due=_when(data.get('due')))
            elif e['kind'] == 'extension_approved':
                cur.update(resolve_due=_when(data.get('until')))
        if rows and rows[-1]['returned_at'] is None and t['lead_dept'] == rows[-1]['dept_code']:
            rows[-1].update(accept_due=t['accept_due'], resolve_due=t['resolve_due'])
        for row in rows:
            bind.execute(assignments.insert().values(**row))


def downgrade() -> None:
    raise NotImplementedError("0004_ticket_facts moves data out of JSON; restore a backup to go back")
