"""digests in the send journal

A digest Telegram posted but the bot had no time to record before a crash is recorded from the
journal at the next start, not sent again: the journal keeps the questions it listed.

Revision ID: 5d0b7c41e2a8
Revises: a41c2d7e9b15
Create Date: 2026-11-29 09:30:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5d0b7c41e2a8"
down_revision: str | Sequence[str] | None = "a41c2d7e9b15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("telegram_send", schema=None) as batch_op:
        batch_op.add_column(sa.Column("listed", sa.String(length=400), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("telegram_send", schema=None) as batch_op:
        batch_op.drop_column("listed")
