"""indexes for reports over many tickets (bench/report.py): hotspot groups and the rates

ix_tickets_scope (area, category, filed, status): hotspot detection per appeal, and the report's
高频共性 groups of a period read from the index alone, in group order.
ix_assignments_report replaces ix_assignments_dept (its first two columns) and covers every column
the rates and the worst overdue read, so they scan the index in department order, not the table.

Revision ID: 0010_report_indexes
Revises: 0009_going_live
"""
from alembic import op


revision = '0010_report_indexes'
down_revision = '0009_going_live'
branch_labels = None
depends_on = None

REPORT_COLUMNS = ['dept_code', 'dispatched_at', 'accept_due', 'accepted_at', 'first_resolve_due', 'resolve_due',
                  'first_resolved_at', 'returned_at', 'ticket_id']


def upgrade() -> None:
    op.create_index('ix_tickets_scope', 'tickets', ['area_code', 'category', 'created_at', 'status'], unique=False)
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_report', REPORT_COLUMNS, unique=False)
        batch_op.drop_index('ix_assignments_dept')


def downgrade() -> None:
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_dept', ['dept_code', 'dispatched_at'], unique=False)
        batch_op.drop_index('ix_assignments_report')
    op.drop_index('ix_tickets_scope', table_name='tickets')
