"""X's errors as problem bodies (`application/problem+json`), with X's own texts.

Whole-request failures (401, 429, 5xx, duplicate and reply-restriction 403s) are `about:blank`
problems; parameter mistakes are one `invalid-request` problem that lists every one of them; a
missing resource is a `resource-not-found` entry in the `errors` of a 200 answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

PROBLEMS = "https://api.x.com/2/problems/"
PROBLEM_JSON = "application/problem+json"

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
REPLY_RESTRICTED_DETAIL = (
    "Reply to this conversation is not allowed because you have not been mentioned or "
    "otherwise engaged by the author of the post you are replying to."
)
REPLY_MISSING_DETAIL = "You attempted to reply to a Tweet that is deleted or not visible to you."
QUOTE_MISSING_DETAIL = "You attempted to quote a Tweet that is deleted or not visible to you."
NOT_ENROLLED_DETAIL = (
    "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens "
    "from a Twitter developer App that is attached to a Project. You can create a project via "
    "the developer portal."
)
CREDITS_DETAIL = "credits depleted"
# The developer app's id, as X names it in a client-not-enrolled problem.
APP_CLIENT_ID = "28000001"
UNSUPPORTED_AUTH_DETAIL = (
    "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
    "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."
)

APP_ONLY_AUTH_DETAIL = (
    "Authenticating with OAuth 1.0a User Context is forbidden for this endpoint.  "
    "Supported authentication types are [OAuth 2.0 Application-Only]."
)


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        body: dict[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str = PROBLEM_JSON,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.content_type = content_type


def _about_blank(
    status: int, detail: str | None = None, title: str | None = None
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    return {
        "title": title or phrase,
        "detail": detail or phrase,
        "type": "about:blank",
        "status": status,
    }


def _not_enrolled(client_id: str) -> _ApiError:
    return _ApiError(
        403,
        {
            "client_id": client_id,
            "detail": NOT_ENROLLED_DETAIL,
            "registration_url": "https://developer.x.com/en/docs/projects/overview",
            "title": "Client Forbidden",
            "required_enrollment": "Appropriate Level of API Access",
            "reason": "client-not-enrolled",
            "type": PROBLEMS + "client-forbidden",
        },
    )


def _credits_depleted(detail: str | None = None) -> _ApiError:
    return _ApiError(
        402,
        {
            "title": "Payment Required",
            "detail": detail or CREDITS_DETAIL,
            "type": PROBLEMS + "credits-depleted",
            "status": 402,
        },
    )


def _invalid(errors: list[dict[str, Any]], detail: str | None = None) -> _ApiError:
    return _ApiError(
        400,
        {
            "errors": errors,
            "title": "Invalid Request",
            "detail": detail or "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
    )


def _param_error(name: str, value: str, message: str) -> dict[str, Any]:
    return {"parameters": {name: [value]}, "message": message}


def _not_authorized(resource: str, parameter: str, value: str) -> dict[str, Any]:
    """A post of a protected account, to someone who does not follow it."""
    return {
        "value": value,
        "detail": f"Sorry, you are not authorized to see the {resource.title()} with {parameter}: "
        f"[{value}].",
        "title": "Authorization Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "not-authorized-for-resource",
    }


def _not_found(resource: str, parameter: str, value: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find {resource} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + "resource-not-found",
    }
