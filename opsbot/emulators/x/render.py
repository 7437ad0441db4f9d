"""The shapes of answers: posts and users with the fields asked for, expansions, and pages.

A post always carries id, text and edit_history_tweet_ids, other fields only when asked for.
Pagination tokens are opaque and bound to the timeline they came from: one from another
timeline or query is a 400.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from opsbot.emulators.x.params import _ID, _Params
from opsbot.emulators.x.problems import _invalid, _not_found, _param_error
from opsbot.emulators.x.world import Post, World


class Render(World):
    """Posts and users as JSON, their expansions, and timelines cut into pages."""

    # --- rendering ---

    def _render_post(self, post: Post, fields: frozenset[str]) -> Post:
        out: Post = {
            "id": post["id"],
            "text": post["text"],
            "edit_history_tweet_ids": list(post["edit_history_tweet_ids"]),
        }
        for name in sorted(fields):
            if name in post and name not in out:
                out[name] = copy.deepcopy(post[name])
        return out

    def _render_user(self, uid: str, fields: frozenset[str]) -> dict[str, Any]:
        user = self._users[uid]
        out: dict[str, Any] = {"id": uid, "name": user["name"], "username": user["username"]}
        for name in sorted(fields):
            if name == "public_metrics":
                metrics = dict(user["public_metrics"])
                # The spec calls it post_count; tweepy-era clients read tweet_count.
                metrics["post_count"] = metrics["tweet_count"]
                out[name] = metrics
            elif name == "most_recent_tweet_id":
                own = [p for p in self._newest_first() if p["author_id"] == uid]
                if own:
                    out[name] = own[0]["id"]
            elif name in user and name not in out:
                out[name] = copy.deepcopy(user[name])
        return out

    def _expand(self, posts: list[Post], params: _Params) -> tuple[dict[str, Any], list[Any]]:
        wanted = params.expansions
        user_ids: list[str] = []
        tweets: list[Post] = []
        errors: list[dict[str, Any]] = []

        def add_user(uid: str | None) -> None:
            if uid is not None and uid in self._users and uid not in user_ids:
                user_ids.append(uid)

        shown = {p["id"] for p in posts}
        for post in posts:
            if "author_id" in wanted:
                add_user(post["author_id"])
            if "in_reply_to_user_id" in wanted:
                add_user(post.get("in_reply_to_user_id"))
            if "entities.mentions.username" in wanted:
                for mention in post.get("entities", {}).get("mentions", []):
                    add_user(mention.get("id"))
            if wanted & {
                "referenced_tweets.id",
                "referenced_posts",
                "referenced_tweets.id.author_id",
            }:
                for ref in post.get("referenced_tweets", []):
                    target = self._visible_post(ref["id"])
                    if target is None:
                        errors.append(_not_found("tweet", "referenced_tweets.id", ref["id"]))
                        continue
                    if wanted & {"referenced_tweets.id", "referenced_posts"} and (
                        target["id"] not in shown
                    ):
                        shown.add(target["id"])
                        tweets.append(target)
                    if "referenced_tweets.id.author_id" in wanted:
                        add_user(target["author_id"])
        includes: dict[str, Any] = {}
        if user_ids:
            includes["users"] = [self._render_user(u, params.user_fields) for u in user_ids]
        if tweets:
            includes["tweets"] = [self._render_post(t, params.tweet_fields) for t in tweets]
        return includes, errors

    def _with_expansions(
        self, body: dict[str, Any], posts: list[Post], params: _Params
    ) -> dict[str, Any]:
        includes, errors = self._expand(posts, params)
        if includes:
            body["includes"] = includes
        if errors:
            body["errors"] = errors
        return body

    # --- pagination ---

    @staticmethod
    def _token(scope: str, oldest: str) -> str:
        raw = f"{scope}|{oldest}".encode()
        return base64.b32encode(raw).decode().rstrip("=").lower()

    @staticmethod
    def _untoken(token: str, scope: str, param: str) -> int:
        try:
            padded = token.upper() + "=" * (-len(token) % 8)
            got_scope, _, oldest = base64.b32decode(padded).decode().rpartition("|")
            if got_scope == scope and _ID.match(oldest):
                return int(oldest)
        except (ValueError, UnicodeDecodeError):
            pass
        raise _invalid(
            [
                _param_error(
                    param, token, f"The `{param}` query parameter value [{token}] is not valid"
                )
            ]
        )

    def _timeline(self, candidates: list[Post], params: _Params, scope: str) -> dict[str, Any]:
        """One page of `candidates` (newest first) after the since/until/time filters."""
        before = (
            self._untoken(params.token, scope, params.token_param)
            if params.token is not None
            else None
        )
        page: list[Post] = []
        more = False
        for post in candidates:
            value = int(post["id"])
            ts = self._post_ts[post["id"]]
            if params.since_id is not None and value <= params.since_id:
                continue
            if params.until_id is not None and value >= params.until_id:
                continue
            if params.start_time is not None and ts < params.start_time:
                continue
            if params.end_time is not None and ts >= params.end_time:
                continue
            if before is not None and value >= before:
                continue
            if len(page) == params.max_results:
                more = True
                break
            page.append(post)
        if not page:
            return {"meta": {"result_count": 0}}
        body: dict[str, Any] = {"data": [self._render_post(p, params.tweet_fields) for p in page]}
        meta: dict[str, Any] = {
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
            "result_count": len(page),
        }
        if more:
            meta["next_token"] = self._token(scope, page[-1]["id"])
        body["meta"] = meta
        return self._with_expansions(body, page, params)
