"""why a delivery failed, as a code the staff read in their own language

Revision ID: 71598266919c
Revises: bf87b8b0be02
Create Date: 2026-11-29 00:54:56.373616+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "71598266919c"
down_revision: str | Sequence[str] | None = "bf87b8b0be02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "failure",
                sa.Enum(
                    "timeout",
                    "server_error",
                    "refused",
                    "too_long",
                    "duplicate",
                    "followed_failed",
                    "question_gone",
                    "question_hidden",
                    name="deliveryfailure",
                    native_enum=False,
                    length=16,
                ),
                nullable=True,
            )
        )
    # Failures recorded before the code existed, as far as their English words tell.
    op.execute(
        "UPDATE delivery SET failure = 'timeout' "
        "WHERE state = 'failed' AND last_error LIKE 'X did not answer%'"
    )
    op.execute(
        "UPDATE delivery SET failure = 'followed_failed' "
        "WHERE state = 'failed' AND last_error LIKE 'not posted: delivery%'"
    )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("failure")
