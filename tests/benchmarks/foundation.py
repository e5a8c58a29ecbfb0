"""Benchmarks of the foundation (issue 2): durable append rate, tick cost against armed
obligations, and restart time with a million events in the log.

Run: `.venv/bin/python -m tests.benchmarks.foundation [--events N]`. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import platform
import statistics
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dutydesk.connectors.application.journal import Journal
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
from dutydesk.playbooks.engine import Engine, Keyed
from dutydesk.playbooks.events import NoteAdded
from dutydesk.playbooks.library import bundled_sources
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import load_plans
from dutydesk.playbooks.vocab import Milestone
from dutydesk.playbooks.workdays import WorkCalendar

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 9, 0, tzinfo=ZONE)
PLANS, _ = load_plans(bundled_sources())
DEADLINES = Deadlines(WorkCalendar(), ZONE)


def note(n: int) -> Keyed:
    event = NoteAdded(at=START, incident=f"20261123-{n % 500:03d}", actor="bench", text="巡查正常")
    return Keyed(f"bench-{n}", event)


async def append_rate(folder: Path, total: int, batch: int) -> float:
    """Events per second committed durably (WAL, synchronous=FULL) in batches of `batch`."""
    async with await SqliteEventStore.open(folder / f"append-{batch}.db") as store:
        started = time.perf_counter()
        seq = 0
        for start in range(0, total, batch):
            async with store.transaction(after=seq, now=START) as txn:
                txn.append(note(n) for n in range(start, min(start + batch, total)))
            seq = txn.last_seq
        return total / (time.perf_counter() - started)


def armed_engine(incidents: int) -> tuple[Engine, int]:
    """An engine with `incidents` open elevator incidents; returns it and its armed obligations."""
    engine = Engine(plans=PLANS, deadlines=DEADLINES)
    seq = 0
    for n in range(incidents):
        at = START + timedelta(seconds=n % 3600)
        command = OpenIncident(actor="bench", at=at, plan_id="elevator-entrapment", title=f"#{n}")
        for item in engine.handle(command, at):
            seq += 1
            engine.apply(item.event, seq)
    armed = sum(
        1
        for incident in engine.projection.incidents.values()
        for status in engine.status(incident, START)
        if status.armed
    )
    return engine, armed


def tick_cost(engine: Engine, rounds: int = 2000) -> tuple[float, float]:
    """Median microseconds of a tick with nothing due, and of one that fires one deadline."""
    idle = []
    at = START + timedelta(seconds=1)
    for _ in range(rounds):
        started = time.perf_counter()
        engine.tick(at)
        idle.append(time.perf_counter() - started)
    firing = []
    seq = engine.seq
    moment = START + timedelta(minutes=8)  # first warnings (contractor call at 80% of 10 min)
    for _ in range(min(rounds, 200)):
        moment += timedelta(seconds=1)
        started = time.perf_counter()
        fired = engine.tick(moment)
        firing.append((time.perf_counter() - started) / max(1, len(fired)))
        for item in fired:
            seq += 1
            engine.apply(item.event, seq)
    return statistics.median(idle) * 1e6, statistics.median(firing) * 1e6


def incident_story(n: int, at: datetime) -> list[Command]:
    """About ten events: open, report, arrive, contractor, update, note; most then stabilise and close."""
    incident = f"{at.astimezone(ZONE):%Y%m%d}-{n:03d}"
    step = timedelta(minutes=1)
    reach = functools.partial(ReachMilestone, actor="bench", incident=incident)
    commands: list[Command] = [
        OpenIncident(actor="bench", at=at, plan_id="elevator-entrapment", title=f"困人 #{n}"),
        reach(at=at + step, milestone=Milestone.REPORTED),
        reach(at=at + 2 * step, milestone=Milestone.ON_SITE),
        CompleteObligation(
            actor="bench", at=at + 3 * step, incident=incident, obligation="contractor-called"
        ),
        PostUpdate(
            actor="bench",
            at=at + 4 * step,
            incident=incident,
            measures="安抚",
            status="稳定",
            next_steps="等待维保",
        ),
        AddNote(actor="bench", at=at + 5 * step, incident=incident, text="维保已到"),
    ]
    if n % 20:  # one incident in twenty is still being handled; the rest are over
        commands += [
            reach(at=at + 6 * step, milestone=Milestone.STABILISED),
            reach(at=at + 7 * step, milestone=Milestone.CLOSED, text="已解困，转调查组"),
        ]
    return commands


async def build_log(path: Path, events: int) -> tuple[int, int]:
    """A log of about `events` events from real incident stories, with snapshots taken as the
    running engine takes them. Returns (events, open incidents)."""
    async with await SqliteEventStore.open(path) as store:
        clock = ManualClock(START)
        journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=clock)
        n = 0
        while journal.engine.seq < events:
            day = START + timedelta(days=n // 900)
            clock.set(max(clock.now(), day + timedelta(minutes=10)))
            batch: list[Command] = []
            for k in range(100):
                batch += incident_story(n % 900 + 1, day + timedelta(seconds=k))
                n += 1
            await journal.submit(*batch)
            await journal.checkpoint_if_due()
        open_count = sum(not i.closed for i in journal.engine.projection.incidents.values())
        return journal.engine.seq, open_count


async def restart_time(path: Path, use_snapshot: bool) -> tuple[float, int]:
    async with await SqliteEventStore.open(path) as store:
        if not use_snapshot:
            store.load_snapshot = _no_snapshot  # type: ignore[method-assign]
        started = time.perf_counter()
        journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=ManualClock(START))
        wake = journal.engine.next_wakeup()
        elapsed = time.perf_counter() - started
        assert wake is not None
        return elapsed, len(journal.engine.projection.incidents)


async def _no_snapshot() -> None:
    return None


async def main(events: int) -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        batched = await append_rate(folder, 200_000, 1000)
        single = await append_rate(folder, 2_000, 1)
        print(
            f"append: {batched:,.0f} events/s in batches of 1000; {single:,.0f} events/s one per "
            f"commit; batching gives {batched / single:.0f}x"
        )

        small, small_armed = armed_engine(250)
        small_idle, small_fire = tick_cost(small)
        tracemalloc.start()
        large, large_armed = armed_engine(25_000)
        memory = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        large_idle, large_fire = tick_cost(large)
        print(
            f"tick: {small_armed:,} armed obligations: idle {small_idle:.1f} us, "
            f"{small_fire:.1f} us per fired deadline"
        )
        print(
            f"tick: {large_armed:,} armed obligations: idle {large_idle:.1f} us, "
            f"{large_fire:.1f} us per fired deadline; engine memory {memory / 2**20:.0f} MiB"
        )
        print(
            f"tick: {large_armed / small_armed:.0f}x the obligations cost "
            f"{large_idle / small_idle:.2f}x (idle) and {large_fire / small_fire:.2f}x (firing)"
        )

        log = folder / "restart.db"
        started = time.perf_counter()
        stored, open_count = await build_log(log, events)
        print(
            f"restart: built {stored:,} events ({open_count:,} incidents open) in "
            f"{time.perf_counter() - started:.0f} s"
        )
        warm, count = await restart_time(log, use_snapshot=True)
        cold, _ = await restart_time(log, use_snapshot=False)
        print(
            f"restart: {count:,} incidents re-armed from snapshot + tail in {warm:.2f} s; "
            f"full replay without snapshot {cold:.2f} s ({cold / warm:.1f}x)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the restart log")
    asyncio.run(main(parser.parse_args().events))
