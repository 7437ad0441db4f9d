"""Links as tdlib checks them (LinkManager::check_link), and the hosts auto-detection accepts.

An explicit link may use any top-level domain; a link found in plain text needs a protocol or
one of the common top-level domains, as in Telegram's apps.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_COMMON_TLDS = frozenset(
    (
        "ai", "app", "art", "biz", "by", "ca", "cc", "ch", "club", "cn", "co", "com", "de",
        "dev", "edu", "eu", "fm", "fr", "gov", "info", "io", "it", "jp", "kz", "me", "museum",
        "net", "news", "online", "org", "pro", "ru", "shop", "site", "space", "store", "su",
        "tech", "to", "tv", "ua", "uk", "us", "xyz", "рф",
    )
)  # fmt: skip


def _valid_host(host: str, *, has_protocol: bool) -> bool:
    if not host or len(host) > 253:
        return False
    parts = host.split(".")
    if len(parts) == 4 and all(p.isdigit() and p and int(p) < 256 for p in parts):
        return True
    if len(parts) < 2 or any(not p for p in parts):
        return False
    tld = parts[-1].lower()
    if tld.startswith("xn--"):
        return len(tld) > 5 and tld[4:].isalnum() and tld.isascii()
    if len(tld) < 2 or not all(ch.isalpha() for ch in tld):
        return False
    if not has_protocol and tld not in _COMMON_TLDS:
        return False
    return all(re.fullmatch(r"[\w-]+", p) for p in parts) and "_" not in "".join(parts[-2:])


def check_link(url: str) -> tuple[str | None, str]:
    """Normalise a link as tdlib's LinkManager::check_link does.

    Returns ``(url, "")`` or ``(None, reason)`` with tdlib's reason ("Wrong HTTP URL",
    "Unsupported URL protocol", "URL host is empty").
    """
    url = url.strip()
    if not url:
        return None, "URL host is empty"
    lowered = url.lower()
    if lowered.startswith(("tg:", "ton:")):
        rest = url.split(":", 1)[1].lstrip("/")
        if not rest or not re.match(r"[A-Za-z0-9_-]", rest):
            return None, "Wrong URL"
        return url, ""
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
    if scheme_match is not None:
        scheme = scheme_match.group(1).lower()
        if scheme not in ("http", "https"):
            return None, "Unsupported URL protocol"
    else:
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", url):
            return None, "Unsupported URL protocol"
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # a port out of range makes the URL invalid
    except ValueError:
        return None, "Wrong HTTP URL"
    # Unlike text auto-detection, an explicit link may use any top-level domain.
    if not _valid_host(host, has_protocol=True):
        return None, "Wrong HTTP URL"
    # tdlib rebuilds the URL, so a bare host gains the root path: "https://x.org/".
    if parts.path == "" and not parts.query and not parts.fragment:
        url += "/"
    return url, ""


def _link_user_id(url: str) -> int | None:
    match = re.fullmatch(r"tg://user\?id=(\d{1,19})", url.strip(), flags=re.IGNORECASE)
    return int(match.group(1)) if match else None
