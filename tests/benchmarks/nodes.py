"""Benchmarks of the server log (issue 17), all in one run on one throwaway PostgreSQL cluster:

- ingest through a real mosquitto into `dutydesk serve` nodes on PostgreSQL, one node against two
  sharing the subscription (`$share/...`), from the first publish to the last alarm committed;
- durable append on PostgreSQL against the SQLite file, one event per commit and in batches;
- a follower's wake-up after another process commits: LISTEN/NOTIFY against polling the SQLite
  file at the console's interval.

Run: `.venv/bin/python -m tests.benchmarks.nodes [--messages N]`. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from dutydesk.connectors.store import EventStore, SqliteEventStore
from dutydesk.connectors.store.postgres import PostgresEventStore
from dutydesk.console.app import FOLLOW_INTERVAL
from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.events import NoteAdded
from tests.broker import Mosquitto
from tests.conftest import MONDAY
from tests.pgcluster import Cluster, binaries
from tests.test_nodes import node_home, nodes, query


def ingest(cluster: Cluster, folder: Path, count: int, node_count: int) -> float:
    """Alarms per second into `node_count` nodes, publish to last commit."""
    url = cluster.database()
    broker = Mosquitto(folder / f"broker-{node_count}")  # fresh: no sessions of earlier runs
    broker.start()
    try:
        homes = [node_home(folder, f"n{node_count}-{i}", url, broker) for i in range(node_count)]
        body = "\n".join(
            json.dumps({"device": f"sw-{n:06d}", "alarm": "link_down", "state": "active"})
            for n in range(count)
        )
        stored = "SELECT COUNT(*) FROM events WHERE kind = 'alarm.observed'"
        with nodes(*homes):
            started = time.perf_counter()
            subprocess.run(
                ["bash", "-c", f"(cat; sleep 1) | mosquitto_pub -p {broker.port} -q 1 -t netmon/alarms -l"],
                input=body,
                text=True,
                check=True,
                timeout=600,
            )
            while query(url, stored)[0][0] < count:
                time.sleep(0.05)
            return count / (time.perf_counter() - started)
    finally:
        broker.stop()


def notes(first: int, count: int) -> list[Keyed]:
    return [
        Keyed(
            f"note-{n}",
            NoteAdded(at=MONDAY + timedelta(seconds=n), incident=None, actor="b", text="巡查正常"),
        )
        for n in range(first, first + count)
    ]


async def append(store: EventStore, batch: int, commits: int) -> float:
    """Events per second, `commits` durable commits of `batch` events each."""
    head = await store.head()
    started = time.perf_counter()
    for _ in range(commits):
        async with store.transaction(after=head, now=MONDAY) as txn:
            head = txn.append(notes(head + 1, batch))[-1].seq
    return batch * commits / (time.perf_counter() - started)


async def wake_ups(writer: EventStore, follower: EventStore, trials: int) -> list[float]:
    """Seconds from a commit's start until the follower, waiting, is woken by it."""
    delays = []
    await follower.changed()
    for _ in range(trials):
        await asyncio.sleep(random.uniform(0, FOLLOW_INTERVAL))  # any phase of the polling
        waiting = asyncio.ensure_future(follower.wait_changed(5, every=FOLLOW_INTERVAL))
        await asyncio.sleep(0.05)  # the follower is waiting
        started = time.perf_counter()
        head = await writer.head()
        async with writer.transaction(after=head, now=MONDAY) as txn:
            txn.append(notes(head + 1, 1))
        assert await waiting
        delays.append(time.perf_counter() - started)
    return delays


def percentile(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * share))]


async def stores(cluster: Cluster, folder: Path) -> None:
    url = cluster.database()
    async with (
        await PostgresEventStore.open(url) as pg,
        await SqliteEventStore.open(folder / "bench.db") as lite,
        await PostgresEventStore.open(url) as pg_follower,
        await SqliteEventStore.open(folder / "bench.db") as lite_follower,
    ):
        for name, store in (("postgresql", pg), ("sqlite", lite)):
            one = await append(store, 1, 300)
            batched = await append(store, 1_000, 20)
            print(
                f"append {name}: one event per commit {one:,.0f}/s; batches of 1,000 {batched:,.0f} events/s"
            )
        for name, writer, follower in (
            ("listen/notify", pg, pg_follower),
            ("sqlite polling", lite, lite_follower),
        ):
            delays = await wake_ups(writer, follower, 40)
            print(
                f"wake-up {name}: median {statistics.median(delays) * 1000:.1f} ms, "
                f"p95 {percentile(delays, 0.95) * 1000:.1f} ms, max {max(delays) * 1000:.1f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    found = binaries()
    assert found is not None, "PostgreSQL is not installed (scripts/setup installs it)"
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, {platform.platform()}"
    )
    cluster = Cluster(found)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            asyncio.run(stores(cluster, folder))
            one = ingest(cluster, folder, args.messages, 1)
            two = ingest(cluster, folder, args.messages, 2)
            print(
                f"ingest {args.messages:,} QoS 1 alarms: one node {one:,.0f}/s; two nodes {two:,.0f}/s = {two / one:.2f}x"
            )
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
