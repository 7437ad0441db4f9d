"""partner museums: their accounts, groups and staff, the co-host of a salon, whom a question is for

Revision ID: e00e2ce74d23
Revises: 71598266919c
Create Date: 2026-11-29 02:50:29.723065+00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "e00e2ce74d23"
down_revision: str | Sequence[str] | None = "71598266919c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("x_user_id", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("access_secret", sa.Text(), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connected_by", sa.BigInteger(), nullable=True),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_partner_chat_id")),
        sa.UniqueConstraint("handle", name=op.f("uq_partner_handle")),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_delivery_partner_id_partner"),
            "partner",
            ["partner_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "audience",
                sa.Enum(
                    "host", "partner", "both", name="questionaudience", native_enum=False, length=16
                ),
                server_default="host",
                nullable=False,
            )
        )

    with op.batch_alter_table("salon", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_salon_partner_id_partner"),
            "partner",
            ["partner_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_staff_member_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_staff_member_partner_id_partner"),
            "partner",
            ["partner_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_staff_member_partner_id_partner"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_staff_member_partner_id"))
        batch_op.drop_column("partner_id")

    with op.batch_alter_table("salon", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_salon_partner_id_partner"), type_="foreignkey")
        batch_op.drop_column("partner_id")

    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_column("audience")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_delivery_partner_id_partner"), type_="foreignkey")
        batch_op.drop_column("partner_id")

    op.drop_table("partner")
