"""The wall clock: the one place in dutydesk that reads the system's time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

MAX_NAP = 1.0  # re-read the clock at least this often, so a clock change cannot strand a sleeper


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        while (left := (when - self.now()).total_seconds()) > 0:  # noqa: ASYNC110 - polls the clock
            await asyncio.sleep(min(left, MAX_NAP))
        await asyncio.sleep(0)
