"""Query parameters as X validates them, every mistake collected into one 400 problem.

Each operation takes its own parameter names (`_QUERY_PARAMS`); field and expansion lists must
name what X knows (the union of the spec's names and those X serves to tweepy); max_results,
ids, tokens and RFC 3339 times are checked as X checks them. The keys a createPosts body may
carry are listed here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiMapping

from opsbot.emulators.x.dates import _parse_time
from opsbot.emulators.x.problems import _invalid, _param_error

SEARCH_QUERY_MAX = 512


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The union of the names the spec lists and those X serves to tweepy.
TWEET_FIELDS = _names(
    "article article_title attachments author_id card_uri community_id context_annotations "
    "conversation_id created_at display_text_range edit_controls edit_history_tweet_ids "
    "entities geo id in_reply_to_user_id lang matched_media_notes media_metadata "
    "non_public_metrics note_post note_request_suggestions note_tweet organic_metrics "
    "paid_partnership possibly_sensitive promoted_metrics public_metrics referenced_tweets "
    "reply_settings scopes source suggested_source_links suggested_source_links_with_counts "
    "text withheld"
)
USER_FIELDS = _names(
    "affiliation confirmed_email connection_status created_at description entities id "
    "is_identity_verified location most_recent_tweet_id name parody pinned_tweet_id "
    "profile_banner_url profile_image_url protected public_metrics receives_your_dm "
    "subscribes_to_you subscription subscription_type url username verified "
    "verified_followers_count verified_type withheld"
)
TWEET_EXPANSIONS = _names(
    "article.cover_media article.media_entities attachments.media_keys "
    "attachments.media_source_tweet attachments.poll_ids author_id edit_history_tweet_ids "
    "edit_history_post_ids entities.mentions.username entities.note.mentions.username "
    "geo.place_id in_reply_to_user_id referenced_tweets.id "
    "referenced_tweets.id.attachments.media_keys referenced_tweets.id.author_id "
    "referenced_posts username"
)
USER_EXPANSIONS = _names(
    "affiliation affiliation.user_id most_recent_tweet_id most_recent_post_id "
    "pinned_tweet_id pinned_post_id"
)
MEDIA_FIELDS = _names(
    "alt_text duration_ms height media_key non_public_metrics organic_metrics "
    "preview_image_url promoted_metrics public_metrics type url variants width"
)
POLL_FIELDS = _names("duration_minutes end_datetime id options voting_status")
PLACE_FIELDS = _names("contained_within country country_code full_name geo id name place_type")
USAGE_FIELDS = _names(
    "cap_reset_day daily_client_app_usage daily_project_usage project_cap project_id project_usage"
)
_FIELD_ENUMS: dict[str, frozenset[str]] = {
    "tweet.fields": TWEET_FIELDS,
    "post.fields": TWEET_FIELDS,
    "user.fields": USER_FIELDS,
    "media.fields": MEDIA_FIELDS,
    "poll.fields": POLL_FIELDS,
    "place.fields": PLACE_FIELDS,
    "usage.fields": USAGE_FIELDS,
}
_FIELD_PARAMS = (
    "tweet.fields",
    "post.fields",
    "expansions",
    "user.fields",
    "media.fields",
    "poll.fields",
    "place.fields",
)
_TIMELINE_PARAMS = (
    "max_results",
    "pagination_token",
    "start_time",
    "end_time",
    "since_id",
    "until_id",
)
USER_OPERATIONS = ("getUsersMe", "getUsersById", "getUsersByUsername")
_QUERY_PARAMS: dict[str, tuple[str, ...]] = {
    "getUsersMe": ("user.fields", "expansions", "tweet.fields", "post.fields"),
    "getUsersById": ("user.fields", "expansions", "tweet.fields", "post.fields"),
    "getUsersByUsername": ("user.fields", "expansions", "tweet.fields", "post.fields"),
    "getUsersMentions": (*_TIMELINE_PARAMS, *_FIELD_PARAMS),
    "getUsersPosts": (*_TIMELINE_PARAMS, "exclude", *_FIELD_PARAMS),
    "searchPostsRecent": (*_TIMELINE_PARAMS, "query", "next_token", "sort_order", *_FIELD_PARAMS),
    "getPostsById": _FIELD_PARAMS,
    "getPostsByIds": ("ids", *_FIELD_PARAMS),
    "createPosts": (),
    "deletePosts": (),
    "getUsage": ("days", "usage.fields"),
}
# (minimum, maximum, default) of the usage report's `days`.
_USAGE_DAYS = (1, 90, 7)
# (minimum, maximum, default) of max_results.
_PAGE_SIZES = {
    "getUsersMentions": (5, 100, 10),
    "getUsersPosts": (5, 100, 10),
    "searchPostsRecent": (10, 100, 10),
}
_ID = re.compile(r"^[0-9]{1,19}$")
# X handles: letters, digits and "_", at most 15.
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_CREATE_KEYS = _names(
    "card_uri community_id direct_message_deep_link edit_options for_super_followers_only geo "
    "made_with_ai media nullcast paid_partnership poll quote_tweet_id reply reply_settings "
    "share_with_followers text"
)
# Accepted by X, but they need media, polls or places this emulator does not model; refusing
# them keeps a bot from passing tests with a feature that was never exercised.
_CREATE_UNSUPPORTED = _names(
    "card_uri community_id direct_message_deep_link edit_options geo media poll "
    "share_with_followers"
)
_REPLY_SETTINGS = ("following", "mentionedUsers", "subscribers", "verified")


@dataclass
class _Params:
    tweet_fields: frozenset[str] = frozenset()
    user_fields: frozenset[str] = frozenset()
    expansions: frozenset[str] = frozenset()
    max_results: int = 10
    since_id: int | None = None
    until_id: int | None = None
    start_time: float | None = None
    end_time: float | None = None
    token: str | None = None
    token_param: str = "pagination_token"
    query: str | None = None
    exclude: frozenset[str] = frozenset()
    ids: list[str] = field(default_factory=list)
    usage_fields: frozenset[str] = frozenset()
    days: int = _USAGE_DAYS[2]
    raw: dict[str, str] = field(default_factory=dict)


def _parse_params(op: str, query: MultiMapping[str]) -> _Params:
    allowed = _QUERY_PARAMS[op]
    errors: list[dict[str, Any]] = []
    raw: dict[str, str] = {}
    for name in dict.fromkeys(query.keys()):
        values = query.getall(name)
        if name not in allowed:
            errors.append(
                {
                    "parameters": {name: values},
                    "message": f"The query parameter [{name}] is not one of [{','.join(allowed)}]",
                }
            )
        elif len(values) > 1:
            errors.append(
                {
                    "parameters": {name: values},
                    "message": f"Duplicate parameters are not allowed: the `{name}` "
                    "query parameter",
                }
            )
        else:
            raw[name] = values[0]
    if errors:
        raise _invalid(errors)

    params = _Params(raw=raw)
    for name, enum in _FIELD_ENUMS.items():
        if name in raw:
            chosen = _parse_list(name, raw[name], enum, errors)
            if name in ("tweet.fields", "post.fields"):
                params.tweet_fields |= chosen
            elif name == "user.fields":
                params.user_fields = chosen
            elif name == "usage.fields":
                params.usage_fields = chosen
    if "days" in raw:
        _parse_days(raw["days"], params, errors)
    if "expansions" in raw:
        enum = (
            USER_EXPANSIONS
            if op in ("getUsersMe", "getUsersById", "getUsersByUsername")
            else TWEET_EXPANSIONS
        )
        params.expansions = _parse_list("expansions", raw["expansions"], enum, errors)
    if op in _PAGE_SIZES:
        low, high, default = _PAGE_SIZES[op]
        params.max_results = default
        if "max_results" in raw:
            value = raw["max_results"]
            if not re.fullmatch(r"-?\d{1,9}", value):
                errors.append(
                    _param_error(
                        "max_results",
                        value,
                        f"The `max_results` query parameter value [{value}] is not a valid integer",
                    )
                )
            elif not low <= int(value) <= high:
                errors.append(
                    _param_error(
                        "max_results",
                        value,
                        f"The `max_results` query parameter value [{value}] is not "
                        f"between {low} and {high}",
                    )
                )
            else:
                params.max_results = int(value)
    for name in ("since_id", "until_id"):
        if name in raw:
            if _ID.match(raw[name]):
                setattr(params, name, int(raw[name]))
            else:
                errors.append(
                    _param_error(
                        name,
                        raw[name],
                        f"The `{name}` query parameter value [{raw[name]}] does not match "
                        "^[0-9]{1,19}$",
                    )
                )
    for name in ("start_time", "end_time"):
        if name in raw:
            moment = _parse_time(raw[name])
            if moment is None:
                errors.append(
                    _param_error(
                        name,
                        raw[name],
                        f"The `{name}` query parameter value [{raw[name]}] is not a valid "
                        "RFC 3339 date-time (YYYY-MM-DDTHH:mm:ssZ)",
                    )
                )
            setattr(params, name, moment)
    for name in ("pagination_token", "next_token"):
        if name in raw:
            if params.token is not None:
                errors.append(
                    _param_error(
                        name, raw[name], "Use either `next_token` or `pagination_token`, not both"
                    )
                )
            params.token, params.token_param = raw[name], name
    if op == "searchPostsRecent":
        for first, second in (("start_time", "since_id"), ("end_time", "until_id")):
            if first in raw and second in raw:
                errors.append(
                    {
                        "parameters": {first: [raw[first]], second: [raw[second]]},
                        "message": f"At most one of `{first}`, `{second}` may be provided",
                    }
                )
    if "sort_order" in raw and raw["sort_order"] not in ("recency", "relevancy"):
        errors.append(
            _param_error(
                "sort_order",
                raw["sort_order"],
                f"The `sort_order` query parameter value [{raw['sort_order']}] is not one "
                "of [recency,relevancy]",
            )
        )
    if "exclude" in raw:
        params.exclude = _parse_list(
            "exclude", raw["exclude"], frozenset({"replies", "retweets"}), errors
        )
    if op == "searchPostsRecent":
        q = raw.get("query", "")
        if not q.strip():
            errors.append(
                {
                    "parameters": {"query": [q]},
                    "message": "The `query` query parameter can not be empty",
                }
            )
        elif len(q) > SEARCH_QUERY_MAX:
            errors.append(
                _param_error(
                    "query",
                    q,
                    f"The `query` query parameter value is {len(q)} characters long; the "
                    f"maximum is {SEARCH_QUERY_MAX}",
                )
            )
        params.query = q
    if op == "getPostsByIds":
        ids = raw.get("ids", "")
        parts = ids.split(",") if ids else []
        if not parts:
            errors.append(
                {
                    "parameters": {"ids": [ids]},
                    "message": "The `ids` query parameter can not be empty",
                }
            )
        elif len(parts) > 100:
            errors.append(
                _param_error(
                    "ids",
                    ids,
                    f"The `ids` query parameter has {len(parts)} values; the maximum is 100",
                )
            )
        for part in parts:
            if not _ID.match(part):
                errors.append(
                    _param_error(
                        "ids",
                        part,
                        f"The `ids` query parameter value [{part}] does not match ^[0-9]{{1,19}}$",
                    )
                )
        params.ids = parts
    if errors:
        raise _invalid(errors)
    return params


def _parse_days(value: str, params: _Params, errors: list[dict[str, Any]]) -> None:
    low, high, _default = _USAGE_DAYS
    if not re.fullmatch(r"-?[0-9]{1,9}", value):
        errors.append(
            _param_error(
                "days", value, f"The `days` query parameter value [{value}] is not a valid integer"
            )
        )
    elif not low <= int(value) <= high:
        errors.append(
            _param_error(
                "days",
                value,
                f"The `days` query parameter value [{value}] is not between {low} and {high}",
            )
        )
    else:
        params.days = int(value)


def _parse_list(
    name: str, value: str, enum: frozenset[str], errors: list[dict[str, Any]]
) -> frozenset[str]:
    items = value.split(",")
    bad = [item for item in items if item not in enum]
    for item in bad:
        errors.append(
            _param_error(
                name,
                item,
                f"The `{name}` query parameter value [{item}] is not one of "
                f"[{','.join(sorted(enum))}]",
            )
        )
    return frozenset(items) - frozenset(bad)
