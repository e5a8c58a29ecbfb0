"""The embedded event store: an append-only SQLite file, written through aiosqlite.

Write-ahead logging with synchronous=FULL, one transaction per batch, a unique idempotency key
per event, triggers that refuse UPDATE and DELETE, and a hash chain that makes tampering evident.
Several processes may share the file: every write starts with BEGIN IMMEDIATE and first reads
what others committed since, so each writer decides on the latest state.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from dutydesk.connectors.store.chain import (
    COLUMNS,
    FACT_COLUMNS,
    FACTS_V4,
    GENESIS,
    READ_BATCH,
    Appending,
    Row,
    Stored,
    check_names,
    decode,
    encode,
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
from dutydesk.connectors.store.schema import (
    COPY_FACTS,
    INDEX_EVERY,
    INDEX_INCIDENTS,
    MIGRATIONS,
    READ_INCIDENT,
    SCHEMA_VERSION,
    extracts,
    quoted,
    schema_problems,
)

# Every commit reaches the disk (synchronous=FULL); the rest is for appends that touch many pages
# at once (a batch spread over many incidents dirties a page of the incident index for each): a
# page cache that holds them all, so none spills to the log before the commit, and checkpoints
# rare enough that a page rewritten by many commits is copied back to the file once.
DURABLE_PRAGMAS = (
    "PRAGMA synchronous = FULL",
    "PRAGMA cache_size = -32768",  # KiB
    "PRAGMA wal_autocheckpoint = 8192",  # pages: about 32 MiB of log between checkpoints
)
_EVENTS = f"INSERT INTO events ({COLUMNS}, hash)"
_INSERT = f"{_EVENTS} VALUES (?,?,?,?,?,?,?,?,?,?)"
_TOUCH = "ON CONFLICT(device) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)"
VARIABLES_MAX = 999  # values bound to one statement: SQLite's limit before 3.32, the lowest a site may have


async def _insert(db: aiosqlite.Connection, head: str, rows: Sequence[Row], tail: str = "") -> None:
    """`head VALUES (...), (...), ... tail`: many rows to a statement, as many as SQLite allows.

    Not `executemany`, which steps row by row on aiosqlite's thread and takes the GIL back after
    every row: while the event loop's thread is busy (receiving the next messages) each row waits
    for its turn, and the loop's thread for the handovers (a 500-row append took about 15 ms under
    ingest, 1 ms alone). Values are bound as they are, exactly as `executemany` binds them."""
    if not rows:
        return
    width = len(rows[0])
    per = VARIABLES_MAX // width
    one = f"({','.join('?' * width)})"
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        values = [value for row in chunk for value in row]
        await db.execute(f"{head} VALUES {','.join([one] * len(chunk))} {tail}", values)


class SqliteEventStore:
    """The `EventStore` on one SQLite file, shared safely by several processes."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._data_version: int | None = None
        self._write_lock = asyncio.Lock()
        self._indexed = 0  # how far this connection last saw the incident index reach

    @classmethod
    async def open(cls, path: Path, *, busy_timeout: float = 5.0) -> SqliteEventStore:
        """Open for reading and writing; a database that cannot be written (a read-only file or
        folder, a copy on read-only media) opens read-only, so it can still be listed, shown,
        reported on and audited (writes then fail with `StorageUnavailable`)."""
        try:
            return await cls._open(path, busy_timeout, read_only=False)
        except StorageUnavailable:  # cannot be written, or its folder cannot take the lock files
            if not path.is_file():  # noqa: ASYNC240 - one stat, on a failure path
                raise
            return await cls._open(path, busy_timeout, read_only=True)

    @classmethod
    async def _open(cls, path: Path, busy_timeout: float, *, read_only: bool) -> SqliteEventStore:
        if read_only:  # immutable: no lock or shared-memory file needed beside it
            target: str | Path = f"{path.absolute().as_uri()}?mode=ro&immutable=1"  # noqa: ASYNC240
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            target = path
        try:
            db = await aiosqlite.connect(target, isolation_level=None, timeout=busy_timeout, uri=read_only)
        except sqlite3.DatabaseError as exc:
            raise _explain(exc, path) from None
        store = cls(db, path)
        try:
            await store._prepare(busy_timeout, read_only=read_only)
        except sqlite3.DatabaseError as exc:
            await db.close()
            raise _explain(exc, path) from None
        except BaseException:
            await db.close()
            raise
        return store

    async def _prepare(self, busy_timeout: float, *, read_only: bool) -> None:
        db = self._db
        await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if not read_only:
            mode = await db.execute_fetchall("PRAGMA journal_mode = WAL")
            if next(iter(mode))[0] != "wal":
                raise StoreError(f"{self.path}: cannot switch to write-ahead logging")
            for pragma in DURABLE_PRAGMAS:
                await db.execute(pragma)
        version = next(iter(await db.execute_fetchall("PRAGMA user_version")))[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this dutydesk "
                f"understands ({SCHEMA_VERSION}); upgrade dutydesk"
            )
        if version < SCHEMA_VERSION and read_only:
            raise StoreError(
                f"{self.path}: read-only, and from an older dutydesk: copy it somewhere writable"
            )
        if version < SCHEMA_VERSION:
            await self._migrate()
        self._indexed = next(iter(await db.execute_fetchall("SELECT upto FROM indexed")))[0]

    async def _migrate(self) -> None:
        """Bring the schema up to date in one transaction (another process may be doing the same)."""
        async with self._writing():
            await self._upgrade()

    async def _upgrade(self) -> None:
        db = self._db
        current = next(iter(await db.execute_fetchall("PRAGMA user_version")))[0]
        if current == 0 and list(
            await db.execute_fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        ):
            raise StoreError(f"{self.path}: not a dutydesk database (it has other tables)")
        for step in MIGRATIONS[current:]:
            for statement in step:
                await db.execute(statement)
        await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> SqliteEventStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def head(self) -> int:
        rows = await self._db.execute_fetchall("SELECT COALESCE(MAX(seq), 0) FROM events")
        return int(next(iter(rows))[0])

    async def read(
        self, after: int = 0, *, incident: str | None = None, limit: int | None = None
    ) -> list[Recorded]:
        """Events after `seq`, oldest first; of one incident if named."""
        args: dict[str, Any] = {"after": after, "incident": incident}
        if incident is None:
            sql = f"SELECT {COLUMNS} FROM events WHERE seq > :after ORDER BY seq"
        else:
            sql = READ_INCIDENT.format(columns=COLUMNS)
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            rows = await self._db.execute_fetchall(sql, args)
        except sqlite3.DatabaseError as exc:
            raise _explain(exc, self.path) from None
        return [decode(row) for row in rows]

    async def read_recent(self, kinds: Sequence[str], limit: int) -> list[Recorded]:
        """The last `limit` events of these kinds, oldest first (the console's live feed)."""
        marks = ",".join("?" * len(kinds))
        rows = await self._db.execute_fetchall(
            f"SELECT {COLUMNS} FROM events WHERE kind IN ({marks}) ORDER BY seq DESC LIMIT ?",
            (*kinds, limit),
        )
        return [decode(row) for row in reversed(list(rows))]

    async def read_kind(self, kind: str) -> list[Recorded]:
        """Every event of one kind, oldest first (dead letters, for instance)."""
        rows = await self._db.execute_fetchall(
            f"SELECT {COLUMNS} FROM events WHERE kind = ? ORDER BY seq",
            (kind,),
        )
        return [decode(row) for row in rows]

    async def registered_plans(self) -> list[Recorded]:
        """Every plan registration, found through the facts (a year's log is too long to scan)."""
        rows = await self._db.execute_fetchall(
            f"SELECT {COLUMNS} FROM events WHERE seq IN "
            "(SELECT seq FROM facts WHERE incident IS NULL AND kind = 'plan.registered') ORDER BY seq"
        )
        return [decode(row) for row in rows]

    async def facts(self, low: str, high: str) -> AsyncIterator[list[FactRow]]:
        """Read from the `facts` table each transaction fills (see `schema.COPY_FACTS`)."""
        sql = (
            f"SELECT kind, at, incident, drill, {', '.join(FACT_COLUMNS)} FROM facts "
            "WHERE incident >= ? AND incident < ? ORDER BY incident, seq"
        )
        async for rows in self._batches(sql, [low, high]):
            yield rows

    async def fields(
        self, kinds: Mapping[str, Sequence[str]], *, between: tuple[datetime, datetime]
    ) -> AsyncIterator[list[FactRow]]:
        """Extract the fields with json_extract, the kinds' partial index finding the rows."""
        check_names(kinds)
        # kinds as literals, so that a partial index on these kinds can serve the query
        kind = f"kind IN ({quoted(kinds)})"
        sql = (
            f"SELECT kind, at, incident, drill, {', '.join(extracts(kinds))} FROM events "
            f"WHERE {kind} AND at >= ? AND at < ? ORDER BY seq"
        )
        async for rows in self._batches(sql, [micros(between[0]), micros(between[1])]):
            yield rows

    async def _batches(self, sql: str, args: list[Any]) -> AsyncIterator[list[Row]]:
        try:
            async with self._db.execute(sql, args) as cursor:
                while rows := await cursor.fetchmany(READ_BATCH):
                    yield rows  # type: ignore[misc]  # plain tuples: no row factory is set
        except sqlite3.DatabaseError as exc:
            raise _explain(exc, self.path) from None

    async def iterate(self, after: int = 0) -> AsyncIterator[list[Recorded]]:
        """Every event after `after`, in batches (restart, verification)."""
        while True:
            batch = await self.read(after, limit=READ_BATCH)
            if not batch:
                return
            yield batch
            after = batch[-1].seq

    async def changed(self) -> bool:
        """True when another connection has committed since the last call (cheap to poll)."""
        rows = await self._db.execute_fetchall("PRAGMA data_version")
        version = int(next(iter(rows))[0])
        changed = self._data_version is not None and version != self._data_version
        self._data_version = version
        return changed

    async def wait_changed(self, within: float, *, every: float) -> bool:
        return await polled(self.changed, within, every)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction at a time on this connection: BEGIN IMMEDIATE, then commit, or
        roll back on any error (the connection is shared by the tasks of one process)."""
        async with self._write_lock:
            db = self._db
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise _explain(exc, self.path) from None
            try:
                yield db
                await db.commit()
            except sqlite3.OperationalError as exc:  # full, I/O error, locked at commit
                await _roll_back(db)
                raise _explain(exc, self.path) from None
            except BaseException:
                await _roll_back(db)
                raise

    @asynccontextmanager
    async def transaction(self, *, after: int, now: datetime) -> AsyncIterator[Appending]:
        """One write: BEGIN IMMEDIATE, read what others wrote since `after`, append, commit."""
        async with self._writing() as db:
            # the caller's last event too, for its hash: one query where two would do
            sql = f"SELECT {COLUMNS}, hash FROM events WHERE seq >= ? ORDER BY seq"
            rows = list(await db.execute_fetchall(sql, (after,)))
            if rows:
                last_seq, last_hash = rows[-1][0], rows[-1][9]
                if rows[0][0] == after:
                    del rows[0]  # the caller has it
            else:  # an empty log, or `after` past its end
                last = "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
                found = list(await db.execute_fetchall(last))
                last_seq, last_hash = found[0] if found else (0, GENESIS)
            tail = [decode(row) for row in rows]
            txn = Appending(tail, last_seq, last_hash, now, self._existing)
            yield txn
            indexed = await self._write_queued(db, txn)
        self._indexed = max(self._indexed, indexed)  # only once that is committed

    async def adopt(self, rows: Sequence[Row]) -> None:
        """Append rows another adapter stored, hashes and all (a PostgreSQL log's backup): they
        must continue this log's chain, which `verify` checks as for any other row."""
        async with self._writing() as db:
            await db.executemany(_INSERT, rows)
            await db.execute(COPY_FACTS, (rows[0][0] - 1,))
            for statement in INDEX_INCIDENTS:
                await db.execute(statement)

    async def _existing(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = await self._db.execute_fetchall(
                f"SELECT key FROM events WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
            found.update(row[0] for row in rows)
        return found

    async def _write_queued(self, db: aiosqlite.Connection, txn: Appending) -> int:
        """Write what the transaction queued (the caller commits). Returns how far the incident
        index now reaches, as far as this connection knows."""
        indexed = self._indexed
        if txn.rows:
            try:
                await _insert(db, _EVENTS, txn.rows)
            except sqlite3.IntegrityError as exc:
                if "events.key" in str(exc):
                    raise DuplicateKeyError(f"{self.path}: {exc}") from None
                raise
            if any(row[2] in FACTS_V4 for row in txn.rows):
                await db.execute(COPY_FACTS, (txn.rows[0][0] - 1,))
            if txn.last_seq - self._indexed >= INDEX_EVERY:
                for statement in INDEX_INCIDENTS:
                    await db.execute(statement)
                indexed = txn.last_seq
        if txn.seen:
            touched = [(device, micros(when)) for device, when in txn.seen.items()]
            await _insert(db, "INSERT INTO liveness (device, last_seen)", touched, _TOUCH)
        return indexed

    async def liveness(self) -> dict[str, datetime]:
        """When each device was last heard from."""
        rows = await self._db.execute_fetchall("SELECT device, last_seen FROM liveness")
        return {device: from_micros(seen) for device, seen in rows}

    async def lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta, *, alive: Callable[[str], bool]
    ) -> str | None:
        """Take or renew the lease `name` for `holder` until now + ttl. Returns None when taken,
        else the other holder, whose lease has not expired and who is `alive`."""
        async with self._writing() as db:
            rows = list(
                await db.execute_fetchall("SELECT holder, expires FROM leases WHERE name = ?", (name,))
            )
            if rows and rows[0][0] != holder and rows[0][1] > micros(now) and alive(rows[0][0]):
                return str(rows[0][0])
            await db.execute(
                "INSERT OR REPLACE INTO leases (name, holder, expires) VALUES (?, ?, ?)",
                (name, holder, micros(now + ttl)),
            )
        return None

    async def holder(self, name: str, now: datetime, *, alive: Callable[[str], bool]) -> str | None:
        sql = "SELECT holder, expires FROM leases WHERE name = ?"
        rows = list(await self._db.execute_fetchall(sql, (name,)))
        if rows and rows[0][1] > micros(now) and alive(rows[0][0]):
            return str(rows[0][0])
        return None

    async def release(self, name: str, holder: str) -> None:
        async with self._writing() as db:
            await db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def _snapshot(self) -> Stored | None:
        """The latest snapshot as stored: (seq, data as UTF-8 bytes, seal), None when there is none."""
        sql = "SELECT seq, data, seal FROM snapshots ORDER BY seq DESC LIMIT 1"
        rows = list(await self._db.execute_fetchall(sql))
        if not rows:
            return None
        seq, data, stored = rows[0]
        return int(seq), data if isinstance(data, bytes) else str(data), stored

    async def load_snapshot(self) -> tuple[int, dict[str, Any]] | None:
        return await open_snapshot(await self._snapshot(), self.chain_hash)

    async def chain_hash(self, seq: int) -> str | None:
        if seq == 0:
            return GENESIS
        rows = list(await self._db.execute_fetchall("SELECT hash FROM events WHERE seq = ?", (seq,)))
        return str(rows[0][0]) if rows else None

    async def save_snapshot(self, seq: int, data: dict[str, Any], now: datetime) -> None:
        """Cache the projection at `seq` so a restart replays only what came after."""
        text = encode(data)
        head = await self.chain_hash(seq)
        if head is None:
            raise StoreError(f"{self.path}: no event {seq} to take a snapshot at")
        async with self._writing() as db:
            await db.execute(
                "INSERT OR REPLACE INTO snapshots (seq, taken_at, data, seal) VALUES (?, ?, ?, ?)",
                (seq, micros(now), text.encode(), seal(head, text)),
            )
            await db.execute("DELETE FROM snapshots WHERE seq < ?", (seq,))

    async def backup(self, target: Path) -> None:
        """A consistent copy, safe while other processes write."""
        if target.exists():  # noqa: ASYNC240 - one stat before a long copy
            raise StoreError(f"{target} exists already; choose a new file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(target) as copy:
            await self._db.backup(copy)

    async def verify(self) -> Verification:
        """Walk the hash chain: any edited, removed or inserted row breaks it from there on; check
        the snapshot's seal and the schema with its append-only triggers."""
        problems = await schema_problems(self._db)
        problems += await snapshot_problems(await self._snapshot(), self.chain_hash)
        return await walk(self._batches(f"SELECT {COLUMNS}, hash FROM events ORDER BY seq", []), problems)


async def _roll_back(db: aiosqlite.Connection) -> None:
    """Roll back what failed; SQLite may have rolled back by itself already (a full disk does)."""
    with contextlib.suppress(sqlite3.OperationalError):
        await db.rollback()


def _explain(exc: sqlite3.DatabaseError, path: Path) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StorageUnavailable(f"{path}: the database is locked by another process; try again ({text})")
    if "full" in text or "disk I/O" in text or "readonly" in text or "read-only" in text:
        return StorageUnavailable(f"{path}: the database cannot be written ({text})")
    if "unable to open" in text:
        return StorageUnavailable(f"{path}: cannot open the database ({text}); is its folder writable?")
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path}: not a usable dutydesk database ({text})")
    return StoreError(f"{path}: {text}")
