"""A local X API v2 that the real tweepy AsyncClient talks to over HTTP, limits and errors included.

It stands in for X in the bot's tests, the demo and the sandbox, so it is deliberately as strict
as X: OAuth 1.0a signatures are verified against the URL tweepy signed
(`https://api.twitter.com/...`), rate-limit windows are per endpoint and per identity, a client
that keeps calling after a 429 is recorded in `violations`, post length is X's weighted
length, and the February 2026 reply restriction is enforced. Answers follow the shapes of the
X API v2 OpenAPI description (`x-api-v2-openapi.json`), with the field names X actually sends
to tweepy (`tweet.fields`, `referenced_tweets`, `includes.tweets`, `edit_history_tweet_ids`).

Like X, the emulator rewrites what it stores: URLs become 23-character `https://t.co/...` links
(the entity keeps `expanded_url`), a reply to someone else's post gets the leading `@author `
that X auto-populates (`display_text_range` starts after it), and a retweet's text is `RT
@author: original text`. Compare the text you sent with `display_text_range` in mind. A hidden
post (`hide_post`) leaves search and the mentions timeline but stays readable by id and on its
author's timeline; a deleted one is gone everywhere. The posts of an account made protected
(`set_protected`) leave search and the mentions timeline, and answer a lookup by id with X's
`not-authorized-for-resource` error (the museum follows nobody); a deleted post's lookup
answers `resource-not-found`. Posts carry X's `public_metrics` (replies, quotes and reposts
counted as they happen; views, likes and bookmarks set with `set_post_metrics`), users theirs
(`set_followers`). Problem `type`s use the spec's `https://api.x.com/2/problems/...`;
whole-request failures (401, 429, 5xx, duplicate and reply-restriction 403s) are X's
`about:blank` problems. The developer account can be put in the states X refuses every call in:
an app not enrolled for API access (403 with reason `client-not-enrolled`) and spent
pay-per-use credits (402 `credits-depleted`), until the account is fixed again (`set_account`,
or `/control/account`).

Recent search understands keywords, "exact phrases", #hashtags (case-insensitive), @mentions,
$cashtags, from:, to:, retweets_of:, conversation_id:, in_reply_to_tweet_id:,
quotes_of_tweet_id:, retweets_of_tweet_id:, url:, is:retweet|reply|quote|verified,
has:links|mentions|hashtags|cashtags|media, lang:, OR, parentheses and `-` negation, over
the last 7 days; anything else is X's 400, and so is a `since_id` or `start_time` older than
those 7 days, or both of them at once. The mentions timeline takes any `since_id` or
`start_time` (its limit is the newest 800 mentions).

Served X operations (operationId, path, auth, default limit per 15 min app / user):

    getUsersMe        GET    /2/users/me           user only    - / 75
    getUsersById      GET    /2/users/:id          app or user  300 / 900
    getUsersByUsername GET   /2/users/by/username/:username app or user 300 / 900
    getUsersMentions  GET    /2/users/:id/mentions app or user  450 / 300
    getUsersPosts     GET    /2/users/:id/tweets   app or user  10000 / 900
    searchPostsRecent GET    /2/tweets/search/recent app or user 450 / 300
    getPostsById      GET    /2/tweets/:id         app or user  450 / 900
    getPostsByIds     GET    /2/tweets?ids=        app or user  3500 / 5000
    createPosts       POST   /2/tweets             user only    - / 100
    deletePosts       DELETE /2/tweets/:id         user only    - / 50
    getUsage          GET    /2/usage/tweets       app only     50 / -

OAuth 1.0a PIN flow (`oauth.py`), as X serves it, form-encoded answers, 401 on anything wrong:

    POST /oauth/request_token   signed with the app's keys, oauth_callback=oob
                                -> oauth_token, oauth_token_secret, oauth_callback_confirmed
    GET  /oauth/authorize?oauth_token=   the page a person allows the app on (HTML)
    POST /oauth/access_token    signed with the request token, oauth_verifier=PIN
                                -> oauth_token, oauth_token_secret, user_id, screen_name
    The access token then signs calls as that account: its posts, its reply restriction.

Reads are billed as X bills them: each post in an answer's `data` once per UTC day, an empty
answer nothing; `getUsage` reports it (`days` 1-90, `usage.fields`), and `billed_reads()`
tells it in-process.

Every answer that hands out posts (mentions, a user's posts, search, lookups by id) is also
written down in `XEmulator.reads` as a `PostsRead`: when, which operation, which post ids
(those in `includes.tweets` apart), before the once-a-day rule; so a run can count how often
the bot read each post, which the bill no longer shows.

Control API (JSON, no auth, no rate limits; for `opsbot sandbox` and the demo). Errors answer
`{"error": "<why>"}` with status 400 or 404.

    POST   /control/users     {"username": str, "name"?: str, "followers_count"?: int}
                              -> 201 {"data": {"id", "name", "username"}}
    GET    /control/users     -> 200 {"data": [user, ...]}
    POST   /control/posts     {"username": str, "text": str, "quote_of"?: id, "reply_to"?: id,
                               "retweet_of"?: id, "created_at"?: ISO 8601}
                              a visitor's post (the user is created if new)
                              -> 201 {"data": stored post, every field}
    GET    /control/posts?author=<username>
                              -> 200 {"data": [post, ...]} oldest first, deleted ones left out;
                              without `author`, every post. Posts carry an extra
                              `in_reply_to_tweet_id` (null when not a reply) for convenience.
    POST   /control/posts/<id>/hide   -> 200 {"data": {"id", "hidden": true}}
    DELETE /control/posts/<id>        -> 200 {"data": {"id", "deleted": true}}
    POST   /control/faults    {"endpoint"?: operationId or null for all, "status"?: int (503),
                               "count"?: int (1), "delay"?: seconds (0), "accept"?: bool (false),
                               "description"?: str}
                              -> 201 {"data": the fault}; `accept` carries the call out first and
                              then fails it (X took the post, the answer was lost); a 402 fault
                              answers X's credits problem
    POST   /control/account   {"enrolled"?: bool, "credits"?: bool}
                              -> 200 {"data": {"enrolled", "credits"}}; while not enrolled
                              every call is 403 client-not-enrolled, without credits 402
    POST   /control/oauth/authorize {"oauth_token": str, "username": str}
                              the person signs in as `username` and allows the app
                              -> 200 {"data": {"oauth_verifier": PIN}}; 404 for an unknown
                              or expired request token or user
    DELETE /control/faults    -> 200 {"data": {"cleared": n}}
    GET    /control/requests  -> 200 {"data": [{"at", "endpoint", "params", "status"}, ...],
                                      "violations": [str, ...]}

The package, one concern a module, composed into ``XEmulator`` in ``emulator.py``: ``world.py``
the accounts and posts, stored as X stores them; ``text.py`` twitter-text's entities, t.co
links and the language guess; ``dates.py`` snowflake ids and timestamps; ``search.py`` the
recent-search query language; ``params.py`` request parameters as X validates them;
``problems.py`` X's problem bodies; ``render.py`` posts and users with the fields asked for,
expansions and pages; ``auth.py`` the bearer token and OAuth 1.0a; ``limits.py`` the rate-limit
windows; ``usage.py`` what X bills and its usage report; ``operations.py`` the X
operations; ``server.py`` the API over HTTP, account states and faults; ``control.py`` the
control API above.
"""

from __future__ import annotations

from opsbot.emulators.x.emulator import XEmulator
from opsbot.emulators.x.limits import USER_ONLY
from opsbot.emulators.x.problems import (
    DUPLICATE_DETAIL,
    REPLY_MISSING_DETAIL,
    REPLY_RESTRICTED_DETAIL,
)
from opsbot.emulators.x.server import PostsRead
from opsbot.emulators.x.text import extract_entities

__all__ = [
    "DUPLICATE_DETAIL",
    "REPLY_MISSING_DETAIL",
    "REPLY_RESTRICTED_DETAIL",
    "USER_ONLY",
    "PostsRead",
    "XEmulator",
    "extract_entities",
]
