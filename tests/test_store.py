"""The event log on a real SQLite file: append-only, idempotent, tamper-evident, honest about
files it cannot use."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from dutydesk.connectors.store import SCHEMA_VERSION, DuplicateKeyError, SqliteEventStore, StoreError
from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.events import NoteAdded
from tests.conftest import MONDAY


def note(n: int, incident: str = "20261123-001") -> Keyed:
    return Keyed(
        f"note-{n}",
        NoteAdded(at=MONDAY + timedelta(seconds=n), incident=incident, actor="t", text=f"第{n}条"),
    )


async def append(store: SqliteEventStore, *items: Keyed) -> None:
    async with store.transaction(after=await store.head(), now=MONDAY) as txn:
        txn.append(items)


async def test_appends_and_reads_back_in_order(tmp_path: Path) -> None:
    async with await SqliteEventStore.open(tmp_path / "log.db") as store:
        await append(store, note(1), note(2))
        await append(store, note(3, incident="20261123-002"))
        events = await store.read()
        assert [(r.seq, r.key) for r in events] == [(1, "note-1"), (2, "note-2"), (3, "note-3")]
        assert events[0].event == note(1).event
        assert [r.seq for r in await store.read(0, incident="20261123-002")] == [3]
        assert [r.seq for r in await store.read(1, limit=1)] == [2]


async def test_database_is_configured_for_durability(tmp_path: Path) -> None:
    async with await SqliteEventStore.open(tmp_path / "log.db"):
        pass
    db = sqlite3.connect(tmp_path / "log.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_the_log_refuses_update_and_delete(tmp_path: Path) -> None:
    async with await SqliteEventStore.open(tmp_path / "log.db") as store:
        await append(store, note(1))
    db = sqlite3.connect(tmp_path / "log.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET actor = 'someone else'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events")


async def test_keys_are_unique_and_visible(tmp_path: Path) -> None:
    async with await SqliteEventStore.open(tmp_path / "log.db") as store:
        await append(store, note(1))
        async with store.transaction(after=1, now=MONDAY) as txn:
            assert await txn.existing(["note-1", "note-9"]) == {"note-1"}
        with pytest.raises(DuplicateKeyError):
            await append(store, note(1))
        assert await store.head() == 1  # the failed batch left nothing behind


async def test_a_transaction_sees_what_others_committed(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    async with await SqliteEventStore.open(path) as one, await SqliteEventStore.open(path) as two:
        await append(one, note(1))
        async with two.transaction(after=0, now=MONDAY) as txn:
            assert [r.key for r in txn.tail] == ["note-1"]
            txn.append([note(2)])
        assert [r.seq for r in await one.read()] == [1, 2]


async def test_verify_detects_tampering(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    async with await SqliteEventStore.open(path) as store:
        await append(store, note(1), note(2), note(3))
        assert (await store.verify()).ok
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET data = replace(data, '第2条', '第二条') WHERE seq = 2")
    db.commit()
    async with await SqliteEventStore.open(path) as store:
        result = await store.verify()
    assert (result.ok, result.broken_at, result.events) == (False, 2, 1)


async def test_verify_detects_a_removed_event(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    async with await SqliteEventStore.open(path) as store:
        await append(store, note(1), note(2), note(3))
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER events_no_delete")
    db.execute("DELETE FROM events WHERE seq = 2")
    db.commit()
    async with await SqliteEventStore.open(path) as store:
        result = await store.verify()
    assert (result.broken_at, result.reason) == (3, "event 2 is missing")


async def test_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a usable dutydesk database"):
        await SqliteEventStore.open(path)
    assert path.read_bytes().startswith(b"this is not sqlite")  # left as it was


async def test_refuses_someone_elses_database(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE payroll (name TEXT)")
    with pytest.raises(StoreError, match="not a dutydesk database"):
        await SqliteEventStore.open(path)


async def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this dutydesk"):
        await SqliteEventStore.open(path)


async def test_a_locked_database_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    async with await SqliteEventStore.open(path) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            async with await SqliteEventStore.open(path, busy_timeout=0.1) as slow:
                with pytest.raises(StoreError, match="locked by another process"):
                    await append(slow, note(1))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        await append(store, note(1))
        assert await store.head() == 1


async def test_snapshots_replace_older_ones(tmp_path: Path) -> None:
    async with await SqliteEventStore.open(tmp_path / "log.db") as store:
        assert await store.load_snapshot() is None
        await store.save_snapshot(5, {"version": 1, "n": 5}, MONDAY)
        await store.save_snapshot(9, {"version": 1, "n": 9}, MONDAY)
        assert await store.load_snapshot() == (9, {"version": 1, "n": 9})


async def test_backup_is_consistent_while_another_connection_writes(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    async with await SqliteEventStore.open(path) as store, await SqliteEventStore.open(path) as writer:
        await append(store, *(note(n) for n in range(1, 501)))

        async def keep_writing() -> None:
            for n in range(501, 601):
                await append(writer, note(n))

        await asyncio.gather(keep_writing(), store.backup(tmp_path / "copy.db"))
    async with await SqliteEventStore.open(tmp_path / "copy.db") as copy:
        result = await copy.verify()
    assert result.ok and 500 <= result.events <= 600
    with pytest.raises(StoreError, match="exists already"):
        async with await SqliteEventStore.open(path) as store:
            await store.backup(tmp_path / "copy.db")
