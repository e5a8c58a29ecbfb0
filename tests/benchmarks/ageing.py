"""Benchmarks of deadlines as incidents age (issue 12): one progress update on a 90-day incident
against one on a 1-day incident, and a full replay of 20,000 incidents against 2,500 of the same
shape, each replay in a fresh process as a starting engine or console does it. Each prints the
ratio measured in one run.

Run: `.venv/bin/python -m tests.benchmarks.ageing [--small N] [--large N]`. Figures go to
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import Command, OpenIncident, PostUpdate
from tests.benchmarks.foundation import DEADLINES, PLANS, START, incident_story

EVERY = timedelta(minutes=50)  # updates in time, so the history is all hourly reports met
MEASURED = 100


def update(incident: str, at: datetime | None = None) -> PostUpdate:
    return PostUpdate(
        actor="bench", at=at, incident=incident, measures="切换备用链路", status="部分恢复", next_steps="排查"
    )


async def update_cost(folder: Path, days: int) -> tuple[float, float, int]:
    """Median CPU milliseconds of one more progress update on an incident `days` old with an update
    every 50 minutes: through the journal (decided, stored durably, applied), and deciding alone.
    Also returns the occurrences the incident has."""
    async with await SqliteEventStore.open(folder / f"age-{days}.db") as store:
        clock = ManualClock(START)
        journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=clock)
        (opened,) = await journal.submit(
            OpenIncident(actor="bench", plan_id="network-outage", title="办公网中断")
        )
        incident = opened.recorded[-1].event.incident
        assert incident is not None
        history = [START + EVERY * n for n in range(1, int(timedelta(days=days) / EVERY) + 1)]
        clock.set(history[-1])
        for start in range(0, len(history), 200):
            await journal.submit(*(update(incident, at) for at in history[start : start + 200]))
        stored, deciding = [], []
        for _ in range(MEASURED):
            clock.advance(EVERY)
            command: Command = update(incident)
            started = time.process_time()
            journal.engine.handle(command, clock.now())
            deciding.append(time.process_time() - started)
            started = time.process_time()
            (outcome,) = await journal.submit(command)
            stored.append(time.process_time() - started)
            assert outcome.recorded
        occurrences = journal.engine.projection.incidents[incident].latest["progress-update"][0]
        return statistics.median(stored) * 1e3, statistics.median(deciding) * 1e3, occurrences


async def build_incidents(path: Path, incidents: int) -> int:
    """A log of `incidents` incident stories (900 a day; one in twenty still open). Returns its events."""
    async with await SqliteEventStore.open(path) as store:
        clock = ManualClock(START)
        journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=clock)
        for first in range(0, incidents, 100):
            day = START + timedelta(days=first // 900)
            clock.set(max(clock.now(), day + timedelta(minutes=10)))
            batch: list[Command] = []
            for n in range(first, min(first + 100, incidents)):
                batch += incident_story(n % 900 + 1, day + timedelta(seconds=n - first))
            await journal.submit(*batch)
        return journal.engine.seq


async def replay_cpu(path: Path) -> float:
    """CPU seconds (all threads: the store reads in its own) to open a journal on the log with no
    snapshot, replaying every event. CPU time, not wall time: the machine is shared."""
    async with await SqliteEventStore.open(path) as store:
        store.load_snapshot = _no_snapshot  # type: ignore[method-assign]
        started = time.process_time()
        journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=ManualClock(START))
        assert journal.engine.next_wakeup() is not None
        return time.process_time() - started


async def _no_snapshot() -> None:
    return None


def replay_in_a_fresh_process(path: Path) -> float:
    """`replay_cpu` as a process starting on the log does it: in a new interpreter, not in this one
    whose heap still holds what building the logs left."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.ageing", "--replay", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout)


async def main(small: int, large: int) -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, {platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        young_ms, young_decide, young_n = await update_cost(folder, 1)
        old_ms, old_decide, old_n = await update_cost(folder, 90)
        print(
            f"update: 1-day incident ({young_n} reports) {young_ms:.2f} ms stored, {young_decide:.3f} ms deciding; "
            f"90-day incident ({old_n} reports) {old_ms:.2f} ms stored, {old_decide:.3f} ms deciding"
        )
        print(
            f"update: 90 days vs 1 day: {old_ms / young_ms:.2f}x stored (target <= 1.5x), "
            f"{old_decide / young_decide:.2f}x deciding"
        )
        replays = {}
        for count in (small, large):
            log = folder / f"replay-{count}.db"
            events = await build_incidents(log, count)
            # the best of three: interference only makes a replay slower
            seconds = min(replay_in_a_fresh_process(log) for _ in range(3))
            replays[count] = (events, seconds)
            print(
                f"replay: {count:,} incidents, {events:,} events, full replay without snapshot "
                f"{seconds:.2f} s CPU (best of 3)"
            )
        (small_events, small_s), (large_events, large_s) = replays[small], replays[large]
        print(
            f"replay: {large / small:.0f}x the incidents ({large_events / small_events:.1f}x the events) "
            f"take {large_s / small_s:.1f}x the time (target <= 9x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=2_500, help="incidents in the smaller replay")
    parser.add_argument("--large", type=int, default=20_000, help="incidents in the larger replay")
    parser.add_argument("--replay", type=Path, help="only replay this log and print the CPU seconds")
    arguments = parser.parse_args()
    if arguments.replay:
        print(asyncio.run(replay_cpu(arguments.replay)))
    else:
        asyncio.run(main(arguments.small, arguments.large))
