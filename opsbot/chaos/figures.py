"""The six figures of a chaos run, read from X, the staff group and the database at the end.

- questions lost: audience questions on X (replyable or not; retweets are not questions) that
  never got a card in the staff group;
- duplicate cards: questions with more than one card message;
- answers lost: answers whose Post press was answered "Posting…" but that are not on X, and
  whose preview does not tell the curator they failed or wait in the queue;
- duplicate replies: visitor posts with more than one reply from the museum on X;
- stale cards: questions answered on X whose card does not show that answer;
- stuck questions: questions answered on X that the database still has taken or open, and
  answers still `posting` once the bot has gone idle.

Each figure keeps the posts it counts, with what X, the chat and the database say of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opsbot.chaos.audience import AudiencePost
from opsbot.chaos.chat import (
    POSTING,
    Message,
    cards_by_post,
    digests_by_post,
    shows_answer,
    shows_failed_or_queued,
)
from opsbot.chaos.database import StoredAnswer, StoredQuestion
from opsbot.chaos.staff import CuratorAnswer
from opsbot.db.models import AnswerStatus, QuestionStatus

NAMES = (
    "questions lost",
    "duplicate cards",
    "answers lost",
    "duplicate replies",
    "stale cards",
    "stuck questions",
)


@dataclass
class Figures:
    found: dict[str, list[str]] = field(default_factory=lambda: {name: [] for name in NAMES})
    # post id -> lines of evidence, for every post that a figure counts.
    evidence: dict[str, list[str]] = field(default_factory=dict)
    acknowledged: int = 0
    retweets_carded: int = 0

    def count(self, name: str) -> int:
        return len(self.found[name])

    def all_zero(self) -> bool:
        return all(not posts for posts in self.found.values())


@dataclass
class World:
    """Everything the figures are read from."""

    questions: list[AudiencePost]
    retweets: list[AudiencePost]
    # The staff group as people see it, and the bot's answers to their button presses.
    messages: list[Message]
    callback_answers: Mapping[str, Mapping[str, Any]]
    museum: str
    museum_posts: list[dict[str, Any]]
    stored_questions: list[StoredQuestion]
    stored_answers: list[StoredAnswer]
    curator_answers: list[CuratorAnswer]
    # When the bot asked Telegram to send each post's card, and when it was killed (epoch s).
    card_sends: Mapping[str, list[float]] = field(default_factory=dict)
    kills: list[float] = field(default_factory=list)


def compute(world: World) -> Figures:
    figures = Figures()
    cards = cards_by_post(world.messages, world.museum)
    listed = digests_by_post(world.messages, world.museum)
    by_id = {m["message_id"]: m for m in world.messages}
    museum_ids = {str(post["id"]) for post in world.museum_posts}
    replies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for post in world.museum_posts:
        parent = post.get("in_reply_to_tweet_id")
        if parent is not None and str(parent) not in museum_ids:
            replies[str(parent)].append(post)
    stored = {q.x_post_id: q for q in world.stored_questions}
    answers_of: dict[int, list[StoredAnswer]] = defaultdict(list)
    for answer in world.stored_answers:
        answers_of[answer.question_id].append(answer)
    callback_answers = world.callback_answers

    def note(name: str, post_id: str, why: str) -> None:
        figures.found[name].append(post_id)
        figures.evidence.setdefault(post_id, []).append(f"{name}: {why}")

    for question in world.questions:
        pid = question.post_id
        shown = cards.get(pid, [])
        on_x = replies.get(pid, [])
        row = stored.get(pid)
        in_digests = listed.get(pid, [])
        if not shown and not in_digests:
            note("questions lost", pid, "neither a card nor a digest line in the staff group")
        # A card asked for from a digest is no duplicate: two cards or two listings are.
        for kind, found in (("cards", shown), ("digest listings", in_digests)):
            if len(found) > 1:
                ids = ", ".join(str(m["message_id"]) for m in found)
                note("duplicate cards", pid, f"{len(found)} {kind} (messages {ids})")
        if len(on_x) > 1:
            ids = ", ".join(str(p["id"]) for p in on_x)
            note("duplicate replies", pid, f"{len(on_x)} museum replies on X ({ids})")
        if on_x and shown:
            card = _recorded_card(shown, row)
            if not any(shows_answer(card, str(p["id"])) for p in on_x):
                note("stale cards", pid, f"card {card['message_id']} does not show the answer")
        posting = [
            a for a in answers_of.get(row.id if row else -1, []) if a.status == AnswerStatus.POSTING
        ]
        if on_x and row is not None and row.status != QuestionStatus.ANSWERED:
            note("stuck questions", pid, f"answered on X, still {row.status} in the database")
        elif posting:
            note("stuck questions", pid, f"answer {posting[0].id} still posting")

    for written in world.curator_answers:
        acknowledged = any(
            (callback_answers.get(q) or {}).get("text") in POSTING for q in written.post_queries
        )
        if not acknowledged:
            continue
        figures.acknowledged += 1
        on_x = [p for p in replies.get(written.post_id, []) if written.text in str(p["text"])]
        if on_x:
            continue
        preview = by_id.get(written.preview_id) if written.preview_id is not None else None
        if preview is not None and shows_failed_or_queued(preview):
            continue
        note(
            "answers lost",
            written.post_id,
            f"{written.curator}'s {written.text[:12]!r} acknowledged, not on X; the preview says "
            + repr((preview or {}).get("text", "nothing"))[:200],
        )

    carded = set(cards)
    figures.retweets_carded = sum(1 for post in world.retweets if post.post_id in carded)

    for post_id, lines in figures.evidence.items():
        lines.extend(_context(post_id, world, cards.get(post_id, []), replies, stored, answers_of))
    return figures


def _recorded_card(shown: list[Message], row: StoredQuestion | None) -> Message:
    """The card the bot keeps up to date (the one in its database), else the first."""
    if row is not None:
        for message in shown:
            if message["message_id"] == row.card_message_id:
                return message
    return shown[0]


def _context(
    post_id: str,
    world: World,
    shown: list[Message],
    replies: dict[str, list[dict[str, Any]]],
    stored: dict[str, StoredQuestion],
    answers_of: dict[int, list[StoredAnswer]],
) -> list[str]:
    post = next((q for q in world.questions if q.post_id == post_id), None)
    lines = []
    if post is not None:
        lines.append(f"X: @{post.handle} ({post.kind}): {post.text!r}")
    for reply in replies.get(post_id, []):
        lines.append(f"X: museum reply {reply['id']}: {str(reply['text'])[:80]!r}")
    for card in shown:
        first = str(card["text"]).splitlines()[-1][:80]
        lines.append(f"chat: card {card['message_id']} ends {first!r}")
    for at in world.card_sends.get(post_id, []):
        lines.append(f"telegram: card sent at {_clock(at)}{_next_kill(at, world.kills)}")
    row = stored.get(post_id)
    if row is None:
        lines.append("database: no question for this post")
        return lines
    lines.append(f"database: question {row.id}, {row.status}, card message {row.card_message_id}")
    for answer in answers_of.get(row.id, []):
        lines.append(
            f"database: answer {answer.id} {answer.status}, x post {answer.x_post_id}, "
            f"{answer.attempts} attempt(s), preview {answer.preview_message_id}, "
            f"last error {answer.last_error[:80]!r}"
        )
    return lines


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]


def _next_kill(at: float, kills: list[float]) -> str:
    later = [(n, k) for n, k in enumerate(kills, 1) if k >= at]
    if not later or later[0][1] - at > 5.0:
        return ""
    number, kill = later[0]
    return f", {kill - at:.3f}s before kill -9 #{number}"
