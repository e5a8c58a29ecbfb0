"""Benchmarks of the reports (issue 7): the investigation report of an incident with 10,000
timeline events as HTML, and a yearly KPI report over 100,000 incidents.

The long incident is written through the journal like any other (hourly reports every ten minutes
for five weeks). The year is the engine's own events: 60 distinct incident stories (alarm
incidents closed after handling, elevator entrapments through investigation and rectification,
repairs, power outages reported late with their breaches) run through the real engine on a manual
clock, then repeated 100,000 times with shifted times and fresh ids, plus 150,000 alarms with
floods and chattering devices, appended in large batches. That builds in about a minute, where
running every story through the engine would take many.

Run: `.venv/bin/python -m tests.benchmarks.reports`. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import io
import platform
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.reporting import read_kpi
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.reports import drawing
from dutydesk.console.reports.fonts import FontChoice, cjk_font
from dutydesk.console.reports.incident import investigation_report
from dutydesk.console.reports.kpi import kpi_report
from dutydesk.console.reports.output import ProgressLine, render
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import (
    AddRectification,
    Command,
    CompleteObligation,
    CompleteRectification,
    GiveRectificationFeedback,
    OpenIncident,
    PostUpdate,
    ReachMilestone,
    RecordCause,
)
from dutydesk.playbooks.engine import Engine, Keyed
from dutydesk.playbooks.events import AlarmChanged, AlarmObserved, Event, PlanRegistered
from dutydesk.playbooks.kpi import Period
from dutydesk.playbooks.library import bundled_sources
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import load_plans
from dutydesk.playbooks.typeddata import dump
from dutydesk.playbooks.vocab import Cause, Milestone
from dutydesk.playbooks.workdays import WorkCalendar

ZONE = ZoneInfo("Asia/Shanghai")
PLANS, _ = load_plans(bundled_sources())
DEADLINES = Deadlines(WorkCalendar(), ZONE)
TEMPLATE_START = datetime(2026, 3, 2, 8, 0, tzinfo=ZONE)  # a Monday
YEAR = 2026
WHO = "bench"


# -- the long incident ---------------------------------------------------------------------------


async def long_incident(path: Path, updates: int) -> tuple[str, int]:
    """One incident with two events per hourly report (the report and the obligation it meets)."""
    clock = ManualClock(datetime(2026, 11, 2, 8, 0, tzinfo=ZONE))
    async with await SqliteEventStore.open(path) as store:
        journal = await Journal.open(store, plans=PLANS, deadlines=DEADLINES, clock=clock)
        (opened,) = await journal.submit(
            OpenIncident(actor=WHO, plan_id="elevator-entrapment", title="长时间困人")
        )
        incident = str(opened.recorded[-1].event.incident)
        reach = functools.partial(ReachMilestone, actor=WHO, incident=incident)
        clock.advance(timedelta(minutes=5))
        await journal.submit(reach(milestone=Milestone.REPORTED), reach(milestone=Milestone.ON_SITE))
        for start in range(0, updates, 500):
            batch: list[Command] = []
            for _ in range(min(500, updates - start)):
                clock.advance(timedelta(minutes=10))
                batch.append(
                    PostUpdate(
                        actor=WHO,
                        at=clock.now(),
                        incident=incident,
                        measures="安抚",
                        status="稳定",
                        next_steps="等待",
                    )
                )
            await journal.submit(*batch)
        await journal.checkpoint()
        return incident, journal.engine.seq


async def incident_html(path: Path, incident: str) -> tuple[float, float, int]:
    """Seconds to make the HTML report as the command does (journal, timeline, document, HTML),
    the share of it spent drawing the chart, and the size of the page."""
    clock = ManualClock(datetime(2026, 12, 20, 8, 0, tzinfo=ZONE))
    started = time.perf_counter()
    async with await SqliteEventStore.open(path) as store:
        journal = await Journal.open(store, plans={}, deadlines=DEADLINES, clock=clock)
        engine = journal.engine
        state = engine.incident(incident)
        statuses = engine.status(state, clock.now())
        timeline = await store.read(0, incident=incident)
    document = investigation_report(state, statuses, timeline, [], now=clock.now(), zone=ZONE, lang="zh")
    page = render(document, "html", fonts=FontChoice(), progress=ProgressLine(io.StringIO()))
    total = time.perf_counter() - started
    started = time.perf_counter()
    drawing.svg(document.figures[0].chart, cjk_font())
    return total, time.perf_counter() - started, len(page)


# -- the year --------------------------------------------------------------------------------------


def story(kind: str, rng: random.Random) -> list[tuple[timedelta, Command]]:
    """Commands of one incident story, by minutes from its opening; "ID" stands for its id."""
    m = functools.partial(timedelta, minutes=1)

    def reach(after: float, milestone: Milestone, text: str | None = None) -> tuple[timedelta, Command]:
        return m() * after, ReachMilestone(actor=WHO, incident="ID", milestone=milestone, text=text)

    report, arrive = rng.uniform(3, 40), rng.uniform(4, 18)
    if kind == "alarm":
        return [
            (
                timedelta(0),
                OpenIncident(
                    actor=WHO, plan_id="cctv-alarm", title="周界告警", location=f"{rng.randint(1, 9)}号楼"
                ),
            ),
            (
                m() * rng.uniform(1, 4),
                CompleteObligation(actor=WHO, incident="ID", obligation="confirm-picture"),
            ),
            reach(report, Milestone.REPORTED),
            reach(arrive, Milestone.ON_SITE),
            reach(max(report, arrive) + 20, Milestone.STABILISED),
            reach(max(report, arrive) + 25, Milestone.CLOSED, "误报，已复核"),
        ]
    if kind == "repair":
        plan = rng.choice(["urgent-repair", "normal-repair"])
        return [
            (
                timedelta(0),
                OpenIncident(actor=WHO, plan_id=plan, title="报修", location=f"{rng.randint(1, 9)}号楼"),
            ),
            (m() * rng.uniform(10, 90), CompleteObligation(actor=WHO, incident="ID", obligation="dispatch")),
            reach(120, Milestone.CLOSED, "已派单"),
        ]
    plan = "elevator-entrapment" if kind == "elevator" else "power-outage"
    day = 24 * 60
    steps: list[tuple[timedelta, Command]] = [
        (
            timedelta(0),
            OpenIncident(
                actor=WHO, plan_id=plan, title="困人" if kind == "elevator" else "停电", location="3号楼"
            ),
        ),
        reach(report if kind == "elevator" else 45, Milestone.REPORTED),
        reach(arrive, Milestone.ON_SITE),
        (m() * 50, PostUpdate(actor=WHO, incident="ID", measures="处置", status="稳定", next_steps="观察")),
        reach(100, Milestone.STABILISED),
        (m() * day, RecordCause(actor=WHO, incident="ID", category=Cause.EQUIPMENT_AGEING, text="设备老化")),
        reach(day + 1, Milestone.INVESTIGATED),
    ]
    items = rng.randint(1, 3)
    for n in range(items):
        steps.append(
            (
                m() * (day + 2),
                AddRectification(
                    actor=WHO,
                    incident="ID",
                    content=f"整改{n}",
                    owner="张工",
                    workdays=15,
                    from_investigation=True,
                    reminders=(5, 2),
                ),
            )
        )
    if kind == "elevator":
        for n in range(items):
            done = day * rng.uniform(3, 20)
            steps.append((m() * done, CompleteRectification(actor=WHO, item=f"ID-R{n + 1}", evidence="工单")))
            steps.append(
                (m() * (done + 60), GiveRectificationFeedback(actor=WHO, item=f"ID-R{n + 1}", text="已反馈"))
            )
        steps.append(reach(day * 30, Milestone.CLOSED, "整改完成，结案"))
    return steps


def run_template(kind: str, seed: int) -> list[Event]:
    """The events the real engine produces for one story, warnings and breaches included."""
    rng = random.Random(seed)
    engine = Engine(plans=PLANS, deadlines=DEADLINES)
    events: list[Event] = []

    def store(keyed: list[Keyed]) -> None:
        for item in keyed:
            events.append(item.event)
            engine.apply(item.event, len(events))

    incident = None
    for offset, step in sorted(story(kind, rng), key=lambda step: step[0]):
        when = TEMPLATE_START + offset
        while (wake := engine.next_wakeup()) is not None and wake <= when:
            store(engine.tick(wake))
        command = step
        if incident is not None:
            fields = {"incident": incident} if hasattr(step, "incident") else {}
            if hasattr(step, "item"):
                fields["item"] = step.item.replace("ID", incident)
            command = dataclasses.replace(step, **fields)  # type: ignore[type-var]
        store(engine.handle(command, when))
        incident = incident or events[-1].incident
    store(engine.tick(TEMPLATE_START + timedelta(days=60)))
    return [e for e in events if not isinstance(e, PlanRegistered)]


def shifted(event: Event, delta: timedelta, old: str, new: str, drill: bool) -> Event:
    changes: dict[str, object] = {"at": event.at + delta, "incident": new, "drill": drill}
    for name in ("due_at", "anchor_at"):
        value = getattr(event, name, None)
        if isinstance(value, datetime):
            changes[name] = value + delta
    item = getattr(event, "item", None)
    if isinstance(item, str):
        changes["item"] = item.replace(old, new)
    return dataclasses.replace(event, **changes)  # type: ignore[type-var]


async def build_year(path: Path, incidents: int, alarms: int) -> int:
    rng = random.Random(7)
    kinds = ["alarm"] * 12 + ["repair"] * 4 + ["elevator"] * 3 + ["power"]
    templates = [run_template(kinds[n % len(kinds)], n) for n in range(60)]
    registered = [
        PlanRegistered(
            at=datetime(YEAR - 1, 12, 31, tzinfo=ZONE),
            incident=None,
            actor=WHO,
            fingerprint=p.fingerprint(),
            plan=dump(p),
        )
        for p in PLANS.values()
    ]
    per_day = -(-incidents // 365)
    year_start = datetime(YEAR, 1, 1, tzinfo=ZONE)
    async with await SqliteEventStore.open(path) as store:
        seq, batch, key = 0, [Keyed(f"plan{n}", e) for n, e in enumerate(registered)], 0
        for n in range(incidents):
            day, slot = divmod(n, per_day)
            opened = year_start + timedelta(days=day, seconds=slot * 86400 // per_day)
            drill = n % 50 == 0
            template = templates[n % len(templates)]
            old = str(template[0].incident)
            new = ("D" if drill else "") + f"{opened:%Y%m%d}-{slot + 1:03d}"
            delta = opened - template[0].at
            for event in template:
                batch.append(Keyed(f"e{key}", shifted(event, delta, old, new, drill)))
                key += 1
            if len(batch) >= 20_000:
                seq = await _append(store, seq, batch)
                batch = []
        # alarms through the year: most devices quiet, a few chattering, a flood on some days
        at = year_start
        for n in range(alarms):
            flood = n % 5000 < 40
            at += timedelta(seconds=rng.uniform(5, 20) if flood else rng.expovariate(alarms / (365 * 86400)))
            device = f"AHU-{rng.randint(1, 8)}" if rng.random() < 0.2 else f"dev-{rng.randint(1, 3000)}"
            alarm = f"hvac/{device}//hvac.fault"
            batch.append(
                Keyed(
                    f"e{key}",
                    AlarmObserved(
                        at=at,
                        incident=None,
                        actor="ingest",
                        key=alarm,
                        source="hvac",
                        device=device,
                        point="",
                        alarm_kind="hvac.fault",
                        signal="raise",
                        topic=f"hvac/{device}",
                        raw="{}",
                    ),
                )
            )
            batch.append(
                Keyed(
                    f"e{key + 1}",
                    AlarmChanged(
                        at=at, incident=None, actor="ingest", key=alarm, status="active", reason="raised"
                    ),
                )
            )
            key += 2
            if len(batch) >= 20_000:
                seq = await _append(store, seq, batch)
                batch = []
        return await _append(store, seq, batch)


async def _append(store: SqliteEventStore, seq: int, batch: list[Keyed]) -> int:
    async with store.transaction(after=seq, now=datetime.now(UTC)) as txn:
        txn.append(batch)
    return txn.last_seq


async def kpi_year(path: Path) -> tuple[float, float, int, int]:
    """Seconds to read the year's figures, seconds to make the HTML report from them, and counts."""
    now = datetime(YEAR + 1, 1, 20, 9, 0, tzinfo=ZONE)
    started = time.perf_counter()
    async with await SqliteEventStore.open(path) as store:
        kpi = await read_kpi(store, Period.year(YEAR, ZONE), DEADLINES, now)
    read = time.perf_counter() - started
    started = time.perf_counter()
    render(
        kpi_report(kpi, zone=ZONE, lang="zh"),
        "html",
        fonts=FontChoice(),
        progress=ProgressLine(io.StringIO()),
    )
    return (
        read,
        time.perf_counter() - started,
        kpi.real.incidents + kpi.drills.incidents,
        kpi.real.alarms.total,
    )


def cold_command(home: Path, argv: list[str]) -> float:
    """Wall time of the whole command in a fresh process, imports included."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dutydesk.console.cli", "--operator", "bench", *argv],
        check=True,
        capture_output=True,
        env={"DUTYDESK_HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8"},
    )
    return time.perf_counter() - started


async def main(part: str) -> None:
    machine = f"{platform.node()} {platform.machine()}, Python {platform.python_version()}"
    print(f"machine: {machine}, {platform.platform()}")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        if part in ("all", "incident"):
            db = home / "dutydesk.db"
            started = time.perf_counter()
            incident, events = await long_incident(db, 5000)
            print(f"incident: built {events:,} events in {time.perf_counter() - started:.0f} s")
            await incident_html(db, incident)  # once to load matplotlib and the font
            total, chart, size = min([await incident_html(db, incident) for _ in range(3)])
            print(
                f"incident: HTML report {total:.2f} s (the chart alone {chart:.2f} s), {size / 2**20:.1f} MiB"
            )
            cold = cold_command(home, ["report", "incident", incident, "-o", str(home / "r.html")])
            print(f"incident: the whole command in a fresh process, imports included: {cold:.2f} s")
        if part in ("all", "year"):
            year = home / "year.db"
            started = time.perf_counter()
            stored = await build_year(year, 100_000, 150_000)
            print(f"year: built {stored:,} events in {time.perf_counter() - started:.0f} s")
            read, html, count, alarms = min([await kpi_year(year) for _ in range(3)])
            print(
                f"year: {count:,} incidents, {alarms:,} alarms; figures read in {read:.2f} s, HTML report "
                f"made from them in {html:.2f} s; total {read + html:.2f} s"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=["all", "incident", "year"], default="all")
    asyncio.run(main(parser.parse_args().part))
