"""Running drills and the demo from the command line: broker, drill database, clock, the drill
itself, the console beside it, and the after-action report."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiomqtt

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.broker import start_broker
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.notify import notifier_from_settings
from dutydesk.connectors.settings import Settings, correlation, deadlines, debounce, notice_policy
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.i18n import Translator
from dutydesk.console.render import span
from dutydesk.playbooks.alarms import Feed, Place
from dutydesk.playbooks.clock import Clock, ManualClock, iso
from dutydesk.playbooks.plans import Plan
from dutydesk.sim.clocks import ScaledClock
from dutydesk.sim.drill import Drill, drill_start
from dutydesk.sim.scenario import Scenario
from dutydesk.sim.score import DrillResult, file_improvements, result_json, score


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
    t: Translator,
    operator: str,
    speed: float | None,
    headless: bool,
    prefer_installed_broker: bool = True,
) -> DrillRun:
    """Run one drill in a folder of its own (database, broker store, report) under the home."""
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
        if headless:
            await drill.run()
        else:
            await _with_console(drill, journal, settings, t, operator)
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
    (folder / "report.md").write_text(after_action_report(result, t, settings.zone), encoding="utf-8")
    return DrillRun(result, folder, broker.kind)


async def _with_console(
    drill: Drill, journal: Journal, settings: Settings, t: Translator, operator: str
) -> None:
    """The drill in the background, the console in front; quitting the console ends the drill."""
    from dutydesk.console.app import DutyApp  # noqa: PLC0415 - Textual loads for the console only

    app = DutyApp(journal=journal, settings=settings, t=t, operator=operator)
    task = asyncio.create_task(drill.run())
    task.add_done_callback(
        lambda done: app.call_later(app.drill_finished, None if done.cancelled() else done.exception())
    )
    try:
        await app.run_async()
    finally:
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


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


def after_action_report(result: DrillResult, t: Translator, zone: ZoneInfo) -> str:
    """The drill report: score, expectations, what went well, what to improve."""
    lang = t.lang
    zh = lang == "zh"
    scenario = result.scenario
    lines = [
        f"# {'演练总结' if zh else 'After-action report'}: {scenario.title.get(lang)}",
        "",
        f"- {'演练' if zh else 'Scenario'}: `{scenario.id}` ({result.mode})",
        f"- {'时间' if zh else 'Time'}: {iso(result.started_at, zone)} — {iso(result.ended_at, zone)}",
        f"- {'按时完成' if zh else 'Met on time'}: "
        f"{sum(s.on_time for s in result.armed)} / {len(result.armed)} ({result.rate:.0%})",
        f"- {'结论' if zh else 'Result'}: {t('drill.passed') if result.passed else t('drill.not_passed')}",
        "",
        f"## {'预期' if zh else 'Expectations'}",
        "",
    ]
    for check in result.checked:
        mark = "✓" if check.ok else "✗"
        lines.append(f"- {mark} {check.plan} / {check.obligation}: {check.expected} → {check.actual}")
    lines += ["", f"## {'做得好的' if zh else 'What went well'}", ""]
    for s in result.went_well():
        lines.append(
            f"- {s.incident} {s.title.get(lang)}: {t('early', span=span(s.margin or timedelta(0), lang))}"
        )
    lines += ["", f"## {'需要改进的' if zh else 'What to improve'}", ""]
    improve = result.to_improve()
    for s in improve:
        late = (
            t("late", span=span(-(s.margin or timedelta(0)), lang))
            if s.margin is not None
            else t("state.breached")
        )
        lines.append(f"- {s.incident} {s.title.get(lang)} ({s.role}): {late}")
    if not improve:
        lines.append("- " + ("无" if zh else "nothing"))
    if result.improvements:
        lines += ["", f"## {'整改事项（已列入整改台账）' if zh else 'Rectification items filed'}", ""]
        register = "  ".join(result.improvements)
        lines.append(f"- {register}")
    if result.log.refusals:
        lines += ["", f"## {'未能执行的动作' if zh else 'Responder actions refused'}", ""]
        lines += [f"- {r}" for r in result.log.refusals]
    return "\n".join(lines) + "\n"
