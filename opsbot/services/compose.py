"""The exact text the museum will post: the curator's words, their signature, the hashtag.

Pure functions, so the preview the curator sees and the post X receives cannot differ.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from opsbot.services.tweet_length import MAX_WEIGHTED_LENGTH, weighted_length
from opsbot.services.tweet_urls import extract_urls


def has_hashtag(text: str, hashtags: Sequence[str]) -> bool:
    for tag in hashtags:
        if re.search(rf"(?<![\w#]){re.escape(tag)}(?!\w)", text, re.IGNORECASE):
            return True
    return False


def answer_hashtags(question_text: str, hashtags: Sequence[str]) -> list[str]:
    """The salon's hashtags with the one the visitor used first.

    An answer goes out under the visitor's hashtag, so it lands in the feed they asked in and
    in their language; a visitor who only mentioned the museum gets the first one configured.
    """
    return sorted(hashtags, key=lambda tag: not has_hashtag(question_text, [tag]))


def signature_line(signature: str | None) -> str:
    if not signature:
        return ""
    signature = signature.strip()
    return signature if signature.startswith(("—", "-", "–")) else f"— {signature}"


def compose(text: str, *, hashtags: Sequence[str], signature: str | None) -> str:
    """The curator's text, then their signature, then `hashtags[0]` if no salon tag is there."""
    body = text.strip()
    line = signature_line(signature)
    if line:
        body = f"{body}\n{line}"
    if not has_hashtag(body, hashtags):
        body = f"{body} {hashtags[0]}"
    return body


def has_link(text: str) -> bool:
    return bool(extract_urls(text))


def split_thread(
    text: str,
    *,
    hashtags: Sequence[str],
    signature: str | None,
    limit: int = MAX_WEIGHTED_LENGTH,
) -> list[str]:
    """Split an answer too long for one post into numbered parts, each within the limit.

    Words stay whole where they fit; every part carries the hashtag, so each can be found
    under it, and the signature closes the last part.
    """
    tokens = [piece for word in text.split() for piece in _pieces(word, limit // 2)]
    line = signature_line(signature)
    if line:
        tokens.append("\n" + line)
    tag = hashtags[0]
    for total in range(2, 100):
        chunks: list[str] = []
        for token in tokens:
            joined = _join(chunks[-1], token) if chunks else token
            if chunks and weighted_length(_frame(joined, len(chunks), total, tag)) <= limit:
                chunks[-1] = joined
            else:
                chunks.append(token)
        if len(chunks) <= total:
            return [_frame(chunk, n, len(chunks), tag) for n, chunk in enumerate(chunks, 1)]
    raise ValueError("the answer cannot be split into posts")


def _pieces(word: str, size: int) -> list[str]:
    """A word longer than a post can hold is cut; anything shorter stays whole."""
    return [word[i : i + size] for i in range(0, len(word), size)] or [word]


def _join(chunk: str, token: str) -> str:
    return chunk + token if token.startswith("\n") else f"{chunk} {token}"


def _frame(body: str, n: int, total: int, tag: str) -> str:
    return f"{body} {tag} ({n}/{total})"
