"""one outbox for every post to X

Answers' posting mechanics (attempts, lease, next attempt, waiting reason, last error) and
the announcements' state columns move into `delivery` rows: answers handed over and not yet
on X become pending (or, interrupted mid-post, sending) deliveries that may be on X already;
announcements on X become sent rows, skipped ones cancelled, and one interrupted mid-post a
failed row the staff are told about once.

Columns are dropped with ALTER TABLE DROP COLUMN (SQLite 3.35+), not by recreating the
table: with foreign keys enforced, SQLite's DROP TABLE would cascade to the rows that
reference it (a salon's reminders, duties and draw).

Revision ID: 9f31e91999f6
Revises: 933b23624867
Create Date: 2026-11-28 21:10:31.682638+00:00

"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "9f31e91999f6"
down_revision: str | Sequence[str] | None = "933b23624867"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


answer = sa.table(
    "answer",
    sa.column("id", sa.Integer),
    sa.column("question_id", sa.Integer),
    sa.column("curator_id", sa.BigInteger),
    sa.column("text", sa.Text),
    sa.column("status", sa.String),
    sa.column("thread_root_id", sa.Integer),
    sa.column("part", sa.Integer),
    sa.column("x_post_id", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("last_error", sa.Text),
    sa.column("waiting_for", sa.String),
    sa.column("lease_until", sa.DateTime(timezone=True)),
    sa.column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.column("preview_chat_id", sa.BigInteger),
    sa.column("preview_message_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
question = sa.table("question", sa.column("id", sa.Integer), sa.column("x_post_id", sa.String))
salon = sa.table(
    "salon",
    sa.column("id", sa.Integer),
    sa.column("announcement", sa.String),
    sa.column("announcement_post_id", sa.String),
    sa.column("thread_id", sa.Integer),
)
draw = sa.table("draw", sa.column("id", sa.Integer), sa.column("announcement_post_id", sa.String))
_TIMES = ("lease_until", "next_attempt_at", "first_attempt_at", "created_at", "sent_at", "told_at")
delivery = sa.table(
    "delivery",
    *(sa.column(name, sa.DateTime(timezone=True)) for name in _TIMES),
    sa.column("maybe_posted", sa.Boolean),
    *(
        sa.column(name)
        for name in (
            "id",
            "key",
            "kind",
            "target",
            "follows_id",
            "payload",
            "state",
            "token",
            "attempts",
            "waiting_for",
            "external_id",
            "last_error",
            "answer_id",
            "salon_id",
            "draw_id",
            "requested_by",
            "origin_chat_id",
            "origin_message_id",
            "origin_thread_id",
        )
    ),
)
INTERRUPTED = "interrupted before X's answer was recorded; it may be on X"
WAITS = ("keys", "enrolment", "credits")


def _row(now: datetime, **values: Any) -> dict[str, Any]:
    return {
        "target": None,
        "follows_id": None,
        "payload": "",
        "token": 0,
        "lease_until": None,
        "attempts": 0,
        "next_attempt_at": now,
        "waiting_for": None,
        "first_attempt_at": None,
        "maybe_posted": False,
        "external_id": None,
        "last_error": "",
        "answer_id": None,
        "salon_id": None,
        "draw_id": None,
        "requested_by": None,
        "origin_chat_id": None,
        "origin_message_id": None,
        "origin_thread_id": None,
        "created_at": now,
        "sent_at": None,
        "told_at": None,
        **values,
    }


def _answer_rows(connection: sa.Connection, now: datetime) -> None:
    """Answers handed to the old outbox and not yet on X, one delivery per part."""
    in_flight = ("posting", "queued", "failed")
    roots = sa.func.coalesce(answer.c.thread_root_id, answer.c.id)
    pending_roots = sa.select(roots).where(answer.c.status.in_(in_flight))
    parts = connection.execute(
        sa.select(answer, question.c.x_post_id.label("question_post"))
        .join(question, question.c.id == answer.c.question_id)
        .where(roots.in_(pending_roots))
        .order_by(roots, answer.c.part)
    ).mappings()
    before: dict[int, tuple[str | None, int | None]] = {}
    for part in parts:
        root = part["thread_root_id"] or part["id"]
        post, follows = before.get(root, (part["question_post"], None))
        if part["status"] == "posted":
            before[root] = (part["x_post_id"], None)
            continue
        if part["status"] not in in_flight:
            continue
        values = _row(
            now,
            key=f"answer:{part['id']}",
            kind="answer",
            target=post if follows is None else None,
            follows_id=follows,
            payload=part["text"],
            answer_id=part["id"],
            requested_by=part["curator_id"],
            origin_chat_id=part["preview_chat_id"],
            origin_message_id=part["preview_message_id"],
            created_at=part["created_at"] or now,
            first_attempt_at=part["created_at"] or now,
            last_error=part["last_error"] or "",
        )
        if part["status"] == "failed":
            values.update(state="failed", told_at=now)
        elif follows is not None:
            # Parts went out one after another: this one waits for the one before it.
            values.update(state="pending")
        elif part["status"] == "posting":
            # Its sender is gone; the first round after start takes it over and looks on X.
            values.update(state="sending", maybe_posted=True, lease_until=part["lease_until"])
        else:
            waiting = part["waiting_for"]
            values.update(
                state="pending",
                maybe_posted=True,
                next_attempt_at=part["next_attempt_at"] or now,
                waiting_for=waiting if waiting in WAITS else "rate_limit",
            )
        [delivery_id] = connection.execute(
            sa.insert(delivery).values(values).returning(delivery.c.id)
        ).scalars()
        before[root] = (None, delivery_id)
    connection.execute(
        sa.update(answer).where(answer.c.status == "queued").values(status="posting")
    )


def _announcement(state: str | None, post_id: str | None, now: datetime) -> dict[str, Any]:
    if state == "skipped":
        return {"state": "cancelled"}
    if state == "posting" or post_id == "posting":
        return {
            "state": "failed",
            "maybe_posted": True,
            "last_error": INTERRUPTED,
            "first_attempt_at": now,
        }
    return {"state": "sent", "external_id": post_id, "sent_at": now, "told_at": now}


def _announcement_rows(connection: sa.Connection, now: datetime) -> None:
    for found in connection.execute(
        sa.select(salon).where(salon.c.announcement != "offered")
    ).mappings():
        connection.execute(
            sa.insert(delivery).values(
                _row(
                    now,
                    key=f"announcement:{found['id']}",
                    kind="announcement",
                    salon_id=found["id"],
                    origin_thread_id=found["thread_id"],
                    **_announcement(found["announcement"], found["announcement_post_id"], now),
                )
            )
        )
    for found in connection.execute(
        sa.select(draw).where(draw.c.announcement_post_id.is_not(None))
    ).mappings():
        connection.execute(
            sa.insert(delivery).values(
                _row(
                    now,
                    key=f"winners:{found['id']}",
                    kind="winners",
                    draw_id=found["id"],
                    **_announcement(None, found["announcement_post_id"], now),
                )
            )
        )


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "answer",
                "announcement",
                "prompt",
                "winners",
                name="deliverykind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("target", sa.String(length=32), nullable=True),
        sa.Column("follows_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "cancelled",
                name="deliverystate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "waiting_for",
            sa.Enum(
                "rate_limit",
                "keys",
                "enrolment",
                "credits",
                "unknown",
                name="deliverywait",
                native_enum=False,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("maybe_posted", sa.Boolean(), nullable=False),
        sa.Column("external_id", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.Column("salon_id", sa.Integer(), nullable=True),
        sa.Column("draw_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.BigInteger(), nullable=True),
        sa.Column("origin_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("origin_message_id", sa.Integer(), nullable=True),
        sa.Column("origin_thread_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["answer.id"],
            name=op.f("fk_delivery_answer_id_answer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["draw.id"], name=op.f("fk_delivery_draw_id_draw"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["follows_id"],
            ["delivery.id"],
            name=op.f("fk_delivery_follows_id_delivery"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["salon_id"], ["salon.id"], name=op.f("fk_delivery_salon_id_salon"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint("key", name=op.f("uq_delivery_key")),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_follows_id"), ["follows_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_state"), ["state"], unique=False)

    connection = op.get_bind()
    now = datetime.now(UTC)
    _answer_rows(connection, now)
    _announcement_rows(connection, now)
    for table, column in (
        ("answer", "attempts"),
        ("answer", "next_attempt_at"),
        ("answer", "lease_until"),
        ("answer", "waiting_for"),
        ("answer", "last_error"),
        ("draw", "announcement_post_id"),
        ("salon", "announcement"),
        ("salon", "announcement_post_id"),
    ):
        op.drop_column(table, column)


def downgrade() -> None:
    """Downgrade schema."""
    op.add_column(
        "salon",
        sa.Column("announcement", sa.String(length=16), nullable=False, server_default="offered"),
    )
    op.add_column("salon", sa.Column("announcement_post_id", sa.String(length=32)))
    op.add_column("draw", sa.Column("announcement_post_id", sa.String(length=32)))
    op.add_column("answer", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("answer", sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
    op.add_column("answer", sa.Column("lease_until", sa.DateTime(timezone=True)))
    op.add_column("answer", sa.Column("waiting_for", sa.String(length=16)))
    op.add_column("answer", sa.Column("last_error", sa.Text(), nullable=False, server_default=""))
    connection = op.get_bind()
    rows = connection.execute(sa.select(delivery)).mappings().all()
    for row in rows:
        state, external_id = row["state"], row["external_id"]
        if row["kind"] == "answer" and row["answer_id"] is not None:
            values: dict[str, Any] = {"last_error": row["last_error"] or ""}
            if state == "pending":
                waiting = row["waiting_for"]
                values.update(
                    status="queued",
                    next_attempt_at=row["next_attempt_at"],
                    waiting_for=waiting if waiting in WAITS else None,
                )
            connection.execute(
                sa.update(answer).where(answer.c.id == row["answer_id"]).values(values)
            )
        elif row["kind"] == "announcement" and row["salon_id"] is not None:
            status = {"sent": "posted", "cancelled": "skipped", "failed": "offered"}
            connection.execute(
                sa.update(salon)
                .where(salon.c.id == row["salon_id"])
                .values(
                    announcement=status.get(state, "posting"),
                    announcement_post_id=external_id if state == "sent" else None,
                )
            )
        elif row["kind"] == "winners" and row["draw_id"] is not None and state != "failed":
            connection.execute(
                sa.update(draw)
                .where(draw.c.id == row["draw_id"])
                .values(announcement_post_id=external_id if state == "sent" else "posting")
            )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_state"))
        batch_op.drop_index(batch_op.f("ix_delivery_follows_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_answer_id"))
    op.drop_table("delivery")
