"""Alerts: however many see a condition at once, exactly one raises it and one clears it."""

from __future__ import annotations

from opsbot.services import alerts
from tests.unit.services.conftest import Sessions, at_once, in_turn


async def test_a_condition_is_raised_once_and_cleared_once(sessions: Sessions) -> None:
    assert not await in_turn(sessions, lambda s: alerts.clear_alert(s, alerts.X_CREDITS))
    raised = await at_once(sessions, lambda s: alerts.raise_alert(s, alerts.X_CREDITS), times=5)
    assert raised.count(True) == 1
    # Another condition is told on its own.
    assert await in_turn(sessions, lambda s: alerts.raise_alert(s, alerts.X_READ_ACCESS))
    cleared = await at_once(sessions, lambda s: alerts.clear_alert(s, alerts.X_CREDITS), times=5)
    assert cleared.count(True) == 1
    # Raised again after it cleared, it is told again.
    assert await in_turn(sessions, lambda s: alerts.raise_alert(s, alerts.X_CREDITS))
    assert not await in_turn(sessions, lambda s: alerts.raise_alert(s, alerts.X_READ_ACCESS))
