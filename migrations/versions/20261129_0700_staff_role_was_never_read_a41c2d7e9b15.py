"""staff role was never read

A staff member's role comes from the settings and the staff group's administrators at the
moment it is needed; the column only ever said "curator", moderators included.

Revision ID: a41c2d7e9b15
Revises: 99ff2bc9f3ed
Create Date: 2026-11-29 07:00:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "a41c2d7e9b15"
down_revision: str | Sequence[str] | None = "99ff2bc9f3ed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_column("role")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="curator")
        )
