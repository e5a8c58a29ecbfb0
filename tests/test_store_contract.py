"""The event store contract: every adapter of the port passes these, the SQLite file, the
PostgreSQL database (a real, throwaway cluster) and the in-memory fake alike."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dutydesk.connectors.store import (
    FACTS_V4,
    DuplicateKeyError,
    EventStore,
    MemoryEventStore,
    SqliteEventStore,
    StoreError,
)
from dutydesk.connectors.store.postgres import PostgresEventStore
from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.events import (
    AlarmObserved,
    Event,
    IncidentOpened,
    NoteAdded,
    ObligationMet,
    PlanRegistered,
)
from tests.conftest import MONDAY
from tests.pgcluster import Cluster

INCIDENT = "20261123-001"


@dataclass
class Backend:
    """One adapter, and what only its own kind can do: a second connection, a reopened copy,
    a row edited or removed behind its back."""

    store: EventStore
    other: Callable[[], Any]  # an awaitable of a second handle on the same log
    reopen: Callable[[Path], Any]  # an awaitable of a store on a backup
    edit: Callable[[int, str, str], None]  # in the payload of event seq: replace old with new
    remove: Callable[[int], None]
    forge_snapshot: Callable[[str, str], None]  # in the latest snapshot: replace old with new


def _sqlite_change(path: Path, trigger: str, sql: str, *args: object) -> None:
    db = sqlite3.connect(path)
    db.execute(f"DROP TRIGGER {trigger}")
    db.execute(sql, args)
    db.commit()
    db.close()


@pytest.fixture(params=["sqlite", "postgres", "memory"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "postgres":
        async for found in _postgres(request.getfixturevalue("pg_cluster")):
            yield found
    elif request.param == "sqlite":
        path = tmp_path / "log.db"
        store: EventStore = await SqliteEventStore.open(path)
        handles: list[EventStore] = [store]

        async def other() -> EventStore:
            handles.append(await SqliteEventStore.open(path))
            return handles[-1]

        async def reopen(copy: Path) -> EventStore:
            handles.append(await SqliteEventStore.open(copy))
            return handles[-1]

        def edit(seq: int, old: str, new: str) -> None:
            update = "UPDATE events SET data = replace(data, ?, ?) WHERE seq = ?"
            _sqlite_change(path, "events_no_update", update, old, new, seq)

        def remove(seq: int) -> None:
            _sqlite_change(path, "events_no_delete", "DELETE FROM events WHERE seq = ?", seq)

        def forge_snapshot(old: str, new: str) -> None:
            db = sqlite3.connect(path)
            db.execute(
                "UPDATE snapshots SET data = CAST(replace(CAST(data AS TEXT), ?, ?) AS BLOB)", (old, new)
            )
            db.commit()
            db.close()

        yield Backend(store, other, reopen, edit, remove, forge_snapshot)
        for handle in handles:
            await handle.close()
    else:
        memory = MemoryEventStore()

        async def other_memory() -> EventStore:
            return MemoryEventStore(memory.log)

        async def reopen_memory(copy: Path) -> EventStore:
            return MemoryEventStore.load(copy)

        def edit_memory(seq: int, old: str, new: str) -> None:
            row = memory.log.rows[seq - 1]
            memory.log.rows[seq - 1] = (*row[:8], row[8].replace(old, new), row[9])

        def remove_memory(seq: int) -> None:
            del memory.log.rows[seq - 1]

        def forge_memory_snapshot(old: str, new: str) -> None:
            assert memory.log.snapshot is not None
            seq, text, stored = memory.log.snapshot
            memory.log.snapshot = (seq, text.replace(old, new), stored)

        yield Backend(memory, other_memory, reopen_memory, edit_memory, remove_memory, forge_memory_snapshot)


async def _postgres(cluster: Cluster) -> AsyncIterator[Backend]:
    url = cluster.database()
    store: EventStore = await PostgresEventStore.open(url)
    handles: list[EventStore] = [store]

    async def other() -> EventStore:
        handles.append(await PostgresEventStore.open(url))
        return handles[-1]

    async def reopen(copy: Path) -> EventStore:  # the backup is a dutydesk SQLite file
        handles.append(await SqliteEventStore.open(copy))
        return handles[-1]

    # only a superuser who first disables the trigger can change the log
    def edit(seq: int, old: str, new: str) -> None:
        cluster.admin(
            url,
            ("ALTER TABLE events DISABLE TRIGGER events_append_only", ()),
            ("UPDATE events SET data = replace(data, %s, %s) WHERE seq = %s", (old, new, seq)),
        )

    def remove(seq: int) -> None:
        cluster.admin(
            url,
            ("ALTER TABLE events DISABLE TRIGGER events_append_only", ()),
            ("DELETE FROM facts WHERE seq = %s", (seq,)),
            ("DELETE FROM events WHERE seq = %s", (seq,)),
        )

    def forge_snapshot(old: str, new: str) -> None:
        cluster.admin(url, ("UPDATE snapshots SET data = replace(data, %s, %s)", (old, new)))

    yield Backend(store, other, reopen, edit, remove, forge_snapshot)
    for handle in handles:
        await handle.close()


def note(n: int, incident: str = INCIDENT) -> Keyed:
    return Keyed(
        f"note-{n}",
        NoteAdded(at=MONDAY + timedelta(seconds=n), incident=incident, actor="t", text=f"第{n}条"),
    )


def keyed(key: str, event: Event) -> Keyed:
    return Keyed(key, event)


async def append(store: EventStore, *items: Keyed) -> None:
    async with store.transaction(after=await store.head(), now=MONDAY) as txn:
        txn.append(items)


async def test_events_come_back_in_order_with_their_places(backend: Backend) -> None:
    store = backend.store
    assert await store.head() == 0
    await append(store, note(1), note(2))
    await append(store, note(3, incident="20261123-002"), note(4))
    events = await store.read()
    assert [(r.seq, r.key) for r in events] == [(1, "note-1"), (2, "note-2"), (3, "note-3"), (4, "note-4")]
    assert events[0].event == note(1).event
    assert events[0].logged_at == MONDAY
    assert await store.head() == 4
    assert [r.seq for r in await store.read(0, incident="20261123-002")] == [3]
    assert [r.seq for r in await store.read(1, limit=2)] == [2, 3]
    assert [[r.seq for r in batch] async for batch in store.iterate(2)] == [[3, 4]]
    assert [r.seq for r in await store.read_recent([NoteAdded.kind], 2)] == [3, 4]
    assert [r.seq for r in await store.read_kind(NoteAdded.kind)] == [1, 2, 3, 4]
    assert await store.read_kind("incident.opened") == []


async def test_append_returns_the_places_the_commit_gives(backend: Backend) -> None:
    await append(backend.store, note(1))
    async with backend.store.transaction(after=1, now=MONDAY) as txn:
        stored = txn.append([note(2), note(3)])
        assert txn.last_seq == 3
    assert [(r.seq, r.key) for r in stored] == [(r.seq, r.key) for r in await backend.store.read(1)]


async def test_a_key_is_stored_once(backend: Backend) -> None:
    store = backend.store
    await append(store, note(1))
    async with store.transaction(after=1, now=MONDAY) as txn:
        assert await txn.existing(["note-1", "note-9"]) == {"note-1"}
        assert await txn.existing([]) == set()
    with pytest.raises(DuplicateKeyError):
        await append(store, note(2), note(1))
    with pytest.raises(DuplicateKeyError):
        await append(store, note(3), note(3))
    assert [r.key for r in await store.read()] == ["note-1"]  # the refused batches left nothing
    await append(store, note(2))
    assert (await store.verify()).ok


async def test_a_failed_transaction_stores_nothing(backend: Backend) -> None:
    store = backend.store

    async def failing() -> None:
        async with store.transaction(after=0, now=MONDAY) as txn:
            txn.touch({"lifts/A": MONDAY})
            txn.append([note(1)])
            raise RuntimeError("the engine failed")

    with pytest.raises(RuntimeError, match="engine failed"):
        await failing()
    assert await store.head() == 0
    assert await store.liveness() == {}
    with pytest.raises(ValueError, match="timezone-aware"):
        async with store.transaction(after=0, now=MONDAY) as txn:
            txn.append(
                [Keyed("naive", NoteAdded(at=MONDAY.replace(tzinfo=None), incident=None, actor="t", text=""))]
            )
    await append(store, note(1))
    assert (await store.verify()).ok


async def test_a_transaction_sees_what_others_committed(backend: Backend) -> None:
    one = backend.store
    two: EventStore = await backend.other()
    assert not await two.changed()  # the first look only takes the mark
    await append(one, note(1))
    assert await two.changed()
    assert not await two.changed()
    async with two.transaction(after=0, now=MONDAY) as txn:
        assert [r.key for r in txn.tail] == ["note-1"]
        txn.append([note(2)])
    assert not await two.changed()  # its own commit is not news to it
    assert [r.seq for r in await one.read()] == [1, 2]
    assert (await one.verify()).ok


async def test_a_follower_waits_for_another_writer(backend: Backend) -> None:
    one, two = backend.store, await backend.other()
    await two.changed()
    assert not await two.wait_changed(0.2, every=0.05)  # nobody wrote

    async def later() -> None:
        await asyncio.sleep(0.1)
        await append(one, note(1))

    writing = asyncio.ensure_future(later())
    assert await two.wait_changed(10, every=0.05)
    await writing
    assert [r.key for r in await two.read()] == ["note-1"]  # a wake-up: it reads what came


async def test_concurrent_writers_take_turns_and_keep_the_chain(backend: Backend) -> None:
    one, two = backend.store, await backend.other()

    async def write(store: EventStore, first: int) -> None:
        for n in range(first, first + 20):
            await append(store, note(n))

    await asyncio.gather(write(one, 1), write(two, 100))
    assert await one.head() == 40
    assert [r.seq for r in await two.read()] == list(range(1, 41))
    assert (await one.verify()) == (await two.verify())
    assert (await one.verify()).events == 40


async def test_verify_finds_an_edited_event(backend: Backend) -> None:
    await append(backend.store, note(1), note(2), note(3))
    assert (await backend.store.verify()).ok
    backend.edit(2, "第2条", "第二条")
    result = await backend.store.verify()
    assert (result.ok, result.broken_at, result.events) == (False, 2, 1)


async def test_verify_finds_a_removed_event(backend: Backend) -> None:
    await append(backend.store, note(1), note(2), note(3))
    backend.remove(2)
    result = await backend.store.verify()
    assert (result.broken_at, result.reason) == (3, "event 2 is missing")


async def test_leases_are_taken_renewed_and_taken_over(backend: Backend) -> None:
    store, ttl = backend.store, timedelta(seconds=15)

    def alive(holder: str) -> bool:
        return holder != "dead:1"

    assert await store.lease("engine", "a:1", MONDAY, ttl, alive=alive) is None
    assert await store.lease("engine", "a:1", MONDAY + timedelta(seconds=10), ttl, alive=alive) is None
    # renewed at +10 s: still held at +20 s
    assert await store.holder("engine", MONDAY + timedelta(seconds=20), alive=alive) == "a:1"  # read only
    assert await store.lease("engine", "b:2", MONDAY + timedelta(seconds=20), ttl, alive=alive) == "a:1"
    assert await store.holder("engine", MONDAY + timedelta(seconds=26), alive=alive) is None  # expired
    assert await store.lease("other", "b:2", MONDAY, ttl, alive=alive) is None  # leases are by name
    # not renewed: expired at +25 s
    assert await store.lease("engine", "b:2", MONDAY + timedelta(seconds=26), ttl, alive=alive) is None
    await store.release("engine", "a:1")  # not the holder: changes nothing
    assert await store.lease("engine", "a:1", MONDAY + timedelta(seconds=27), ttl, alive=alive) == "b:2"
    await store.release("engine", "b:2")
    assert await store.lease("engine", "dead:1", MONDAY + timedelta(seconds=28), ttl, alive=alive) is None
    # a holder that is gone holds nothing, expired or not
    assert await store.holder("engine", MONDAY + timedelta(seconds=28), alive=alive) is None
    assert await store.lease("engine", "a:1", MONDAY + timedelta(seconds=29), ttl, alive=alive) is None


async def test_snapshots_keep_the_latest(backend: Backend) -> None:
    store = backend.store
    assert await store.load_snapshot() is None
    await append(store, *[note(n) for n in range(1, 10)])
    data: dict[str, Any] = {"version": 1, "n": 5, "names": ["值班"]}
    await store.save_snapshot(5, data, MONDAY)
    data["n"] = 6  # the stored copy is the store's own
    await store.save_snapshot(9, {"version": 1, "n": 9}, MONDAY)
    assert await store.load_snapshot() == (9, {"version": 1, "n": 9})
    await store.save_snapshot(7, {"version": 1, "n": 7}, MONDAY)
    assert await store.load_snapshot() == (9, {"version": 1, "n": 9})


async def test_a_snapshot_is_bound_to_the_log_it_covers(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    store = backend.store
    await append(store, *[note(n) for n in range(1, 4)])
    with pytest.raises(StoreError, match="no event 9"):
        await store.save_snapshot(9, {"version": 1}, MONDAY)
    await store.save_snapshot(3, {"version": 1, "title": "电梯困人"}, MONDAY)
    head = await store.chain_hash(3)
    assert head is not None and await store.chain_hash(4) is None
    assert (await store.verify()).head == head
    backend.forge_snapshot("电梯困人", "一切正常")
    assert await store.load_snapshot() is None  # refused: the state is rebuilt from the log
    assert "does not match the event log" in caplog.text
    result = await store.verify()
    assert not result.ok and "the snapshot at event 3 does not match the log" in result.problems


async def test_liveness_keeps_the_latest_time(backend: Backend) -> None:
    store = backend.store
    async with store.transaction(after=0, now=MONDAY) as txn:
        txn.touch({"lifts/A": MONDAY, "lifts/B": MONDAY})
    async with store.transaction(after=0, now=MONDAY) as txn:
        txn.touch({"lifts/A": MONDAY + timedelta(minutes=1), "lifts/B": MONDAY - timedelta(minutes=1)})
    assert await store.liveness() == {"lifts/A": MONDAY + timedelta(minutes=1), "lifts/B": MONDAY}


def opened(incident: str, severity: str) -> IncidentOpened:
    return IncidentOpened(
        at=MONDAY,
        incident=incident,
        actor="t",
        plan_id="elevator-entrapment",
        plan_fingerprint="fp1",
        title="困人",
        severity=severity,
        urgent=True,
        source="manual",
        location="A座",
    )


async def test_facts_and_fields_read_as_sql_extracts_them(backend: Backend) -> None:
    store = backend.store
    met = ObligationMet(
        at=MONDAY + timedelta(minutes=5),
        incident=INCIDENT,
        actor="t",
        obligation="report",
        occurrence=1,
        due_at=MONDAY,
        margin_seconds=-30.5,
        by="milestone",
    )
    alarm = AlarmObserved(
        at=MONDAY + timedelta(minutes=1),
        incident=None,
        actor="ingest",
        key="lifts/A/door",
        source="lifts",
        device="A",
        point="door",
        alarm_kind="lift.entrapment",
        signal="raise",
        confirmed=True,
    )
    plan = PlanRegistered(at=MONDAY, incident=None, actor="t", fingerprint="fp1", plan={"id": "x"})
    await append(
        store,
        keyed("plan", plan),
        keyed("open-2", opened("20261123-002", "major")),
        keyed("open-1", opened(INCIDENT, "general")),
        keyed("alarm", alarm),
        note(1),
        keyed("met", met),
        keyed("open-9", opened("20261124-001", "major")),
    )
    rows = [row async for batch in store.facts("20261123", "20261124") for row in batch]
    micros = round(MONDAY.timestamp() * 1_000_000)
    assert rows == [
        ("incident.opened", micros, INCIDENT, 0, "fp1", "general", "A座", None, None),
        ("obligation.met", micros + 300_000_000, INCIDENT, 0, "report", 1, -30.5, None, None),
        ("incident.opened", micros, "20261123-002", 0, "fp1", "major", "A座", None, None),
    ]
    assert [r.key for r in await store.registered_plans()] == ["plan"]
    kinds = {"alarm.observed": ("key", "confirmed", "replay"), "incident.opened": ("severity",)}
    found = [
        row
        async for batch in store.fields(kinds, between=(MONDAY, MONDAY + timedelta(minutes=1)))
        for row in batch
    ]
    assert found == [
        ("incident.opened", micros, "20261123-002", 0, "major", None, None),
        ("incident.opened", micros, INCIDENT, 0, "general", None, None),
        ("incident.opened", micros, "20261124-001", 0, "major", None, None),
    ]  # the alarm, a minute later, is past the end
    found = [
        row
        async for batch in store.fields(kinds, between=(MONDAY, MONDAY + timedelta(minutes=2)))
        for row in batch
    ]
    assert found[2] == ("alarm.observed", micros + 60_000_000, None, 0, "lifts/A/door", 1, 0)  # log order
    with pytest.raises(ValueError, match="not an event kind"):
        [row async for row in store.fields({"x'; DROP TABLE events; --": ()}, between=(MONDAY, MONDAY))]
    assert set(FACTS_V4) >= {row[0] for row in rows}


async def test_backup_is_a_sound_copy_and_never_overwrites(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    await append(store, *(note(n) for n in range(1, 51)))
    await store.backup(tmp_path / "copies" / "copy")
    copy: EventStore = await backend.reopen(tmp_path / "copies" / "copy")
    result = await copy.verify()
    assert (result.ok, result.events) == (True, 50)
    assert [r.key for r in await copy.read(49)] == ["note-50"]
    with pytest.raises(StoreError, match="exists already"):
        await store.backup(tmp_path / "copies" / "copy")
