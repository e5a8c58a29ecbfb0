"""Benchmarks of the foundation (issue 2): durable append rate, against raw SQLite too (issue 12),
tick cost against armed obligations, and restart time with a million events in the log.

Run: `.venv/bin/python -m tests.benchmarks.foundation [--events N] [--only append]`. Figures go to
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import platform
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.connectors.store.sqlite import DURABLE_PRAGMAS
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
from dutydesk.playbooks.events import NoteAdded, payload
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


RAW_TABLE = """CREATE TABLE events (seq INTEGER PRIMARY KEY, key TEXT, kind TEXT, at INTEGER,
    logged_at INTEGER, incident TEXT, actor TEXT, drill INTEGER, data TEXT)"""


def _micros(when: datetime) -> int:
    return round(when.timestamp() * 1_000_000)


def _raw_connection(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for pragma in DURABLE_PRAGMAS:  # the same as the store's
        db.execute(pragma)
    db.execute(RAW_TABLE)
    return db


def _raw_append(db: sqlite3.Connection, items: list[Keyed]) -> None:
    """What a program without the store does: each event's columns, its payload as JSON, one
    executemany and a commit."""
    logged = _micros(START)
    rows = [
        (
            None,
            item.key,
            item.event.kind,
            _micros(item.event.at),
            logged,
            item.event.incident,
            item.event.actor,
            int(item.event.drill),
            json.dumps(payload(item.event), ensure_ascii=False),
        )
        for item in items
    ]
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?)", rows)
    db.execute("COMMIT")


async def append_against_raw(folder: Path, total: int, batch: int, rounds: int = 10) -> tuple[float, float]:
    """Events per second through the store, and into a bare table of the same columns with plain
    sqlite3 (same pragmas, same batches, same events built beforehand). The two take turns, a
    tenth of the events at a time, so that the machine's moods fall on both alike."""
    items = [note(n) for n in range(total)]
    raw = _raw_connection(folder / "raw.db")
    store_time = raw_time = 0.0
    async with await SqliteEventStore.open(folder / "store.db") as store:
        seq = 0
        per_round = total // rounds
        for first in range(0, per_round * rounds, per_round):
            started = time.perf_counter()
            for start in range(first, first + per_round, batch):
                async with store.transaction(after=seq, now=START) as txn:
                    txn.append(items[start : min(start + batch, first + per_round)])
                seq = txn.last_seq
            store_time += time.perf_counter() - started
            started = time.perf_counter()
            for start in range(first, first + per_round, batch):
                _raw_append(raw, items[start : min(start + batch, first + per_round)])
            raw_time += time.perf_counter() - started
    raw.close()
    return per_round * rounds / store_time, per_round * rounds / raw_time


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


async def main(events: int, only: str | None) -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.platform()}, SQLite {sqlite3.sqlite_version}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store_rate, raw_rate = await append_against_raw(folder, 200_000, 1000)
        print(
            f"append vs raw SQLite, 200,000 events in batches of 1000 (WAL, synchronous=FULL): "
            f"store {store_rate:,.0f} events/s, raw {raw_rate:,.0f} events/s = {store_rate / raw_rate:.2f}x"
        )
        if only == "append":
            return
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
    parser.add_argument("--only", choices=["append"], help="run only the comparison with raw SQLite")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.only))
