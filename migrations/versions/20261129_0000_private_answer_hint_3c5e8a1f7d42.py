"""when a curator was told how to answer in private

Revision ID: 3c5e8a1f7d42
Revises: ad37d2e65242
Create Date: 2026-11-29 00:00:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "3c5e8a1f7d42"
down_revision: str | Sequence[str] | None = "ad37d2e65242"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private_hint_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_column("private_hint_at")
