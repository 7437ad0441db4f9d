"""The public archive of the salons (the Storify successor): a static site, one page a salon.

Each page: topic, date, hosts (the curators on duty and whoever answered), the museum's
prompts, each question with the museum's answer (all its parts) threaded under it, handles,
times and links to X, and the draw with its commitment and how to check it. Self-contained:
inline CSS, no scripts, no external fonts, no embedded X widgets;
`lang` attributes and one heading level per section for screen readers.

What stays out: questions hidden as spam, and every post X no longer shows (deleted, or its
author protected the account), found in one batched lookup at build time; a question taken
back takes its answer with it, since the answer speaks to someone who withdrew.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from opsbot.db.models import (
    Answer,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Draw,
    Duty,
    Question,
    QuestionStatus,
    Salon,
    SalonStatus,
    StaffMember,
)
from opsbot.i18n import N_, SUPPORTED_LANGUAGES, translator
from opsbot.services import draws, salons
from opsbot.services.posts import post_url
from opsbot.services.report import posted_answers, winners
from opsbot.services.x_facts import PostLookup

Lookup = Callable[[list[str]], Awaitable[PostLookup]]
BOTH = "both"
LANGUAGES = (*SUPPORTED_LANGUAGES, BOTH)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:42rem;padding:1rem;line-height:1.5;color:#1b1b1b;background:#fff;font-size:1.05rem}
h1{font-size:1.5rem;line-height:1.25}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:2px solid #e2e2e2}h3{font-size:1rem;margin:0 0 .25rem}
article{border-left:3px solid #c9c9c9;padding:.2rem 0 .2rem .8rem;margin:1rem 0}
.answer{border-left:3px solid #0b57d0;margin:.6rem 0 0 .6rem;padding-left:.8rem}
.meta{color:#555;font-size:.9rem}a{color:#0b57d0;overflow-wrap:anywhere}
p{overflow-wrap:anywhere}code,pre{font-size:.85rem;overflow-wrap:anywhere;white-space:pre-wrap}
ol.salons{padding-left:1.2rem}ol.salons li{margin:.5rem 0}
"""


HOW_TO_CHECK = N_(
    "How to check it: the SHA-256 of the secret must equal the commitment; save the data below "
    "as a file and run “opsbot verify-draw FILE”, which redoes the draw from the entrants and "
    "the secret."
)


# Labels, marked here for the catalogs (an f-string hides a call from the extractor).
T_ALL_SALONS = N_("All salons")
T_SALON_NUMBER = N_("Salon #{number}")
T_HOSTS = N_("Hosts")
T_THE_MUSEUM_ASKED = N_("The museum asked")
T_ON_X = N_("On X")
T_QUESTIONS_AND_ANSWERS = N_("Questions and answers")
T_NO_QUESTIONS = N_("No questions were kept in the archive.")
T_THE_MUSEUM_ANSWERED = N_("The museum answered")
T_THE_DRAW = N_("The draw")
T_COMMITMENT = N_("Commitment published when the salon opened (SHA-256 of the secret):")
T_NO_DRAW_WAS_MADE = N_("No draw was made.")
T_WINNERS = N_("Winners")
T_SECRET_REVEALED_AFTER_THE_DRAW = N_("Secret, revealed after the draw:")
T_HASH_OF_THE_ENTRANT_LIST = N_("Hash of the entrant list:")
T_THE_DRAW_DATA = N_("The draw data")
T_SALONS_THE_ARCHIVE = N_("Salons: the archive")


@dataclass(frozen=True)
class ArchiveSettings:
    handle: str
    default_language: str
    zone: ZoneInfo


@dataclass
class Thread:
    question: Question
    answers: list[Answer] = field(default_factory=list)


@dataclass
class SalonArchive:
    salon: Salon
    threads: list[Thread]
    prompts: list[Delivery]
    hosts: list[str]
    draw: Draw | None
    hidden: int

    def post_ids(self) -> list[str]:
        ids = [t.question.x_post_id for t in self.threads]
        ids += [a.x_post_id for t in self.threads for a in t.answers if a.x_post_id]
        ids += [p.external_id for p in self.prompts if p.external_id]
        return ids


@dataclass(frozen=True)
class Built:
    salon_id: int
    filename: str
    content: bytes
    hidden: int
    withdrawn: int
    checked: bool


async def _load(session: AsyncSession, salon: Salon) -> SalonArchive:
    questions = list(
        await session.scalars(
            select(Question).where(Question.salon_id == salon.id).order_by(Question.posted_at)
        )
    )
    shown = [q for q in questions if q.status != QuestionStatus.HIDDEN]
    answers = await posted_answers(session, [q.id for q in shown])
    # The hosts: the curators on the salon's duty roster, and anyone else who answered.
    answerers = {a.curator_id for group in answers.values() for a in group}
    on_duty = select(Duty.telegram_id).where(Duty.salon_id == salon.id)
    hosts = sorted(
        m.first_name or m.username or ""
        for m in await session.scalars(
            select(StaffMember).where(
                StaffMember.telegram_id.in_(answerers) | StaffMember.telegram_id.in_(on_duty)
            )
        )
    )
    prompts = list(
        await session.scalars(
            select(Delivery)
            .where(
                Delivery.salon_id == salon.id,
                Delivery.kind == DeliveryKind.PROMPT,
                Delivery.state == DeliveryState.SENT,
            )
            .order_by(Delivery.number)
        )
    )
    draw = await session.scalar(select(Draw).where(Draw.salon_id == salon.id))
    return SalonArchive(
        salon,
        [Thread(q, answers.get(q.id, [])) for q in shown],
        prompts,
        [h for h in hosts if h],
        draw,
        hidden=len(questions) - len(shown),
    )


def _withdraw(archive: SalonArchive, lookup: PostLookup) -> int:
    """Leave out what X no longer shows; the number of the visitors' posts left out."""
    kept = [t for t in archive.threads if lookup.visible(t.question.x_post_id)]
    withdrawn = len(archive.threads) - len(kept)
    for thread in kept:
        thread.answers = [a for a in thread.answers if lookup.visible(a.x_post_id or "")]
    archive.threads = kept
    archive.prompts = [p for p in archive.prompts if lookup.visible(p.external_id or "")]
    return withdrawn


class Labels:
    """Labels in the salon's language, or in both (Russian first, English beside it)."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "ru"
        self.main = "ru" if self.language == BOTH else self.language

    def __call__(self, message: str, **values: object) -> str:
        if self.language != BOTH:
            return escape(translator(self.main).plain(message, **values))
        ru = escape(translator("ru").plain(message, **values))
        en = escape(translator("en").plain(message, **values))
        return f'{ru} / <span lang="en">{en}</span>'

    def ngettext(self, singular: str, plural: str, n: int, **values: object) -> str:
        def one(language: str) -> str:
            # Html already: the catalog's text, with the values escaped.
            return str(translator(language).ngettext(singular, plural, n, **values))

        if self.language != BOTH:
            return one(self.main)
        return f'{one("ru")} / <span lang="en">{one("en")}</span>'


def _language(salon: Salon, settings: ArchiveSettings) -> str:
    return salon.archive_language or settings.default_language


def _when(moment: datetime | None, labels: Labels, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(zone)
    return escape(
        f"{format_date(local, 'long', locale=labels.main)}, "
        f"{format_time(local, 'short', locale=labels.main)}"
    )


def _time(moment: datetime | None, labels: Labels, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    return escape(format_time(moment.astimezone(zone), "short", locale=labels.main))


def _head(title: str, language: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
    )


def _text(value: str) -> str:
    return "<br>".join(escape(line) for line in value.splitlines())


def salon_html(archive: SalonArchive, settings: ArchiveSettings, *, index: bool = True) -> bytes:
    salon = archive.salon
    labels = Labels(_language(salon, settings))
    zone = settings.zone
    title = escape(salon.topic)
    parts = [_head(f"#{salon.id} {title}", labels.main), "<header>"]
    if index:
        parts.append(f'<p><a href="index.html">{labels(T_ALL_SALONS)}</a></p>')
    parts.append(f"<h1>{title}</h1>")
    parts.append(
        f'<p class="meta">{labels(T_SALON_NUMBER, number=salon.id)} · '
        f"{_when(salon.started_at, labels, zone)}</p>"
    )
    hosts = ", ".join(escape(h) for h in archive.hosts)
    museum = escape(settings.handle)
    parts.append(
        f'<p class="meta">{labels(T_HOSTS)}: '
        f'<a href="https://x.com/{museum}">@{museum}</a>{", " + hosts if hosts else ""}</p>'
    )
    parts.append("</header><main>")
    if archive.prompts:
        parts.append(f"<section><h2>{labels(T_THE_MUSEUM_ASKED)}</h2><ol>")
        for prompt in archive.prompts:
            link = post_url(settings.handle, prompt.external_id or "")
            parts.append(
                f"<li><p>{_text(prompt.payload)}</p>"
                f'<p class="meta"><a href="{escape(link)}">{labels(T_ON_X)}</a></p></li>'
            )
        parts.append("</ol></section>")
    parts.append(f"<section><h2>{labels(T_QUESTIONS_AND_ANSWERS)}</h2>")
    if not archive.threads:
        parts.append(f"<p>{labels(T_NO_QUESTIONS)}</p>")
    for thread in archive.threads:
        q = thread.question
        handle = escape(q.author_handle)
        parts.append(
            f'<article><h3>@{handle}</h3><p lang="{escape(_post_language(q.text))}">'
            f"{_text(q.text)}</p>"
            f'<p class="meta">{_time(q.posted_at, labels, zone)} · '
            f'<a href="{escape(post_url(q.author_handle, q.x_post_id))}">'
            f"{labels(T_ON_X)}</a></p>"
        )
        if thread.answers:
            # One answer, however many posts X needed for it: each part in order.
            first = thread.answers[0]
            link = post_url(settings.handle, first.x_post_id or "")
            texts = "".join(f"<p>{_text(part.text)}</p>" for part in thread.answers)
            parts.append(
                f'<div class="answer"><h4>{labels(T_THE_MUSEUM_ANSWERED)}</h4>{texts}'
                f'<p class="meta">{_time(first.x_created_at or first.posted_at, labels, zone)}'
                f' · <a href="{escape(link)}">{labels(T_ON_X)}</a></p></div>'
            )
        parts.append("</article>")
    parts.append("</section>")
    parts.append(_draw_section(archive, labels))
    parts.append("</main></body></html>")
    return "".join(parts).encode()


def _post_language(text: str) -> str:
    # Most posts are Russian or English; the page's screen reader needs a hint, not certainty.
    return "ru" if any("а" <= ch.lower() <= "я" or ch in "ёЁ" for ch in text) else "en"


def _draw_section(archive: SalonArchive, labels: Labels) -> str:
    salon, draw = archive.salon, archive.draw
    parts = [f"<section><h2>{labels(T_THE_DRAW)}</h2>"]
    parts.append(f"<p>{labels(T_COMMITMENT)}<br><code>{escape(salon.commitment)}</code></p>")
    if draw is None:
        parts.append(f"<p>{labels(T_NO_DRAW_WAS_MADE)}</p></section>")
        return "".join(parts)
    names = ", ".join(f"@{escape(w)}" for w in winners(draw))
    parts.append(f"<p>{labels(T_WINNERS)}: {names}</p>")
    parts.append(
        f"<p>{labels(T_SECRET_REVEALED_AFTER_THE_DRAW)}<br>"
        f"<code>{escape(salon.secret)}</code></p>"
        f"<p>{labels(T_HASH_OF_THE_ENTRANT_LIST)}<br>"
        f"<code>{escape(draw.entrant_hash)}</code></p>"
    )
    parts.append(f"<p>{labels(HOW_TO_CHECK)}</p>")
    parts.append(f"<details><summary>{labels(T_THE_DRAW_DATA)}</summary>")
    parts.append(f"<pre>{escape(draws.export(salon, draw))}</pre></details></section>")
    return "".join(parts)


def index_html(archives: list[SalonArchive], settings: ArchiveSettings) -> bytes:
    labels = Labels(settings.default_language)
    parts = [
        _head(labels(N_("Salons: the archive")), labels.main),
        f"<header><h1>{labels(T_SALONS_THE_ARCHIVE)}</h1></header><main>",
        '<ol class="salons" reversed>',
    ]
    for archive in archives:
        salon = archive.salon
        parts.append(
            f'<li><a href="{page_name(salon.id)}">{escape(salon.topic)}</a>'
            f'<br><span class="meta">{_when(salon.started_at, labels, settings.zone)} · '
            + labels.ngettext(
                "{count} question",
                "{count} questions",
                len(archive.threads),
                count=len(archive.threads),
            )
            + "</span></li>"
        )
    parts.append("</ol></main></body></html>")
    return "".join(parts).encode()


def page_name(salon_id: int) -> str:
    return f"salon-{salon_id}.html"


async def salon_page(
    sessionmaker: async_sessionmaker[AsyncSession],
    salon_id: int | None,
    *,
    settings: ArchiveSettings,
    lookup: Lookup,
) -> Built | None:
    """One salon's page (the latest when `salon_id` is None), checked against X."""
    async with sessionmaker.begin() as session:
        salon = (
            await salons.get(session, salon_id)
            if salon_id is not None
            else await salons.latest(session)
        )
        if salon is None or salon.started_at is None:
            return None
        archive = await _load(session, salon)
    found = await lookup(archive.post_ids())
    withdrawn = _withdraw(archive, found)
    return Built(
        salon.id,
        page_name(salon.id),
        salon_html(archive, settings, index=False),
        archive.hidden,
        withdrawn,
        found.answered,
    )


@dataclass(frozen=True)
class Site:
    """The files of the site by name, and what was left out of it."""

    files: dict[str, bytes]
    hidden: int
    withdrawn: int
    checked: bool

    def write(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            (out / name).write_bytes(content)


async def build_site(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    settings: ArchiveSettings,
    lookup: Lookup,
) -> Site:
    """index.html and one page per ended salon (newest first), X asked once for them all."""
    async with sessionmaker.begin() as session:
        ended = list(
            await session.scalars(
                select(Salon)
                .where(Salon.status == SalonStatus.ENDED)
                .order_by(Salon.started_at.desc())
            )
        )
        archives = [await _load(session, salon) for salon in ended]
    found = await lookup([i for a in archives for i in a.post_ids()])
    withdrawn = sum(_withdraw(a, found) for a in archives)
    files = {page_name(a.salon.id): salon_html(a, settings) for a in archives}
    files["index.html"] = index_html(archives, settings)
    return Site(files, sum(a.hidden for a in archives), withdrawn, found.answered)
