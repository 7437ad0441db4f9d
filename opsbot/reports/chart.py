"""The salon at a glance, as a PNG readable on a phone: questions and answers per five minutes
across the salon, and each answer's first-response time.

Drawn with matplotlib's object API (its Agg canvas: no display, no global pyplot state) and
its own bundled DejaVu Sans, which has Cyrillic, so the chart looks the same on any machine.
Portrait, large type: a phone shows it full width without zooming.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from opsbot.i18n import N_
from opsbot.reports.summary import Formats
from opsbot.services.report import Figures

BUCKET = timedelta(minutes=5)


def buckets(figures: Figures) -> tuple[list[datetime], list[int], list[int]]:
    """Five-minute slots from the salon's start to its end (or its last answer), with the
    questions asked and the answers posted in each."""
    start = figures.started_at
    if start is None:
        return [], [], []
    moments = [r.posted_at for r in figures.rows if not r.after_salon]
    moments += [r.answered_at for r in figures.rows if r.answered_at and not r.after_salon]
    end = max([figures.ended_at or start, *moments])
    count = int((end - start) / BUCKET) + 1
    slots = [start + n * BUCKET for n in range(count)]
    asked, answered = [0] * count, [0] * count
    for row in figures.rows:
        if row.after_salon:
            continue
        if row.posted_at >= start:
            asked[int((row.posted_at - start) / BUCKET)] += 1
        if row.answered_at is not None and row.answered_at >= start:
            answered[int((row.answered_at - start) / BUCKET)] += 1
    return slots, asked, answered


def salon_chart(figures: Figures, fmt: Formats) -> bytes:
    _ = fmt._
    slots, asked, answered = buckets(figures)
    labels = [fmt.local(s).strftime("%H:%M") for s in slots]  # type: ignore[union-attr]
    figure = Figure(figsize=(7.2, 10.8), dpi=100)
    top, bottom = figure.subplots(2, 1)
    figure.suptitle(
        _.plain(N_("Salon #{number}: {topic}"), number=figures.salon_id, topic=figures.topic),
        fontsize=17,
        wrap=True,
    )
    positions = list(range(len(slots)))
    width = 0.4
    top.bar([p - width / 2 for p in positions], asked, width, label=_.plain(N_("Questions")))
    top.bar([p + width / 2 for p in positions], answered, width, label=_.plain(N_("Answers")))
    top.set_title(_.plain(N_("Questions and answers per five minutes")), fontsize=15)
    step = max(len(positions) // 8, 1)
    top.set_xticks(positions[::step], labels[::step], fontsize=12)
    top.yaxis.set_major_locator(MaxNLocator(integer=True))
    top.tick_params(axis="y", labelsize=12)
    top.legend(fontsize=13)
    times = [
        (fmt.local(r.posted_at), r.first_response / 60)
        for r in figures.rows
        if r.first_response is not None and not r.after_salon
    ]
    bottom.set_title(_.plain(N_("First response, minutes")), fontsize=15)
    if times:
        bottom.scatter([t for t, _m in times], [m for _t, m in times], s=60)
        if figures.first_response.median is not None:
            bottom.axhline(
                figures.first_response.median / 60,
                linestyle="--",
                label=_.plain(N_("median")),
            )
            bottom.legend(fontsize=13)
        bottom.xaxis.set_major_formatter(DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    else:
        bottom.text(0.5, 0.5, _.plain(N_("no answers")), ha="center", fontsize=14)
    bottom.set_xlabel(_.plain(N_("Question asked at")), fontsize=13)
    bottom.tick_params(labelsize=12)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
