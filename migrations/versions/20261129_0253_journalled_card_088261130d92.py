"""the question whose card a journalled send was

Revision ID: 088261130d92
Revises: e00e2ce74d23
Create Date: 2026-11-29 02:53:56.257031+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "088261130d92"
down_revision: str | Sequence[str] | None = "e00e2ce74d23"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("telegram_send", schema=None) as batch_op:
        batch_op.add_column(sa.Column("question_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("telegram_send", schema=None) as batch_op:
        batch_op.drop_column("question_id")
