"""Alarm ingest end to end: real-format fixtures published to a real mosquitto on a loopback port,
read by dutydesk's MQTT ingest into a real SQLite log; the resulting incidents, alarms, devices
and dead letters are checked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from dutydesk.connectors.application.factories import deadlines, debounce, feeds, load_library
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.service import Service
from dutydesk.connectors.application.sources import sources_from_settings
from dutydesk.connectors.mqtt import MqttIngest
from dutydesk.connectors.settings import Settings, load_settings
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.events import DeadLetter, IncidentOpened
from tests.broker import Mosquitto

FIXTURES = Path(__file__).parent / "fixtures" / "alarms"
PATIENCE = 20.0  # seconds to wait for the broker and the ingest task, never for a deadline

FEEDS = """
[[feeds]]
name = "frigate"
topic = "frigate/#"
codec = "frigate"
building = "1号楼"

[[feeds]]
name = "cameras"
topic = "hikvision/+/alert"
codec = "hikvision"

[[feeds]]
name = "tasmota"
topic = ["tele/+/+", "stat/+/+"]
codec = "tasmota"
building = "配电房"

[[feeds]]
name = "shelly"
topic = "shellyplus1pm-a8032ab1c2d4/#"
codec = "shelly"

[[feeds]]
name = "ups"
topic = ["nut/+", "home/ups/+/status"]
codec = "nut"

[[feeds]]
name = "lifts"
topic = "elevator/+/+/status"
codec = "elevator"
site = "机关大院"
building = "3号楼"
stale_after = 600

[[feeds]]
name = "netmon"
topic = "netmon/+/alarm"
codec = "generic"
[feeds.options]
fields = { device = "$.device", kind = "$.alarm", state = "$.state", time = "$.time" }
states = { active = ["active", "raised"], cleared = ["cleared", "ok"] }
kind_prefix = "network."
"""


def config(tmp_path: Path, broker: Mosquitto, extra: str = "") -> Path:
    path = tmp_path / "dutydesk.toml"
    path.write_text(
        f'[database]\npath = "duty.db"\n[mqtt]\nport = {broker.port}\nclient_id = "dutydesk-test"\n'
        + FEEDS
        + extra,
        encoding="utf-8",
    )
    return path


@asynccontextmanager
async def running(settings: Settings, clock: ManualClock) -> AsyncIterator[tuple[Journal, MqttIngest]]:
    """The service with MQTT ingest, as `dutydesk serve` runs it, on the manual clock."""
    plans, _ = load_library(settings)
    store = await SqliteEventStore.open(settings.database)
    journal = await Journal.open(
        store,
        plans=plans,
        deadlines=deadlines(settings),
        clock=clock,
        feeds=feeds(settings),
        debounce=debounce(settings),
    )
    (ingest,) = sources_from_settings(journal, settings)
    assert isinstance(ingest, MqttIngest)
    stop = asyncio.Event()
    task = asyncio.create_task(Service(journal, sources=[ingest]).run(stop))
    try:
        await until(lambda: ingest.state.connected)
        yield journal, ingest
    finally:
        stop.set()
        await asyncio.wait_for(task, PATIENCE)
        await store.close()


async def until(condition: object, what: str = "condition") -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {PATIENCE}s")
        await asyncio.sleep(0.02)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


PUBLICATIONS = [
    ("frigate/available", "frigate/available_online.txt", True),
    ("frigate/events", "frigate/events_new.json", False),
    ("frigate/reviews", "frigate/reviews_new_detection.json", False),
    ("hikvision/lobby_1f/alert", "hikvision/vmd_active.xml", False),
    ("hikvision/lobby_1f/alert", "hikvision/videoloss_inactive_heartbeat.xml", False),
    ("hikvision/gate_east/alert", "hikvision/linedetection_active.xml", False),
    ("tele/tasmota_5A9AE8/LWT", "tasmota/tele_lwt_online.txt", True),
    ("tele/tasmota_5A9AE8/SENSOR", "tasmota/tele_sensor_low_voltage.json", False),
    ("shellyplus1pm-a8032ab1c2d4/events/rpc", "shelly/events_rpc_notifystatus_errors_overtemp.json", False),
    ("nut/ups-b1", "nut/json_on_battery.json", False),
    ("elevator/EGW-0B17/B1-L2/status", "elevator/snapshot_faults_list.json", False),
    ("netmon/core-sw-01/alarm", "generic/switch_port_down_active.json", False),
    ("netmon/core-sw-01/alarm", "malformed/json_truncated.json", False),
    ("hikvision/lobby_1f/alert", "malformed/xml_billion_laughs.xml", False),
    ("elevator/EGW-0B17/B1-L2/status", "malformed/invalid_utf8_sequences.bin", False),
]


@pytest.mark.broker
async def test_real_formats_through_a_real_broker(
    tmp_path: Path, mosquitto: Mosquitto, clock: ManualClock
) -> None:
    settings = load_settings(config(tmp_path, mosquitto))
    async with running(settings, clock) as (journal, ingest):
        for topic, name, retain in PUBLICATIONS:
            await asyncio.to_thread(mosquitto.publish, topic, fixture(name), retain=retain)
        await until(lambda: ingest.state.received >= len(PUBLICATIONS), "all messages received")
        book = journal.engine.projection.alarms
        active = {a.key for a in book.alarms.values() if a.status.value == "active"}

        # the elevator: passengers shut in between floors -> the entrapment plan, urgent, in place
        lift = journal.engine.projection.by_trigger["lifts/EGW-0B17/B1-L2#elevator.entrapment_between_floors"]
        incident = journal.engine.incident(lift)
        assert incident.plan.id == "elevator-entrapment"
        assert incident.urgent
        assert incident.location == "机关大院 3号楼"
        assert "lifts/EGW-0B17/B1-L2/8/elevator.entrapment_between_floors" in active
        # the UPS on battery -> the power-outage plan
        ups = [
            i
            for i in journal.engine.projection.incidents.open()
            if i.trigger and i.trigger.startswith("ups/")
        ]
        assert [i.plan.id for i in ups] == ["power-outage"]
        # CCTV: a line crossing opens the CCTV plan; the heartbeat raises nothing
        assert any(k.startswith("cameras/gate_east/") and k.endswith("cctv.line_crossing") for k in active)
        assert not any(k.endswith("cctv.video_loss") for k in book.alarms)
        assert any(k.endswith("power.undervoltage") for k in active)
        assert any(k.startswith("netmon/core-sw-01/") for k in active)
        # devices heard from are online by their liveness
        assert "lifts/EGW-0B17/B1-L2" in book.last_seen
        assert "lifts/EGW-0B17/B1-L2" in await journal.store.liveness()

        # the three unreadable messages are kept, with their reasons
        letters = await journal.store.read_kind(DeadLetter.kind)
        assert len(letters) == 3
        assert all(isinstance(r.event, DeadLetter) and r.event.reason for r in letters)

        # the faults clear by disappearance; the incident stays open (people stabilise incidents)
        await asyncio.to_thread(
            mosquitto.publish,
            "elevator/EGW-0B17/B1-L2/status",
            fixture("elevator/snapshot_faults_cleared.json"),
        )
        await until(lambda: ingest.state.received >= len(PUBLICATIONS) + 1)
        alarm = book.alarms["lifts/EGW-0B17/B1-L2/8/elevator.entrapment_between_floors"]
        assert alarm.status.value == "cleared"
        assert not journal.engine.incident(lift).closed

        # the LWT goes offline: the device is offline and its live alarms become unknown
        await asyncio.to_thread(
            mosquitto.publish, "tele/tasmota_5A9AE8/LWT", fixture("tasmota/tele_lwt_offline.txt"), retain=True
        )
        await until(lambda: book.devices["tasmota/tasmota_5A9AE8"].availability.value == "offline")
        undervoltage = next(a for a in book.alarms.values() if a.kind == "power.undervoltage")
        assert undervoltage.status.value == "unknown"
    opened = [r for r in await reopen_log(settings) if isinstance(r.event, IncidentOpened)]
    assert len(opened) == len({r.event.incident for r in opened})


async def reopen_log(settings: Settings) -> list:  # type: ignore[type-arg]
    async with await SqliteEventStore.open(settings.database) as store:
        assert (await store.verify()).ok
        return await store.read()


@pytest.mark.broker
async def test_alarms_published_while_down_arrive_on_restart_and_retained_replays_are_state(
    tmp_path: Path, mosquitto: Mosquitto, clock: ManualClock
) -> None:
    settings = load_settings(config(tmp_path, mosquitto))
    async with running(settings, clock) as (journal, ingest):
        await asyncio.to_thread(mosquitto.publish, "tele/tasmota_5A9AE8/LWT", b"Online", retain=True)
        await until(lambda: ingest.state.received >= 1)
    # dutydesk is down: an elevator traps people
    await asyncio.to_thread(
        mosquitto.publish, "elevator/EGW-0B17/B1-L2/status", fixture("elevator/snapshot_faults_list.json")
    )
    async with running(settings, clock) as (journal, ingest):
        await until(
            lambda: (
                "lifts/EGW-0B17/B1-L2#elevator.entrapment_between_floors"
                in journal.engine.projection.by_trigger
            ),
            "the alarm sent while down",
        )
        # the retained LWT is delivered again on subscribe: state, nothing new logged for it
        await until(lambda: ingest.state.received >= 2)
    events = await reopen_log(settings)
    changes = [r for r in events if r.event.kind == "device.changed" and "tasmota" in str(r.event)]
    assert len(changes) == 1


def stream(count: int, start: int = 0) -> list[str]:
    """Distinct alarms in the generic format, one per line."""
    return [
        f'{{"device":"sw-{n:05d}","alarm":"temperature_high","state":"active",'
        f'"time":"2026-11-23T09:00:00+08:00","severity":"minor"}}'
        for n in range(start, start + count)
    ]


def observed_keys(path: Path) -> list[str]:
    import sqlite3

    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT data FROM events WHERE kind = 'alarm.observed'").fetchall()
    finally:
        db.close()
    import json

    return [json.loads(data)["key"] for (data,) in rows]


@pytest.mark.broker
async def test_a_burst_is_committed_and_acknowledged_in_full(
    tmp_path: Path, mosquitto: Mosquitto, clock: ManualClock
) -> None:
    """Messages taken in batches are all acknowledged once committed: the broker keeps none of
    them for the session, so a restart receives only what is new."""
    settings = load_settings(config(tmp_path, mosquitto))
    async with running(settings, clock) as (_, ingest):
        await asyncio.to_thread(mosquitto.publish_lines, "netmon/feed/alarm", stream(1500))
        await until(lambda: ingest.state.received >= 1500, "the burst committed")
        assert ingest.state.received == 1500
    assert len(set(observed_keys(tmp_path / "duty.db"))) == 1500
    async with running(settings, clock) as (journal, ingest):
        await asyncio.to_thread(mosquitto.publish_lines, "netmon/feed/alarm", stream(1, start=1500))
        new = "netmon/sw-01500//network.temperature_high"
        await until(lambda: new in journal.engine.projection.alarms.alarms, "the new alarm")
        assert ingest.state.received == 1  # nothing of the burst delivered again
    assert len(set(observed_keys(tmp_path / "duty.db"))) == 1501


@pytest.mark.broker
async def test_ingest_resumes_by_itself_after_the_broker_restarts(
    tmp_path: Path, mosquitto: Mosquitto, clock: ManualClock
) -> None:
    settings = load_settings(config(tmp_path, mosquitto))
    async with running(settings, clock) as (journal, ingest):
        book = journal.engine.projection.alarms
        await asyncio.to_thread(mosquitto.publish_lines, "netmon/feed/alarm", stream(1000))
        await until(lambda: len(book.alarms) >= 500, "half the stream")
        mosquitto.stop()  # under load: part of the stream is still queued for us
        await until(lambda: not ingest.state.connected, "the loss noticed")
        mosquitto.start()
        await asyncio.to_thread(mosquitto.publish_lines, "netmon/feed/alarm", stream(1000, start=1000))
        await until(lambda: len(book.alarms) >= 2000, "every alarm after the restart")
        assert ingest.state.reconnects >= 1
    keys = observed_keys(settings.database)
    assert len(keys) == len(set(keys)) == 2000
