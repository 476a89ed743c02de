"""督/考 (issue #10): bulletins posted, upload bytes, 领导包案 / 职责争议 columns, red streaks,
the first resolve deadline of each assignment.

`assignments.first_resolve_due` is filled from `resolve_due` for assignments that were never
reopened (their deadline is still the first one); reopened ones keep NULL and fall back to
`resolve_due` in reports.

Revision ID: 0007_reports
Revises: 0006_inbox
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = '0007_reports'
down_revision = '0006_inbox'
branch_labels = None
depends_on = None

Utc = storage.models.UtcDateTime


def upgrade() -> None:
    op.create_table('bulletins',
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('posted_at', Utc(timezone=True), nullable=False),
    sa.Column('holder', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('period')
    )
    op.create_table('outbox_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=128), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', Utc(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_created', ['created_at'], unique=False)
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('red_streak', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leader_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('leader_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('taken_at', Utc(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('disputed_at', Utc(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('lead_decided_by', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_resolve_due', Utc(timezone=True), nullable=True))
    assignments = sa.table('assignments', sa.column('reopen_count', sa.Integer),
                           sa.column('resolve_due', Utc()), sa.column('first_resolve_due', Utc()))
    op.get_bind().execute(assignments.update().where(assignments.c.reopen_count == 0)
                          .values(first_resolve_due=assignments.c.resolve_due))


def downgrade() -> None:
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('first_resolve_due')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('lead_decided_by')
        batch_op.drop_column('disputed_at')
        batch_op.drop_column('taken_at')
        batch_op.drop_column('leader_name')
        batch_op.drop_column('leader_id')
        batch_op.drop_index('ix_tickets_created')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('red_streak')
    op.drop_table('outbox_files')
    op.drop_table('bulletins')
