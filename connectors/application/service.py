"""The running engine (`dutydesk serve`): one task group owns alarm ingest, following the log and
firing deadlines.

On a SQLite file one engine runs at a time. On a shared server log several nodes run (`several`):
each ingests and follows; the leader (`leadership.py`) alone fires deadlines and runs the
leader's sources (notifications, camera streams), and another node takes over when it dies."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.application.leadership import ENGINE_LEASE, Leadership
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.waits import first_of

FOLLOW_INTERVAL = 0.2  # seconds between looks for commands other processes wrote, without notifications
WAKE_WITHIN = 5.0  # seconds a follower waits for a notification before looking anyway
LEASE_TTL = timedelta(seconds=15)  # a holder that stops renewing loses the engine after this
# several nodes: a dead leader's lease runs out after this, so another leads within 10 s
LEADER_TTL = timedelta(seconds=6)


class EngineRunning(Exception):  # noqa: N818 - reads as "an engine is running already"
    """Another process runs the engine on this database."""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_alive(holder: str) -> bool:
    """A holder on this machine whose process is gone holds nothing (kill -9 leaves its lease)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's: trust its expiry
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def engine_holder(journal: Journal) -> str | None:
    """Who runs the engine on this database now, if anyone (checked by taking and giving back)."""
    probe = f"probe-{this_process()}"
    holder = await journal.store.lease(
        ENGINE_LEASE, probe, WallClock().now(), timedelta(0), alive=holder_alive
    )
    if holder is None:
        await journal.store.release(ENGINE_LEASE, probe)
    return holder


class Source(Protocol):
    """Something that feeds the journal alarms until told to stop: MQTT ingest
    (`connectors/mqtt.py`), a camera's alert stream (`connectors/alertstream.py`), the notifier
    and a drill's sources run under the same contract. `MemorySource` is its in-memory fake; the
    MQTT source and the fake both pass `tests/test_sources.py`."""

    async def run(self, stop: asyncio.Event) -> None:
        """Take items in and store them through `Journal.ingest` until `stop` is set.

        Contract:
            - An item is acknowledged upstream only after `Journal.ingest` returned for it (its
              events are committed); an item whose ingest failed is offered again on the next run,
              so a crash loses nothing and an acknowledged item is never stored twice.
            - A broken upstream (a lost connection) is retried inside `run` with backoff.
            - Returns soon after `stop` is set, with no task of its own left running.

        Raises:
            Whatever `Journal.ingest` raised (the log cannot be written), with nothing of that
            batch acknowledged: the service stops rather than run on without a log.
        """
        ...


@dataclass(slots=True)
class MemorySource:
    """An alarm source in memory, a first-class fake: `offer` puts decoded items (`Incoming`)
    upstream; `run` stores them through the journal and only then moves them from `waiting` to
    `acknowledged`, as a broker's QoS 1 session would."""

    journal: Journal
    drill: bool = False  # everything this source feeds belongs to a drill
    waiting: list[Incoming] = field(default_factory=list)  # offered, not acknowledged yet
    acknowledged: list[Incoming] = field(default_factory=list)
    _offered: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, *items: Incoming) -> None:
        self.waiting.extend(items)
        self._offered.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.waiting:
                self._offered.clear()
                await first_of(self._offered.wait(), stop.wait())
                continue
            batch = list(self.waiting)
            await self.journal.ingest(batch, drill=self.drill)
            del self.waiting[: len(batch)]  # committed: acknowledge
            self.acknowledged += batch


class Service:
    """The engine of one node. `sources` run all the time (ingest); the sources `leader_sources`
    makes run only while this node leads, a fresh set each term (notifications, camera streams).
    `several`: other nodes may run on the same log at once (a server log); else this one refuses
    to start while another engine runs."""

    def __init__(
        self,
        journal: Journal,
        *,
        sources: Sequence[Source] = (),
        leader_sources: Callable[[], Sequence[Source]] = tuple,
        several: bool = False,
        follow_interval: float = FOLLOW_INTERVAL,
    ) -> None:
        self.journal = journal
        self.sources = sources
        self.leader_sources = leader_sources
        self.several = several
        self.wall = WallClock()
        self._follow_interval = follow_interval
        self._changed = asyncio.Event()
        journal.subscribe(lambda _: self._changed.set())

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then leave a fresh snapshot for a quick restart."""
        # the lease is about real processes, so it runs on the wall clock even in a fast drill
        ttl = LEADER_TTL if self.several else LEASE_TTL
        leadership = Leadership(
            self.journal.store, this_process(), clock=self.wall, ttl=ttl, alive=holder_alive
        )
        holder = await leadership.take()
        if holder is not None and not self.several:
            raise EngineRunning(f"{self.journal.store.path}: the engine is already running ({holder})")
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._follow(stop))
                group.create_task(leadership.run(stop))
                group.create_task(self._lead(leadership, stop))
                for source in self.sources:
                    group.create_task(source.run(stop))
            await self.journal.checkpoint()
        finally:
            await leadership.release()

    async def _lead(self, leadership: Leadership, stop: asyncio.Event) -> None:
        """While this node leads: fire deadlines and run the leader's sources, until the term ends."""
        while not stop.is_set():
            await first_of(leadership.leading.wait(), stop.wait())
            if stop.is_set():
                return
            term = leadership.term
            await self.journal.catch_up()  # what the last leader left due, decided on the latest log
            async with asyncio.TaskGroup() as group:
                group.create_task(self._deadlines(term))
                for source in self.leader_sources():
                    group.create_task(source.run(term))

    async def _follow(self, stop: asyncio.Event) -> None:
        """Pick up what other processes (the command line, consoles, other nodes) have stored."""
        store, news = self.journal.store, False

        async def wait() -> None:
            nonlocal news
            news = await store.wait_changed(WAKE_WITHIN, every=self._follow_interval)

        await store.changed()
        while not stop.is_set():
            news = False
            await first_of(wait(), stop.wait())
            if news:
                await self.journal.catch_up()

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
            await first_of(*waits)
