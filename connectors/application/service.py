"""The running engine (`dutydesk serve`): one task group owns alarm ingest, following the log and
firing deadlines.

On a SQLite file one engine runs at a time. On a shared server log several nodes run (`several`):
each ingests and follows; the leader (`leadership.py`) alone fires deadlines and runs the
leader's sources (notifications, camera streams), and another node takes over when it dies.
Storage trouble (a lock, a full disk) is a state the engine rides out (`storage.py`)."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import shutil
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from dutydesk.connectors import systemd
from dutydesk.connectors.application.audit import AnchorError, anchor_head
from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.application.leadership import Leadership
from dutydesk.connectors.application.liveness import (
    LEASE_TTL,
    STATUS_EVERY,
    holder_alive,
    status_of,
    this_process,
    write_status,
)
from dutydesk.connectors.application.storage import BACKOFF_FIRST, BACKOFF_MAX, Alert, persistently
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.store import Recorded, StorageUnavailable, StoreError
from dutydesk.connectors.waits import first_of
from dutydesk.playbooks.alarmbook import LIVE
from dutydesk.playbooks.alarms import Arrival, Decoded, Reading, Signal
from dutydesk.playbooks.events import HandoverAcknowledged, ObligationBreached, ObligationWarned

log = logging.getLogger("dutydesk.serve")

FOLLOW_INTERVAL = 0.2  # seconds between looks for commands other processes wrote, without notifications
WAKE_WITHIN = 5.0  # seconds a follower waits for a notification before looking anyway
# several nodes: a dead leader's lease runs out after this, so another leads within 10 s
LEADER_TTL = timedelta(seconds=6)
ANCHOR_EVERY = timedelta(days=1)
DISK_CHECK = 5.0  # seconds between looks at the free space
SYSTEM_FEED, DISK_LOW = "dutydesk", "system.disk_low"  # the engine's own alarms


class EngineRunning(Exception):  # noqa: N818 - reads as "an engine is running already"
    """Another process runs the engine on this database."""


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

            - While the log is unavailable (`StorageUnavailable`: locked, full) the batch is
              tried again with backoff (`persistently`), unacknowledged meanwhile.

        Raises:
            Whatever else `Journal.ingest` raised (a log that is not usable at all), with nothing
            of that batch acknowledged: the service stops rather than run on without a log.
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
            stored = await persistently(
                functools.partial(self.journal.ingest, batch, drill=self.drill), self.journal.health, stop
            )
            if stored is None:
                return  # stopped while the log was unavailable: left unacknowledged
            del self.waiting[: len(batch)]  # committed: acknowledge
            self.acknowledged += batch


def free_bytes(path: Path) -> int:
    """Free space on the disk holding `path`, for an unprivileged writer."""
    return shutil.disk_usage(path).free


@dataclass(slots=True, kw_only=True)
class DiskReserve:
    """A source (`Service`'s contract) of one system alarm: free space on the log's disk below
    `reserve` bytes raises `system.disk_low` on device `storage` of feed `dutydesk` while
    writes still succeed, and clears it once space returns."""

    journal: Journal
    folder: Path
    reserve: int
    free: Callable[[Path], int] = free_bytes
    interval: float = DISK_CHECK

    async def run(self, stop: asyncio.Event) -> None:
        reading = Reading(device="storage", kind=DISK_LOW, signal=Signal.RAISE)
        alarm = self.journal.engine.projection.alarms.alarms.get(reading.key(SYSTEM_FEED))
        recorded_low = alarm is not None and alarm.status in LIVE  # as the log says (a restart)
        while not stop.is_set():
            try:
                free = self.free(self.folder)
            except OSError as exc:
                log.warning("cannot tell the free space of %s: %s", self.folder, exc)
                free = self.reserve
            low = free < self.reserve
            tell = functools.partial(self._tell, low, free)
            if low != recorded_low and await persistently(tell, self.journal.health, stop) is None:
                return
            recorded_low = low
            await first_of(asyncio.sleep(self.interval), stop.wait())

    async def _tell(self, low: bool, free: int) -> object:
        now = self.journal.clock.now()
        text = f"{free // 2**20} MiB free on {self.folder}, below the reserve of {self.reserve // 2**20} MiB"
        reading = Reading(
            device="storage",
            kind=DISK_LOW,
            signal=Signal.RAISE if low else Signal.CLEAR,
            text=text if low else None,
        )
        arrival = Arrival(uuid.uuid4().hex, "dutydesk/storage", text, False, now)
        item = Incoming(SYSTEM_FEED, arrival, text.encode(), decoded=Decoded((reading,)))
        return await self.journal.ingest([item])


class Service:
    """The engine of one node. `sources` run all the time (ingest); the sources `leader_sources`
    makes run only while this node leads, a fresh set each term (notifications, camera streams).
    `several`: other nodes may run on the same log at once (a server log); else this one refuses
    to start while another engine runs. `alert` tells of deadlines falling due while the log cannot
    be written; `anchors` is where the chain's head is anchored; `status` the status file."""

    def __init__(
        self,
        journal: Journal,
        *,
        sources: Sequence[Source] = (),
        leader_sources: Callable[[], Sequence[Source]] = tuple,
        several: bool = False,
        follow_interval: float = FOLLOW_INTERVAL,
        alert: Alert | None = None,
        anchors: Path | None = None,
        status: Path | None = None,
        notifications: bool = True,
    ) -> None:
        self.journal = journal
        self.sources = sources
        self.leader_sources = leader_sources
        self.several = several
        self.alert = alert
        self.anchors = anchors  # where to anchor the chain's head at each handover and daily
        self._handover = asyncio.Event()
        self.status = status  # the status file consoles and the watchdog read (`liveness.py`)
        journal.health.notifications = notifications  # whether anything can be delivered
        self._told: set[tuple[str, str | None, str, int]] = set()  # told unrecorded, by deadline
        self.wall = WallClock()
        self._follow_interval = follow_interval
        self._changed = asyncio.Event()
        journal.subscribe(self._heard)

    def _heard(self, recorded: Sequence[Recorded]) -> None:
        self._changed.set()
        if any(isinstance(r.event, HandoverAcknowledged) for r in recorded):
            self._handover.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then leave a fresh snapshot for a quick restart."""
        me = this_process()
        # the lease is about real processes, so it runs on the wall clock even in a fast drill
        ttl = LEADER_TTL if self.several else LEASE_TTL
        leadership = Leadership(
            self.journal.store,
            me,
            clock=self.wall,
            ttl=ttl,
            alive=holder_alive,
            trouble=self.journal.health.trouble,
        )
        holder = await leadership.take()
        if holder is not None and not self.several:
            raise EngineRunning(f"{self.journal.store.path}: the engine is already running ({holder})")
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._follow(stop))
                group.create_task(leadership.run(stop))
                group.create_task(self._lead(leadership, stop))
                if self.status is not None:
                    group.create_task(self._beacon(me, self.status, stop))
                if self.anchors is not None:
                    group.create_task(self._anchoring(self.anchors, stop))
                for source in self.sources:
                    group.create_task(source.run(stop))
            try:
                await self.journal.checkpoint()
            except StorageUnavailable as exc:  # only a cache: the next start replays the log
                log.warning("no snapshot left for a quick restart: %s", exc)
        finally:
            try:
                await leadership.release()
            except StoreError as exc:  # the lease runs out by itself; the process is gone
                log.warning("the engine lease stays until it expires: %s", exc)

    async def _lead(self, leadership: Leadership, stop: asyncio.Event) -> None:
        """While this node leads: fire deadlines and run the leader's sources, until the term ends."""
        while not stop.is_set():
            await first_of(leadership.leading.wait(), stop.wait())
            if stop.is_set():
                return
            term = leadership.term
            await persistently(self.journal.catch_up, self.journal.health, term)  # the last leader's dues
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
            if news and await persistently(self.journal.catch_up, self.journal.health, stop) is None:
                return

    async def _deadlines(self, stop: asyncio.Event) -> None:
        """Sleep until the next warning or breach is due (or the state changes), then fire it."""
        clock, health = self.journal.clock, self.journal.health
        backoff = BACKOFF_FIRST
        while not stop.is_set():
            self._changed.clear()
            try:
                await self.journal.fire()
                await self.journal.checkpoint_if_due()
            except StorageUnavailable as exc:
                health.trouble(str(exc))
                await self._tell_unrecorded()
                await first_of(asyncio.sleep(backoff), stop.wait())
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            health.recovered()
            backoff = BACKOFF_FIRST
            self._told.clear()
            waits: list[Awaitable[object]] = [self._changed.wait(), stop.wait()]
            wake = self.journal.engine.next_wakeup()
            if wake is not None:
                waits.append(clock.sleep_until(wake))
            await first_of(*waits)

    async def _tell_unrecorded(self) -> None:
        """Tell the warnings and breaches falling due while the log cannot be written, each once
        (see `connectors/application/storage.py`)."""
        fresh = []
        for event in await self.journal.due_unrecorded():
            if isinstance(event, ObligationWarned | ObligationBreached):
                key = (event.kind, event.incident, event.obligation, event.occurrence)
                if key not in self._told:
                    self._told.add(key)
                    fresh.append(event)
        if fresh and self.alert is not None:
            await self.alert(fresh)

    async def _anchoring(self, path: Path, stop: asyncio.Event) -> None:
        """Anchor the chain's head at start, at every handover and once a day (wall clock)."""
        clock, why = self.wall, "start"
        while not stop.is_set():
            try:
                await anchor_head(self.journal.store, path, at=clock.now(), why=why)
            except (AnchorError, StoreError) as exc:  # said, and tried again at the next occasion
                log.warning("cannot anchor the log: %s", exc)
            self._handover.clear()
            day = clock.sleep_until(clock.now() + ANCHOR_EVERY)
            await first_of(day, self._handover.wait(), stop.wait())
            why = "handover" if self._handover.is_set() else "daily"

    async def _beacon(self, me: str, path: Path, stop: asyncio.Event) -> None:
        """Say how the engine is doing, every second: the status file, and systemd's watchdog
        keep-alive (a hung event loop stops both, and systemd restarts the engine)."""
        clock, failed = self.wall, False
        systemd.notify("READY=1")
        while True:
            stopping = stop.is_set()
            status = status_of(self.journal.health, at=clock.now(), holder=me)
            if stopping:
                status = dataclasses.replace(status, state="stopped")
            try:
                write_status(path, status)
                failed = False
            except OSError as exc:
                if not failed:
                    log.warning("cannot write the status file %s: %s", path, exc)
                failed = True
            if stopping:
                systemd.notify("STOPPING=1")
                return
            systemd.notify("WATCHDOG=1")
            await first_of(asyncio.sleep(STATUS_EVERY), stop.wait())
