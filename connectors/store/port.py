"""The event store port: what dutydesk needs of a durable, append-only, tamper-evident event log.

Everything above the store (the journal, the service, the KPI reader, the console) types against
`EventStore`, never against an adapter. Three adapters implement it and pass the same contract
tests (`tests/test_store_contract.py`): `SqliteEventStore`, the embedded default,
`PostgresEventStore`, the server log several engine nodes share, and `MemoryEventStore`, a
first-class fake for tests.

The rules every adapter keeps:
- Sequence numbers start at 1 and have no gaps; events come back in that order.
- Writes are transactions (`transaction`): the writer first sees what other writers committed
  since it last looked, then appends; all of a transaction or none of it is stored, and one
  transaction at a time appends (the hash chain needs its predecessor).
- An idempotency key is stored once; appending a stored key refuses the whole transaction.
- Each row carries the hash of its content chained to the row before (`Transaction.append`
  computes it), so `verify` finds any edited, removed or inserted row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.events import Event


class StoreError(Exception):
    """The database cannot be used: locked, corrupt, too new, or not a dutydesk file."""


class StorageUnavailable(StoreError):  # noqa: N818 - a state the store is in, not a fault of the caller
    """The log cannot be written for now: another process holds the write lock too long, the
    disk is full, or an I/O error. Nothing of the write was stored; trying again later is right
    (the running engine backs off and retries, `connectors/application/storage.py`)."""


class DuplicateKeyError(StoreError):
    """A transaction appended an idempotency key that the log holds already; nothing of it was
    stored. Writers that may repeat themselves ask `Transaction.existing` first."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as stored: its place in the log and when it was written."""

    seq: int
    key: str
    logged_at: datetime
    event: Event


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of an audit: how many events were sound, where the chain broke, the chain's
    head (its last sequence number and hash, for anchoring), and what else is wrong (a snapshot
    that does not match the log, a trigger or table missing or changed)."""

    events: int
    broken_at: int | None = None
    reason: str | None = None
    head: str = "0" * 64  # the hash of event `events`; the genesis hash for an empty log
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.problems


FactRow = tuple[Any, ...]  # (kind, at in microseconds, incident, drill, value, ...)


class Transaction(Protocol):
    """One write in progress, as `EventStore.transaction` yields it."""

    @property
    def tail(self) -> Sequence[Recorded]:
        """What other writers committed after the `after` the transaction was opened with."""
        ...

    @property
    def last_seq(self) -> int:
        """The sequence number of the last event in the log, counting those queued here."""
        ...

    @property
    def logged_at(self) -> datetime:
        """When this transaction writes: every event it appends is logged at this time."""
        ...

    async def existing(self, keys: Sequence[str]) -> set[str]:
        """Which idempotency keys the log holds already.

        Args:
            keys: idempotency keys, in any number.

        Returns:
            Those of `keys` that were committed before this transaction.
        """
        ...

    def append(self, events: Iterable[Keyed]) -> list[Recorded]:
        """Queue events to be committed with this transaction.

        Args:
            events: the events with their idempotency keys, in log order.

        Returns:
            The events with the sequence numbers they will have once committed.

        Raises:
            ValueError: an event's time is not timezone-aware.
            DuplicateKeyError: a key repeats one in the log or in this transaction (an adapter may
                raise it here or when the transaction commits).
        """
        ...

    def touch(self, seen: Mapping[str, datetime]) -> None:
        """Record, with this transaction, when devices were last heard from.

        Args:
            seen: device ("feed/device") to the time it was heard from; a later time than the
                one stored replaces it, an earlier one does not.
        """
        ...


class EventStore(Protocol):
    """The event log port. All times are timezone-aware; all reads return copies."""

    @property
    def path(self) -> Path | str:
        """Where the log is kept, for messages: a file, or a server address without credentials."""
        ...

    async def close(self) -> None:
        """Release the connection. The store is not used afterwards."""
        ...

    async def head(self) -> int:
        """Returns:
        The sequence number of the last committed event; 0 for an empty log."""
        ...

    async def read(
        self, after: int = 0, *, incident: str | None = None, limit: int | None = None
    ) -> list[Recorded]:
        """Committed events after a sequence number, oldest first.

        Args:
            after: read events with a greater sequence number.
            incident: only this incident's events, if given.
            limit: at most this many events, if given.

        Returns:
            The events in log order.

        Raises:
            StoreError: the log cannot be read.
        """
        ...

    def iterate(self, after: int = 0) -> AsyncIterator[list[Recorded]]:
        """Every committed event after `after`, in log order, in batches of bounded size
        (replay at start, without holding a year's log in memory).

        Args:
            after: start after this sequence number.

        Returns:
            An async iterator of non-empty batches.
        """
        ...

    async def read_recent(self, kinds: Sequence[str], limit: int) -> list[Recorded]:
        """The last events of some kinds (the console's live feed).

        Args:
            kinds: event kinds to include.
            limit: how many of the most recent to return.

        Returns:
            Up to `limit` events, oldest first.
        """
        ...

    async def read_kind(self, kind: str) -> list[Recorded]:
        """Every event of one kind, oldest first (dead letters, duty log entries).

        Args:
            kind: the event kind.

        Returns:
            The events in log order.
        """
        ...

    async def registered_plans(self) -> list[Recorded]:
        """Every `plan.registered` event, oldest first, without scanning the log.

        Returns:
            The registrations in log order.
        """
        ...

    def facts(self, low: str, high: str) -> AsyncIterator[list[FactRow]]:
        """The KPI facts (`FACTS_V4`) of the incidents whose ids lie in [low, high).

        Args:
            low: the first incident id included.
            high: the first incident id excluded.

        Returns:
            An async iterator of batches of rows (kind, at in microseconds, incident, drill,
            a, b, c, d, e): the fields `FACTS_V4` names for the kind, in that order, then None.
            Rows come in incident order and in log order within an incident. JSON values come
            as SQLite's `json_extract` gives them: booleans as 1 or 0, objects as JSON text.
        """
        ...

    def fields(
        self, kinds: Mapping[str, Sequence[str]], *, between: tuple[datetime, datetime]
    ) -> AsyncIterator[list[FactRow]]:
        """A few payload fields of the events of some kinds in a time range, in log order.

        Args:
            kinds: event kind to the payload fields wanted from it.
            between: (start, end): events with `at` in [start, end).

        Returns:
            An async iterator of batches of rows (kind, at in microseconds, incident, drill,
            field, ...), the fields in the order `kinds` names them for the row's kind, then
            None up to the longest list; values as in `facts`.

        Raises:
            ValueError: a kind or field name is not a plain name (they reach the query).
        """
        ...

    async def changed(self) -> bool:
        """Whether another writer committed since the last call; cheap enough to poll.

        Returns:
            False on the first call; then True when someone else has committed since.
        """
        ...

    async def wait_changed(self, within: float, *, every: float) -> bool:
        """Wait until another writer commits, or `within` seconds pass (followers: the console,
        the engine picking up commands). A wake-up only: the caller reads from its last
        sequence number, so a wake-up missed or spurious loses nothing.

        Args:
            within: the longest wait, in seconds.
            every: how often an adapter that cannot be notified looks (`changed`), in seconds.

        Returns:
            Whether another writer committed since the last `changed` or `wait_changed`.
        """
        ...

    def transaction(self, *, after: int, now: datetime) -> AbstractAsyncContextManager[Transaction]:
        """Open a write: wait for the write lock, read what others committed after `after`,
        then let the caller append. On a normal exit everything appended is committed and
        durable; on an exception nothing is.

        Args:
            after: the last sequence number the caller has seen.
            now: when the events are logged.

        Returns:
            A context manager yielding the `Transaction`.

        Raises:
            StoreError: the write lock could not be had (another process holds it too long).
            DuplicateKeyError: on commit, an appended key was already in the log.
        """
        ...

    async def liveness(self) -> dict[str, datetime]:
        """Returns:
        When each device ("feed/device") was last heard from."""
        ...

    async def lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta, *, alive: Callable[[str], bool]
    ) -> str | None:
        """Take or renew a named lease (who runs the engine on this log).

        Args:
            name: the lease.
            holder: who asks, e.g. "host:pid".
            now: the time of asking.
            ttl: the lease runs until now + ttl unless renewed.
            alive: whether another holder still exists; a dead holder's lease is taken over.

        Returns:
            None when `holder` now holds the lease; else the other holder, whose lease has not
            expired and who is alive.
        """
        ...

    async def holder(self, name: str, now: datetime, *, alive: Callable[[str], bool]) -> str | None:
        """Who holds the lease `name` now, without writing (a read-only database answers too).

        Returns:
            The holder whose lease has not expired and who is `alive`, or None.
        """
        ...

    async def release(self, name: str, holder: str) -> None:
        """Give a lease back; does nothing if `holder` does not hold it.

        Args:
            name: the lease.
            holder: who gives it back.
        """
        ...

    async def load_snapshot(self) -> tuple[int, dict[str, Any]] | None:
        """The latest cached projection, if its seal (`chain.seal`: its data bound to the hash of
        the event it covers) still matches the log.

        Returns:
            (the sequence number it was taken at, its data), or None when there is none, it
            cannot be read, or it does not match the log: the caller replays the log instead (a
            snapshot is only a cache). A snapshot refused for its seal is logged as an error on
            `dutydesk.store`: it was edited, or the log under it was.
        """
        ...

    async def chain_hash(self, seq: int) -> str | None:
        """The stored hash of event `seq` (the chain's state there), None past the end."""
        ...

    async def save_snapshot(self, seq: int, data: dict[str, Any], now: datetime) -> None:
        """Cache the projection at `seq`, replacing older snapshots.

        Args:
            seq: the last event the projection has applied.
            data: JSON-ready data.
            now: when it was taken.
        """
        ...

    async def backup(self, target: Path) -> None:
        """Write a consistent copy, safe while others write; the adapter opens it again.

        Args:
            target: a new file.

        Raises:
            StoreError: `target` exists already.
        """
        ...

    async def verify(self) -> Verification:
        """Walk the hash chain from the first event, check the snapshot's seal against it, and
        check that the schema and its append-only triggers are as dutydesk made them.

        Returns:
            How many events are sound, the first one that is missing or does not match its
            hash, if any, the chain's head, and any other problem found.
        """
        ...
