"""The emulated X: accounts and posts, stored as X stores them, and the in-process API.

A post is X's v2 Tweet object with every field (`Post`). What X rewrites is rewritten on the way
in: URLs become t.co links, a reply to someone else's post gains the leading `@author `, a
retweet's text is `RT @author: ...`, and the counters of the posts it references move. A hidden
post leaves search and the mentions timeline; a deleted one is gone everywhere.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from opsbot.emulators.base import EmulatorServer
from opsbot.emulators.x.dates import TWITTER_EPOCH_MS, _iso
from opsbot.emulators.x.text import _LEADING_MENTIONS, _guess_lang, _tco, extract_entities

Post = dict[str, Any]

EDIT_WINDOW = 3600.0
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def _refs(post: Post, kind: str) -> list[str]:
    return [r["id"] for r in post.get("referenced_tweets", []) if r["type"] == kind]


def _entity_values(post: Post, kind: str, key: str) -> list[str]:
    return [str(e.get(key, "")) for e in post.get("entities", {}).get(kind, [])]


class World(EmulatorServer):
    """The museum's account, its visitors and their posts; `XEmulator.__init__` sets the state."""

    enrolled: bool
    credits: bool
    search_delay: float
    timeline_delay: float
    _users: dict[str, dict[str, Any]]
    _user_ids: dict[str, str]
    _posts: dict[str, Post]
    _post_ts: dict[str, float]
    _ids: list[int]
    _hidden: set[str]
    _deleted: set[str]
    _tco: dict[str, str]
    _notifications: set[asyncio.Task[None]]
    _museum_id: str

    # --- in-process API ---

    @property
    def museum(self) -> dict[str, Any]:
        return self._public_user(self._museum_id)

    def add_user(self, username: str, name: str | None = None) -> dict[str, Any]:
        """A visitor account (returned as is when the username already exists)."""
        existing = self._user_id_for(username)
        if existing is not None:
            return self._public_user(existing)
        user = self._create_user(username, name or username)
        self._poke()
        return self._public_user(user["id"])

    def set_account(self, *, enrolled: bool | None = None, credits: bool | None = None) -> None:
        """Put the developer account in a state X refuses every call in, or out of it."""
        if enrolled is not None:
            self.enrolled = enrolled
        if credits is not None:
            self.credits = credits

    def set_followers(self, username: str, count: int) -> None:
        uid = self._user_id_for(username)
        if uid is None:
            raise KeyError(f"no user @{username}")
        self._users[uid]["public_metrics"]["followers_count"] = count
        self._poke()

    def set_protected(self, username: str, protected: bool = True) -> None:
        """The account's posts become visible to its approved followers only (the museum is
        none of them): lookups by id answer X's not-authorized error for them."""
        uid = self._user_id_for(username)
        if uid is None:
            raise KeyError(f"no user @{username}")
        self._users[uid]["protected"] = protected
        self._poke()

    def set_post_metrics(self, post_id: str, **counts: int) -> None:
        """Views, likes, bookmarks … that people gave a post (`impression_count=120`)."""
        metrics = self._require_post(post_id)["public_metrics"]
        unknown = set(counts) - set(metrics)
        if unknown:
            raise KeyError(f"not a public metric: {sorted(unknown)}")
        metrics.update(counts)

    def visitor_posts(
        self,
        username: str,
        text: str,
        *,
        quote_of: str | None = None,
        reply_to: str | None = None,
        retweet_of: str | None = None,
        created_at: datetime | None = None,
    ) -> Post:
        """Store a post by `username` (created if new) and return it with every field.

        A retweet's text is X's `RT @author: ...`, whatever `text` says.
        """
        for ref in (quote_of, reply_to, retweet_of):
            if ref is not None and self._visible_post(ref) is None:
                raise KeyError(f"no post {ref}")
        if retweet_of is not None and (quote_of or reply_to):
            raise ValueError("a retweet can neither quote nor reply")
        author = self.add_user(username)["id"]
        if created_at is None:
            at = self.clock()
        else:
            if created_at.tzinfo is None:
                created_at = created_at.replace(tzinfo=UTC)
            at = created_at.timestamp()
        post = self._store_post(
            author, text, reply_to=reply_to, quote_of=quote_of, retweet_of=retweet_of, at=at
        )
        self._poke()
        return copy.deepcopy(post)

    def museum_posts(self) -> list[Post]:
        """What the museum's account posted, oldest first, with `in_reply_to_tweet_id` added."""
        return self._posts_of(self._museum_id)

    def hide_post(self, post_id: str) -> None:
        self._require_post(post_id)
        self._hidden.add(post_id)
        self._poke()

    def delete_post(self, post_id: str) -> None:
        post = self._require_post(post_id)
        self._delete(post)
        self._poke()

    def _poke(self) -> None:
        """notify() from synchronous code, when an event loop is there to run it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.notify())
        self._notifications.add(task)
        task.add_done_callback(self._notifications.discard)

    # --- users and posts ---

    def _create_user(self, username: str, name: str) -> dict[str, Any]:
        if not _USERNAME.match(username):
            raise ValueError(f"an X username is 1-15 letters, digits or _: {username!r}")
        uid = str(1_350_000_000_000_000_000 + (len(self._users) + 1) * 1_000_003)
        self._users[uid] = {
            "id": uid,
            "name": name,
            "username": username,
            "created_at": _iso(self.clock()),
            "description": "",
            "location": "",
            "url": "",
            "protected": False,
            "verified": False,
            "verified_type": "none",
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{uid}/photo_normal.jpg",
            "public_metrics": {
                "followers_count": 0,
                "following_count": 0,
                "tweet_count": 0,
                "listed_count": 0,
                "like_count": 0,
                "media_count": 0,
            },
        }
        self._user_ids[username.casefold()] = uid
        return self._users[uid]

    def _user_id_for(self, username: str) -> str | None:
        return self._user_ids.get(username.removeprefix("@").casefold())

    def _public_user(self, uid: str) -> dict[str, Any]:
        user = self._users[uid]
        return {"id": uid, "name": user["name"], "username": user["username"]}

    def _visible_post(self, post_id: str) -> Post | None:
        if post_id in self._deleted:
            return None
        return self._posts.get(post_id)

    def _require_post(self, post_id: str) -> Post:
        post = self._visible_post(post_id)
        if post is None:
            raise KeyError(f"no post {post_id}")
        return post

    def _posts_of(self, uid: str | None) -> list[Post]:
        out = []
        for pid in self._ids:
            post = self._posts[str(pid)]
            if str(pid) in self._deleted or (uid is not None and post["author_id"] != uid):
                continue
            parents = _refs(post, "replied_to")
            out.append(
                {**copy.deepcopy(post), "in_reply_to_tweet_id": parents[0] if parents else None}
            )
        return out

    def _new_id(self, at: float) -> str:
        ms = max(int(at * 1000), TWITTER_EPOCH_MS + 1)
        candidate = (ms - TWITTER_EPOCH_MS) << 22
        while str(candidate) in self._posts:
            candidate += 1
        return str(candidate)

    def _compose(
        self,
        author_id: str,
        text: str,
        reply_to: str | None,
        retweet_of: str | None,
        exclude_reply_user_ids: frozenset[str] = frozenset(),
    ) -> tuple[str, list[dict[str, Any]]]:
        """The text X would store, with its URLs wrapped in t.co, and its URL entities."""
        text = unicodedata.normalize("NFC", text)
        if retweet_of is not None:
            original = self._posts[retweet_of]
            author = self._users[original["author_id"]]["username"]
            text = f"RT @{author}: {original['text']}"
        elif reply_to is not None:
            parent_author = self._posts[reply_to]["author_id"]
            username = self._users[parent_author]["username"]
            already = re.match(rf"[@＠]{re.escape(username)}(?![A-Za-z0-9_])", text, re.I)
            if (
                parent_author != author_id
                and parent_author not in exclude_reply_user_ids
                and not already
            ):
                text = f"@{username} {text}"
        pieces: list[str] = []
        urls: list[dict[str, Any]] = []
        cursor = 0
        length = 0
        for entity in extract_entities(text):
            if entity.kind != "url":
                continue
            before = text[cursor : entity.start]
            pieces.append(before)
            length += len(before)
            written = entity.value
            if re.match(r"(?i)https?://t\.co/", written):
                link, expanded = written, self._tco.get(written, written)
            else:
                expanded = written if re.match(r"(?i)https?://", written) else "http://" + written
                link = _tco(expanded)
                self._tco[link] = expanded
            bare = re.sub(r"(?i)^https?://(www\.)?", "", expanded)
            display = bare if len(bare) <= 26 else bare[:25] + "…"
            urls.append(
                {
                    "start": length,
                    "end": length + len(link),
                    "url": link,
                    "expanded_url": expanded,
                    "display_url": display,
                }
            )
            pieces.append(link)
            length += len(link)
            cursor = entity.end
        pieces.append(text[cursor:])
        return "".join(pieces), urls

    def _store_post(
        self,
        author_id: str,
        text: str,
        *,
        reply_to: str | None,
        quote_of: str | None,
        retweet_of: str | None,
        at: float,
        exclude_reply_user_ids: frozenset[str] = frozenset(),
    ) -> Post:
        if retweet_of is not None:
            # Retweeting a retweet retweets the original, as on X.
            retweet_of = (_refs(self._posts[retweet_of], "retweeted") or [retweet_of])[0]
        stored_text, urls = self._compose(
            author_id, text, reply_to, retweet_of, exclude_reply_user_ids
        )
        post_id = self._new_id(at)
        entities: dict[str, list[dict[str, Any]]] = {}
        if urls:
            entities["urls"] = urls
        for entity in extract_entities(stored_text):
            if entity.kind == "mention":
                uid = self._user_id_for(entity.value)
                if uid is None:
                    continue  # X links only handles that exist
                entities.setdefault("mentions", []).append(
                    {
                        "start": entity.start,
                        "end": entity.end,
                        "username": self._users[uid]["username"],
                        "id": uid,
                    }
                )
            elif entity.kind in ("hashtag", "cashtag"):
                entities.setdefault(entity.kind + "s", []).append(
                    {"start": entity.start, "end": entity.end, "tag": entity.value}
                )
        refs: list[dict[str, str]] = []
        post: Post = {
            "id": post_id,
            "text": stored_text,
            "author_id": author_id,
            "created_at": _iso(at),
            "conversation_id": post_id,
            "edit_history_tweet_ids": [post_id],
            "lang": _guess_lang(stored_text),
            "possibly_sensitive": False,
            "reply_settings": "everyone",
            "public_metrics": {
                "retweet_count": 0,
                "repost_count": 0,
                "reply_count": 0,
                "like_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 0,
            },
        }
        display_start = 0
        if reply_to is not None:
            parent = self._posts[reply_to]
            refs.append({"type": "replied_to", "id": reply_to})
            post["conversation_id"] = parent["conversation_id"]
            post["in_reply_to_user_id"] = parent["author_id"]
            leading = _LEADING_MENTIONS.match(stored_text)
            display_start = leading.end() if leading else 0
            parent["public_metrics"]["reply_count"] += 1
        if quote_of is not None:
            refs.append({"type": "quoted", "id": quote_of})
            self._posts[quote_of]["public_metrics"]["quote_count"] += 1
        if retweet_of is not None:
            refs.append({"type": "retweeted", "id": retweet_of})
            metrics = self._posts[retweet_of]["public_metrics"]
            metrics["retweet_count"] += 1
            metrics["repost_count"] += 1
        if refs:
            post["referenced_tweets"] = refs
        if entities:
            post["entities"] = entities
        post["display_text_range"] = [display_start, len(stored_text)]
        post["edit_controls"] = {
            "edits_remaining": 5,
            "is_edit_eligible": retweet_of is None,
            "editable_until": _iso(at + EDIT_WINDOW),
        }
        self._posts[post_id] = post
        self._post_ts[post_id] = at
        bisect.insort(self._ids, int(post_id))
        self._users[author_id]["public_metrics"]["tweet_count"] += 1
        return post

    def _delete(self, post: Post) -> None:
        self._deleted.add(post["id"])
        self._users[post["author_id"]]["public_metrics"]["tweet_count"] -= 1
        for ref in post.get("referenced_tweets", []):
            target = self._posts.get(ref["id"])
            if target is None:
                continue
            metrics = target["public_metrics"]
            if ref["type"] == "replied_to":
                metrics["reply_count"] -= 1
            elif ref["type"] == "quoted":
                metrics["quote_count"] -= 1
            else:
                metrics["retweet_count"] -= 1
                metrics["repost_count"] -= 1

    def _indexed(self, post: Post, delay: float) -> bool:
        """Whether X's index has caught up with `post`, `delay` seconds after it was made."""
        return self._post_ts[post["id"]] <= self.clock() - delay

    def _newest_first(self) -> list[Post]:
        return [
            self._posts[str(pid)] for pid in reversed(self._ids) if str(pid) not in self._deleted
        ]
