"""Drills: `drill run` (a scenario through the whole pipeline, scored), `demo` (the lively one
with the console in front) and `sim publish` (a scenario's device messages to a broker)."""

from __future__ import annotations

import argparse

import aiomqtt

from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output
from dutydesk.console.drills import run_drill
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.yamlfile import SourceErrors
from dutydesk.sim.runs import DrillRun, publish_scenario
from dutydesk.sim.scenario import Scenario, load_scenario
from dutydesk.sim.score import result_json


def _scenario(ctx: Context, name: str) -> tuple[Scenario, dict[str, Plan]]:
    plans = ctx.library()
    try:
        return load_scenario(name, plans=plans), plans
    except SourceErrors as exc:
        raise CliError(str(exc)) from None


async def _drill(ctx: Context, name: str, *, speed: float | None, headless: bool) -> DrillRun:
    scenario, plans = _scenario(ctx, name)
    return await run_drill(
        scenario,
        settings=ctx.settings,
        plans=plans,
        t=ctx.t,
        operator=ctx.operator,
        speed=speed,
        headless=headless,
    )


def _summary(run: DrillRun, ctx: Context) -> Lines:
    result, t = run.result, ctx.t
    line = t(
        "drill.result",
        scenario=result.scenario.id,
        on_time=sum(s.on_time for s in result.armed),
        armed=len(result.armed),
        rate=f"{result.rate:.0%}",
        verdict=t("drill.passed") if result.passed else t("drill.not_passed"),
        report=run.folder / "report.md",
    )
    data = {**result_json(result, ctx.settings.zone), "folder": str(run.folder), "broker": run.broker}
    return Lines([line], data=data, code=0 if result.passed else 1)


async def drill_run(args: argparse.Namespace, ctx: Context) -> Output:
    """A scenario through the whole pipeline, scored; fails when the drill does."""
    run = await _drill(ctx, args.scenario, speed=None if args.virtual else args.speed, headless=args.headless)
    return _summary(run, ctx)


async def demo(args: argparse.Namespace, ctx: Context) -> Output:
    """The lively scenario with the console in front; a demo does not fail on its score."""
    run = await _drill(ctx, args.scenario, speed=args.speed, headless=args.headless)
    return Lines(_summary(run, ctx).lines)


async def sim_publish(args: argparse.Namespace, ctx: Context) -> Output:
    scenario, _ = _scenario(ctx, args.scenario)
    host, port = ctx.settings.file.mqtt.host, ctx.settings.file.mqtt.port
    if args.broker:
        host, _, number = args.broker.rpartition(":")
        if not number.isdigit():
            raise CliError(f"--broker {args.broker!r}: write HOST:PORT")
        port = int(number)
    try:
        count = await publish_scenario(
            scenario, host=host or "127.0.0.1", port=port, speed=args.speed, clock=ctx.clock
        )
    except aiomqtt.MqttError as exc:
        raise CliError(f"broker {host}:{port}: {exc}") from None
    return Lines([ctx.t("drill.published", count=count)])
