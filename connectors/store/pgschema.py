"""The PostgreSQL adapter's schema: the migrations that build it, and the advisory locks and
notification channel every dutydesk process on one database agrees on.

The log's columns are SQLite's (`chain.COLUMNS`), so rows and hashes are the same on both. The
log and its KPI facts are append-only twice over: a trigger refuses UPDATE, DELETE and TRUNCATE
for everyone, and the privileges to do them are revoked from everyone but a superuser (who must
first drop the trigger, which `audit verify` then finds in the broken hash chain).
"""

from __future__ import annotations

from dutydesk.connectors.store.chain import FACT_COLUMNS

# pg_advisory_xact_lock keys: arbitrary, fixed, and spelled once. Appends hold APPEND_LOCK for
# their transaction, so the hash chain always extends the row committed last.
APPEND_LOCK = 0x64757479_0001
MIGRATE_LOCK = 0x64757479_0002
# pg_notify channel: a commit's wake-up for followers, carrying nothing they must not re-read
CHANNEL = "dutydesk_log"

_APPEND_ONLY = """CREATE FUNCTION dutydesk_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the event log is append-only (% on %)', TG_OP, TG_TABLE_NAME; END $$"""


def _append_only(table: str) -> tuple[str, ...]:
    return (
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION dutydesk_append_only()""",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION dutydesk_append_only()""",
        # the owner too: it keeps the right to grant them back, which an audit of grants shows
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC, CURRENT_USER",
    )


MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE dutydesk_schema (version INTEGER NOT NULL)",
        "INSERT INTO dutydesk_schema VALUES (0)",
        # incident ids and keys compare byte by byte, as in SQLite, whatever the database's locale
        """CREATE TABLE events (
            seq BIGINT PRIMARY KEY,
            key TEXT COLLATE "C" NOT NULL UNIQUE,
            kind TEXT COLLATE "C" NOT NULL,
            at BIGINT NOT NULL,
            logged_at BIGINT NOT NULL,
            incident TEXT COLLATE "C",
            actor TEXT NOT NULL,
            drill SMALLINT NOT NULL,
            data TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX events_by_incident ON events(incident, seq) WHERE incident IS NOT NULL",
        "CREATE INDEX events_by_kind ON events(kind, seq)",
        "CREATE INDEX events_alarms_by_time ON events(at) WHERE kind IN ('alarm.observed', 'alarm.changed')",
        # the KPI facts (`chain.FACTS_V4`), as JSON values, copied by each transaction that appends
        f"""CREATE TABLE facts (
            seq BIGINT PRIMARY KEY,
            kind TEXT COLLATE "C" NOT NULL,
            at BIGINT NOT NULL,
            incident TEXT COLLATE "C" NOT NULL,
            drill SMALLINT NOT NULL,
            {", ".join(f"{column} JSONB" for column in FACT_COLUMNS)}
        )""",
        "CREATE INDEX facts_by_incident ON facts(incident, seq)",
        _APPEND_ONLY,
        *_append_only("events"),
        *_append_only("facts"),
        "CREATE TABLE liveness (device TEXT PRIMARY KEY, last_seen BIGINT NOT NULL)",
        "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires BIGINT NOT NULL)",
        "CREATE TABLE snapshots (seq BIGINT PRIMARY KEY, taken_at BIGINT NOT NULL, data TEXT NOT NULL)",
    ),
    # snapshots sealed to the chain position they cover (`chain.seal`): a forged one is refused
    ("ALTER TABLE snapshots ADD COLUMN seal TEXT",),
)
SCHEMA_VERSION = len(MIGRATIONS)
