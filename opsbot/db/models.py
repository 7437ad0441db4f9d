"""The tables. Times are UTC; X ids are strings (snowflakes outgrow some clients' integers)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from opsbot.db.base import Base, UTCDateTime, utcnow


def _status(enum: type[StrEnum]) -> Enum:
    """A StrEnum stored as its values in a plain VARCHAR(16): no database enum type to migrate."""
    return Enum(
        enum,
        native_enum=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class QuestionStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    ANSWERED = "answered"
    HIDDEN = "hidden"


class Question(Base):
    """An audience post from X that the curators may answer."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    x_post_id: Mapped[str] = mapped_column(String(32), unique=True)
    author_id: Mapped[str] = mapped_column(String(32), index=True)
    author_handle: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16))
    # X lets an app reply only to authors who mentioned or quoted the museum.
    replyable: Mapped[bool] = mapped_column(Boolean)
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=QuestionStatus.OPEN, index=True)
    taken_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("staff_member.telegram_id", ondelete="SET NULL")
    )
    hidden_by: Mapped[int | None] = mapped_column(BigInteger)
    salon_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Its number within the salon (#12.3), given when the card is sent.
    salon_seq: Mapped[int | None] = mapped_column(Integer)
    # Arrived after the salon it is filed under had ended.
    after_salon: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The card in the staff group; no message id yet means the card is still queued.
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_thread_id: Mapped[int | None] = mapped_column(Integer)
    card_message_id: Mapped[int | None] = mapped_column(Integer)
    # What the card shows now, so an edit that would change nothing is never sent: each edit
    # costs one of the group's 20 messages a minute.
    card_digest: Mapped[str | None] = mapped_column(String(32))
    # The digest message that listed the question while its full card was not sent.
    digest_message_id: Mapped[int | None] = mapped_column(Integer)
    # A send of the card is under way, or its answer was lost (a timeout, a 5xx, a crash): the
    # card may be in the group already, under an id above `card_after_message_id` (the last id
    # Telegram gave back for the bot's own message there). The next attempt looks there first.
    card_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    card_after_message_id: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class StaffMember(Base):
    """A person in the staff group, as far as the bot has seen them."""

    __tablename__ = "staff_member"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    # Chosen with /language; None means "follow Telegram's language_code".
    language: Mapped[str | None] = mapped_column(String(8))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default="curator")
    # Appended to the curator's answers, e.g. "— Anna".
    signature: Mapped[str | None] = mapped_column(String(100))
    # The person opened a private chat with the bot (/start there): reminders come there too.
    private_chat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The person's own X account, so the lottery leaves it out.
    x_handle: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class XCursor(Base):
    """Where reading one source (mentions, search) resumes.

    `since_id` is the newest post id fully stored; `read_until` the moment before which every
    post has been read (or, at the first poll, is history the museum does not want). Reading
    resumes after `since_id`, or from `read_until` when there is no post id yet or X no longer
    accepts it.
    """

    __tablename__ = "x_cursor"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    since_id: Mapped[str | None] = mapped_column(String(32))
    read_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    """Who did what to which question, and whether it was allowed."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(32))
    question_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")


class Alert(Base):
    """A condition the staff group is told about once (e.g. X refusing the keys), not per poll."""

    __tablename__ = "alert"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BotState(Base):
    """Small facts the bot learns at run time, such as the staff group's id after a migration."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Heartbeat(Base):
    """When a service last answered the bot (`telegram`, `x`): read by `opsbot health`."""

    __tablename__ = "heartbeat"

    what: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AnswerStatus(StrEnum):
    DRAFT = "draft"
    # Handed to the outbox (one delivery per part); X may or may not have it yet.
    POSTING = "posting"
    POSTED = "posted"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Answer(Base):
    """One post the museum will make on X: an answer, or one part of an answer's thread.

    The curator's draft until Post is pressed (draft -> posting, a conditional UPDATE, so it
    is handed over once however often Post is pressed); then each part is a `Delivery`, and
    the outbox writes its outcome here (posted | failed) in the transaction that records it.
    """

    __tablename__ = "answer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("question.id", ondelete="CASCADE"), index=True
    )
    curator_id: Mapped[int] = mapped_column(BigInteger)
    # What the curator wrote; `text` is what X receives (signature, hashtag, numbering).
    source_text: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[AnswerStatus] = mapped_column(
        _status(AnswerStatus), default=AnswerStatus.DRAFT, index=True
    )
    # Threads: part 1 answers the question, part k replies to part k-1.
    thread_root_id: Mapped[int | None] = mapped_column(Integer, index=True)
    part: Mapped[int] = mapped_column(Integer, default=1)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    x_post_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    preview_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    preview_message_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AnswerPrompt(Base):
    """The bot's "reply to this message with your answer"; a reply to it becomes a draft."""

    __tablename__ = "answer_prompt"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="CASCADE"))
    curator_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when a restart asked the curator to send an answer again that may have been lost.
    asked_again_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Template(Base):
    """A saved reply the Answer step offers, in one language; `{handle}` is the visitor."""

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(8), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SalonStatus:
    PLANNED = "planned"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Salon(Base):
    """One live session on X; its id is the number the team sees (#12)."""

    __tablename__ = "salon"
    # At most one live salon: the database refuses a second, however the starts race.
    __table_args__ = (
        Index(
            "uq_salon_live",
            "status",
            unique=True,
            sqlite_where=sql_text("status = 'live'"),
            postgresql_where=sql_text("status = 'live'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=SalonStatus.LIVE, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_by: Mapped[int | None] = mapped_column(BigInteger)
    # The staff group's forum topic for this salon's cards, when the group is a forum.
    thread_id: Mapped[int | None] = mapped_column(Integer)
    # The lottery: the secret stays private until the draw; its SHA-256 is published at start.
    secret: Mapped[str] = mapped_column(String(64), default="")
    commitment: Mapped[str] = mapped_column(String(64), default="")
    end_warning_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    prompts_asked: Mapped[int] = mapped_column(Integer, default=0)
    # Planning (salons scheduled ahead): the planned local start as UTC, and the series.
    planned_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("salon_series.id", ondelete="SET NULL")
    )
    auto_start: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Draw(Base):
    """The stored result of a salon's lottery; at most one per salon."""

    __tablename__ = "draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id", ondelete="CASCADE"), unique=True)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    drawn_by: Mapped[int | None] = mapped_column(BigInteger)
    winners_count: Mapped[int] = mapped_column(Integer)
    prize: Mapped[str] = mapped_column(Text, default="")
    entrant_hash: Mapped[str] = mapped_column(String(64))
    # JSON: [{"id": "...", "handle": "..."}] in canonical order, and the full ranking of ids.
    entrants: Mapped[str] = mapped_column(Text)
    ranking: Mapped[str] = mapped_column(Text)
    # JSON list of ids that currently win; a redraw replaces one with the next in the ranking.
    winners: Mapped[str] = mapped_column(Text)
    next_reserve: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Exclusion(Base):
    """An X handle the lottery leaves out (/exclude), besides staff and recent winners."""

    __tablename__ = "exclusion"

    handle: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SalonSeries(Base):
    """A weekly slot (/schedule weekly sat 19:00 …); its salons are planned some weeks ahead."""

    __tablename__ = "salon_series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer)
    local_time: Mapped[str] = mapped_column(String(5))
    topic: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Duty(Base):
    """A curator on duty for a planned salon."""

    __tablename__ = "duty"

    salon_id: Mapped[int] = mapped_column(
        ForeignKey("salon.id", ondelete="CASCADE"), primary_key=True
    )
    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ReminderStatus:
    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"


class Reminder(Base):
    """One reminder before a planned salon; sent once, even across restarts."""

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("salon_id", "offset_minutes"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id", ondelete="CASCADE"), index=True)
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.PENDING, index=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelegramSend(Base):
    """A message the bot sent or edited in a group, kept for a while: a restarted bot knows how
    much of Telegram's flood window is spent, and which recent messages are its own."""

    __tablename__ = "telegram_send"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The message Telegram's answer named: after a crash, a message the bot knows is its own
    # and not a card whose answer was lost.
    message_id: Mapped[int | None] = mapped_column(Integer)


class DeliveryKind(StrEnum):
    """What the museum posts on X that must happen once."""

    # A reply to a question, or one part of an answer's thread.
    ANSWER = "answer"
    # The salon's opening post.
    ANNOUNCEMENT = "announcement"
    # A numbered question to the audience (/ask): Q1, Q2, …
    PROMPT = "prompt"
    # The winners of a salon's draw.
    WINNERS = "winners"


class DeliveryState(StrEnum):
    PENDING = "pending"
    # Claimed by one sender under a lease; X may or may not have the post yet.
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Withdrawn before it was sent (an announcement the moderator skipped).
    CANCELLED = "cancelled"


class DeliveryWait(StrEnum):
    """Why a pending delivery waits for its next attempt."""

    # X's rate-limit window is spent; X did not take the post.
    RATE_LIMIT = "rate_limit"
    # X refused the museum itself, not the post: keys, app enrolment, spent credits.
    KEYS = "keys"
    ENROLMENT = "enrolment"
    CREDITS = "credits"
    # X did not answer (a timeout, a 5xx, a crash): the post may be there.
    UNKNOWN = "unknown"


class Delivery(Base):
    """The outbox: one post to X that must happen once, whatever crashes or X does.

    `key` says what it is (`answer:12`, `announcement:3`), so asking twice queues it once.
    pending -> sending -> sent | failed: every step is a conditional UPDATE, and a sender
    holds a row under a lease with a fencing `token` (each claim increments it; a sender may
    post and record only while the token is still its own). Once X may have the post
    (`maybe_posted`), every later attempt looks for it on X before posting.
    """

    __tablename__ = "delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[DeliveryKind] = mapped_column(_status(DeliveryKind))
    # The post it replies to; or, for a later part of a thread, the delivery it follows,
    # whose post becomes the target once it is out.
    target: Mapped[str | None] = mapped_column(String(32))
    follows_id: Mapped[int | None] = mapped_column(
        ForeignKey("delivery.id", ondelete="CASCADE"), index=True
    )
    # The exact text X receives.
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[DeliveryState] = mapped_column(
        _status(DeliveryState), default=DeliveryState.PENDING, index=True
    )
    token: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Attempts X did not answer; the back-off grows with them and they are bounded.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    waiting_for: Mapped[DeliveryWait | None] = mapped_column(_status(DeliveryWait))
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    maybe_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    external_id: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str] = mapped_column(Text, default="")
    # What it belongs to, so its outcome can be shown where it was asked for.
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answer.id", ondelete="CASCADE"), index=True
    )
    salon_id: Mapped[int | None] = mapped_column(ForeignKey("salon.id", ondelete="CASCADE"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draw.id", ondelete="CASCADE"))
    # A prompt's n in Qn.
    number: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[int | None] = mapped_column(BigInteger)
    # The staff message it was asked for from (a preview, an /ask), where the outcome goes.
    origin_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    origin_message_id: Mapped[int | None] = mapped_column(Integer)
    origin_thread_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the staff were told it is on X or failed; None while nobody has been.
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
