"""presence on the card and lapsing takes

Revision ID: 99ff2bc9f3ed
Revises: 0c9a79b6603d
Create Date: 2026-11-29 02:55:17.426431+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "99ff2bc9f3ed"
down_revision: str | Sequence[str] | None = "0c9a79b6603d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("writing_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("take_warned_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_column("take_warned_at")
        batch_op.drop_column("taken_at")
        batch_op.drop_column("writing_by")
