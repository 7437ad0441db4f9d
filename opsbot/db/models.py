"""The tables. Times are UTC; X ids are strings (snowflakes outgrow some clients' integers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opsbot.db.base import Base, UTCDateTime, utcnow


class QuestionStatus:
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
    salon_id: Mapped[int | None] = mapped_column(Integer)
    # The card in the staff group; no message id yet means the card is still queued.
    card_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    card_thread_id: Mapped[int | None] = mapped_column(Integer)
    card_message_id: Mapped[int | None] = mapped_column(Integer)
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class XCursor(Base):
    """The newest X post id fully stored from one source (mentions, search)."""

    __tablename__ = "x_cursor"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    since_id: Mapped[str] = mapped_column(String(32))
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


class AnswerStatus:
    DRAFT = "draft"
    # Claimed by one publisher; X may or may not have the post yet.
    POSTING = "posting"
    # Waiting for X's rate-limit reset or for working keys.
    QUEUED = "queued"
    POSTED = "posted"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Answer(Base):
    """One post the museum will make on X: an answer, or one part of an answer's thread.

    Also the outbox: the status moves draft -> posting -> posted | failed, each step by a
    conditional UPDATE, so a reply is published once however often Post is pressed.
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
    status: Mapped[str] = mapped_column(String(16), default=AnswerStatus.DRAFT, index=True)
    # Threads: part 1 answers the question, part k replies to part k-1.
    thread_root_id: Mapped[int | None] = mapped_column(Integer, index=True)
    part: Mapped[int] = mapped_column(Integer, default=1)
    parts: Mapped[int] = mapped_column(Integer, default=1)
    x_post_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
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


class Template(Base):
    """A saved reply the Answer step offers, in one language; `{handle}` is the visitor."""

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(8), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
