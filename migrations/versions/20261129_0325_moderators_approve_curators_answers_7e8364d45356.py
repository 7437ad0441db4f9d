"""moderators approve curators' answers: the request in the staff group, the reply prompts
for a comment or a new text, and who needs approval

Revision ID: 7e8364d45356
Revises: 57339dffdf60
Create Date: 2026-11-29 03:25:00.000000+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "7e8364d45356"
down_revision: str | Sequence[str] | None = "57339dffdf60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "review_prompt",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("moderator_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("comment", "edit", name="reviewpromptkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["answer.id"],
            name=op.f("fk_review_prompt_answer_id_answer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_review_prompt")),
    )
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_chat_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("review_message_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("review_comment", sa.Text(), nullable=True))

    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("needs_approval", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_column("needs_approval")

    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_column("review_comment")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("review_message_id")
        batch_op.drop_column("review_chat_id")

    op.drop_table("review_prompt")
