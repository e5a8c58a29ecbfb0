"""Drills end to end: every bundled scenario through a real broker, scored; the same outcome at
any speed; drills marked and kept apart; the embedded broker; the command line."""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.broker import start_broker
from dutydesk.connectors.settings import load_settings
from dutydesk.console.cli import main
from dutydesk.console.drills import run_drill
from dutydesk.console.i18n import Translator
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.yamlfile import SourceErrors
from dutydesk.sim import runs
from dutydesk.sim.drill import Drill
from dutydesk.sim.runs import DrillRun
from dutydesk.sim.scenario import Scenario, bundled_scenarios, load_scenario
from dutydesk.sim.score import result_json

SCENARIOS = Path(__file__).parent / "fixtures" / "scenarios"


async def drill(
    home: Path, plans: dict[str, Plan], scenario: Scenario, speed: float | None, **options: Any
) -> DrillRun:
    settings = load_settings(None, {"DUTYDESK_HOME": str(home)})
    return await run_drill(
        scenario,
        settings=settings,
        plans=plans,
        t=Translator("en"),
        operator="演练员",
        speed=speed,
        headless=True,
        **options,
    )


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
async def test_every_bundled_scenario_scores_as_it_expects(
    tmp_path: Path, plans: dict[str, Plan], name: str
) -> None:
    scenario = load_scenario(name, plans=plans)
    run = await drill(tmp_path, plans, scenario, speed=None)
    result = run.result
    assert run.broker == "mosquitto"
    assert [c for c in result.checked if not c.ok] == []
    assert result.passed
    assert result.armed, "the drill armed nothing: nothing was tested"
    assert (run.folder / "report.md").read_text(encoding="utf-8").startswith("# After-action report")
    # every event the drill wrote is marked as a drill
    db = sqlite3.connect(run.folder / "drill.db")
    assert db.execute("SELECT COUNT(*) FROM events WHERE drill = 0").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] > 0


def outcome(run: DrillRun) -> list[tuple[str, str, int, str]]:
    return sorted((s.plan, s.obligation, s.occurrence, s.state) for s in run.result.scored)


async def test_the_same_outcome_at_speed_1_speed_600_and_virtual(
    tmp_path: Path, plans: dict[str, Plan]
) -> None:
    scenario = load_scenario(str(SCENARIOS / "short-fire.yaml"), plans=plans)
    virtual = await drill(tmp_path / "v", plans, scenario, speed=None)
    fast = await drill(tmp_path / "f", plans, scenario, speed=600)
    real = await drill(tmp_path / "r", plans, scenario, speed=1)  # 70 seconds of wall time
    assert virtual.result.passed and fast.result.passed and real.result.passed
    assert outcome(virtual) == outcome(fast) == outcome(real)
    assert ("fire-conflict", "security-start", 1, "breached") in outcome(real)
    assert virtual.result.rate == fast.result.rate == real.result.rate

    # responders act at their scheduled moments: the margins agree to the second
    def margins(run: DrillRun) -> list[float | None]:
        return [
            round(s.margin.total_seconds()) if s.margin else None
            for s in sorted(run.result.scored, key=lambda s: (s.obligation, s.occurrence))
        ]

    assert margins(virtual) == margins(fast)


async def test_the_embedded_broker_runs_a_drill_without_mosquitto(
    tmp_path: Path, plans: dict[str, Plan]
) -> None:
    scenario = load_scenario("cctv-night-intrusion", plans=plans)
    run = await drill(tmp_path, plans, scenario, speed=None, prefer_installed_broker=False)
    assert run.broker == "embedded"
    assert run.result.passed


def test_broken_scenarios_are_reported_by_line(plans: dict[str, Plan]) -> None:
    with pytest.raises(SourceErrors) as caught:
        load_scenario(str(SCENARIOS / "broken.yaml"), plans=plans)
    text = str(caught.value)
    assert "broken.yaml:7: injections[1].at: cannot read 'soon'" in text
    assert "broken.yaml:10: responders[0]:" in text and "'done' names the obligation" in text
    with pytest.raises(SourceErrors, match="cannot read"):
        load_scenario("no-such-scenario", plans=plans)


async def test_sim_publish_sends_the_device_messages(tmp_path: Path) -> None:
    broker = await start_broker(tmp_path / "broker")
    received: list[str] = []
    try:
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="watcher") as watcher:
            await watcher.subscribe("#", qos=1)

            async def listen() -> None:
                async for message in watcher.messages:
                    received.append(str(message.topic))
                    if len(received) == 50:
                        return

            listening = asyncio.create_task(listen())
            out, err = io.StringIO(), io.StringIO()
            code = await asyncio.to_thread(
                main,
                [
                    "--lang",
                    "en",
                    "sim",
                    "publish",
                    "power-cut-flood",
                    "--speed",
                    "100000",
                    "--broker",
                    f"127.0.0.1:{broker.port}",
                ],
                env={"DUTYDESK_HOME": str(tmp_path)},
                out=out,
                err=err,
            )
            assert code == 0, err.getvalue()
            await asyncio.wait_for(listening, 20)
    finally:
        await broker.stop()
    assert out.getvalue().strip() == "published 100 messages"
    said = err.getvalue()  # the speed, so that a long wait never looks like a hang
    assert "power-cut-flood" in said and "100000×" in said and "(1 is real time)" in said
    assert received[0].startswith("tele/pm-") and received[0].endswith("/SENSOR")


def test_drill_run_and_demo_from_the_command_line(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    args = ["--lang", "en", "drill", "run", "guest-ill-large-event", "--virtual", "--headless", "--json"]
    assert main(args, env={"DUTYDESK_HOME": str(tmp_path)}, out=out, err=err) == 0, err.getvalue()
    summary = json.loads(out.getvalue())
    assert summary["passed"] and summary["score"]["rate"] == 1.0
    assert {o["state"] for o in summary["obligations"]} >= {"met"}
    assert all({"due", "met_at", "state"} <= o.keys() for o in summary["obligations"])
    demo = io.StringIO()
    assert (
        main(
            ["--lang", "en", "demo", "--headless", "--speed", "5000"],
            env={"DUTYDESK_HOME": str(tmp_path)},
            out=demo,
            err=err,
        )
        == 0
    ), err.getvalue()
    assert "drill power-cut-elevator" in demo.getvalue()


def test_result_json_lists_obligations_with_due_met_and_state(tmp_path: Path, plans: dict[str, Plan]) -> None:
    scenario = load_scenario("fire-alarm", plans=plans)
    run = asyncio.run(drill(tmp_path, plans, scenario, speed=None))
    data = result_json(run.result, load_settings(None, {"DUTYDESK_HOME": str(tmp_path)}).zone)
    security = next(o for o in data["obligations"] if o["id"] == "security-start")
    assert security["state"] == "met" and security["margin_seconds"] == 20.0


async def test_a_drills_notifications_reach_only_the_drill_destination(
    tmp_path: Path, plans: dict[str, Plan]
) -> None:
    from tests.endpoints import endpoint
    from tests.test_notify import apprise_yaml

    with endpoint() as ok:
        routes = {ok.url("real"): "fallback", ok.url("drill"): "drill"}
        (tmp_path / "apprise.yml").write_text(apprise_yaml(routes), encoding="utf-8")
        scenario = load_scenario("network-outage-meeting", plans=plans)  # the report to the leader is late
        run = await drill(tmp_path, plans, scenario, speed=None)
        assert run.result.passed
        drill_messages = ok.bodies("drill")
    assert drill_messages, "the drill sent nothing: nothing was tested"
    assert all(m["title"].startswith("【演练】") for m in drill_messages)
    assert not ok.bodies("real")
    db = sqlite3.connect(run.folder / "drill.db")
    attempts = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'notification.attempt'").fetchone()[0]
    assert attempts >= len(drill_messages)


async def test_what_to_improve_goes_into_the_register(tmp_path: Path, plans: dict[str, Plan]) -> None:
    scenario = load_scenario("network-outage-meeting", plans=plans)  # the report to the leader is late
    run = await drill(tmp_path, plans, scenario, speed=None)
    assert run.result.improvements, "nothing to improve was filed"
    report = (run.folder / "report.md").read_text(encoding="utf-8")
    assert "Report to the leader on duty within 30 minutes (duty_officer): 10 minutes late" in report
    assert run.result.improvements[0] in report
    db = sqlite3.connect(run.folder / "drill.db")
    (data,) = db.execute("SELECT data FROM events WHERE kind = 'rectification.added'").fetchone()
    assert "演练改进：30分钟内报告带班领导" in data and "值班人员" in data


async def test_sim_runs_a_drill_with_the_front_and_report_it_is_given(
    tmp_path: Path, plans: dict[str, Plan]
) -> None:
    scenario = load_scenario("fire-alarm", plans=plans)
    shown: list[str] = []

    async def front(run: Drill, journal: Journal) -> None:  # stands where the console would
        shown.append(scenario.id)
        await run.run()

    settings = load_settings(None, {"DUTYDESK_HOME": str(tmp_path)})
    run = await runs.run_drill(
        scenario,
        settings=settings,
        plans=plans,
        speed=None,
        report=lambda r: f"rate {r.rate:.0%}\n",
        front=front,
    )
    assert shown == ["fire-alarm"] and run.result.passed
    assert (run.folder / "report.md").read_text(encoding="utf-8") == f"rate {run.result.rate:.0%}\n"
    assert json.loads((run.folder / "result.json").read_text(encoding="utf-8"))["passed"]


def test_sim_never_imports_the_console() -> None:
    sim = Path(__file__).parents[1] / "sim"
    importing = [
        f"{path.name}:{n}"
        for path in sorted(sim.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "dutydesk.console" in line
    ]
    assert importing == []


async def test_a_power_cut_through_mosquitto_is_one_incident_holding_every_alarm(
    tmp_path: Path, plans: dict[str, Plan]
) -> None:
    scenario = load_scenario(str(SCENARIOS / "flood-follow-on.yaml"), plans=plans)
    run = await drill(tmp_path, plans, scenario, speed=None)
    assert run.broker == "mosquitto"
    assert run.result.passed, run.result.checked
    db = sqlite3.connect(run.folder / "drill.db")
    (incident,) = [row[0] for row in db.execute("SELECT incident FROM events WHERE kind = 'incident.opened'")]
    # the incident each alarm took effect on: at once, or after its kind's raise delay
    raised = db.execute(
        "SELECT json_extract(o.data, '$.alarm_kind'), coalesce(o.incident, c.incident) FROM events o"
        " LEFT JOIN events c ON c.kind = 'alarm.changed' AND json_extract(c.data, '$.status') = 'active'"
        " AND json_extract(c.data, '$.key') = json_extract(o.data, '$.key')"
        " WHERE o.kind = 'alarm.observed' AND json_extract(o.data, '$.signal') = 'raise'"
    ).fetchall()
    # fifty outages, five devices offline (absorbed), on battery, low battery: all on the one incident
    kinds = [kind for kind, _ in raised]
    assert (kinds.count("power.outage"), kinds.count("device.offline")) == (50, 5)
    assert {"power.on_battery", "power.low_battery"} <= set(kinds)
    assert {owner for _, owner in raised} == {incident}
    (rise,) = db.execute(
        "SELECT json_extract(data, '$.previous'), json_extract(data, '$.severity'), json_extract(data, '$.reason')"
        " FROM events WHERE kind = 'incident.severity'"
    ).fetchall()
    assert rise == ("large", "major", "power.low_battery · ups-b2 · ups.status OB DISCHRG LB")


async def test_sim_publish_tells_of_each_wait_before_it_starts(
    tmp_path: Path, plans: dict[str, Plan], mosquitto: Any
) -> None:
    """Issue 19.9: the progress hook hears of every wait, with how many went out and when the
    next is due; on a manual clock that the hook moves on, so no real time passes."""
    from datetime import timedelta

    from dutydesk.playbooks.clock import ManualClock
    from tests.conftest import MONDAY

    scenario = load_scenario("power-cut-elevator", plans=plans)
    clock = ManualClock(MONDAY)
    heard: list[tuple[int, int, timedelta]] = []

    def waiting(sent: int, total: int, offset: timedelta) -> None:
        heard.append((sent, total, offset))
        clock.set(MONDAY + offset)  # the wait is over at once

    count = await runs.publish_scenario(
        scenario, host="127.0.0.1", port=mosquitto.port, speed=1.0, clock=clock, progress=waiting
    )
    assert heard and all(total == count for _, total, _ in heard)
    assert [sent for sent, _, _ in heard] == sorted(sent for sent, _, _ in heard)
    assert all(offset > timedelta(0) for _, _, offset in heard)
