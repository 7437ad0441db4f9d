"""The X API v2 operations the emulator serves, each answered as X answers it.

createPosts enforces what X enforces on the way in: the weighted length, invalid characters,
duplicates within 24 hours, and the February 2026 reply restriction (a reply only where the
author mentioned or quoted the account first). Recent search covers the last 7 days.
A new post reaches recent search `search_delay` seconds after it is made, and the user and
mentions timelines `timeline_delay` seconds after, as X's index lags; the duplicate check and
lookups by id see it at once.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

from aiohttp import web

from opsbot.emulators.x.auth import _Identity
from opsbot.emulators.x.dates import _iso, _snowflake_ms
from opsbot.emulators.x.params import (
    _CREATE_KEYS,
    _CREATE_UNSUPPORTED,
    _ID,
    _REPLY_SETTINGS,
    _USERNAME,
    _Params,
    _parse_params,
)
from opsbot.emulators.x.problems import (
    DUPLICATE_DETAIL,
    QUOTE_MISSING_DETAIL,
    REPLY_MISSING_DETAIL,
    REPLY_RESTRICTED_DETAIL,
    _about_blank,
    _ApiError,
    _invalid,
    _not_authorized,
    _not_found,
    _param_error,
)
from opsbot.emulators.x.render import Render
from opsbot.emulators.x.search import QueryError, _Context, parse_query
from opsbot.emulators.x.world import Post, _entity_values, _refs
from opsbot.services.tweet_length import has_invalid_characters, weighted_length

MAX_WEIGHTED_LENGTH = 280
SEARCH_WINDOW = 7 * 24 * 3600.0
DUPLICATE_WINDOW = 24 * 3600.0
SEARCH_END_MARGIN = 10.0
MENTIONS_CAP = 800
TIMELINE_CAP = 3200


class Operations(Render):
    """users/me, mentions, a user's posts, recent search, posts by id, create and delete."""

    _ctx: _Context

    async def _get_me(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getUsersMe", request.query)
        return 200, self._user_body(identity.user_id, params)

    async def _get_user(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getUsersById", request.query)
        uid = self._path_user(request)
        if isinstance(uid, dict):
            return 200, uid
        return 200, self._user_body(uid, params)

    async def _get_user_by_username(
        self, request: web.Request, identity: _Identity
    ) -> tuple[int, Any]:
        params = _parse_params("getUsersByUsername", request.query)
        username = request.match_info["username"]
        if not _USERNAME.fullmatch(username):
            raise _invalid(
                [
                    _param_error(
                        "username",
                        username,
                        f"The `username` query parameter value [{username}] does not match "
                        "^[A-Za-z0-9_]{1,15}$",
                    )
                ]
            )
        uid = self._ctx.user_id_for(username)
        if uid is None:
            return 200, {"errors": [_not_found("user", "username", username)]}
        return 200, self._user_body(uid, params)

    def _user_body(self, uid: str, params: _Params) -> dict[str, Any]:
        fields = params.user_fields
        if params.expansions & {"most_recent_tweet_id", "most_recent_post_id"}:
            fields |= {"most_recent_tweet_id"}
        user = self._render_user(uid, fields)
        body: dict[str, Any] = {"data": user}
        recent = user.get("most_recent_tweet_id")
        if recent and params.expansions & {"most_recent_tweet_id", "most_recent_post_id"}:
            body["includes"] = {
                "tweets": [self._render_post(self._posts[recent], params.tweet_fields)]
            }
        if "most_recent_tweet_id" not in params.user_fields:
            user.pop("most_recent_tweet_id", None)
        return body

    def _path_user(self, request: web.Request) -> str | dict[str, Any]:
        uid = request.match_info["id"]
        if not _ID.match(uid):
            raise _invalid(
                [
                    _param_error(
                        "id",
                        uid,
                        f"The `id` query parameter value [{uid}] does not match ^[0-9]{{1,19}}$",
                    )
                ]
            )
        if uid not in self._users:
            return {"errors": [_not_found("user", "id", uid)]}
        return uid

    async def _get_mentions(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getUsersMentions", request.query)
        uid = self._path_user(request)
        if isinstance(uid, dict):
            return 200, uid
        mentions = [
            p
            for p in self._newest_first()
            if p["author_id"] != uid
            and self._indexed(p, self.timeline_delay)
            and p["id"] not in self._hidden
            and self._may_see(p)
            and not _refs(p, "retweeted")
            and (uid in _entity_values(p, "mentions", "id") or p.get("in_reply_to_user_id") == uid)
        ][:MENTIONS_CAP]
        return 200, self._timeline(mentions, params, f"mentions:{uid}")

    async def _get_user_posts(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getUsersPosts", request.query)
        uid = self._path_user(request)
        if isinstance(uid, dict):
            return 200, uid
        own = [
            p
            for p in self._newest_first()
            if p["author_id"] == uid and self._indexed(p, self.timeline_delay)
        ][:TIMELINE_CAP]
        if "replies" in params.exclude:
            own = [p for p in own if not _refs(p, "replied_to")]
        if "retweets" in params.exclude:
            own = [p for p in own if not _refs(p, "retweeted")]
        scope = f"tweets:{uid}:{','.join(sorted(params.exclude))}"
        return 200, self._timeline(own, params, scope)

    async def _search(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("searchPostsRecent", request.query)
        assert params.query is not None
        now = self.clock()
        oldest = now - SEARCH_WINDOW
        errors: list[dict[str, Any]] = []
        if params.start_time is not None and params.start_time < oldest:
            errors.append(
                _param_error(
                    "start_time",
                    params.raw["start_time"],
                    f"Invalid 'start_time':'{params.raw['start_time']}'. 'start_time' must "
                    f"be on or after {_iso(oldest)}",
                )
            )
        if params.end_time is not None and params.end_time > now - SEARCH_END_MARGIN:
            errors.append(
                _param_error(
                    "end_time",
                    params.raw["end_time"],
                    f"Invalid 'end_time':'{params.raw['end_time']}'. 'end_time' must be a "
                    "minimum of 10 seconds prior to the request time.",
                )
            )
        if (
            params.start_time is not None
            and params.end_time is not None
            and params.start_time >= params.end_time
        ):
            errors.append(
                _param_error(
                    "start_time",
                    params.raw["start_time"],
                    "Invalid 'start_time'. 'start_time' must be before 'end_time'.",
                )
            )
        if params.since_id is not None and _snowflake_ms(params.since_id) < oldest:
            errors.append(
                _param_error(
                    "since_id",
                    str(params.since_id),
                    f"Invalid 'since_id':'{params.since_id}'. 'since_id' must be a post id "
                    f"created after {_iso(oldest)}",
                )
            )
        try:
            predicate = parse_query(params.query, self._ctx)
        except QueryError as exc:
            errors.append(
                _param_error(
                    "query", params.query, f"There were errors processing your request: {exc}"
                )
            )
        if errors:
            raise _invalid(errors)
        found = [
            p
            for p in self._newest_first()
            if self._post_ts[p["id"]] >= oldest
            and self._indexed(p, self.search_delay)
            and p["id"] not in self._hidden
            and self._may_see(p)
            and predicate(p)
        ]
        scope = "search:" + hashlib.sha256(params.query.encode()).hexdigest()[:16]
        return 200, self._timeline(found, params, scope)

    async def _get_post(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getPostsById", request.query)
        post_id = request.match_info["id"]
        if not _ID.match(post_id):
            raise _invalid(
                [
                    _param_error(
                        "id",
                        post_id,
                        f"The `id` query parameter value [{post_id}] does not match "
                        "^[0-9]{1,19}$",
                    )
                ]
            )
        post = self._visible_post(post_id)
        if post is None:
            return 200, {"errors": [_not_found("tweet", "id", post_id)]}
        if not self._may_see(post):
            return 200, {"errors": [_not_authorized("tweet", "id", post_id)]}
        body = {"data": self._render_post(post, params.tweet_fields)}
        return 200, self._with_expansions(body, [post], params)

    async def _get_posts(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        params = _parse_params("getPostsByIds", request.query)
        ids = list(dict.fromkeys(params.ids))
        found = [p for p in map(self._visible_post, ids) if p is not None and self._may_see(p)]
        missing = [i for i in ids if self._visible_post(i) is None]
        withheld = [p["id"] for p in map(self._visible_post, ids) if p and not self._may_see(p)]
        body: dict[str, Any] = {}
        if found:
            body["data"] = [self._render_post(p, params.tweet_fields) for p in found]
            self._with_expansions(body, found, params)
        if missing or withheld:
            body.setdefault("errors", [])[0:0] = [
                _not_found("tweet", "ids", i) for i in missing
            ] + [_not_authorized("tweet", "ids", i) for i in withheld]
        return 200, body

    def _may_see(self, post: Post) -> bool:
        """A protected account's posts are shown only to itself (the museum follows nobody)."""
        author = post["author_id"]
        return author == self._museum_id or not self._users[author]["protected"]

    async def _create_post(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        _parse_params("createPosts", request.query)
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raise _invalid([{"message": "The request body is not valid JSON"}]) from None
        if not isinstance(body, dict):
            raise _invalid([{"message": "$: object expected"}])
        errors: list[dict[str, Any]] = []
        for key in body:
            if key not in _CREATE_KEYS:
                errors.append(
                    {
                        "message": f"$.{key}: is not defined in the schema and the schema "
                        "does not allow additional properties"
                    }
                )
            elif key in _CREATE_UNSUPPORTED:
                errors.append({"message": f"$.{key}: is not supported by this emulator"})
        text = body.get("text", "")
        if not isinstance(text, str):
            errors.append({"message": f"$.text: {type(text).__name__} found, string expected"})
            text = ""
        reply_to, exclude = self._parse_reply(body.get("reply"), errors)
        quote_of = body.get("quote_tweet_id")
        if quote_of is not None and not (isinstance(quote_of, str) and _ID.match(quote_of)):
            errors.append(
                {"message": "$.quote_tweet_id: does not match the regex pattern ^[0-9]{1,19}$"}
            )
        settings = body.get("reply_settings")
        if settings is not None and settings not in _REPLY_SETTINGS:
            errors.append(
                {
                    "message": "$.reply_settings: does not have a value in the "
                    f"enumeration [{', '.join(_REPLY_SETTINGS)}]"
                }
            )
        if body.get("for_super_followers_only"):
            errors.append(
                {"message": "$.for_super_followers_only: is not supported by this emulator"}
            )
        if errors:
            raise _invalid(errors)
        text = unicodedata.normalize("NFC", text)
        if not text.strip():
            raise _invalid(
                [
                    {
                        "parameters": {"text": [text]},
                        "message": "$.text: a Post needs text (or media)",
                    }
                ],
                detail="Post text is empty.",
            )
        length = weighted_length(text)
        if length > MAX_WEIGHTED_LENGTH:
            message = (
                f"Your Post text is too long: {length} weighted characters, the maximum "
                f"is {MAX_WEIGHTED_LENGTH}."
            )
            raise _invalid([{"message": message}], detail=message)
        if has_invalid_characters(text):
            raise _invalid(
                [{"message": "Post text contains invalid characters"}],
                detail="Post text contains invalid characters.",
            )
        if reply_to is not None:
            parent = self._visible_post(reply_to)
            if parent is None:
                raise _ApiError(403, _about_blank(403, REPLY_MISSING_DETAIL))
            if not self._may_reply(parent, identity.user_id):
                raise _ApiError(403, _about_blank(403, REPLY_RESTRICTED_DETAIL))
        if quote_of is not None and self._visible_post(quote_of) is None:
            raise _ApiError(403, _about_blank(403, QUOTE_MISSING_DETAIL))
        stored_text, _ = self._compose(identity.user_id, text, reply_to, None, exclude)
        now = self.clock()
        for post in self._newest_first():
            if (
                post["author_id"] == identity.user_id
                and now - self._post_ts[post["id"]] < DUPLICATE_WINDOW
                and post["text"].strip() == stored_text.strip()
            ):
                raise _ApiError(403, _about_blank(403, DUPLICATE_DETAIL))
        post = self._store_post(
            identity.user_id,
            text,
            reply_to=reply_to,
            quote_of=quote_of,
            retweet_of=None,
            at=now,
            exclude_reply_user_ids=exclude,
        )
        return 201, {
            "data": {
                "id": post["id"],
                "text": post["text"],
                "edit_history_tweet_ids": list(post["edit_history_tweet_ids"]),
            }
        }

    @staticmethod
    def _parse_reply(reply: Any, errors: list[dict[str, Any]]) -> tuple[str | None, frozenset[str]]:
        if reply is None:
            return None, frozenset()
        if not isinstance(reply, dict):
            errors.append({"message": "$.reply: object expected"})
            return None, frozenset()
        for key in reply:
            if key not in (
                "in_reply_to_tweet_id",
                "exclude_reply_user_ids",
                "auto_populate_reply_metadata",
            ):
                errors.append(
                    {
                        "message": f"$.reply.{key}: is not defined in the schema and the "
                        "schema does not allow additional properties"
                    }
                )
        target = reply.get("in_reply_to_tweet_id")
        if target is None:
            errors.append(
                {"message": "$.reply.in_reply_to_tweet_id: is missing but it is required"}
            )
            return None, frozenset()
        if not (isinstance(target, str) and _ID.match(target)):
            errors.append(
                {
                    "message": "$.reply.in_reply_to_tweet_id: does not match the regex "
                    "pattern ^[0-9]{1,19}$"
                }
            )
            return None, frozenset()
        exclude = reply.get("exclude_reply_user_ids") or []
        if not (isinstance(exclude, list) and all(isinstance(e, str) for e in exclude)):
            errors.append({"message": "$.reply.exclude_reply_user_ids: array of strings expected"})
            exclude = []
        return target, frozenset(exclude)

    def _may_reply(self, parent: Post, account: str) -> bool:
        """X's reply restriction (Feb 2026): only where the author engaged the account first."""
        if parent["author_id"] == account:
            return True
        if account in _entity_values(parent, "mentions", "id"):
            return True
        for quoted in _refs(parent, "quoted"):
            target = self._posts.get(quoted)
            if target is not None and target["author_id"] == account:
                return True
        return False

    async def _delete_post(self, request: web.Request, identity: _Identity) -> tuple[int, Any]:
        _parse_params("deletePosts", request.query)
        post_id = request.match_info["id"]
        if not _ID.match(post_id):
            raise _invalid(
                [
                    _param_error(
                        "id",
                        post_id,
                        f"The `id` query parameter value [{post_id}] does not match "
                        "^[0-9]{1,19}$",
                    )
                ]
            )
        post = self._visible_post(post_id)
        if post is None:
            return 200, {"data": {"deleted": False}}
        if post["author_id"] != identity.user_id:
            raise _ApiError(403, _about_blank(403, "You are not authorized to delete this Tweet."))
        self._delete(post)
        return 200, {"data": {"deleted": True}}
