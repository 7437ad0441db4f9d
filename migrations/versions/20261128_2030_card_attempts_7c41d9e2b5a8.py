"""card attempts: a send whose outcome is unknown is looked for before the card goes again

Revision ID: 7c41d9e2b5a8
Revises: be92947297d5
Create Date: 2026-11-28 20:30:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "7c41d9e2b5a8"
down_revision: str | Sequence[str] | None = "be92947297d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("card_after_message_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_column("card_after_message_id")
        batch_op.drop_column("card_attempt_at")
