"""What the staff see of the month's X spending: /budget, the summary line, the warnings."""

from __future__ import annotations

from opsbot.db.models import UsageKind
from opsbot.i18n import Html, Translator
from opsbot.services.budget import Spend, idle_slowdown


def money(usd: float) -> str:
    """Dollars with cents; a tenth of a cent shows while the amounts are small."""
    return f"{usd:.2f}" if usd >= 10 else f"{usd:.3f}"


def _percent(spend: Spend) -> str:
    return f"{round((spend.fraction or 0.0) * 100)} %"


def spend_line(spend: Spend, _: Translator) -> Html:
    """One line for the salon summary."""
    if spend.budget is None:
        return _("X this month: about ${spent} spent (no budget set).", spent=money(spend.usd))
    return _(
        "X this month: about ${spent} of ${budget} spent ({percent}).",
        spent=money(spend.usd),
        budget=money(spend.budget),
        percent=_percent(spend),
    )


def render_budget(spend: Spend, month: str, _: Translator) -> str:
    counts = spend.counts
    lines: list[str] = [
        _("💰 X spending in {month} (UTC)", month=month),
        _(
            "Posts read: {owned} from the museum's mentions and posts, {search} by search, "
            "{users} account reads.",
            owned=counts.get(UsageKind.OWNED_READ, 0),
            search=counts.get(UsageKind.POST_READ, 0),
            users=counts.get(UsageKind.USER_READ, 0),
        ),
        _(
            "Posts made: {replies} replies, {posts} other posts, {links} with a link.",
            replies=counts.get(UsageKind.REPLY, 0),
            posts=counts.get(UsageKind.POST, 0),
            links=counts.get(UsageKind.LINK_POST, 0),
        ),
    ]
    if spend.reported_reads is not None:
        lines.append(_("X reports {count} posts read this month.", count=spend.reported_reads))
    if spend.unaccounted_reads:
        lines.append(
            _(
                "{count} of them were read outside this bot; they are priced as search reads.",
                count=spend.unaccounted_reads,
            )
        )
    lines.append(_("Estimated spend: ${spent}.", spent=money(spend.usd)))
    if spend.budget is None:
        lines.append(
            _(
                "No monthly budget is set (OPSBOT_X_MONTHLY_BUDGET); the spend is counted "
                "all the same."
            )
        )
        return "\n".join(lines)
    assert spend.remaining is not None
    lines.append(
        _(
            "Budget: ${budget}, {percent} spent, ${remaining} left.",
            budget=money(spend.budget),
            percent=_percent(spend),
            remaining=money(spend.remaining),
        )
    )
    if spend.exhausted:
        lines.append(
            _(
                "The budget is spent: X is read rarely between salons. A live salon is read "
                "as usual and answers are still posted."
            )
        )
    elif (slowdown := idle_slowdown(spend.fraction)) > 1.0:
        factor = format(slowdown, ".1f")
        lines.append(
            _(
                "Between salons X is read {factor} times less often to save the budget.",
                factor=factor,
            )
        )
    return "\n".join(lines)


def render_warning(spend: Spend, _: Translator) -> str:
    """The once-a-month notice to the moderators when 80 % (or all) of the budget is spent."""
    assert spend.budget is not None
    if spend.exhausted:
        return _(
            "⚠️ Moderators: the X budget of ${budget} for this month is spent (about ${spent}). "
            "Between salons X is now read rarely; live salons are read as usual and answers "
            "are still posted. Raise OPSBOT_X_MONTHLY_BUDGET or top up X credits if needed. "
            "/budget shows the details.",
            budget=money(spend.budget),
            spent=money(spend.usd),
        )
    return _(
        "⚠️ Moderators: {percent} of this month's X budget is spent (about ${spent} of "
        "${budget}). Between salons X will be read less often. /budget shows the details.",
        percent=_percent(spend),
        spent=money(spend.usd),
        budget=money(spend.budget),
    )
