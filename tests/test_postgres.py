"""What only the PostgreSQL store adds to the contract: the database itself refuses to change the
log, many writers at once keep one chain, followers are woken by notifications, and the settings
choose the adapter."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from textual.widgets import DataTable

from dutydesk.connectors.application.factories import open_store
from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.settings import SettingsError, load_settings
from dutydesk.connectors.store import SqliteEventStore, StoreError
from dutydesk.connectors.store.postgres import PostgresEventStore
from dutydesk.console.app import DutyApp
from dutydesk.console.i18n import Translator
from dutydesk.playbooks.alarms import Arrival, Decoded, Feed, Place, Reading, Signal
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import OpenIncident
from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.events import NoteAdded
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from tests.conftest import MONDAY, CliRunner
from tests.pgcluster import ADMIN, OWNER, Cluster
from tests.test_cli import open_incident


def note(n: int) -> Keyed:
    return Keyed(
        f"note-{n}", NoteAdded(at=MONDAY + timedelta(seconds=n), incident=None, actor="t", text="记")
    )


async def append(store: PostgresEventStore, *items: Keyed) -> None:
    async with store.transaction(after=await store.head(), now=MONDAY) as txn:
        txn.append(items)


async def test_the_database_refuses_to_change_the_log(pg_url: str) -> None:
    async with await PostgresEventStore.open(pg_url) as store:
        await append(store, note(1))
    with psycopg.connect(pg_url, autocommit=True) as owner:  # the role dutydesk runs as
        for sql in (
            "UPDATE events SET data = '{}'",
            "DELETE FROM events",
            "TRUNCATE events",
            "DELETE FROM facts",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                owner.execute(sql.encode())
    with psycopg.connect(pg_url.replace(OWNER, ADMIN, 1), autocommit=True) as admin:  # even a superuser
        for sql in ("UPDATE events SET data = '{}'", "DELETE FROM events", "TRUNCATE events"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                admin.execute(sql.encode())
    async with await PostgresEventStore.open(pg_url) as store:
        assert (await store.verify()).events == 1


async def test_many_writers_keep_one_chain(pg_url: str) -> None:
    stores = [await PostgresEventStore.open(pg_url) for _ in range(4)]

    async def write(store: PostgresEventStore, first: int) -> None:
        for n in range(first, first + 25):
            await append(store, note(n), note(n + 10_000))

    try:
        await asyncio.gather(*(write(store, 100 * i) for i, store in enumerate(stores)))
        result = await stores[0].verify()
        assert (result.ok, result.events) == (True, 200)
        assert [r.seq for r in await stores[3].read()] == list(range(1, 201))
    finally:
        for store in stores:
            await store.close()


async def test_a_follower_is_woken_by_a_commit_not_a_timer(pg_url: str) -> None:
    async with (
        await PostgresEventStore.open(pg_url) as writer,
        await PostgresEventStore.open(pg_url) as follower,
    ):
        started = time.monotonic()
        assert not await follower.wait_changed(0.3)  # nothing came: it waited the whole time
        assert time.monotonic() - started >= 0.3

        async def later() -> None:
            await asyncio.sleep(0.2)
            await append(writer, note(1))

        started = time.monotonic()
        waiting = asyncio.create_task(later())
        assert await follower.wait_changed(10)
        assert time.monotonic() - started < 2  # woken at the commit, not at the end of the wait
        await waiting
        await append(follower, note(2))
        assert not await follower.wait_changed(0.2)  # its own commit is not news


async def test_not_a_dutydesk_database_and_no_server_are_clear_errors(pg_cluster: Cluster) -> None:
    url = pg_cluster.database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE payroll (name TEXT)")
    with pytest.raises(StoreError, match="not a dutydesk database"):
        await PostgresEventStore.open(url)
    secret = f"postgresql://{OWNER}:hunter2@127.0.0.1:1/nowhere"
    with pytest.raises(StoreError, match="cannot connect") as caught:
        await PostgresEventStore.open(secret, connect_timeout=2)
    assert "hunter2" not in str(caught.value)


async def test_the_settings_choose_the_adapter(tmp_path: Path, pg_url: str) -> None:
    env = {"DUTYDESK_HOME": str(tmp_path)}
    config = tmp_path / "dutydesk.toml"
    config.write_text(f'[database]\nurl = "{pg_url}"\n', encoding="utf-8")
    store = await open_store(load_settings(config, env))
    assert isinstance(store, PostgresEventStore)
    assert "127.0.0.1" in str(store.path)
    await store.close()
    store = await open_store(load_settings(None, {"DUTYDESK_HOME": str(tmp_path / "elsewhere")}))
    assert isinstance(store, SqliteEventStore)
    await store.close()
    config.write_text('[database]\nurl = "mysql://x"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="url"):
        load_settings(config, env)


def test_the_command_line_on_postgres(
    cli: CliRunner, home: Path, tmp_path: Path, pg_cluster: Cluster
) -> None:
    url = pg_cluster.database()
    (home / "dutydesk.toml").write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    incident = open_incident(cli)
    assert cli("incident", incident, "report").code == 0
    assert not (home / "dutydesk.db").exists()  # everything went to the server
    copy = tmp_path / "backup.db"
    run = cli("backup", str(copy))
    assert run.code == 0, run.err
    assert cli("audit", "verify").code == 0
    assert cli("backup", str(copy)).code == 1  # never overwrites

    async def check_copy() -> tuple[bool, int, int]:
        async with await SqliteEventStore.open(copy) as store, await PostgresEventStore.open(url) as server:
            result = await store.verify()
            return result.ok, result.events, await server.head()

    ok, events, head = asyncio.run(check_copy())
    assert ok and events == head > 0
    pg_cluster.admin(
        url,
        ("ALTER TABLE events DISABLE TRIGGER events_append_only", ()),
        ("UPDATE events SET actor = 'somebody' WHERE kind = 'incident.milestone'", ()),
    )
    run = cli("audit", "verify")
    assert run.code == 1 and "tampered" in run.out


async def test_related_alarms_at_different_nodes_make_one_incident(
    pg_url: str, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    """Each node's write first folds in what the others committed, under the append lock, so the
    second node correlates against the incident the first one opened."""
    place = Place(site="机关大院", building="2号楼")
    feed = Feed(name="site", place=place)
    stores = [await PostgresEventStore.open(pg_url) for _ in range(2)]
    try:
        journals = [
            await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock, feeds={"site": feed})
            for store in stores
        ]
        for n in range(6):  # power meters of one building, alternately at either node
            reading = Reading(device=f"pm-{n}", kind="power.outage", signal=Signal.RAISE, point="ENERGY")
            arrival = Arrival(f"node{n % 2}-{n}", "site/pm", "{}", False, clock.now())
            await journals[n % 2].ingest([Incoming("site", arrival, b"{}", decoded=Decoded((reading,)))])
            clock.advance(timedelta(seconds=5))
        opened = await stores[0].read_kind("incident.opened")
        assert len(opened) == 1
        for journal in journals:
            await journal.catch_up()
            assert journal.engine.correlator.held(opened[0].event.incident or "") == (6, 6)
    finally:
        for store in stores:
            await store.close()


async def test_two_consoles_see_each_others_actions_within_a_second(
    tmp_path: Path, pg_url: str, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    settings = load_settings(None, {"DUTYDESK_HOME": str(tmp_path)})
    stores = [await PostgresEventStore.open(pg_url) for _ in range(2)]
    journals = [await Journal.open(s, plans=plans, deadlines=deadlines, clock=clock) for s in stores]
    # polling every 30 s: only the database's notification can show the other's action in time
    apps = [
        DutyApp(journal=j, settings=settings, t=Translator("en"), operator=name, follow_interval=30)
        for j, name in zip(journals, ("王值班", "李值班"), strict=True)
    ]
    try:
        async with apps[0].run_test(size=(120, 40)), apps[1].run_test(size=(120, 40)):
            await asyncio.sleep(0.5)  # both consoles are following
            for writer, reader in ((0, 1), (1, 0)):
                (outcome,) = await journals[writer].submit(
                    OpenIncident(actor="值班员", plan_id="elevator-entrapment", title=f"困人 {writer}")
                )
                incident = outcome.recorded[-1].event.incident
                started = time.monotonic()
                table = apps[reader].screen.query_one("#incidents", DataTable)
                while not table.is_valid_row_index(0) or incident not in table.rows:
                    assert time.monotonic() - started < 1.0, f"console {reader} did not see {incident}"
                    await asyncio.sleep(0.02)
    finally:
        for store in stores:
            await store.close()


async def test_a_newer_schema_is_refused_and_an_open_migrates_once(pg_cluster: Cluster) -> None:
    url = pg_cluster.database()
    first, second = await asyncio.gather(PostgresEventStore.open(url), PostgresEventStore.open(url))
    await first.close()
    await second.close()  # two nodes starting together: one built the schema, the other found it
    pg_cluster.admin(url, ("UPDATE dutydesk_schema SET version = 99", ()))
    with pytest.raises(StoreError, match="newer than this dutydesk understands"):
        await PostgresEventStore.open(url)
