"""co-hosted salons: question cards in the partner's group, and the salon's topic there

Revision ID: 0c9a79b6603d
Revises: 7e8364d45356
Create Date: 2026-11-29 02:54:31.377874+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0c9a79b6603d"
down_revision: str | Sequence[str] | None = "7e8364d45356"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "partner_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(length=32), nullable=True),
        sa.Column("attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["question.id"],
            name=op.f("fk_partner_card_question_id_question"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_card")),
        sa.UniqueConstraint("question_id", "chat_id", name=op.f("uq_partner_card_question_id")),
    )
    with op.batch_alter_table("partner_card", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_partner_card_question_id"), ["question_id"], unique=False
        )

    with op.batch_alter_table("salon", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_thread_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("salon", schema=None) as batch_op:
        batch_op.drop_column("partner_thread_id")

    with op.batch_alter_table("partner_card", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_card_question_id"))

    op.drop_table("partner_card")
