"""The server event store: the append-only log in PostgreSQL, through psycopg 3's async API.

Several engine nodes, consoles and command lines share one database. Every append takes one
transaction-scoped advisory lock, reads what others committed since, and chains its rows to the
last committed one, so the hash chain stays whole however many processes write. Commits are
durable when they return (synchronous_commit as the server has it; on by default). A commit that
appended anything sends a `pg_notify`: a wake-up only, followers re-read from their last sequence
number, so a missed notification loses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb

from dutydesk.connectors.store.chain import (
    COLUMNS,
    FACT_COLUMNS,
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
    seal,
    snapshot_problems,
    walk,
)
from dutydesk.connectors.store.pgschema import APPEND_LOCK, CHANNEL, MIGRATE_LOCK, MIGRATIONS, SCHEMA_VERSION
from dutydesk.connectors.store.port import DuplicateKeyError, FactRow, Recorded, StoreError, Verification
from dutydesk.connectors.store.sqlite import SqliteEventStore

_ROW = f"{COLUMNS}, hash"
_FACTS = f"seq, kind, at, incident, drill, {', '.join(FACT_COLUMNS)}"


def redacted(url: str) -> str:
    """The server and database of a URL, without user or password (for messages)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://?"
    return (
        f"postgresql://{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"
    )


class PostgresEventStore:
    """The `EventStore` on a PostgreSQL database, shared safely by many processes."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], url: str) -> None:
        self._conn = conn
        self._url = url
        self.path = redacted(url)
        # one connection serves the tasks of one process: one statement or transaction at a time
        self._lock = asyncio.Lock()
        self._listener: psycopg.AsyncConnection[Any] | None = None  # LISTENs, once waited on
        self._mark: int | None = None  # the head as `changed` last saw it, plus own appends

    @classmethod
    async def open(cls, url: str, *, connect_timeout: float = 10.0) -> PostgresEventStore:
        try:
            conn = await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=max(1, round(connect_timeout))
            )
        except psycopg.Error as exc:
            raise StoreError(f"{redacted(url)}: cannot connect ({str(exc).strip()})") from None
        store = cls(conn, url)
        try:
            await store._migrate()
        except BaseException:
            await conn.close()
            raise
        return store

    async def _migrate(self) -> None:
        """Bring the schema up to date in one transaction (another node may be doing the same)."""
        conn = self._conn
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
            tables = {
                row[0]
                for row in await (
                    await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                ).fetchall()
            }
            current = 0
            if "dutydesk_schema" in tables:
                found = await (await conn.execute("SELECT version FROM dutydesk_schema")).fetchone()
                current = int(found[0]) if found else 0
            elif tables:
                raise StoreError(f"{self.path}: not a dutydesk database (it has other tables)")
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: schema version {current} is newer than this dutydesk "
                    f"understands ({SCHEMA_VERSION}); upgrade dutydesk"
                )
            for step in MIGRATIONS[current:]:
                for statement in step:
                    await conn.execute(statement.encode())  # bytes: no parameters, '%' is literal
            await conn.execute("UPDATE dutydesk_schema SET version = %s", (SCHEMA_VERSION,))

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.close()
        await self._conn.close()

    async def __aenter__(self) -> PostgresEventStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        async with self._lock:
            try:
                cursor = await self._conn.execute(sql, args)
                return await cursor.fetchall()
            except psycopg.OperationalError as exc:
                raise StoreError(f"{self.path}: {str(exc).strip()}") from None

    async def head(self) -> int:
        rows = await self._fetch("SELECT COALESCE(MAX(seq), 0) FROM events")
        return int(rows[0][0])

    async def read(
        self, after: int = 0, *, incident: str | None = None, limit: int | None = None
    ) -> list[Recorded]:
        where, args = "seq > %s", list[Any]([after])
        if incident is not None:
            where, args = "incident = %s AND seq > %s", [incident, after]
        sql = f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [decode(row) for row in await self._fetch(sql, args)]

    async def iterate(self, after: int = 0) -> AsyncIterator[list[Recorded]]:
        while batch := await self.read(after, limit=READ_BATCH):
            yield batch
            after = batch[-1].seq

    async def read_recent(self, kinds: Sequence[str], limit: int) -> list[Recorded]:
        sql = f"SELECT {COLUMNS} FROM events WHERE kind = ANY(%s) ORDER BY seq DESC LIMIT %s"
        return [decode(row) for row in reversed(await self._fetch(sql, [list(kinds), limit]))]

    async def read_kind(self, kind: str) -> list[Recorded]:
        sql = f"SELECT {COLUMNS} FROM events WHERE kind = %s ORDER BY seq"
        return [decode(row) for row in await self._fetch(sql, [kind])]

    async def registered_plans(self) -> list[Recorded]:
        sql = f"SELECT {COLUMNS} FROM events WHERE kind = 'plan.registered' AND incident IS NULL ORDER BY seq"
        return [decode(row) for row in await self._fetch(sql)]

    async def facts(self, low: str, high: str) -> AsyncIterator[list[FactRow]]:
        """From the `facts` table each append fills, a batch at a time by (incident, seq)."""
        sql = (
            f"SELECT {_FACTS} FROM facts WHERE incident < %s AND (incident, seq) > (%s, %s) "
            f"ORDER BY incident, seq LIMIT {READ_BATCH}"
        )
        place: tuple[str, int] = (low, -1)
        while rows := await self._fetch(sql, [high, *place]):
            yield [row[1:] for row in rows]
            place = (rows[-1][3], rows[-1][0])

    async def fields(
        self, kinds: Mapping[str, Sequence[str]], *, between: tuple[datetime, datetime]
    ) -> AsyncIterator[list[FactRow]]:
        """The events found by kind and time, their fields taken from the JSON here, as the
        fake does (`chain.fact_row`), so the values are typed alike on every adapter."""
        check_names(kinds)
        width = max(map(len, kinds.values()))
        sql = (
            f"SELECT {COLUMNS} FROM events WHERE kind = ANY(%s) AND at >= %s AND at < %s AND seq > %s "
            f"ORDER BY seq LIMIT {READ_BATCH}"
        )
        start, end, after = micros(between[0]), micros(between[1]), 0
        while rows := await self._fetch(sql, [list(kinds), start, end, after]):
            yield [fact_row(row, kinds[row[2]], width) for row in rows]
            after = rows[-1][0]

    async def changed(self) -> bool:
        """True when another connection appended since the last call: the head moved further
        than this connection's own appends took it (one index lookup)."""
        head = await self.head()
        changed = self._mark is not None and head != self._mark
        self._mark = head
        return changed

    async def wait_changed(self, within: float, *, every: float = 0) -> bool:
        """Wait up to `within` seconds for another connection's append, woken by its
        notification (a notification is only a wake-up: `changed` reads the truth); `every` is
        for adapters that poll."""
        try:
            if self._listener is None:  # listen before looking, so no commit falls between
                self._listener = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                await self._listener.execute(f"LISTEN {CHANNEL}")
            # notifications that came while the caller was busy: the look at the head covers them
            async for _ in self._listener.notifies(timeout=0):
                pass
            if await self.changed():
                return True
            # wakes at the next notification (with any that came in the same read)
            async for _ in self._listener.notifies(timeout=within, stop_after=1):
                pass
        except psycopg.OperationalError as exc:
            raise StoreError(f"{self.path}: {str(exc).strip()}") from None
        return await self.changed()

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with self._lock:
            try:
                async with self._conn.transaction():
                    yield self._conn
            except psycopg.OperationalError as exc:
                raise StoreError(f"{self.path}: {str(exc).strip()}") from None

    @asynccontextmanager
    async def transaction(self, *, after: int, now: datetime) -> AsyncIterator[Appending]:
        """One write: take the append lock, read what others wrote since `after`, append, commit."""
        async with self._writing() as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))
            cursor = await conn.execute(f"SELECT {_ROW} FROM events WHERE seq >= %s ORDER BY seq", (after,))
            rows = await cursor.fetchall()
            if rows:
                last_seq, last_hash = rows[-1][0], rows[-1][9]
                if rows[0][0] == after:
                    del rows[0]  # the caller has it
            else:  # an empty log, or `after` past its end
                cursor = await conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
                found = await cursor.fetchone()
                last_seq, last_hash = found if found else (0, GENESIS)
            txn = Appending([decode(row) for row in rows], last_seq, last_hash, now, self._existing)
            yield txn
            await self._write_queued(conn, txn)
        if self._mark is not None:
            self._mark += len(txn.rows)  # committed: not news to this connection

    async def _existing(self, keys: Sequence[str]) -> set[str]:
        cursor = await self._conn.execute("SELECT key FROM events WHERE key = ANY(%s)", (list(keys),))
        return {row[0] for row in await cursor.fetchall()}

    async def _write_queued(self, conn: psycopg.AsyncConnection[Any], txn: Appending) -> None:
        if txn.rows:
            cursor = conn.cursor()
            try:
                async with cursor.copy(f"COPY events ({_ROW}) FROM STDIN") as copy:
                    for row in txn.rows:
                        await copy.write_row(row)
            except errors.UniqueViolation as exc:
                raise DuplicateKeyError(f"{self.path}: {str(exc).strip()}") from None
            facts = [
                (row[0], *fact_row(row, FACTS_V4[row[2]], len(FACT_COLUMNS)))
                for row in txn.rows
                if row[2] in FACTS_V4 and row[5] is not None
            ]
            if facts:
                async with cursor.copy(f"COPY facts ({_FACTS}) FROM STDIN") as copy:
                    for fact in facts:
                        await copy.write_row(
                            [*fact[:5], *(None if v is None else Jsonb(v) for v in fact[5:])]
                        )
        if txn.seen:
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO liveness (device, last_seen) VALUES (%s, %s) ON CONFLICT (device) "
                    "DO UPDATE SET last_seen = GREATEST(liveness.last_seen, excluded.last_seen)",
                    [(device, micros(when)) for device, when in txn.seen.items()],
                )
        if txn.rows or txn.seen:
            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(txn.last_seq)))

    async def liveness(self) -> dict[str, datetime]:
        rows = await self._fetch("SELECT device, last_seen FROM liveness")
        return {device: from_micros(seen) for device, seen in rows}

    async def lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta, *, alive: Callable[[str], bool]
    ) -> str | None:
        async with self._writing() as conn:
            # a row to lock even for the first holder, so two nodes asking at once take turns
            await conn.execute(
                "INSERT INTO leases (name, holder, expires) VALUES (%s, '', 0) ON CONFLICT DO NOTHING",
                (name,),
            )
            cursor = await conn.execute(
                "SELECT holder, expires FROM leases WHERE name = %s FOR UPDATE", (name,)
            )
            found = await cursor.fetchone()
            assert found is not None  # inserted above if it was missing, and leases are never dropped
            current, expires = found
            if current not in ("", holder) and expires > micros(now) and alive(current):
                return str(current)
            await conn.execute(
                "UPDATE leases SET holder = %s, expires = %s WHERE name = %s",
                (holder, micros(now + ttl), name),
            )
        return None

    async def holder(self, name: str, now: datetime, *, alive: Callable[[str], bool]) -> str | None:
        rows = await self._fetch("SELECT holder, expires FROM leases WHERE name = %s", (name,))
        if rows and rows[0][0] and rows[0][1] > micros(now) and alive(rows[0][0]):
            return str(rows[0][0])
        return None

    async def chain_hash(self, seq: int) -> str | None:
        if seq == 0:
            return GENESIS
        rows = await self._fetch("SELECT hash FROM events WHERE seq = %s", (seq,))
        return str(rows[0][0]) if rows else None

    async def release(self, name: str, holder: str) -> None:
        async with self._writing() as conn:
            await conn.execute("DELETE FROM leases WHERE name = %s AND holder = %s", (name, holder))

    async def _snapshot(self) -> tuple[int, str, str | None] | None:
        """The latest snapshot as stored: (seq, data as text, seal), None when there is none."""
        rows = await self._fetch("SELECT seq, data, seal FROM snapshots ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1]), rows[0][2]) if rows else None

    async def load_snapshot(self) -> tuple[int, dict[str, Any]] | None:
        return await open_snapshot(await self._snapshot(), self.chain_hash)

    async def save_snapshot(self, seq: int, data: dict[str, Any], now: datetime) -> None:
        text = encode(data)
        head = await self.chain_hash(seq)
        if head is None:
            raise StoreError(f"{self.path}: no event {seq} to take a snapshot at")
        async with self._writing() as conn:
            await conn.execute(
                "INSERT INTO snapshots (seq, taken_at, data, seal) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (seq) DO UPDATE SET taken_at = excluded.taken_at, data = excluded.data, "
                "seal = excluded.seal",
                (seq, micros(now), text, seal(head, text)),
            )
            await conn.execute("DELETE FROM snapshots WHERE seq < (SELECT MAX(seq) FROM snapshots)")

    async def backup(self, target: Path) -> None:
        """The log as a dutydesk SQLite file, read in one snapshot while others write: rows and
        hashes as stored here, so `audit verify` checks it anywhere and `--database` opens it.
        (The whole cluster, leases and all, is pg_dump's or pg_basebackup's job.)"""
        if target.exists():  # noqa: ASYNC240 - one stat before a long copy
            raise StoreError(f"{target} exists already; choose a new file name")
        # a connection of its own: a repeatable-read snapshot for as long as the copy takes
        async with (
            await psycopg.AsyncConnection.connect(self._url) as source,
            await SqliteEventStore.open(target) as copy,
        ):
            await source.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
            async with source.transaction():
                after = 0
                while rows := await (
                    await source.execute(
                        f"SELECT {_ROW} FROM events WHERE seq > %s ORDER BY seq LIMIT {READ_BATCH}", (after,)
                    )
                ).fetchall():
                    await copy.adopt(rows)
                    after = rows[-1][0]

    async def verify(self) -> Verification:
        async def batches() -> AsyncIterator[list[Row]]:
            after = 0
            sql = f"SELECT {_ROW} FROM events WHERE seq > %s ORDER BY seq LIMIT {READ_BATCH}"
            while rows := await self._fetch(sql, [after]):
                yield rows
                after = rows[-1][0]

        problems = await snapshot_problems(await self._snapshot(), self.chain_hash)
        return await walk(batches(), problems)
