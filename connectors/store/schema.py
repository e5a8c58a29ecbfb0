"""The SQLite adapter's schema: the migrations that build it, and the statements that keep the
KPI facts beside the log."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence

import aiosqlite

from dutydesk.connectors.store.chain import FACT_COLUMNS, FACTS_V4


def extracts(fields: Mapping[str, Sequence[str]], row: str = "") -> list[str]:
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


def quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _copy_facts(fields: Mapping[str, Sequence[str]], after: str) -> str:
    """Copy the facts of the events after seq `after` (each transaction copies those it appends:
    one statement per batch costs far less than a trigger on every row)."""
    return (
        f"INSERT INTO facts SELECT seq, kind, at, incident, drill, {', '.join(extracts(fields))} "
        f"FROM events WHERE seq > {after} AND kind IN ({quoted(fields)})"
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
    (
        # Each incident's events, indexed a few thousand events behind the log (`INDEX_EVERY`):
        # an index kept up at every commit rewrites a page for every incident a batch touches,
        # which cost more than the rest of an append. Reads by incident find the indexed part
        # here and scan the short unindexed tail (`indexed.upto` onwards).
        """CREATE TABLE incident_index (
            incident TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (incident, seq)
        ) WITHOUT ROWID""",
        "CREATE TABLE indexed (upto INTEGER NOT NULL)",
        "INSERT INTO incident_index SELECT incident, seq FROM events WHERE incident IS NOT NULL",
        "INSERT INTO indexed SELECT COALESCE(MAX(seq), 0) FROM events",
        "DROP INDEX events_by_incident",
        """CREATE TRIGGER incident_index_no_update BEFORE UPDATE ON incident_index
           BEGIN SELECT RAISE(ABORT, 'the index follows the append-only log'); END""",
        """CREATE TRIGGER incident_index_no_delete BEFORE DELETE ON incident_index
           BEGIN SELECT RAISE(ABORT, 'the index follows the append-only log'); END""",
    ),
    (
        # a snapshot bound to the chain position it covers (`chain.seal`); older ones have none
        # and are simply not used
        "ALTER TABLE snapshots ADD COLUMN seal TEXT",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
COPY_FACTS = _copy_facts(FACTS_V4, "?")
INDEX_EVERY = 10_000  # events a read by incident may scan past the indexed part, at most

# Inside a write transaction: index what came after `indexed.upto`.
INDEX_INCIDENTS = (
    "INSERT INTO incident_index SELECT incident, seq FROM events "
    "WHERE seq > (SELECT upto FROM indexed) AND incident IS NOT NULL",
    "UPDATE indexed SET upto = (SELECT MAX(seq) FROM events)",
)
# One statement, so one snapshot: the indexed part and the tail cannot miss or repeat an event.
READ_INCIDENT = """
    SELECT {columns} FROM events
    WHERE seq IN (SELECT seq FROM incident_index WHERE incident = :incident AND seq > :after)
    UNION ALL
    SELECT {columns} FROM events
    WHERE seq > max(:after, (SELECT upto FROM indexed)) AND incident = :incident
    ORDER BY seq"""


_MASTER = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"


def _expected() -> dict[tuple[str, str], str]:
    """The tables, indexes and triggers the migrations make, from a scratch database."""
    db = sqlite3.connect(":memory:")
    try:
        for migration in MIGRATIONS:
            for statement in migration:
                db.execute(statement)
        return _normal(db.execute(_MASTER))
    finally:
        db.close()


def _normal(rows: Iterable[tuple[str, str, str | None]]) -> dict[tuple[str, str], str]:
    return {(kind, name): " ".join((sql or "").split()) for kind, name, sql in rows}


async def schema_problems(db: aiosqlite.Connection) -> list[str]:
    """What differs between the database's schema and the one dutydesk makes: a dropped or
    rewritten trigger, a missing table, an object added."""
    have = _normal(await db.execute_fetchall(_MASTER))  # type: ignore[arg-type]
    want = _expected()
    problems = [f"{kind} {name} is missing" for kind, name in want if (kind, name) not in have]
    problems += [f"{k} {n} was changed" for (k, n), sql in want.items() if have.get((k, n), sql) != sql]
    problems += [
        f"{kind} {name} does not belong to dutydesk" for kind, name in have if (kind, name) not in want
    ]
    return problems
