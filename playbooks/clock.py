"""Injected time: the clock protocol the engine runs on, and the manual clock tests drive by hand."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


def iso(when: datetime | None, zone: ZoneInfo) -> str | None:
    """An instant as ISO 8601 in the centre's zone, with its offset (None stays None)."""
    return when.astimezone(zone).isoformat() if when is not None else None


class Clock(Protocol):
    """Where the engine gets the time. Only the wall clock adapter reads the system clock."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...

    async def sleep_until(self, when: datetime) -> None:
        """Return once `now()` has reached `when` (at once if it already has)."""
        ...


class ManualClock:
    """A clock that only moves when told to; sleepers wake when it is advanced past their time."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, when: datetime) -> None:
        if when <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (when, next(self._order), future))
        await future

    def advance(self, delta: timedelta) -> None:
        """Move time forward and wake every sleeper whose time has come."""
        self.set(self._now + delta)

    def set(self, when: datetime) -> None:
        if when < self._now:
            raise ValueError("a manual clock does not go backwards")
        self._now = when.astimezone(UTC)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
