"""The running engine (`dutydesk serve`): one task group owns alarm ingest, following the log and
firing deadlines."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Sequence
from typing import Protocol

from dutydesk.connectors.journal import Journal

FOLLOW_INTERVAL = 0.2  # seconds between looks for commands written by other processes


async def _first(*waits: Awaitable[object]) -> None:
    """Wait until the first of these finishes; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Source(Protocol):
    """Something that feeds the journal until told to stop (MQTT ingest, a camera stream)."""

    async def run(self, stop: asyncio.Event) -> None: ...


class Service:
    def __init__(
        self,
        journal: Journal,
        *,
        sources: Sequence[Source] = (),
        follow_interval: float = FOLLOW_INTERVAL,
    ) -> None:
        self.journal = journal
        self.sources = sources
        self._follow_interval = follow_interval
        self._changed = asyncio.Event()
        journal.subscribe(lambda _: self._changed.set())

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then leave a fresh snapshot for a quick restart."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow(stop))
            group.create_task(self._deadlines(stop))
            for source in self.sources:
                group.create_task(source.run(stop))
        await self.journal.checkpoint()

    async def _follow(self, stop: asyncio.Event) -> None:
        """Pick up commands other processes (the command line, another console) have stored."""
        store = self.journal.store
        await store.changed()
        while not stop.is_set():
            if await store.changed():
                await self.journal.catch_up()
            await _first(asyncio.sleep(self._follow_interval), stop.wait())

    async def _deadlines(self, stop: asyncio.Event) -> None:
        """Sleep until the next warning or breach is due (or the state changes), then fire it."""
        clock = self.journal.clock
        while not stop.is_set():
            self._changed.clear()
            await self.journal.fire()
            await self.journal.checkpoint_if_due()
            waits: list[Awaitable[object]] = [self._changed.wait(), stop.wait()]
            wake = self.journal.engine.next_wakeup()
            if wake is not None:
                waits.append(clock.sleep_until(wake))
            await _first(*waits)
