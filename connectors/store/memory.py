"""The in-memory event store: a first-class fake of the port for tests and quick experiments.

It keeps the very rows the SQLite adapter would write (same encoding, same hash chain, same fact
values) and passes the same contract tests, so a test that runs the journal on it says something
true of the real store. Several `MemoryEventStore` handles on one `MemoryLog` behave as several
connections to one database: one writer at a time, each seeing the others' commits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dutydesk.connectors.store.chain import (
    FACTS_V4,
    GENESIS,
    READ_BATCH,
    Appending,
    Row,
    check_names,
    decode,
    encode,
    fact_row,
    from_micros,
    micros,
    open_snapshot,
    polled,
    seal,
    snapshot_problems,
    walk,
)
from dutydesk.connectors.store.port import (
    DuplicateKeyError,
    FactRow,
    Recorded,
    StorageUnavailable,
    StoreError,
    Verification,
)

_FACT_WIDTH = 5


@dataclass(slots=True)
class MemoryLog:
    """What a database file holds: the rows, keys, liveness, leases and the latest snapshot."""

    rows: list[Row] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    liveness: dict[str, int] = field(default_factory=dict)
    leases: dict[str, tuple[str, int]] = field(default_factory=dict)
    snapshot: tuple[int, str, str] | None = None  # seq, data as text, seal
    commits: int = 0  # every commit, by any handle: what SQLite's data_version follows
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # the database's write lock
    unwritable: str | None = None  # why writes fail now (a test's full disk or held lock)


class MemoryEventStore:
    """The `EventStore` in memory. `MemoryEventStore()` is a new, empty log; pass a `MemoryLog`
    to open another handle on one that exists."""

    def __init__(self, log: MemoryLog | None = None) -> None:
        self.log = log if log is not None else MemoryLog()
        self.path = ":memory:"
        self._own_commits = 0
        self._seen_others: int | None = None

    @classmethod
    def load(cls, path: Path) -> MemoryEventStore:
        """Open a copy that `backup` wrote."""
        saved = json.loads(path.read_text(encoding="utf-8"))
        rows = [tuple(row) for row in saved["rows"]]
        return cls(MemoryLog(rows=rows, keys={row[1] for row in rows}))

    async def close(self) -> None:
        """Nothing to release: the log lives as long as someone holds it."""

    async def __aenter__(self) -> MemoryEventStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def head(self) -> int:
        return len(self.log.rows)

    def _rows_after(self, after: int) -> list[Row]:
        return self.log.rows[max(after, 0) :]  # seq n sits at index n - 1

    async def read(
        self, after: int = 0, *, incident: str | None = None, limit: int | None = None
    ) -> list[Recorded]:
        rows = self._rows_after(after)
        if incident is not None:
            rows = [row for row in rows if row[5] == incident]
        return [decode(row) for row in rows[:limit]]

    async def iterate(self, after: int = 0) -> AsyncIterator[list[Recorded]]:
        while batch := await self.read(after, limit=READ_BATCH):
            yield batch
            after = batch[-1].seq

    async def read_recent(self, kinds: Sequence[str], limit: int) -> list[Recorded]:
        rows = [row for row in self.log.rows if row[2] in kinds]
        return [decode(row) for row in rows[max(len(rows) - limit, 0) :]]

    async def read_kind(self, kind: str) -> list[Recorded]:
        return [decode(row) for row in self.log.rows if row[2] == kind]

    async def registered_plans(self) -> list[Recorded]:
        return [decode(row) for row in self.log.rows if row[2] == "plan.registered" and row[5] is None]

    async def facts(self, low: str, high: str) -> AsyncIterator[list[FactRow]]:
        rows = [
            row for row in self.log.rows if row[2] in FACTS_V4 and row[5] is not None and low <= row[5] < high
        ]
        rows.sort(key=lambda row: (row[5], row[0]))
        for batch in _batched([fact_row(row, FACTS_V4[row[2]], _FACT_WIDTH) for row in rows]):
            yield batch

    async def fields(
        self, kinds: Mapping[str, Sequence[str]], *, between: tuple[datetime, datetime]
    ) -> AsyncIterator[list[FactRow]]:
        check_names(kinds)
        start, end = micros(between[0]), micros(between[1])
        width = max(map(len, kinds.values()))
        found = [
            fact_row(row, kinds[row[2]], width)
            for row in self.log.rows
            if row[2] in kinds and start <= row[3] < end
        ]
        for batch in _batched(found):
            yield batch

    async def changed(self) -> bool:
        others = self.log.commits - self._own_commits
        changed = self._seen_others is not None and others != self._seen_others
        self._seen_others = others
        return changed

    async def wait_changed(self, within: float, *, every: float) -> bool:
        return await polled(self.changed, within, every)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[MemoryLog]:
        async with self.log.lock:
            if self.log.unwritable is not None:
                raise StorageUnavailable(f"{self.path}: {self.log.unwritable}")
            yield self.log
            self.log.commits += 1
            self._own_commits += 1

    @asynccontextmanager
    async def transaction(self, *, after: int, now: datetime) -> AsyncIterator[Appending]:
        async with self._writing() as log:
            tail = [decode(row) for row in self._rows_after(after)]
            last_seq, last_hash = (log.rows[-1][0], log.rows[-1][9]) if log.rows else (0, GENESIS)
            txn = Appending(tail, last_seq, last_hash, now, self._existing)
            yield txn
            keys = [row[1] for row in txn.rows]
            if len(set(keys)) != len(keys) or not log.keys.isdisjoint(keys):
                raise DuplicateKeyError(f"{self.path}: an idempotency key is stored already")
            log.rows += txn.rows
            log.keys.update(keys)
            for device, when in txn.seen.items():
                log.liveness[device] = max(log.liveness.get(device, 0), micros(when))

    async def _existing(self, keys: Sequence[str]) -> set[str]:
        return self.log.keys.intersection(keys)

    async def liveness(self) -> dict[str, datetime]:
        return {device: from_micros(seen) for device, seen in self.log.liveness.items()}

    async def lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta, *, alive: Callable[[str], bool]
    ) -> str | None:
        async with self._writing() as log:
            current = log.leases.get(name)
            if current and current[0] != holder and current[1] > micros(now) and alive(current[0]):
                return current[0]
            log.leases[name] = (holder, micros(now + ttl))
        return None

    async def holder(self, name: str, now: datetime, *, alive: Callable[[str], bool]) -> str | None:
        current = self.log.leases.get(name)
        if current and current[1] > micros(now) and alive(current[0]):
            return current[0]
        return None

    async def release(self, name: str, holder: str) -> None:
        async with self._writing() as log:
            if log.leases.get(name, ("",))[0] == holder:
                del log.leases[name]

    async def load_snapshot(self) -> tuple[int, dict[str, Any]] | None:
        return await open_snapshot(self.log.snapshot, self.chain_hash)

    async def chain_hash(self, seq: int) -> str | None:
        if seq == 0:
            return GENESIS
        rows = self.log.rows
        return str(rows[seq - 1][9]) if 0 < seq <= len(rows) else None

    async def save_snapshot(self, seq: int, data: dict[str, Any], now: datetime) -> None:
        head = await self.chain_hash(seq)
        if head is None:
            raise StoreError(f"{self.path}: no event {seq} to take a snapshot at")
        async with self._writing() as log:
            if log.snapshot is None or log.snapshot[0] <= seq:
                text = encode(data)  # as text: the caller's dict stays its own
                log.snapshot = (seq, text, seal(head, text))

    async def backup(self, target: Path) -> None:
        """The rows as JSON, for `load`."""
        if target.exists():  # noqa: ASYNC240 - a fake: no event loop to keep free
            raise StoreError(f"{target} exists already; choose a new file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(encode({"rows": self.log.rows}), encoding="utf-8")  # noqa: ASYNC240

    async def verify(self) -> Verification:
        async def batches() -> AsyncIterator[list[Row]]:
            for batch in _batched(self.log.rows):
                yield batch

        problems = await snapshot_problems(self.log.snapshot, self.chain_hash)
        return await walk(batches(), problems)  # no schema to check: nothing outside the code


def _batched(rows: list[Any]) -> list[list[Any]]:
    return [rows[start : start + READ_BATCH] for start in range(0, len(rows), READ_BATCH)]
