"""Benchmarks of alarm ingest (issue 3), all in one run against one real mosquitto:

- sustained rate through the whole pipeline (receive, decode, dedupe, correlate, durable commit,
  acknowledge) at QoS 1, fed by `mosquitto_pub -l`, beside the same aiomqtt client receiving and
  discarding, and `mosquitto_sub` discarding;
- latency from publish to committed incident at 1,000 alarms/s: p50 and p99.

Run: `.venv/bin/python -m tests.benchmarks.ingest [--messages N]`. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import aiomqtt

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.codecs.base import CodecContext
from dutydesk.connectors.codecs.registry import build_codec
from dutydesk.connectors.mqtt import Broker, MqttIngest, Subscription
from dutydesk.connectors.store import Recorded, SqliteEventStore
from dutydesk.playbooks.library import bundled_sources
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import load_plans
from dutydesk.playbooks.workdays import WorkCalendar
from tests.broker import Mosquitto

ZONE = ZoneInfo("Asia/Shanghai")
MAPPING = {
    "fields": {"device": "$.device", "kind": "$.alarm", "state": "$.state", "time": "$.time"},
    "states": {"active": ["active"], "cleared": ["cleared"]},
    "kind_prefix": "network.",
}


def lines(count: int, kind: str = "temperature_high", sent: bool = False) -> list[str]:
    """Distinct alarms, one device each, in the generic JSON format."""
    out = []
    for n in range(count):
        body = {
            "device": f"sw-{n:06d}",
            "alarm": kind,
            "state": "active",
            "time": "2026-11-23T09:00:00+08:00",
        }
        if sent:
            body["sent"] = 0.0
        out.append(json.dumps(body))
    return out


def feed(broker: Mosquitto, topic: str, body: Sequence[str]) -> subprocess.Popen[bytes]:
    """`mosquitto_pub -l` at QoS 1 (stdin held open a moment: it exits at EOF with a full queue)."""
    process = subprocess.Popen(
        ["bash", "-c", f"(cat; sleep 2) | mosquitto_pub -h 127.0.0.1 -p {broker.port} -q 1 -t {topic} -l"],
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(("\n".join(body) + "\n").encode())
    process.stdin.close()
    return process


async def bare_client(broker: Mosquitto, count: int) -> float:
    """The same aiomqtt client set-up as dutydesk's (persistent session, manual ack), discarding."""
    client = aiomqtt.Client("127.0.0.1", broker.port, identifier="bench-bare", clean_session=False)
    client._client.manual_ack_set(True)
    async with client:
        await client.subscribe("bench/bare", qos=1)
        publisher = feed(broker, "bench/bare", lines(count))
        received, first = 0, 0.0
        async for message in client.messages:
            if not received:
                first = time.perf_counter()
            client._client.ack(message.mid, message.qos)
            received += 1
            if received == count:
                break
        elapsed = time.perf_counter() - first
    publisher.wait()
    return count / elapsed


def mosquitto_sub(broker: Mosquitto, count: int) -> float:
    """mosquitto_sub discarding, timed by the receive stamps it prints for the first and last."""
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-t",
            "bench/sub",
            "-C",
            str(count),
            "-F",
            "%U",
        ],
        stdout=subprocess.PIPE,
    )
    time.sleep(0.5)  # subscribed
    publisher = feed(broker, "bench/sub", lines(count))
    out, _ = sub.communicate(timeout=300)
    publisher.wait()
    stamps = out.split()
    return count / (float(stamps[-1]) - float(stamps[0]))


async def pipeline(broker: Mosquitto, folder: Path, count: int) -> float:
    plans, _ = load_plans(bundled_sources())
    store = await SqliteEventStore.open(folder / "pipeline.db")
    journal = await Journal.open(
        store, plans=plans, deadlines=Deadlines(WorkCalendar(), ZONE), clock=WallClock()
    )
    codec = build_codec("generic", CodecContext(zone=ZONE, options=MAPPING))
    ingest = MqttIngest(
        journal,
        Broker(host="127.0.0.1", port=broker.port, client_id="bench-pipeline"),
        [Subscription("netmon", "bench/pipeline", codec)],
    )
    marks: list[float] = []

    def committed(recorded: Sequence[Recorded]) -> None:
        marks.extend(time.perf_counter() for r in recorded if r.event.kind == "alarm.observed")

    journal.subscribe(committed)
    stop = asyncio.Event()
    task = asyncio.create_task(ingest.run(stop))
    while not ingest.state.connected:
        await asyncio.sleep(0.01)
    first = 0.0
    publisher = feed(broker, "bench/pipeline", lines(count))
    while len(marks) < count:
        if ingest.state.received and not first:
            first = time.perf_counter()
        await asyncio.sleep(0.001)
    stop.set()
    await task
    publisher.wait()
    await store.close()
    return count / (marks[-1] - first)


async def latency(broker: Mosquitto, folder: Path, rate: int, seconds: int) -> list[float]:
    """Publish at `rate` alarms/s, each opening an incident; publish -> committed, in ms."""
    plans, _ = load_plans(bundled_sources())
    store = await SqliteEventStore.open(folder / "latency.db")
    clock = WallClock()
    journal = await Journal.open(store, plans=plans, deadlines=Deadlines(WorkCalendar(), ZONE), clock=clock)
    codec = build_codec("generic", CodecContext(zone=ZONE, options=MAPPING))
    ingest = MqttIngest(
        journal,
        Broker(host="127.0.0.1", port=broker.port, client_id="bench-latency"),
        [Subscription("netmon", "bench/latency", codec)],
    )
    sent: dict[str, float] = {}
    delays: list[float] = []

    def committed(recorded: Sequence[Recorded]) -> None:
        now = time.perf_counter()
        for item in recorded:
            # titled by plan and place, "网络瘫痪 · core-000001": the device is the last part
            device = item.event.title.rsplit(" · ", 1)[-1] if item.event.kind == "incident.opened" else None
            if device in sent:
                delays.append((now - sent[device]) * 1000)

    journal.subscribe(committed)
    stop = asyncio.Event()
    task = asyncio.create_task(ingest.run(stop))
    while not ingest.state.connected:
        await asyncio.sleep(0.01)
    total = rate * seconds
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="bench-publisher") as publisher:
        start = time.perf_counter()
        for n in range(total):
            due = start + n / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            body = lines(1, kind="outage")[0].replace("sw-000000", f"core-{n:06d}")
            sent[f"core-{n:06d}"] = time.perf_counter()
            await publisher.publish("bench/latency", body, qos=1)
    while len(delays) < total:
        await asyncio.sleep(0.01)
    stop.set()
    await task
    await store.close()
    return delays


async def main(count: int) -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = Mosquitto(folder / "broker")
        broker.start()
        try:
            sub_rate = await asyncio.to_thread(mosquitto_sub, broker, count)
            bare = await bare_client(broker, count)
            piped = await pipeline(broker, folder, count)
            print(f"ingest: {count:,} QoS 1 alarms fed by mosquitto_pub -l")
            print(
                f"ingest: mosquitto_sub discarding {sub_rate:,.0f}/s; aiomqtt client discarding "
                f"{bare:,.0f}/s; dutydesk pipeline (decode, dedupe, correlate, commit, ack) "
                f"{piped:,.0f}/s = {piped / bare:.2f}x the bare client"
            )
            delays = await latency(broker, folder, 1000, 10)
            q = statistics.quantiles(delays, n=100)
            print(
                f"latency: publish -> committed incident at 1,000 alarms/s for 10 s: "
                f"p50 {statistics.median(delays):.1f} ms, p99 {q[98]:.1f} ms, max {max(delays):.1f} ms"
            )
        finally:
            broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    asyncio.run(main(parser.parse_args().messages))
