"""`XEmulator`: the concerns of this package composed into one server, with its state.

Every attribute is set here, in `__init__`; each mixin declares the ones it uses. The routes are
registered here too: the one list of what the emulator serves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from opsbot.emulators.x.control import ControlApi
from opsbot.emulators.x.limits import _Window
from opsbot.emulators.x.oauth import OAuthFlow
from opsbot.emulators.x.search import _Context
from opsbot.emulators.x.server import PostsRead, Server
from opsbot.emulators.x.world import Post


class XEmulator(ControlApi, OAuthFlow, Server):
    """X API v2 on loopback for the museum's account, its visitors and their posts."""

    def __init__(
        self,
        *,
        museum_username: str = "museum",
        museum_name: str = "The Museum",
        bearer_token: str,
        api_key: str,
        api_secret: str,
        access_token: str,
        access_token_secret: str,
        window_seconds: float = 900.0,
        limits: dict[str, int] | None = None,
        clock: Callable[[], float] = time.time,
        cap_reset_day: int = 1,
        search_delay: float = 0.0,
        timeline_delay: float = 0.0,
    ) -> None:
        super().__init__(clock=clock)
        self._bearer_token = bearer_token
        self._api_key = api_key
        self._api_secret = api_secret
        self.window_seconds = window_seconds
        self._limits = self._resolve_limits(limits or {})
        # X indexes a new post before search and the timelines show it: recent search lags by
        # seconds, a user's timeline and mentions less. Lookups by id see it at once.
        self.search_delay = search_delay
        self.timeline_delay = timeline_delay
        self.violations: list[str] = []
        # Every answer that handed out posts, and which (X bills each post read).
        self.reads: list[PostsRead] = []
        # The developer account: an app enrolled for API access, with credits to spend.
        self.enrolled = True
        self.credits = True
        self._users: dict[str, dict[str, Any]] = {}
        self._user_ids: dict[str, str] = {}  # casefolded username -> id
        self._posts: dict[str, Post] = {}
        self._post_ts: dict[str, float] = {}
        self._ids: list[int] = []  # ascending
        self._hidden: set[str] = set()
        self._deleted: set[str] = set()
        self._tco: dict[str, str] = {}
        self._windows: dict[tuple[str, str, str], _Window] = {}
        self._nonces: dict[str, float] = {}
        self._stopping = asyncio.Event()
        self._notifications: set[asyncio.Task[None]] = set()
        # Billing restarts on this day of each month; X's pay-per-use bills calendar months.
        self.cap_reset_day = cap_reset_day
        self._billed: dict[str, set[str]] = {}
        self._museum_id = self._create_user(museum_username, museum_name)["id"]
        self._access_tokens = {access_token: (access_token_secret, self._museum_id)}
        self._request_tokens = {}
        self._ctx = _Context(self._user_id_for, self._users.get, self._visible_post)
        self._add_routes()

    # --- lifecycle ---

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._stopping.clear()
        return await super().start(host, port)

    async def stop(self) -> None:
        # Answers held back by a `delay` fault would otherwise keep the runner's cleanup waiting.
        self._stopping.set()
        await super().stop()
        await asyncio.gather(*self._notifications, return_exceptions=True)

    # --- routes ---

    def _add_routes(self) -> None:
        r = self.app.router
        r.add_get("/2/users/me", self._api("getUsersMe", self._get_me))
        r.add_get("/2/users/{id}", self._api("getUsersById", self._get_user))
        r.add_get(
            "/2/users/by/username/{username}",
            self._api("getUsersByUsername", self._get_user_by_username),
        )
        r.add_get("/2/users/{id}/mentions", self._api("getUsersMentions", self._get_mentions))
        r.add_get("/2/users/{id}/tweets", self._api("getUsersPosts", self._get_user_posts))
        r.add_get("/2/tweets/search/recent", self._api("searchPostsRecent", self._search))
        r.add_get("/2/tweets", self._api("getPostsByIds", self._get_posts))
        r.add_post("/2/tweets", self._api("createPosts", self._create_post))
        r.add_get("/2/tweets/{id}", self._api("getPostsById", self._get_post))
        r.add_delete("/2/tweets/{id}", self._api("deletePosts", self._delete_post))
        r.add_get("/2/usage/tweets", self._api("getUsage", self._get_usage))
        r.add_route("*", "/2/{tail:.*}", self._unknown)
        r.add_post("/oauth/request_token", self._oauth_request_token)
        r.add_get("/oauth/authorize", self._oauth_authorize)
        r.add_post("/oauth/access_token", self._oauth_access_token)
        r.add_post("/control/oauth/authorize", self._control_authorize)
        r.add_post("/control/users", self._control_add_user)
        r.add_get("/control/users", self._control_users)
        r.add_post("/control/posts", self._control_add_post)
        r.add_get("/control/posts", self._control_posts)
        r.add_post("/control/posts/{id}/hide", self._control_hide)
        r.add_delete("/control/posts/{id}", self._control_delete)
        r.add_post("/control/faults", self._control_add_fault)
        r.add_delete("/control/faults", self._control_clear_faults)
        r.add_get("/control/requests", self._control_requests)
        r.add_post("/control/account", self._control_account)
