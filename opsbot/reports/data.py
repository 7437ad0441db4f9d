"""Every figure as JSON, language-neutral, for anyone's own tools.

Times are ISO 8601 in UTC, durations in seconds, money in US dollars as a string (exact);
a figure that could not be measured is null, never 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from opsbot.services.report import Figures, MuseumFigures, Row, Times

SCHEMA = "opsbot-salon-report/1"


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _times(times: Times) -> dict[str, Any]:
    return {"answered": times.count, "median_seconds": times.median, "p90_seconds": times.p90}


def _row(row: Row) -> dict[str, Any]:
    out = asdict(row)
    out["posted_at"] = _moment(row.posted_at)
    out["answered_at"] = _moment(row.answered_at)
    out["first_response_seconds"] = out.pop("first_response")
    return out


def _museum(museum: MuseumFigures) -> dict[str, Any]:
    return {
        "account": museum.handle,
        # `all` = `alone` + `both`: a question for both museums counts for each of them.
        "questions": {
            "all": museum.questions,
            "alone": museum.questions_alone,
            "both": museum.questions_both,
        },
        "answered": museum.answered,
        "first_response": _times(museum.first_response),
        "followers": {
            "start": museum.followers_start,
            "end": museum.followers_end,
            "difference": museum.followers_delta,
        },
    }


def figures_dict(figures: Figures) -> dict[str, Any]:
    out = _figures_dict(figures)
    if figures.museums:
        out["museums"] = [_museum(m) for m in figures.museums]
    return out


def _figures_dict(figures: Figures) -> dict[str, Any]:
    return {
        "salon": figures.salon_id or None,
        "topic": figures.topic,
        "started_at": _moment(figures.started_at),
        "ended_at": _moment(figures.ended_at),
        "questions": {
            "all": figures.questions,
            "replyable": figures.replyable,
            "answered": figures.answered,
            "answered_replyable": figures.answered_replyable,
            "answered_share_of_replyable": figures.answered_share,
            "hidden": figures.hidden,
            "after_salon": figures.after_salon,
            "open": len(figures.open_questions),
        },
        "participants": {
            "all": figures.participants,
            "askers": figures.askers,
            "replied_to_prompts": figures.prompt_responders,
        },
        "first_response": _times(figures.first_response),
        "curators": [
            {"name": c.name, "answers": c.answers, "first_response": _times(c.first_response)}
            for c in figures.curators
        ],
        "open_questions": [
            {"author": r.author, "text": r.text, "url": r.url, "posted_at": _moment(r.posted_at)}
            for r in figures.open_questions
        ],
        "followers": {
            "start": figures.followers_start,
            "end": figures.followers_end,
            "difference": figures.followers_delta,
        },
        "museum_posts": {
            "count": figures.museum_posts,
            "impressions": figures.impressions,
            "engagements": figures.engagements,
        },
        "x_spend": {
            "posts": figures.spend.posts,
            "reads": figures.spend.reads,
            "estimated_usd": str(figures.spend.estimated_usd)
            if figures.spend.estimated_usd is not None
            else None,
        },
        "winners": figures.winners,
        "rows": [_row(r) for r in figures.rows],
    }


def salon_json(figures: Figures) -> bytes:
    return _dump({"schema": SCHEMA, **figures_dict(figures)})


def period_json(period: str, total: Figures, salons: list[Figures]) -> bytes:
    return _dump(
        {
            "schema": SCHEMA,
            "period": period,
            # Each question once, under its salon.
            "total": {k: v for k, v in figures_dict(total).items() if k != "rows"},
            "salons": [figures_dict(f) for f in salons],
        }
    )


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()
