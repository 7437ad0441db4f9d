"""salon followers, archive language and quoted posts

Revision ID: c3f1a9d2e7b4
Revises: 3c5e8a1f7d42
Create Date: 2026-11-28 23:50:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c3f1a9d2e7b4"
down_revision: str | Sequence[str] | None = "3c5e8a1f7d42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quoted_post_id", sa.String(length=32), nullable=True))
    with op.batch_alter_table("salon", schema=None) as batch_op:
        batch_op.add_column(sa.Column("followers_at_start", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("followers_at_end", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("archive_language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("salon", schema=None) as batch_op:
        batch_op.drop_column("archive_language")
        batch_op.drop_column("followers_at_end")
        batch_op.drop_column("followers_at_start")
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_column("quoted_post_id")
