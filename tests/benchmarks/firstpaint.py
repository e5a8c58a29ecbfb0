"""How long the duty console takes to show its board with a long history (issue 12), as a ratio
to the same console on an empty database.

What a duty officer waits for: from typing `dutydesk console` until the board is on the screen
with every open incident in it. Each run is a fresh process running the real entry point
(`dutydesk console --attach`: settings, plans, store, journal and engine opened from the
snapshot and the log's tail, the Textual app), headless at 120×40; a hook in that process
(`tests/benchmarks/painted.py`, which imports nothing the console would not) watches the frames Textual hands to its driver and, at the first
frame of the board whose table holds every open incident, writes one line and quits. The time is
taken here, from just before the process is started to that line: interpreter, imports, opening
the log and the first frame, all of it. (`--attach`: no engine process is started beside the
console; the benchmark measures the console alone. Headless: the frame is built as for a
terminal but not written to one, the same few kilobytes for both databases.)

The full database is built once through the real journal and engine on a manual clock: 10,000
incidents over 40 days from six bundled plans (report, arrival, the plan's own call, hourly
progress updates, notes; most stabilised and closed, some reported late, so that the engine's
warnings and breaches are in the log too), deadlines fired as the engine fires them, snapshots
sealed as the running engine seals them. It ends at the present moment, so the incidents of
the last hours are open on the board. The empty database has only what a first start writes.

Runs alternate (empty, full, empty, full, …) so that both see the same machine; printed are the
medians of each and the median of the ratios of the pairs, in wall time (what the officer waits
for) and in the console process's CPU time (steadier on a shared machine).

Run: `.venv/bin/python -m tests.benchmarks.firstpaint [--runs N] [--incidents N]`. Figures go
to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import (
    AddNote,
    Command,
    CompleteObligation,
    OpenIncident,
    PostUpdate,
    ReachMilestone,
)
from dutydesk.playbooks.vocab import Milestone
from tests.benchmarks.foundation import DEADLINES, PLANS

TARGET = 1.3  # the full database's first paint, as a multiple of the empty one's
DAYS = 40
SIZE = (120, 40)
# (plan, weight, the plan's own obligation completed by hand, or None)
MIX = (
    ("elevator-entrapment", 3, "contractor-called"),
    ("network-outage", 3, "network-support-called"),
    ("cctv-alarm", 4, "confirm-picture"),
    ("power-outage", 1, "standby-power"),
    ("medical-emergency", 1, "call-120"),
    ("fire-conflict", 1, "security-start"),
)


@dataclass(frozen=True, slots=True)
class Step:
    """A command some minutes after its incident opened; `incident` is filled in when it is known."""

    after: timedelta
    command: type[Command]
    fields: dict[str, object]


def story(rng: random.Random) -> tuple[str, str, list[Step]]:
    """One incident's plan, title and what the officers do after opening it."""
    plan, _, manual = rng.choices(MIX, weights=[w for _, w, _ in MIX])[0]
    minutes = lambda m: timedelta(minutes=m)  # noqa: E731
    late = rng.random() < 0.05  # reported past the 30 minutes: the engine warns, then breaches
    steps = [
        Step(
            minutes(rng.randint(33, 45) if late else rng.randint(3, 20)),
            ReachMilestone,
            {"milestone": Milestone.REPORTED},
        ),
        Step(minutes(rng.randint(2, 12)), ReachMilestone, {"milestone": Milestone.ON_SITE}),
    ]
    if manual is not None:
        steps.append(Step(minutes(rng.randint(1, 8)), CompleteObligation, {"obligation": manual}))
    updates = rng.choice((1, 2, 2, 3, 3, 4, 5, 6))
    for n in range(1, updates + 1):
        steps.append(
            Step(
                minutes(60 * n - rng.randint(2, 15)),
                PostUpdate,
                {"measures": "现场处置", "status": "处置中", "next_steps": f"第{n}次报告后继续跟进"},
            )
        )
    if rng.random() < 0.5:
        steps.append(Step(minutes(rng.randint(10, 50)), AddNote, {"text": "已电话联系相关部门"}))
    last = max(s.after for s in steps)
    steps.append(
        Step(last + minutes(rng.randint(5, 20)), ReachMilestone, {"milestone": Milestone.STABILISED})
    )
    steps.append(
        Step(
            last + minutes(rng.randint(25, 50)),
            ReachMilestone,
            {"milestone": Milestone.CLOSED, "text": "处置完毕"},
        )
    )
    return plan, f"{plan} #{rng.randint(1, 999)}", steps


async def build(path: Path, incidents: int, end: datetime) -> tuple[int, int, int]:
    """The log of `incidents` incidents over the `DAYS` days before `end`, hour by hour: the
    hour's incidents opened, then what was done in that hour, then the deadlines that fell due,
    and a snapshot whenever the running engine would take one. Returns (events, open incidents, the
    last snapshot's seq)."""
    rng = random.Random(12)
    start = end - timedelta(days=DAYS)
    spacing = timedelta(days=DAYS) / incidents
    opens = [(start + spacing * k + timedelta(seconds=rng.randint(0, 60)), k) for k in range(incidents)]
    stories = [story(rng) for _ in range(incidents)]
    pending: list[tuple[datetime, int, int, Step]] = []  # (at, order, story, step)
    ids: dict[int, str] = {}
    async with await SqliteEventStore.open(path) as store:
        clock = ManualClock(start)
        journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=clock)
        hour, order = start, 0
        while hour < end:
            hour = min(hour + timedelta(hours=1), end)
            clock.set(hour)
            opening = [(at, k) for at, k in opens if at < hour and k not in ids]
            opens = opens[len(opening) :]
            outcomes = await journal.submit(
                *(
                    OpenIncident(actor="bench", at=at, plan_id=stories[k][0], title=stories[k][1])
                    for at, k in opening
                )
            )
            for (at, k), outcome in zip(opening, outcomes, strict=True):
                ids[k] = outcome.recorded[-1].event.incident or ""
                for step in stories[k][2]:
                    order += 1
                    heapq.heappush(pending, (at + step.after, order, k, step))
            due: list[Command] = []
            while pending and pending[0][0] < hour:
                at, _, k, step = heapq.heappop(pending)
                due.append(step.command(actor="bench", at=at, incident=ids[k], **step.fields))  # type: ignore[call-arg]
            await journal.submit(*due)
            await journal.fire()
            await journal.checkpoint_if_due()
        still_open = len(journal.engine.projection.incidents.open())
        cached = await store.load_snapshot()
        return journal.engine.seq, still_open, cached[0] if cached else 0


# -- the measuring side --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Paint:
    wall: float  # seconds from just before the process started to the line saying it painted
    cpu: float  # the console process's CPU seconds to then


def paint(home: Path, expected: int) -> Paint:
    argv = [sys.executable, "-m", "tests.benchmarks.painted", str(home), str(expected)]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    watchdog = threading.Timer(120, process.kill)  # a console that never paints fails the run
    watchdog.start()
    line = process.stdout.readline()
    wall = time.perf_counter() - started
    watchdog.cancel()
    _, err = process.communicate(timeout=60)
    if not line.startswith("painted"):
        raise RuntimeError(f"the console in {home} did not paint its board: {line!r} {err[-2000:]}")
    return Paint(wall, float(line.split()[1]))


def pairs(empty: Path, full: Path, open_count: int, runs: int) -> Iterator[tuple[Paint, Paint]]:
    paint(empty, 0)  # as a user has it: bytecode cached, the files in the page cache
    paint(full, open_count)
    for _ in range(runs):
        yield paint(empty, 0), paint(full, open_count)


def main(runs: int, incidents: int) -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.platform()}, SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        empty.mkdir()
        full.mkdir()
        started = time.perf_counter()
        events, open_count, sealed = asyncio.run(build(full / "dutydesk.db", incidents, WallClock().now()))
        print(
            f"firstpaint: built {incidents:,} incidents, {events:,} events ({open_count} open, "
            f"the last snapshot at event {sealed:,}) in {time.perf_counter() - started:.0f} s"
        )
        results = list(pairs(empty, full, open_count, runs))
    for n, (e, f) in enumerate(results, 1):
        print(
            f"  run {n:2}: empty {e.wall * 1000:6.0f} ms (cpu {e.cpu * 1000:5.0f}), "
            f"full {f.wall * 1000:6.0f} ms (cpu {f.cpu * 1000:5.0f}) = {f.wall / e.wall:.2f}x (cpu {f.cpu / e.cpu:.2f}x)"
        )
    wall = statistics.median(f.wall / e.wall for e, f in results)
    cpu = statistics.median(f.cpu / e.cpu for e, f in results)
    print(
        f"firstpaint: {runs} runs interleaved, process start to the board painted with every open incident; medians"
    )
    print(
        f"firstpaint: empty {statistics.median(e.wall for e, _ in results) * 1000:.0f} ms, "
        f"{incidents:,} incidents {statistics.median(f.wall for _, f in results) * 1000:.0f} ms = "
        f"{wall:.2f}x (target <= {TARGET}x, {'ok' if wall <= TARGET else 'OVER'}); "
        f"cpu {statistics.median(e.cpu for e, _ in results) * 1000:.0f} vs "
        f"{statistics.median(f.cpu for _, f in results) * 1000:.0f} ms = {cpu:.2f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="pairs of runs (default: 9)")
    parser.add_argument("--incidents", type=int, default=10_000)
    arguments = parser.parse_args()
    main(arguments.runs, arguments.incidents)
