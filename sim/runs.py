"""Running a drill end to end and publishing a scenario: the drill's own folder, broker and
database, the clock, the drill itself, its score, `result.json` and the after-action report.

What shows a drill (the console) and how its report reads are the caller's: they come in as
callables, so nothing here depends on the console.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

from dutydesk.connectors.application.factories import correlation, deadlines, debounce, notice_policy
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.broker import start_broker
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.notify import notifier_from_settings
from dutydesk.connectors.settings import Settings
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.playbooks.alarms import Feed, Place
from dutydesk.playbooks.clock import Clock, ManualClock
from dutydesk.playbooks.plans import Plan
from dutydesk.sim.clocks import ScaledClock
from dutydesk.sim.drill import Drill, drill_start
from dutydesk.sim.scenario import Scenario
from dutydesk.sim.score import DrillResult, file_improvements, result_json, score

Front = Callable[[Drill, Journal], Awaitable[None]]  # runs the drill while showing it


@dataclass(frozen=True, slots=True)
class DrillRun:
    result: DrillResult
    folder: Path
    broker: str


def scenario_feeds(scenario: Scenario) -> dict[str, Feed]:
    return {
        f.name: Feed(name=f.name, place=Place(site=f.site, building=f.building, floor=f.floor))
        for f in scenario.feeds
    }


async def run_drill(
    scenario: Scenario,
    *,
    settings: Settings,
    plans: dict[str, Plan],
    speed: float | None,
    report: Callable[[DrillResult], str],
    front: Front | None = None,
    prefer_installed_broker: bool = True,
) -> DrillRun:
    """Run one drill in a folder of its own (database, broker store, result, report) under the home.

    Args:
        speed: None for virtual time (as fast as the pipeline goes), else the scaled clock's rate.
        report: the after-action report's text from the result, written to `report.md`.
        front: what runs the drill while showing it (the console); None runs it headless.
    """
    wall = WallClock()
    start = drill_start(wall.now())
    name = f"{scenario.id}-{start.astimezone(settings.zone):%Y%m%d-%H%M}"
    folder = settings.base / "drills" / name
    for n in itertools.count(2):  # every drill gets a folder of its own
        try:
            folder.mkdir(parents=True)
            break
        except FileExistsError:
            folder = folder.with_name(f"{name}-{n}")
    broker = await start_broker(folder / "broker", prefer_installed=prefer_installed_broker)
    clock: Clock = ManualClock(start) if speed is None else ScaledClock(wall, start, speed)
    store = await SqliteEventStore.open(folder / "drill.db")
    try:
        journal = await Journal.open(
            store,
            plans=plans,
            deadlines=deadlines(settings),
            clock=clock,
            feeds=scenario_feeds(scenario),
            debounce=debounce(settings),
            correlation=correlation(settings),
            notices=notice_policy(settings),
        )
        drill = Drill(
            scenario,
            journal,
            port=broker.port,
            virtual=speed is None,
            zone=settings.zone,
            sources=[notifier_from_settings(journal, settings)],  # drill-tagged destinations only
        )
        if front is None:
            await drill.run()
        else:
            await front(drill, journal)
        mode = "virtual" if speed is None else f"speed {speed:g}"
        result = score(
            scenario, journal.engine, mode=mode, started=start, ended=journal.clock.now(), log=drill.log
        )
        rules = settings.file.rectification
        await file_improvements(result, journal, workdays=rules.workdays, reminders=rules.reminders)
    finally:
        await store.close()
        await broker.stop()
    (folder / "result.json").write_text(
        json.dumps(result_json(result, settings.zone), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (folder / "report.md").write_text(report(result), encoding="utf-8")
    return DrillRun(result, folder, broker.kind)


async def publish_scenario(scenario: Scenario, *, host: str, port: int, speed: float, clock: Clock) -> int:
    """Publish a scenario's device messages to a broker on its timeline; reports and responders
    are dutydesk's own business and are left out. Returns how many messages went out."""
    start = clock.now()
    steps = sorted(
        (
            (offset, n, injection.publish)
            for injection in scenario.injections
            if injection.publish is not None
            for offset, n in injection.times()
        ),
        key=lambda step: (step[0], step[1]),
    )
    scaled = ScaledClock(clock, start, speed)
    async with aiomqtt.Client(host, port, identifier=f"dutydesk-sim-publish-{scenario.id}") as client:
        for offset, n, publication in steps:
            await scaled.sleep_until(start + offset)
            topic = publication.topic.replace("{n}", str(n))
            await client.publish(topic, publication.body(n), qos=1, retain=publication.retain)
    return len(steps)
