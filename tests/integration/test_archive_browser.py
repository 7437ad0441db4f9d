"""The archive page in a real browser: headless Chromium at a phone's width, offline.

Needs Debian's `chromium` package (/usr/bin/chromium); skipped with the reason when absent.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from opsbot.emulators.sandbox import Sandbox
from opsbot.telegram.context import OpsbotApplication
from tests.integration.test_reports import ask_for_files, run_salon, salon_row

CHROMIUM = Path("/usr/bin/chromium")
PHONE = (390, 844)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="headless Chromium is not installed (apt-get install chromium; CI installs it)",
)


async def chromium(tmp_path: Path, page: Path, *flags: str) -> tuple[str, list[str]]:
    """Run Chromium on `page` with no name resolving; its stdout, and every URL the page asked
    for besides its own file (the browser's own background requests are not the page's)."""
    net_log = tmp_path / f"net-{page.stem}-{len(flags)}.json"
    process = await asyncio.create_subprocess_exec(
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={net_log}",
        f"--window-size={PHONE[0]},{PHONE[1]}",
        *flags,
        page.as_uri(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0
    log = json.loads(net_log.read_text())
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    starts = [
        event.get("params", {})
        for event in log["events"]
        if names.get(event["type"]) == "URL_REQUEST_START_JOB"
    ]
    requested = [
        start["url"]
        for start in starts
        if "url" in start
        and start.get("initiator") != "not an origin"
        and not start["url"].startswith("file:")
    ]
    return stdout.decode(), requested


def phone_frame(page: Path) -> Path:
    """A page that shows `page` in a frame of a phone's size and, once it is laid out, writes
    the width it takes into its own document. Headless Chromium will not make a window
    narrower than 500 pixels; a frame is as narrow as asked."""
    frame = page.with_name(f"frame-{page.name}")
    measure = (
        "var d=this.contentDocument.documentElement;"
        "document.body.setAttribute('data-width', d.scrollWidth)"
    )
    frame.write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<iframe src="{page.name}" style="width:{PHONE[0]}px;height:{PHONE[1]}px;border:0" '
        f'onload="{measure}"></iframe></body></html>'
    )
    return frame


async def page_width(tmp_path: Path, page: Path) -> int:
    """The width `page` lays out to in a phone's width, as Chromium measures it."""
    # A file may read a file beside it only with this flag: the frame is the test's own.
    dom, _ = await chromium(
        tmp_path, phone_frame(page), "--allow-file-access-from-files", "--dump-dom"
    )
    found = re.search(r'data-width="(\d+)"', dom)
    assert found is not None, "the page was never measured"
    return int(found[1])


def with_wide_box(page: Path) -> Path:
    wide = page.with_name(f"wide-{page.name}")
    box = '<div style="width:900px">x</div></main>'
    wide.write_text(page.read_text().replace("</main>", box))
    return wide


def threaded_answer(sandbox: Sandbox, question: dict[str, Any], author: str) -> list[str]:
    """The museum's answer in a thread under `question` by `author`, its parts as X shows
    them (without the handle X puts before a reply)."""
    replies = [p for p in sandbox.x.museum_posts() if p.get("in_reply_to_tweet_id")]
    [first] = [p for p in replies if p["in_reply_to_tweet_id"] == question["id"]]
    [second] = [p for p in replies if p["in_reply_to_tweet_id"] == first["id"]]
    handle = f"@{author} "
    return [first["text"].removeprefix(handle), second["text"]]


async def test_archive_page_renders_on_a_phone_offline(
    sandbox: Sandbox, bot: OpsbotApplication, tmp_path: Path
) -> None:
    posts: dict[str, Any] = await run_salon(sandbox, bot)
    salon = await salon_row(bot)
    name = f"salon-{salon.id}.html"
    page = tmp_path / name
    page.write_bytes((await ask_for_files(sandbox, "/archive", 1))[name])

    shot = tmp_path / "phone.png"
    _, requested = await chromium(tmp_path, page, f"--screenshot={shot}")
    assert requested == []
    with Image.open(shot) as image:
        # Text drawn, not a blank page: many shades of grey from antialiased glyphs.
        assert len(image.convert("L").getcolors(maxcolors=256) or []) > 10
    # Nothing sticks out sideways at a phone's width.
    assert await page_width(tmp_path, page) <= PHONE[0]
    # The measure can fail: the same page with something too wide for the phone.
    assert await page_width(tmp_path, with_wide_box(page)) > PHONE[0]
    dom, requested = await chromium(tmp_path, page, "--dump-dom")
    assert requested == []
    assert "Новогодние традиции" in dom
    assert posts["guest2"]["text"] in dom
    # The answer in two posts, both parts under the question.
    parts = threaded_answer(sandbox, posts["guest2"], "guest2")
    assert all(part in dom for part in parts)

    sandbox.x.delete_post(posts["guest2"]["id"])
    page.write_bytes((await ask_for_files(sandbox, f"/archive {salon.id}", 1))[name])
    dom, _ = await chromium(tmp_path, page, "--dump-dom")
    assert "Новогодние традиции" in dom
    assert posts["guest2"]["text"] not in dom
    assert not any(part in dom for part in parts)
