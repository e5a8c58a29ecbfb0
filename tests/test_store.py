"""What only the SQLite adapter has to show: a durable, append-only file, honest about files it
cannot use (everything every store must do is in test_store_contract.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from dutydesk.connectors.store import SCHEMA_VERSION, SqliteEventStore, StoreError
from dutydesk.connectors.store import sqlite as sqlite_module
from dutydesk.connectors.store.schema import MIGRATIONS
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


async def test_reads_by_incident_join_the_index_and_the_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Incidents are indexed a few events behind the log; a read finds them all the same, from
    the index, from the tail after it, and across the two."""
    monkeypatch.setattr(sqlite_module, "INDEX_EVERY", 7)
    path = tmp_path / "log.db"
    async with await SqliteEventStore.open(path) as store, await SqliteEventStore.open(path) as other:
        for n in range(1, 31, 3):  # two writers take turns, each indexing when it is due
            await append(
                store if n % 2 else other, *(note(k, f"20261123-00{k % 3}") for k in range(n, n + 3))
            )
        indexed = sqlite3.connect(path).execute("SELECT upto FROM indexed").fetchone()[0]
        assert indexed == 24  # indexed at 9, 12, 21 and 24 by one writer or the other; a tail after
        everything = await store.read()
        for incident in ("20261123-000", "20261123-001", "20261123-002"):
            for after in (0, 7, indexed - 1, indexed, 29):
                expected = [r.seq for r in everything if r.event.incident == incident and r.seq > after]
                found = await other.read(after, incident=incident)
                assert [r.seq for r in found] == expected
                assert [r.seq for r in await other.read(after, incident=incident, limit=2)] == expected[:2]


async def test_a_schema_4_log_gets_its_incident_index(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    db = sqlite3.connect(path)
    for statement in (s for step in MIGRATIONS[:4] for s in step):
        db.execute(statement)
    db.execute("PRAGMA user_version = 4")
    db.commit()
    db.close()
    async with await SqliteEventStore.open(path) as store:
        await append(store, note(1), note(2, "20261123-002"), note(3))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    async with await SqliteEventStore.open(path) as store:
        assert [r.seq for r in await store.read(0, incident="20261123-001")] == [1, 3]
        assert (await store.verify()).ok


ODD_TEXTS = ['say "hi"', "back\\slash", "告警🚨\u2028\x1b[2J", "' OR 1=1 --", "null", "", "before\x00after"]


async def test_a_batch_stores_any_text_as_it_came(tmp_path: Path) -> None:
    """A batch goes in as a few many-row statements (at most 999 values each): every value comes
    back as it was, NUL included, in order, with the liveness of its devices; the chain verifies."""
    texts = [f"{n}:{ODD_TEXTS[n % len(ODD_TEXTS)]}" for n in range(250)]  # three statements
    items = [
        Keyed(f"k{text}", NoteAdded(at=MONDAY, incident=f"i-{text}", actor=text, text=text)) for text in texts
    ]
    seen = {f"feed/{text}": MONDAY + timedelta(seconds=n) for n, text in enumerate(texts)}
    async with await SqliteEventStore.open(tmp_path / "log.db") as store:
        async with store.transaction(after=0, now=MONDAY) as txn:
            txn.append(items)
            txn.touch(seen)
        stored = await store.read()
        assert [(r.seq, r.key, r.event) for r in stored] == [
            (n, k.key, k.event) for n, k in enumerate(items, start=1)
        ]
        assert await store.liveness() == seen
        assert (await store.verify()).ok
