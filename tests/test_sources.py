"""The alarm-source contract: MQTT ingest (against a real mosquitto) and the in-memory fake both
store what they take in through the journal, acknowledge only what is committed, and stop clean."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.application.service import MemorySource, Source
from dutydesk.connectors.codecs.base import CodecContext, Message
from dutydesk.connectors.codecs.registry import build_codec
from dutydesk.connectors.mqtt import Broker, MqttIngest, Subscription, decode
from dutydesk.connectors.store import SqliteEventStore, StoreError
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.events import DeadLetter
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from tests.conftest import SHANGHAI

PATIENCE = 20.0  # seconds to wait for the broker, never for a deadline
TOPIC = "tele/pump-1/SENSOR"
SUBSCRIPTION = Subscription(
    "pumps", "tele/+/+", build_codec("tasmota", CodecContext(zone=SHANGHAI, options={}))
)


@dataclass
class World:
    """A source under test: how to make one, wait until it listens, and offer it a message."""

    make: Callable[[Journal], Source]
    ready: Callable[[Source], Awaitable[None]]
    offer: Callable[[bytes], Awaitable[None]]


async def until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {PATIENCE}s")
        await asyncio.sleep(0.02)


@pytest.fixture(params=["mqtt", "memory"])
def world(request: pytest.FixtureRequest, clock: ManualClock) -> World:
    if request.param == "memory":
        fakes: list[MemorySource] = []

        def make_fake(journal: Journal) -> Source:
            if not fakes:  # one upstream across runs, as a broker keeps its session
                fakes.append(MemorySource(journal))
            return fakes[0]

        async def offer_fake(payload: bytes) -> None:
            item: Incoming = decode(SUBSCRIPTION, Message(TOPIC, payload, clock.now()))
            fakes[0].offer(item)

        async def ready_fake(source: Source) -> None:
            pass

        return World(make_fake, ready_fake, offer_fake)
    broker = request.getfixturevalue("mosquitto")

    def make_mqtt(journal: Journal) -> Source:
        address = Broker(host="127.0.0.1", port=broker.port, client_id="dutydesk-contract")
        return MqttIngest(journal, address, [SUBSCRIPTION])

    async def ready_mqtt(source: Source) -> None:
        assert isinstance(source, MqttIngest)
        await until(lambda: source.state.connected, "the subscription")

    async def offer_mqtt(payload: bytes) -> None:
        await asyncio.to_thread(broker.publish, TOPIC, payload)

    return World(make_mqtt, ready_mqtt, offer_mqtt)


@pytest.fixture
async def journal(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> AsyncIterator[Journal]:
    store = await SqliteEventStore.open(tmp_path / "duty.db")
    yield await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
    await store.close()


async def stored(journal: Journal) -> list[str]:
    """What reached the log: each unreadable message is kept as a dead letter, oldest first."""
    letters = [r.event for r in await journal.store.read_kind(DeadLetter.kind)]
    return [letter.payload for letter in letters if isinstance(letter, DeadLetter)]


async def test_what_comes_in_is_stored_and_stop_leaves_nothing_running(
    world: World, journal: Journal
) -> None:
    before = asyncio.all_tasks()
    stop = asyncio.Event()
    source = world.make(journal)
    running = asyncio.create_task(source.run(stop))
    await world.ready(source)
    for n in range(3):
        await world.offer(f"not json {n}".encode())
    await until(lambda: running.done() or journal.engine.seq >= 3, "three messages stored")
    assert await stored(journal) == ["not json 0", "not json 1", "not json 2"]
    stop.set()
    await asyncio.wait_for(running, PATIENCE)
    assert asyncio.all_tasks() == before


async def test_only_what_is_committed_is_acknowledged(
    world: World, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(batch: list[Incoming], *, drill: bool = False) -> None:
        raise StoreError("the disk is full")

    monkeypatch.setattr(journal, "ingest", broken)
    first = world.make(journal)
    failing = asyncio.create_task(first.run(asyncio.Event()))
    await world.ready(first)
    await world.offer(b"not json 1")
    with pytest.raises(StoreError, match="disk is full"):  # the source gives up, acknowledging nothing
        await asyncio.wait_for(failing, PATIENCE)
    monkeypatch.undo()

    for round_ in (1, 2):  # offered again once the log can be written; then never again
        stop = asyncio.Event()
        again = world.make(journal)
        running = asyncio.create_task(again.run(stop))
        await world.ready(again)
        if round_ == 2:
            await world.offer(b"not json 2")
        await until(lambda: journal.engine.seq >= round_, f"round {round_} stored")  # noqa: B023
        stop.set()
        await asyncio.wait_for(running, PATIENCE)
    assert await stored(journal) == ["not json 1", "not json 2"]
