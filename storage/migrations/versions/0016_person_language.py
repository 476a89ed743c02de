"""people remember the language of their Telegram app

A private chat follows the person's language (DESIGN §5): /lang when they chose one, else the
language their Telegram app reports. Only the update in hand carried the latter, so whatever
the bot wrote them later — the acknowledgement of a private appeal, notes, the rating question,
the console — fell back to the deployment's language: an English speaker read English answers
to commands and Chinese news in the same chat.

Revision ID: 0016_person_language
Revises: 0015_round_result_text
"""
import sqlalchemy as sa
from alembic import op


revision = '0016_person_language'
down_revision = '0015_round_result_text'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.add_column(sa.Column('language_code', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people') as batch:
        batch.drop_column('language_code')
