"""Benchmark of the duty console (issue 5): how the screen keeps up while alarms stream in.

A second process writes 5,000 alarms/s into the log through the real journal and engine (as the
engine process does on duty); the console follows the log with 10,000 incidents in its history and
500 open. Measured, in the console's own event loop: event-loop lag (p50/p99), key press to the
cursor moving on the board, and alarm written to alarm shown in the board's feed.

Run: `.venv/bin/python -m tests.benchmarks.console [--rate N] [--seconds S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import platform
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from textual.widgets import DataTable, Static

from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.settings import load_settings
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.app import DutyApp
from dutydesk.console.i18n import Translator
from dutydesk.playbooks.alarms import Arrival, Decoded, Reading, Signal
from dutydesk.playbooks.commands import Command, OpenIncident, ReachMilestone
from dutydesk.playbooks.library import bundled_sources
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import load_plans
from dutydesk.playbooks.vocab import Milestone
from dutydesk.playbooks.workdays import WorkCalendar

ZONE = ZoneInfo("Asia/Shanghai")
PLANS, _ = load_plans(bundled_sources())
DEADLINES = Deadlines(WorkCalendar(), ZONE)


async def history(path: Path, closed: int, open_: int) -> None:
    """10,000 incidents closed in the past and 500 open now."""
    wall = WallClock()
    async with await SqliteEventStore.open(path) as store:
        journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=wall)
        start = wall.now() - timedelta(days=30)
        for n in range(0, closed + open_, 500):
            batch: list[Command] = []
            for k in range(n, min(n + 500, closed + open_)):
                at = start + timedelta(minutes=k * 4) if k < closed else wall.now() - timedelta(minutes=5)
                batch.append(OpenIncident(actor="bench", at=at, plan_id="cctv-alarm", title=f"历史 #{k}"))
            outcomes = await journal.submit(*batch)
            closing = [
                ReachMilestone(
                    actor="bench",
                    at=o.recorded[-1].event.at + timedelta(minutes=30),
                    incident=o.recorded[-1].event.incident or "",
                    milestone=Milestone.CLOSED,
                    text="历史",
                )
                for o in outcomes
                if o.recorded
                and "历史" in getattr(o.recorded[-1].event, "title", "")
                and o.recorded[-1].event.at < start + timedelta(minutes=closed * 4)
            ]
            if closing:
                await journal.submit(*closing)
        await journal.checkpoint()


def stream(path: str, rate: int, seconds: float, ready: multiprocessing.synchronize.Event) -> None:
    """Another process: alarms through the journal at `rate` per second, in 20 ms batches."""

    async def run() -> None:
        wall = WallClock()
        async with await SqliteEventStore.open(Path(path)) as store:
            journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=wall)
            ready.wait()
            per_batch = max(1, rate // 50)
            n = 0
            begin = time.perf_counter()
            while time.perf_counter() - begin < seconds:
                batch = []
                for _ in range(per_batch):
                    reading = Reading(
                        device=f"cam-{n % 2000:04d}",
                        kind="cctv.motion",
                        point="1",
                        signal=Signal.RAISE if n // 2000 % 2 == 0 else Signal.CLEAR,
                        text=f"motion {n}",
                    )
                    arrival = Arrival(f"s{n}", "bench", "{}", False, wall.now())
                    batch.append(Incoming("cameras", arrival, b"{}", decoded=Decoded((reading,))))
                    n += 1
                await journal.ingest(batch)
                due = begin + n / rate
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)

    asyncio.run(run())


async def measure(path: Path, rate: int, seconds: float) -> None:
    store = await SqliteEventStore.open(path)
    journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=WallClock())
    settings = load_settings(None, {"DUTYDESK_HOME": str(path.parent)})
    table_ = journal.engine.projection.incidents
    print(f"console: {len(table_):,} incidents in the log, {len(table_.open()):,} open")
    app = DutyApp(journal=journal, settings=settings, t=Translator("zh"), operator="bench")
    ready = multiprocessing.Event()
    writer = multiprocessing.Process(target=stream, args=(str(path), rate, seconds, ready))
    writer.start()
    lags: list[float] = []
    keys: list[float] = []
    shown: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#incidents", DataTable)
        feed = app.screen.query_one("#feed", Static)
        ready.set()
        begin = time.perf_counter()
        last_feed = ""
        while time.perf_counter() - begin < seconds:
            tick = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append((time.perf_counter() - tick - 0.01) * 1000)
            if len(lags) % 20 == 0:  # a key press about every 0.2 s
                row = table.cursor_row
                pressed = time.perf_counter()
                # as the terminal delivers a key: posted, not waited on (the pilot waits for idle)
                table.focus()
                app.simulate_key("down" if row < table.row_count - 1 else "up")
                while table.cursor_row == row:
                    await asyncio.sleep(0.001)
                keys.append((time.perf_counter() - pressed) * 1000)
            text = str(feed.render())
            if text != last_feed and app.feed:
                written = app.feed[-1].logged_at
                shown.append((WallClock().now() - written).total_seconds() * 1000)
                last_feed = text
    writer.join()
    await store.close()
    q = lambda values: (statistics.median(values), statistics.quantiles(values, n=100)[98])  # noqa: E731
    print(f"console: {rate:,} alarms/s for {seconds:.0f} s, 10,000 incidents in history, 500 open")
    print(f"console: event-loop lag p50 {q(lags)[0]:.1f} ms, p99 {q(lags)[1]:.1f} ms (target p99 <= 50 ms)")
    print(
        f"console: key press to cursor moved p50 {q(keys)[0]:.1f} ms, p99 {q(keys)[1]:.1f} ms (target <= 100 ms)"
    )
    print(
        f"console: alarm committed to shown in the feed p50 {q(shown)[0]:.0f} ms, p99 {q(shown)[1]:.0f} ms "
        f"(target p99 <= 250 ms)"
    )


async def main(rate: int, seconds: float) -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, {platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "duty.db"
        started = time.perf_counter()
        await history(path, 10_000, 500)
        print(f"console: history built in {time.perf_counter() - started:.0f} s")
        await measure(path, rate, seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rate, arguments.seconds))
