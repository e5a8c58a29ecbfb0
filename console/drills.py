"""The console's part in drills and the demo: the console in front of a running drill, and the
after-action report's text. The drill itself runs in `sim/runs.py`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.settings import Settings
from dutydesk.console.i18n import Translator
from dutydesk.console.render import span
from dutydesk.playbooks.clock import iso
from dutydesk.playbooks.plans import Plan
from dutydesk.sim import runs
from dutydesk.sim.drill import Drill
from dutydesk.sim.scenario import Scenario
from dutydesk.sim.score import DrillResult


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
) -> runs.DrillRun:
    """A drill as the command line runs it: the console in front unless `headless`, the report
    in the operator's language."""

    async def front(drill: Drill, journal: Journal) -> None:
        await with_console(drill, journal, settings, t, operator)

    return await runs.run_drill(
        scenario,
        settings=settings,
        plans=plans,
        speed=speed,
        report=lambda result: after_action_report(result, t, settings.zone),
        front=None if headless else front,
        prefer_installed_broker=prefer_installed_broker,
    )


async def with_console(
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
