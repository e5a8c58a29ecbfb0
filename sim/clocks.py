"""Drill time: a scaled clock runs a scenario faster than life (the wall clock times `speed`),
and can be held at a moment while the drill's pipeline catches up."""

from __future__ import annotations

import asyncio
from datetime import datetime

from dutydesk.playbooks.clock import Clock

MAX_NAP = 0.25  # real seconds between looks at the clock while sleeping


class ScaledClock:
    """`speed` seconds of drill time pass for every second of the wall clock, from `start`."""

    def __init__(self, wall: Clock, start: datetime, speed: float) -> None:
        if speed <= 0:
            raise ValueError("the speed of a drill is a positive number")
        self._wall, self.speed = wall, speed
        self._base, self._origin = start, wall.now()
        self._held: datetime | None = None

    def now(self) -> datetime:
        if self._held is not None:
            return self._held
        return self._base + (self._wall.now() - self._origin) * self.speed

    def hold(self, at: datetime) -> None:
        """Stop time at `at` (a moment just passed): whatever happens now happens at `at`."""
        self._held = at

    def release(self) -> None:
        """Let time run again from where it was held."""
        if self._held is not None:
            self._base, self._origin, self._held = self._held, self._wall.now(), None

    async def sleep_until(self, when: datetime) -> None:
        while (left := (when - self.now()).total_seconds()) > 0:  # noqa: ASYNC110 - polls the clock
            await asyncio.sleep(MAX_NAP if self._held is not None else min(left / self.speed, MAX_NAP))
        await asyncio.sleep(0)
