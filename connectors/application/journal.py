"""The engine bound to its event log: decide on the latest state, store, then apply.

Every change goes the same way, whoever asks (the command line, the console, the timer, an
alarm): inside one write transaction, first fold in what other processes committed, then let the
engine decide, append what it decided, commit, and only then does the engine's state move on.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import hashlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from dutydesk.connectors.application.storage import Health
from dutydesk.connectors.store import EventStore, Recorded, StorageUnavailable, Transaction
from dutydesk.playbooks.alarms import RAW_LIMIT, Arrival, Debounce, Decoded, Feed
from dutydesk.playbooks.clock import Clock
from dutydesk.playbooks.commands import Command, Rejected
from dutydesk.playbooks.corrections import RETRACT_WITHIN
from dutydesk.playbooks.correlation import Correlation
from dutydesk.playbooks.engine import Engine, Keyed
from dutydesk.playbooks.eventplans import EventPlan
from dutydesk.playbooks.events import DeadLetter, Event
from dutydesk.playbooks.incidents import Projection
from dutydesk.playbooks.notices import NoticePolicy
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.routines import Routine
from dutydesk.playbooks.typeddata import ProblemsError

SNAPSHOT_EVERY = 20_000  # events between cached projections
# ... and sooner when the log grows slowly: this many events, once the last snapshot is this old,
# so that a console (or any command) opening the log replays a short tail, not days of events
SNAPSHOT_SOON = 1_000
SNAPSHOT_AGE = timedelta(minutes=10)

Listener = Callable[[Sequence[Recorded]], None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one command: the events it stored, why it was refused, or that it was a
    repeat of one already stored (same request id)."""

    recorded: tuple[Recorded, ...] = ()
    rejected: Rejected | None = None
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class Incoming:
    """A received message on its way into the log: decoded, or why it could not be."""

    feed: str
    arrival: Arrival
    payload: bytes
    decoded: Decoded | None = None
    error: str | None = None


def dead_letter(item: Incoming) -> Keyed:
    """The message kept as it came, with the reason; identical bad messages are kept once."""
    try:
        text, encoding = item.payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(item.payload[:RAW_LIMIT]).decode(), "base64"
    event = DeadLetter(
        at=item.arrival.received_at,
        incident=None,
        actor="ingest",
        source=item.feed,
        topic=item.arrival.topic,
        reason=item.error or "unreadable",
        payload=text[:RAW_LIMIT],
        encoding=encoding,
        size=len(item.payload),
    )
    digest = hashlib.sha256(item.arrival.topic.encode() + b"\0" + item.payload).hexdigest()
    return Keyed(f"dead:{digest[:40]}", event)


class Journal:
    def __init__(self, store: EventStore, engine: Engine, clock: Clock) -> None:
        self.store = store
        self.engine = engine
        self.clock = clock
        self._lock = asyncio.Lock()
        self._since_snapshot = 0
        self._sealed_at = clock.now()  # when this journal last cached the projection (or opened)
        self._listeners: list[Listener] = []
        self._stale = False
        self.health = Health()

    @classmethod
    async def open(
        cls,
        store: EventStore,
        *,
        plans: Mapping[str, Plan],
        deadlines: Deadlines,
        clock: Clock,
        feeds: Mapping[str, Feed] | None = None,
        debounce: Debounce | None = None,
        notices: NoticePolicy | None = None,
        correlation: Correlation | None = None,
        routines: Mapping[str, Routine] | None = None,
        event_plans: Mapping[str, EventPlan] | None = None,
        retract_within: timedelta = RETRACT_WITHIN,
    ) -> Journal:
        """Rebuild the engine from the log and be ready to write to it. `notices`: decide
        notifications and escalations (the running service does; the command line does not)."""
        engine = Engine(
            plans=plans,
            deadlines=deadlines,
            feeds=feeds,
            debounce=debounce,
            notices=notices,
            correlation=correlation,
            routines=routines,
            event_plans=event_plans,
            retract_within=retract_within,
        )
        journal = cls(store, engine, clock)
        await journal._load(engine)
        with contextlib.suppress(StorageUnavailable):  # a read-only copy: the snapshot is a cache
            await journal.checkpoint_if_due()
        return journal

    async def _load(self, blank: Engine) -> None:
        """The engine as the log says: the cached projection if it is sound, then every later
        event. `blank` gives the plans, calendar, feeds and debounce to use."""
        projection = None
        cached = await self.store.load_snapshot()
        if cached is not None:
            try:
                projection = Projection.from_snapshot(cached[1])
            except (ValueError, KeyError, TypeError, ProblemsError):
                projection = None  # only a cache: the log itself is the truth
        engine = Engine(
            plans=blank.plans,
            deadlines=blank.deadlines,
            projection=projection,
            feeds=blank.feeds,
            debounce=blank.debounce,
            notices=blank.dispatcher.policy,
            correlation=blank.correlator.rules,
            routines=blank.timetable.routines,
            event_plans=blank.timetable.event_plans,
            retract_within=blank.decisions.retract_within,
        )
        with _collector_paused():
            async for batch in self.store.iterate(engine.seq):
                engine.load((r.seq, r.event) for r in batch)
                self._since_snapshot += len(batch)
        engine.started(self.clock.now())
        self.engine, self._stale = engine, False

    async def _fresh(self) -> None:
        """After a failed write the engine may be ahead of the log: reload before the next use
        (not at once: a failure at shutdown must not cost a reload)."""
        if self._stale:
            await self._load(self.engine)

    def subscribe(self, listener: Listener) -> None:
        """Be told of every event this journal applies, its own and other processes'."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop telling `listener` (a notifier whose node no longer leads)."""
        self._listeners.remove(listener)

    def _applied(self, recorded: Sequence[Recorded]) -> None:
        self._since_snapshot += len(recorded)
        if recorded:
            for listener in self._listeners:
                listener(recorded)

    def _apply(self, recorded: Sequence[Recorded]) -> None:
        for item in recorded:
            self.engine.apply(item.event, item.seq)
        self._applied(recorded)

    async def catch_up(self, limit: int | None = None) -> list[Recorded]:
        """Fold in what other processes have committed (at most `limit` events at a time)."""
        async with self._lock:
            await self._fresh()
            recorded = await self.store.read(self.engine.seq, limit=limit)
            self._apply(recorded)
            return recorded

    async def _write(self, decide: Callable[[Transaction], Awaitable[T]]) -> T:
        """The one way anything is written: under the journal's lock, in one store transaction,
        first fold in what other processes committed, then let `decide` append. When the write
        fails the engine may be ahead of the log, so it is reloaded before its next use."""
        async with self._lock:
            await self._fresh()
            try:
                async with self.store.transaction(after=self.engine.seq, now=self.clock.now()) as txn:
                    self._apply(txn.tail)
                    return await decide(txn)
            except BaseException:
                self._stale = True
                raise

    def _store(self, txn: Transaction, keyed: Sequence[Keyed]) -> list[Recorded]:
        """Append what was decided and move the engine on (undone by a reload if the commit fails)."""
        stored = txn.append(keyed)
        self._apply(stored)
        return stored

    async def submit(self, *commands: Command) -> list[Outcome]:
        """Decide and store commands in one transaction; each succeeds or is refused on its own."""

        async def decide(txn: Transaction) -> list[Outcome]:
            outcomes: list[Outcome] = []
            seen = await txn.existing([f"{c.request_id}:0" for c in commands])
            for command in commands:
                if f"{command.request_id}:0" in seen:
                    outcomes.append(Outcome(repeated=True))
                    continue
                try:
                    keyed = self.engine.handle(command, self.clock.now())
                except Rejected as exc:
                    outcomes.append(Outcome(rejected=exc))
                    continue
                outcomes.append(Outcome(recorded=tuple(self._store(txn, keyed))))
            return outcomes

        return await self._write(decide)

    async def ingest(self, batch: Sequence[Incoming], *, drill: bool = False) -> list[Recorded]:
        """Store what a batch of received messages means, in one transaction. Once this returns
        the messages may be acknowledged: everything they said is durable."""

        async def decide(txn: Transaction) -> list[Recorded]:
            stored: list[Recorded] = []
            dead = {id(i): dead_letter(i) for i in batch if i.decoded is None}
            known = await txn.existing([d.key for d in dead.values()])
            for item in batch:
                if item.decoded is not None:
                    keyed = self.engine.ingest(item.feed, item.decoded, item.arrival, drill=drill)
                elif dead[id(item)].key in known:
                    keyed = []
                else:
                    keyed = [dead[id(item)]]
                    known.add(dead[id(item)].key)
                stored += self._store(txn, keyed)
            txn.touch(self._seen(batch))
            return stored

        return await self._write(decide)

    def _seen(self, batch: Sequence[Incoming]) -> dict[str, datetime]:
        seen: dict[str, datetime] = {}
        for item in batch:
            for device in item.decoded.devices() if item.decoded else ():
                seen[f"{item.feed}/{device}"] = item.arrival.received_at
        return seen

    async def fire(self) -> list[Recorded]:
        """Store the warnings and breaches that are due now."""

        async def decide(txn: Transaction) -> list[Recorded]:
            return self._store(txn, self.engine.tick(self.clock.now()))

        return await self._write(decide)

    async def due_unrecorded(self) -> list[Event]:
        """What falls due now, for telling while the log cannot be written: decided on the engine,
        which is then reloaded before its next use (the decision is not kept, only told)."""
        async with self._lock:
            await self._fresh()
            due = [item.event for item in self.engine.tick(self.clock.now())]
            self._stale = True
            return due

    async def record(self, keyed: Sequence[Keyed]) -> list[Recorded]:
        """Store facts observed outside the engine (delivery attempts), once each by key."""

        async def decide(txn: Transaction) -> list[Recorded]:
            known = await txn.existing([item.key for item in keyed])
            return self._store(txn, [item for item in keyed if item.key not in known])

        return await self._write(decide)

    async def checkpoint(self) -> None:
        """Cache the projection so the next start replays only what follows; never from an engine
        a failed write left ahead of the log (it is reloaded first)."""
        async with self._lock:
            await self._fresh()
            await self.store.save_snapshot(
                self.engine.seq, self.engine.projection.to_snapshot(), self.clock.now()
            )
        self._since_snapshot, self._sealed_at = 0, self.clock.now()

    async def checkpoint_if_due(self) -> None:
        """Cache the projection every `SNAPSHOT_EVERY` events, or after `SNAPSHOT_SOON` once the
        last cache is `SNAPSHOT_AGE` old (at most that often under a flood of alarms)."""
        since = self._since_snapshot
        old = self.clock.now() - self._sealed_at >= SNAPSHOT_AGE
        if since >= SNAPSHOT_EVERY or (since >= SNAPSHOT_SOON and old):
            await self.checkpoint()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Replay builds the projection: millions of objects that all stay alive. The cyclic garbage
    collector would walk that growing heap again and again (replay grew faster than the log);
    paused for the replay, it runs as usual afterwards."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
