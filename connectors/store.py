"""The durable event log: an append-only SQLite file, written through aiosqlite.

Write-ahead logging with synchronous=FULL, one transaction per batch, a unique idempotency key
per event, triggers that refuse UPDATE and DELETE, and a hash chain that makes tampering evident.
Several processes may share the file: every write starts with BEGIN IMMEDIATE and first reads
what others committed since, so each writer decides on the latest state.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.events import Event, build, payload

GENESIS = "0" * 64
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
READ_BATCH = 20_000

# The KPI facts kept beside the log (schema 4): per event kind, the payload fields copied into
# columns a, b, c, ... of `facts`, so that a year's figures read plain columns instead of taking
# a million JSON documents apart. Frozen with the migration that made it: what the KPIs read
# (`playbooks.kpi.INCIDENT_FACTS`) may only change with a new migration.
FACTS_V4: dict[str, tuple[str, ...]] = {
    "plan.registered": (),  # found through the facts' index: the log has none by kind
    "incident.opened": ("plan_fingerprint", "severity", "location"),
    "incident.severity": ("severity",),
    "incident.milestone": ("milestone",),
    "obligation.met": ("obligation", "occurrence", "margin_seconds"),
    "obligation.breached": ("obligation", "occurrence"),
    "rectification.added": ("item", "anchor_at", "workdays", "content", "owner"),
    "rectification.done": ("item",),
}
FACT_COLUMNS = ("a", "b", "c", "d", "e")


def _extracts(fields: Mapping[str, Sequence[str]], row: str) -> list[str]:
    """One SQL expression per fact column: the field that kind keeps there, from `row`'s data."""
    columns = []
    for n in range(max(map(len, fields.values()))):
        cases = " ".join(
            f"WHEN '{kind}' THEN json_extract({row}data, '$.{names[n]}')"
            for kind, names in fields.items()
            if n < len(names)
        )
        columns.append(f"CASE {row}kind {cases} END")
    return columns


def _copy_facts(fields: Mapping[str, Sequence[str]], after: str) -> str:
    """Copy the facts of the events after seq `after` (each transaction copies those it appends:
    one statement per batch costs far less than a trigger on every row)."""
    kinds = ", ".join(f"'{kind}'" for kind in fields)
    return (
        f"INSERT INTO facts SELECT seq, kind, at, incident, drill, {', '.join(_extracts(fields, ''))} "
        f"FROM events WHERE seq > {after} AND kind IN ({kinds})"
    )


def _facts_migration(fields: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE facts (
            seq INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            at INTEGER NOT NULL,
            incident TEXT,
            drill INTEGER NOT NULL,
            {", ".join(FACT_COLUMNS)}
        )""",
        "CREATE INDEX facts_by_incident ON facts(incident, seq)",
        _copy_facts(fields, "0"),
        """CREATE TRIGGER facts_no_update BEFORE UPDATE ON facts
           BEGIN SELECT RAISE(ABORT, 'the facts follow the append-only log'); END""",
        """CREATE TRIGGER facts_no_delete BEFORE DELETE ON facts
           BEGIN SELECT RAISE(ABORT, 'the facts follow the append-only log'); END""",
    )


MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            at INTEGER NOT NULL,
            logged_at INTEGER NOT NULL,
            incident TEXT,
            actor TEXT NOT NULL,
            drill INTEGER NOT NULL,
            data TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX events_by_incident ON events(incident, seq)",
        """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
           BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
        """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
           BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
        """CREATE TABLE snapshots (
            seq INTEGER PRIMARY KEY,
            taken_at INTEGER NOT NULL,
            data BLOB NOT NULL
        )""",
    ),
    (
        # when each device was last heard from; heartbeats are too many to log as events
        """CREATE TABLE liveness (
            device TEXT PRIMARY KEY,
            last_seen INTEGER NOT NULL
        )""",
    ),
    (
        # who runs the engine on this database: one at a time (one broker session, one timer)
        """CREATE TABLE leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires INTEGER NOT NULL
        )""",
    ),
    (
        # alarm load over a month or a year without scanning the whole log; partial, so appending
        # any other kind of event costs nothing more
        "CREATE INDEX events_alarms_by_time ON events(at) WHERE kind IN ('alarm.observed', 'alarm.changed')",
        *_facts_migration(FACTS_V4),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
COPY_FACTS = _copy_facts(FACTS_V4, "?")


class StoreError(Exception):
    """The database cannot be used: locked, corrupt, too new, or not a dutydesk file."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """An event as stored: its place in the log and when it was written."""

    seq: int
    key: str
    logged_at: datetime
    event: Event


@dataclass(frozen=True, slots=True)
class Verification:
    events: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _micros(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    return round(when.timestamp() * 1_000_000)


def _from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def _chain(previous: str, row: Sequence[Any]) -> str:
    """The hash of a row, chained to the one before it."""
    return hashlib.sha256(f"{previous}|{'|'.join(map(str, row))}".encode()).hexdigest()


def _decode(row: Sequence[Any]) -> Recorded:
    seq, key, kind, at, logged_at, incident, actor, drill, data = row[:9]
    event = build(
        kind,
        json.loads(data),
        at=_from_micros(at),
        incident=incident,
        actor=actor,
        drill=bool(drill),
    )
    return Recorded(seq, key, _from_micros(logged_at), event)


_COLUMNS = "seq, key, kind, at, logged_at, incident, actor, drill, data"


@dataclass(slots=True)
class Transaction:
    """Inside one write: what others committed since `after`, and the events to append."""

    tail: list[Recorded]
    last_seq: int
    last_hash: str
    logged_at: datetime
    _db: aiosqlite.Connection
    _rows: list[tuple[Any, ...]] = field(default_factory=list)
    _seen: dict[str, datetime] = field(default_factory=dict)

    def touch(self, seen: dict[str, datetime]) -> None:
        """Record when devices were last heard from, with this transaction."""
        self._seen.update(seen)

    async def existing(self, keys: Sequence[str]) -> set[str]:
        """Which of these idempotency keys are already in the log."""
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.execute_fetchall(
                f"SELECT key FROM events WHERE key IN ({marks})",
                chunk,
            )
            found.update(row[0] for row in rows)
        return found

    def append(self, events: Iterable[Keyed]) -> list[Recorded]:
        """Queue events for this transaction's commit; returns them with their places in the log."""
        stored = []
        logged = _micros(self.logged_at)
        for item in events:
            event = item.event
            self.last_seq += 1
            row = (
                self.last_seq,
                item.key,
                event.kind,
                _micros(event.at),
                logged,
                event.incident,
                event.actor,
                int(event.drill),
                _encode(payload(event)),
            )
            self.last_hash = _chain(self.last_hash, row)
            self._rows.append((*row, self.last_hash))
            stored.append(Recorded(self.last_seq, item.key, self.logged_at, event))
        return stored


class SqliteEventStore:
    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        self._data_version: int | None = None
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, busy_timeout: float = 5.0) -> SqliteEventStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout)
        store = cls(db, path)
        try:
            await store._prepare(busy_timeout)
        except sqlite3.DatabaseError as exc:
            await db.close()
            raise _explain(exc, path) from None
        except BaseException:
            await db.close()
            raise
        return store

    async def _prepare(self, busy_timeout: float) -> None:
        db = self._db
        await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = await db.execute_fetchall("PRAGMA journal_mode = WAL")
        if next(iter(mode))[0] != "wal":
            raise StoreError(f"{self.path}: cannot switch to write-ahead logging")
        await db.execute("PRAGMA synchronous = FULL")
        version = next(iter(await db.execute_fetchall("PRAGMA user_version")))[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this dutydesk "
                f"understands ({SCHEMA_VERSION}); upgrade dutydesk"
            )
        if version < SCHEMA_VERSION:
            await self._migrate()

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
        where, args = "seq > ?", [after]
        if incident is not None:
            where += " AND incident = ?"
            args.append(incident)  # type: ignore[arg-type]
        sql = f"SELECT {_COLUMNS} FROM events WHERE {where} ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            rows = await self._db.execute_fetchall(sql, args)
        except sqlite3.DatabaseError as exc:
            raise _explain(exc, self.path) from None
        return [_decode(row) for row in rows]

    async def read_recent(self, kinds: Sequence[str], limit: int) -> list[Recorded]:
        """The last `limit` events of these kinds, oldest first (the console's live feed)."""
        marks = ",".join("?" * len(kinds))
        rows = await self._db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE kind IN ({marks}) ORDER BY seq DESC LIMIT ?",
            (*kinds, limit),
        )
        return [_decode(row) for row in reversed(list(rows))]

    async def read_kind(self, kind: str) -> list[Recorded]:
        """Every event of one kind, oldest first (dead letters, for instance)."""
        rows = await self._db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE kind = ? ORDER BY seq",
            (kind,),
        )
        return [_decode(row) for row in rows]

    async def registered_plans(self) -> list[Recorded]:
        """Every plan registration, found through the facts (a year's log is too long to scan)."""
        rows = await self._db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE seq IN "
            "(SELECT seq FROM facts WHERE incident IS NULL AND kind = 'plan.registered') ORDER BY seq"
        )
        return [_decode(row) for row in rows]

    async def facts(self, low: str, high: str) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The KPI facts (`FACTS_V4`) of the incidents with ids in [low, high), in incident order
        and log order within each, in batches: rows of (kind, at in microseconds, incident,
        drill, a, b, c, d, e)."""
        sql = (
            f"SELECT kind, at, incident, drill, {', '.join(FACT_COLUMNS)} FROM facts "
            "WHERE incident >= ? AND incident < ? ORDER BY incident, seq"
        )
        async for rows in self._batches(sql, [low, high]):
            yield rows

    async def fields(
        self, kinds: Mapping[str, Sequence[str]], *, between: tuple[datetime, datetime]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """A few payload fields of the events of some kinds at times in [start, end), in log
        order and in batches: rows of (kind, at in microseconds, incident, drill, field, ...), the
        fields in the order `kinds` names them for each kind."""
        for name in (*kinds, *(f for names in kinds.values() for f in names)):
            if not _NAME.match(name):
                raise ValueError(f"not an event kind or field name: {name!r}")
        # kinds as literals, so that a partial index on these kinds can serve the query
        kind = f"kind IN ({_quoted(kinds)})"
        sql = (
            f"SELECT kind, at, incident, drill, {', '.join(_extracts(kinds, ''))} FROM events "
            f"WHERE {kind} AND at >= ? AND at < ? ORDER BY seq"
        )
        async for rows in self._batches(sql, [_micros(between[0]), _micros(between[1])]):
            yield rows

    async def _batches(self, sql: str, args: list[Any]) -> AsyncIterator[list[tuple[Any, ...]]]:
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
            except BaseException:
                await db.rollback()
                raise

    @asynccontextmanager
    async def transaction(self, *, after: int, now: datetime) -> AsyncIterator[Transaction]:
        """One write: BEGIN IMMEDIATE, read what others wrote since `after`, append, commit."""
        async with self._writing() as db:
            rows = await db.execute_fetchall(
                f"SELECT {_COLUMNS}, hash FROM events WHERE seq > ? ORDER BY seq",
                (after,),
            )
            tail = [_decode(row) for row in rows]
            if tail:
                last_seq, last_hash = tail[-1].seq, list(rows)[-1][9]
            else:
                last = list(
                    await db.execute_fetchall("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
                )
                last_seq, last_hash = (last[0][0], last[0][1]) if last else (0, GENESIS)
            txn = Transaction(tail, last_seq, last_hash, now, db)
            yield txn
            if txn._rows:
                await db.executemany(
                    f"INSERT INTO events ({_COLUMNS}, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    txn._rows,
                )
                await db.execute(COPY_FACTS, (txn._rows[0][0] - 1,))
            if txn._seen:
                await db.executemany(
                    "INSERT INTO liveness (device, last_seen) VALUES (?, ?) ON CONFLICT(device) "
                    "DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
                    [(device, _micros(when)) for device, when in txn._seen.items()],
                )

    async def liveness(self) -> dict[str, datetime]:
        """When each device was last heard from."""
        rows = await self._db.execute_fetchall("SELECT device, last_seen FROM liveness")
        return {device: _from_micros(seen) for device, seen in rows}

    async def lease(
        self, name: str, holder: str, now: datetime, ttl: timedelta, *, alive: Callable[[str], bool]
    ) -> str | None:
        """Take or renew the lease `name` for `holder` until now + ttl. Returns None when taken,
        else the other holder, whose lease has not expired and who is `alive`."""
        async with self._writing() as db:
            rows = list(
                await db.execute_fetchall("SELECT holder, expires FROM leases WHERE name = ?", (name,))
            )
            if rows and rows[0][0] != holder and rows[0][1] > _micros(now) and alive(rows[0][0]):
                return str(rows[0][0])
            await db.execute(
                "INSERT OR REPLACE INTO leases (name, holder, expires) VALUES (?, ?, ?)",
                (name, holder, _micros(now + ttl)),
            )
        return None

    async def release(self, name: str, holder: str) -> None:
        async with self._writing() as db:
            await db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def load_snapshot(self) -> tuple[int, dict[str, Any]] | None:
        rows = list(
            await self._db.execute_fetchall("SELECT seq, data FROM snapshots ORDER BY seq DESC LIMIT 1")
        )
        if not rows:
            return None
        try:
            return int(rows[0][0]), json.loads(rows[0][1])
        except ValueError:
            return None  # a damaged snapshot is only a cache: replay the log instead

    async def save_snapshot(self, seq: int, data: dict[str, Any], now: datetime) -> None:
        """Cache the projection at `seq` so a restart replays only what came after."""
        blob = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        async with self._writing() as db:
            await db.execute(
                "INSERT OR REPLACE INTO snapshots (seq, taken_at, data) VALUES (?, ?, ?)",
                (seq, _micros(now), blob),
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
        """Walk the hash chain: any edited, removed or inserted row breaks it from there on."""
        previous, expected_seq, count = GENESIS, 1, 0
        after = 0
        while True:
            rows = list(
                await self._db.execute_fetchall(
                    f"SELECT {_COLUMNS}, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                    (after, READ_BATCH),
                )
            )
            if not rows:
                return Verification(count)
            for row in rows:
                if row[0] != expected_seq:
                    return Verification(count, row[0], f"event {expected_seq} is missing")
                if _chain(previous, row[:9]) != row[9]:
                    return Verification(count, row[0], f"event {row[0]} does not match its hash")
                previous, expected_seq, count = row[9], expected_seq + 1, count + 1
            after = rows[-1][0]


_NAME = re.compile(r"^[a-z][a-z0-9_.]*$")


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _explain(exc: sqlite3.DatabaseError, path: Path) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(f"{path}: the database is locked by another process; try again ({text})")
    if "not a database" in text or "malformed" in text:
        return StoreError(f"{path}: not a usable dutydesk database ({text})")
    return StoreError(f"{path}: {text}")
