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


class QuestionAudience(StrEnum):
    """Whose curators a question is for in a co-hosted salon, by X's reply rule."""

    # Tags the host museum only (and every question of a salon the museum hosts alone).
    HOST = "host"
    # Tags only the partner: only the partner's account may reply.
    PARTNER = "partner"
    # Tags both, or carries only the hashtag: the first museum to take it owns it.
    BOTH = "both"


class Question(Base):
    """An audience post from X that the curators may answer."""

    __tablename__ = "question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    x_post_id: Mapped[str] = mapped_column(String(32), unique=True)
    author_id: Mapped[str] = mapped_column(String(32), index=True)
    author_handle: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    # The author's followers on X when the post was read (X sends them with the post); None
    # when X did not say.
    author_followers: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16))
    # X lets an app reply only to authors who mentioned or quoted the museum.
    replyable: Mapped[bool] = mapped_column(Boolean)
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    # The post it quotes: a quote of one of the museum's prompts makes its author a participant.
    quoted_post_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[QuestionStatus] = mapped_column(
        _status(QuestionStatus), default=QuestionStatus.OPEN, index=True
    )
    taken_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("staff_member.telegram_id", ondelete="SET NULL")
    )
    hidden_by: Mapped[int | None] = mapped_column(BigInteger)
    # Presence: who has the answer dialogue open (prompted, until posted or cancelled), and
    # since when the question has been taken with no dialogue open (a Take lapses after
    # OPSBOT_TAKE_MINUTES of that during a live salon; the holder is warned first, once).
    writing_by: Mapped[int | None] = mapped_column(BigInteger)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    take_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
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
    audience: Mapped[QuestionAudience] = mapped_column(
        _status(QuestionAudience),
        default=QuestionAudience.HOST,
        server_default=QuestionAudience.HOST.value,
    )


class Role(StrEnum):
    """What a staff member may do: a curator answers; a moderator also runs the salons."""

    CURATOR = "curator"
    MODERATOR = "moderator"


class Partner(Base):
    """A museum co-hosting salons with this one: its own X account, curators and staff group.

    X lets an app reply only to authors who mentioned or quoted the replying account, so a
    question that tags only the partner can be answered only from the partner's account.
    """

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The X handle without "@", lower case: X handles are not case-sensitive.
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Learned when the partner authorises the app (X's access-token answer names it).
    x_user_id: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    # Its own staff group once linked; None means its curators sit in the host's group.
    chat_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # A group that asked to be linked (/partner group) and waits for the host's moderator.
    requested_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # The partner's OAuth 1.0a access token and secret, encrypted (OPSBOT_SECRET_KEY); None
    # until it authorises the app, and again after /partner disconnect.
    access_token: Mapped[str | None] = mapped_column(Text)
    access_secret: Mapped[str | None] = mapped_column(Text)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    connected_by: Mapped[int | None] = mapped_column(BigInteger)
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffMember(Base):
    """A person in the staff group, as far as the bot has seen them."""

    __tablename__ = "staff_member"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    # Chosen with /language; None means "follow Telegram's language_code".
    language: Mapped[str | None] = mapped_column(String(8))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    # Appended to the curator's answers, e.g. "— Anna".
    signature: Mapped[str | None] = mapped_column(String(100))
    # The person has a private chat with the bot (/start, or any message there; cleared when
    # they block the bot): reminders come there, and the answer dialogue happens there.
    private_chat: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When the person was told, once, how to move the answer dialogue to the private chat.
    private_hint_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The person's own X account, so the lottery leaves it out.
    x_handle: Mapped[str | None] = mapped_column(String(64))
    # The partner museum the person works for; None for the host museum's own staff.
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner.id", ondelete="SET NULL"), index=True
    )
    # Switched on with /approval @curator on; counts when OPSBOT_APPROVAL=listed.
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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
    # Taken back: deleted on X by a moderator or its curator; the text stays for the audit.
    DELETED = "deleted"
    # A curator who needs approval sent it to the moderators; Approve hands it to the outbox.
    AWAITING = "awaiting"
    # A moderator gave it back with a comment; the curator writes a new draft.
    RETURNED = "returned"


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
    # When X says the part was made (its created_at); `posted_at` is the bot's clock.
    x_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The request in the staff group that moderators approve, return or edit.
    review_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    review_message_id: Mapped[int | None] = mapped_column(Integer)
    reviewed_by: Mapped[int | None] = mapped_column(BigInteger)
    review_comment: Mapped[str | None] = mapped_column(Text)


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


class ReviewPromptKind(StrEnum):
    COMMENT = "comment"
    EDIT = "edit"


class ReviewPrompt(Base):
    """The bot's "reply with your comment" (or "with the new text") to a moderator reviewing
    an answer; kept in the database, so a reply after a restart still finds its answer."""

    __tablename__ = "review_prompt"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"))
    moderator_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[ReviewPromptKind] = mapped_column(_status(ReviewPromptKind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Template(Base):
    """A saved reply the Answer step offers, in one language; `{handle}` is the visitor."""

    __tablename__ = "template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    language: Mapped[str] = mapped_column(String(8), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SalonStatus(StrEnum):
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
    status: Mapped[SalonStatus] = mapped_column(
        _status(SalonStatus), default=SalonStatus.LIVE, index=True
    )
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
    # The last nudge about questions nobody took, so there is at most one per nudge period.
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    prompts_asked: Mapped[int] = mapped_column(Integer, default=0)
    # Planning (salons scheduled ahead): the planned local start as UTC, and the series.
    planned_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("salon_series.id", ondelete="SET NULL")
    )
    auto_start: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The museum's followers on X, read once when the salon started and once when it ended;
    # None when X could not be asked then (the report says "not available", never 0).
    followers_at_start: Mapped[int | None] = mapped_column(Integer)
    followers_at_end: Mapped[int | None] = mapped_column(Integer)
    # The public archive's labels: "ru", "en" or "both"; None follows the bot's language.
    archive_language: Mapped[str | None] = mapped_column(String(8))
    # The museum co-hosting it (/start_salon … with @partner); None when the museum hosts alone.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="SET NULL"))
    # The co-host's follower count on X at start and end, read like the museum's own.
    partner_followers_at_start: Mapped[int | None] = mapped_column(Integer)
    partner_followers_at_end: Mapped[int | None] = mapped_column(Integer)
    # The salon's forum topic in the partner's own staff group, when that group is a forum.
    partner_thread_id: Mapped[int | None] = mapped_column(Integer)


class PartnerCard(Base):
    """A question's card in a partner museum's own staff group (the host's is on `Question`).

    The partner's group has its own flood budget and language, so its card is a row of its own:
    sent once, and edited when the question is taken or answered in either group.
    """

    __tablename__ = "partner_card"
    __table_args__ = (UniqueConstraint("question_id", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("question.id", ondelete="CASCADE"), index=True
    )
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(Integer)
    # None while the send is under way or its answer was lost.
    message_id: Mapped[int | None] = mapped_column(Integer)
    # What the card shows now: an edit that would change nothing is never sent.
    digest: Mapped[str | None] = mapped_column(String(32))
    attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
    """An X handle the lottery leaves out (/exclude), besides staff and recent winners.

    Each museum keeps its own list: the host's (partner_id None) applies to every draw, a
    partner's only to the draws of salons it co-hosts. A handle sits on one list at a time.
    """

    __tablename__ = "exclusion"

    handle: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PrioritySender(Base):
    """An X account whose questions go first (/vip): a journalist, a partner, an official."""

    __tablename__ = "priority_sender"

    # Lower case: X handles are not case-sensitive.
    handle: Mapped[str] = mapped_column(String(64), primary_key=True)
    note: Mapped[str] = mapped_column(String(200), default="")
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


class ReminderStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"


class Reminder(Base):
    """One reminder before a planned salon, for one museum's group; sent once, even across
    restarts. A co-hosted salon has a set for the host (partner_id None) and one for the
    partner, each due on its own museum's wall clock."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("salon_id", "partner_id", "offset_minutes"),
        # NULLs are distinct in a unique constraint: the host's set needs its own index.
        Index(
            "uq_reminder_host_salon_id_offset_minutes",
            "salon_id",
            "offset_minutes",
            unique=True,
            sqlite_where=sql_text("partner_id IS NULL"),
            postgresql_where=sql_text("partner_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    salon_id: Mapped[int] = mapped_column(ForeignKey("salon.id", ondelete="CASCADE"), index=True)
    # Whose group it goes to: None the host museum's, else the co-hosting partner's.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    offset_minutes: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[ReminderStatus] = mapped_column(
        _status(ReminderStatus), default=ReminderStatus.PENDING, index=True
    )
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
    # The question whose card the message is: a card recorded here but not on its question
    # (the bot stopped between the two) is that message, not another lost card.
    question_id: Mapped[int | None] = mapped_column(Integer)
    # The questions a digest listed (ids, comma-separated), for the same reason.
    listed: Mapped[str | None] = mapped_column(String(400))


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
    # Taking back one part of an answer: DELETE of the museum's post (`target`).
    DELETION = "deletion"


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


class DeliveryFailure(StrEnum):
    """Why a delivery was given up; the staff read it in their language, the log has X's words."""

    # X did not answer in time (a timeout, the network), however often it was asked.
    TIMEOUT = "timeout"
    # X answered with its own errors (5xx), however often it was asked.
    SERVER_ERROR = "server_error"
    # X refused the text (403).
    REFUSED = "refused"
    # X found the text too long (400).
    TOO_LONG = "too_long"
    # X called it a duplicate, and no such post of the museum's was found.
    DUPLICATE = "duplicate"
    # A later part of a thread: the part before it is not on X.
    FOLLOWED_FAILED = "followed_failed"
    QUESTION_GONE = "question_gone"
    # Hidden after the answer was handed over: spam is not answered.
    QUESTION_HIDDEN = "question_hidden"
    # To go from a partner's account, which has not authorised the app (or was disconnected).
    NOT_CONNECTED = "not_connected"
    # X refused the partner's tokens (401): revoked on X, or the app's authorisation withdrawn.
    PARTNER_REVOKED = "partner_revoked"


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
    # X's own words, for the log and the audit; the staff are shown `failure`.
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Why it failed; while pending, why X did not answer its last attempt.
    failure: Mapped[DeliveryFailure | None] = mapped_column(_status(DeliveryFailure))
    # What it belongs to, so its outcome can be shown where it was asked for.
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answer.id", ondelete="CASCADE"), index=True
    )
    salon_id: Mapped[int | None] = mapped_column(ForeignKey("salon.id", ondelete="CASCADE"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draw.id", ondelete="CASCADE"))
    # A prompt's n in Qn.
    number: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[int | None] = mapped_column(BigInteger)
    # The account it is posted from: a partner museum's (its OAuth tokens), None the museum's.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="SET NULL"))
    # The staff message it was asked for from (a preview, an /ask), where the outcome goes.
    origin_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    origin_message_id: Mapped[int | None] = mapped_column(Integer)
    origin_thread_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the staff were told it is on X or failed; None while nobody has been.
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UsageKind(StrEnum):
    """What X bills separately (docs.x.com pricing, pay-per-use since February 2026)."""

    # A post read from the museum's own data: its mentions timeline, its own posts.
    OWNED_READ = "owned_read"
    # A post read by search.
    POST_READ = "post_read"
    # A user read (the museum's own account, at start).
    USER_READ = "user_read"
    POST = "post"
    # A reply to an account that summoned the museum (mentioned or quoted it).
    REPLY = "reply"
    # A post or reply with a URL in it.
    LINK_POST = "link_post"
    # Not billed by itself: the posts X's usage endpoint reports read this month, as last asked.
    REPORTED_READS = "reported_reads"


class XUsage(Base):
    """How many posts X returned or took, per calendar month (UTC, as X bills) and kind.

    Counted from what X actually answered, so an empty read adds nothing; increments are
    atomic in the database, so two writers never lose each other's counts.
    """

    __tablename__ = "x_usage"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    kind: Mapped[UsageKind] = mapped_column(_status(UsageKind), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SalonXUsage(Base):
    """The reads X billed while a salon was live or in the day after it, per salon and kind.

    A read belongs to the salon that a post made at that moment would be filed under (the
    latest one started, live or in its after-window), so no read is counted for two salons.
    """

    __tablename__ = "salon_x_usage"

    salon_id: Mapped[int] = mapped_column(
        ForeignKey("salon.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    kind: Mapped[UsageKind] = mapped_column(_status(UsageKind), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
