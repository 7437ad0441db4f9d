"""The report's figures as labelled lines, in one language, for every document to share.

Each line keeps the raw value (a number, a moment, None) for the spreadsheet and its text in
the locale's format (Babel) for people; None reads "not available", never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

from opsbot.i18n import N_, Translator
from opsbot.services.report import Figures, MuseumFigures, Times

Value = int | float | str | datetime | None


@dataclass(frozen=True)
class Line:
    label: str
    value: Value
    text: str


class Formats:
    """Numbers, moments and durations in one language's way, in the museum's time zone."""

    def __init__(self, _: Translator, zone: ZoneInfo) -> None:
        self._ = _
        self.locale = _.language
        self.zone = zone

    def not_available(self) -> str:
        return self._.plain(N_("not available"))

    def number(self, value: int | float | None) -> str:
        return self.not_available() if value is None else format_decimal(value, locale=self.locale)

    def percent(self, value: float | None) -> str:
        if value is None:
            return self.not_available()
        return format_percent(value, format="#,##0.#%", locale=self.locale)

    def moment(self, value: datetime | None) -> str:
        if value is None:
            return self.not_available()
        return format_datetime(value.astimezone(self.zone), "medium", locale=self.locale)

    def local(self, value: datetime | None) -> datetime | None:
        """A moment as the museum's wall clock, without a zone: what a spreadsheet cell holds."""
        return value.astimezone(self.zone).replace(tzinfo=None) if value else None

    def minutes(self, seconds: float | None) -> str:
        if seconds is None:
            return self.not_available()
        return format_unit(
            round(seconds / 60, 1), "duration-minute", length="short", locale=self.locale
        )

    def usd(self, value: object) -> str:
        if value is None:
            return self.not_available()
        return format_currency(value, "USD", locale=self.locale)  # type: ignore[arg-type]


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 2)


def times_lines(label: str, times: Times, fmt: Formats) -> list[Line]:
    _ = fmt._
    return [
        Line(
            _.plain(N_("{what}: median first response"), what=label),
            _minutes(times.median),
            fmt.minutes(times.median),
        ),
        Line(
            _.plain(N_("{what}: 90th percentile of first response"), what=label),
            _minutes(times.p90),
            fmt.minutes(times.p90),
        ),
    ]


def museum_lines(museum: MuseumFigures, fmt: Formats) -> list[Line]:
    """One co-host's share: a question for both museums counts for each."""
    _ = fmt._
    who = f"@{museum.handle}"

    def line(label: str, value: int | None) -> Line:
        return Line(_.plain(label, who=who), value, fmt.number(value))

    return [
        line(N_("{who}: questions to it (alone or with the other museum)"), museum.questions),
        line(N_("{who}: questions to it alone"), museum.questions_alone),
        line(N_("{who}: questions to both museums"), museum.questions_both),
        line(N_("{who}: answers"), museum.answered),
        *times_lines(who, museum.first_response, fmt),
        line(N_("{who}: followers at the start"), museum.followers_start),
        line(N_("{who}: followers at the end"), museum.followers_end),
        line(N_("{who}: new followers"), museum.followers_delta),
    ]


def lines(figures: Figures, fmt: Formats) -> list[Line]:
    """The summary, top to bottom, as the Ministry reads it."""
    _ = fmt._

    def line(label: str, value: int | float | None) -> Line:
        return Line(_.plain(label), value, fmt.number(value))

    out = [
        Line(_.plain(N_("Salon")), figures.salon_id or None, figures.topic),
        Line(_.plain(N_("Started")), fmt.local(figures.started_at), fmt.moment(figures.started_at)),
        Line(_.plain(N_("Ended")), fmt.local(figures.ended_at), fmt.moment(figures.ended_at)),
        line(N_("Questions"), figures.questions),
        line(N_("Questions the museum may answer on X"), figures.replyable),
        line(N_("Questions answered"), figures.answered),
        Line(
            _.plain(N_("Answered share of the questions the museum may answer")),
            figures.answered_share,
            fmt.percent(figures.answered_share),
        ),
        line(N_("Questions hidden as spam"), figures.hidden),
        line(N_("Questions after the salon"), figures.after_salon),
        line(N_("Questions still open"), len(figures.open_questions)),
        line(N_("Participants"), figures.participants),
        line(N_("People who asked"), figures.askers),
        line(N_("People who replied to the museum's prompts"), figures.prompt_responders),
        *times_lines(_.plain(N_("All curators")), figures.first_response, fmt),
    ]
    for curator in figures.curators:
        out.append(
            Line(
                _.plain(N_("{name}: answers"), name=curator.name),
                curator.answers,
                fmt.number(curator.answers),
            )
        )
        out += times_lines(curator.name, curator.first_response, fmt)
    for museum in figures.museums:
        out += museum_lines(museum, fmt)
    out += [
        line(N_("Followers at the start"), figures.followers_start),
        line(N_("Followers at the end"), figures.followers_end),
        line(N_("New followers"), figures.followers_delta),
        line(N_("The museum's posts"), figures.museum_posts),
        line(N_("Impressions of the museum's posts"), figures.impressions),
        line(N_("Engagements with the museum's posts"), figures.engagements),
        line(N_("Posts made on X"), figures.spend.posts),
        line(N_("Posts read from X"), figures.spend.reads),
        Line(
            _.plain(N_("Estimated cost on X, US dollars")),
            float(figures.spend.estimated_usd) if figures.spend.estimated_usd is not None else None,
            fmt.usd(figures.spend.estimated_usd),
        ),
        Line(
            _.plain(N_("Winners of the draw")),
            ", ".join(f"@{w}" for w in figures.winners) or None,
            ", ".join(f"@{w}" for w in figures.winners) or _.plain(N_("no draw")),
        ),
    ]
    return out
