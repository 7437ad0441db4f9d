"""priority senders (/vip), the authors' followers on X, and each salon's last nudge

Revision ID: 57339dffdf60
Revises: b4a2faf0e3fe
Create Date: 2026-11-29 03:10:59.560756+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "57339dffdf60"
down_revision: str | Sequence[str] | None = "b4a2faf0e3fe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "priority_sender",
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("handle", name=op.f("pk_priority_sender")),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_followers", sa.Integer(), nullable=True))

    with op.batch_alter_table("salon", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("salon", schema=None) as batch_op:
        batch_op.drop_column("nudged_at")

    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_column("author_followers")

    op.drop_table("priority_sender")
