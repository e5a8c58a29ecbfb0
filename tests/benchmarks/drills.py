"""Benchmark of drills (issue 6): a 24-hour scenario with a few thousand alarms, run on virtual
time through a real mosquitto, the codecs, the engine and the event log.

Run: `.venv/bin/python -m tests.benchmarks.drills [--alarms N]`. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
import time

from dutydesk.connectors.settings import load_settings
from dutydesk.console.drills import run_drill
from dutydesk.console.i18n import Translator
from dutydesk.playbooks.library import bundled_sources
from dutydesk.playbooks.plans import load_plans
from dutydesk.sim.scenario import parse_scenario


def scenario_text(alarms: int, devices: int) -> str:
    """Link-down and link-up alarms from `devices` switches, spread over a day; responders work
    every incident they open."""
    lines = [
        "id: day-of-alarms",
        "title: 一天的告警",
        "duration: 24h",
        "feeds:",
        "  - name: netmon",
        '    topic: "netmon/+/alarm"',
        "    codec: generic",
        "    options:",
        '      fields: {device: "$.device", kind: "$.alarm", state: "$.state"}',
        '      states: {active: ["active"], cleared: ["cleared"]}',
        '      kind_prefix: "network."',
        "injections:",
    ]
    step = 24 * 3600 // alarms
    for n in range(alarms):
        state = "active" if n // devices % 2 == 0 else "cleared"
        device = f"sw-{n % devices:03d}"
        lines += [
            f"  - at: {n * step}s",
            "    publish:",
            f"      topic: netmon/{device}/alarm",
            f'      payload: {{"device": "{device}", "alarm": "link_down", "state": "{state}"}}',
        ]
    lines += [
        "responders:",
        "  - {plan: network-outage, after: 5m, do: done, obligation: network-support-called}",
        "  - {plan: network-outage, after: 10m, do: arrive}",
        "  - {plan: network-outage, after: 20m, do: report}",
        "  - {plan: network-outage, after: 50m, do: update}",
        "  - {plan: network-outage, after: 55m, do: stabilise}",
    ]
    return "\n".join(lines) + "\n"


async def main(alarms: int, devices: int) -> None:
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, {platform.platform()}"
    )
    plans, _ = load_plans(bundled_sources())
    scenario = parse_scenario(scenario_text(alarms, devices), "<generated>", plans=plans)
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, {"DUTYDESK_HOME": tmp})
        started = time.perf_counter()
        run = await run_drill(
            scenario,
            settings=settings,
            plans=plans,
            t=Translator("en"),
            operator="bench",
            speed=None,
            headless=True,
        )
        elapsed = time.perf_counter() - started
        events = run.folder / "drill.db"
        print(
            f"drill: 24 h scenario, {alarms:,} alarms from {devices} devices, {len({s.incident for s in run.result.scored})} "
            f"incidents, {len(run.result.armed):,} obligations scored, on virtual time through {run.broker}: "
            f"{elapsed:.1f} s ({events.stat().st_size / 2**20:.1f} MiB log)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alarms", type=int, default=3000)
    parser.add_argument("--devices", type=int, default=100)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.alarms, arguments.devices))
