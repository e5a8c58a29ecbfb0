"""Somebody is told when the engine is not running: a real `dutydesk serve` killed with SIGKILL,
the real console (`App.run_test`) showing the red banner within 5 s, and `dutydesk watchdog`
telling a real loopback endpoint; sd_notify over a real datagram socket."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dutydesk.connectors import systemd
from dutydesk.connectors.application.factories import deadlines
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.liveness import (
    EngineStatus,
    Liveness,
    assess,
    engine_liveness,
    stop_holder,
    watchdog_due,
)
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.settings import load_settings
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.app import DutyApp
from dutydesk.console.i18n import Translator
from dutydesk.playbooks.plans import Plan
from tests.broker import Mosquitto
from tests.endpoints import endpoint
from tests.test_board import board_text, screen_text
from tests.test_ingest import config
from tests.test_ingest_kill import connected, serve
from tests.test_notify import apprise_yaml
from tests.test_serve import PATIENCE, dutydesk, start_serve

BANNER_WITHIN = 5.0  # seconds: the promise
NOW = WallClock().now()


async def test_the_console_shows_no_engine_within_5s_of_a_kill_and_the_watchdog_tells(
    tmp_path: Path, plans: dict[str, Plan]
) -> None:
    home = tmp_path
    with endpoint() as fallback:
        (home / "apprise.yml").write_text(apprise_yaml({fallback.url("fallback"): "fallback"}), "utf-8")
        serve = start_serve(home)
        settings = load_settings(None, {"DUTYDESK_HOME": str(home)})
        store = await SqliteEventStore.open(settings.database)
        wall = WallClock()
        journal = await Journal.open(store, plans=plans, deadlines=deadlines(settings), clock=wall)
        app = DutyApp(
            journal=journal,
            settings=settings,
            t=Translator("en"),
            operator="王值班",
            liveness=lambda: engine_liveness(store, settings.database, wall.now()),
        )
        try:
            async with app.run_test(size=(160, 40)):
                await until(lambda: "NO ENGINE" not in board_text(app, "#attention"), "the engine seen")
                assert not watchdog_run(home).stdout.count("told"), "the watchdog told of a running engine"
                serve.kill()  # SIGKILL: no goodbye, its lease left in the database
                serve.communicate(timeout=PATIENCE)
                killed = time.monotonic()
                await until(
                    lambda: "NO ENGINE RUNNING" in board_text(app, "#attention"), "the banner", BANNER_WITHIN
                )
                to_banner = time.monotonic() - killed
        finally:
            if serve.poll() is None:
                serve.kill()
                serve.communicate(timeout=PATIENCE)
            await store.close()
        told = watchdog_run(home)
        to_watchdog = time.monotonic() - killed
        assert told.returncode == 1 and "told 1 fallback destination" in told.stdout, (
            told.stdout + told.stderr
        )
        # the engine itself may have told the fallback of a round due meanwhile (the bundled
        # routines run on the wall clock here): only the outage messages count
        assert len(outages(fallback.bodies("fallback"))) == 1
        again = watchdog_run(home)  # the same outage is told once
        assert "told" not in again.stdout and len(outages(fallback.bodies("fallback"))) == 1
    print(f"time to banner {to_banner:.1f} s, to watchdog notification {to_watchdog:.1f} s")


def outages(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bodies if "NO ENGINE RUNNING" in b["title"] or "值守引擎未运行" in b["title"]]


def watchdog_run(home: Path) -> subprocess.CompletedProcess[str]:
    return dutydesk(home, "watchdog", "--after", "0")


async def until(check: Callable[[], bool], what: str, patience: float = PATIENCE) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + patience
    while not check():
        if loop.time() > end:
            raise AssertionError(f"not within {patience}s: {what}")
        await asyncio.sleep(0.05)


def test_a_status_speaks_only_for_the_live_holder_and_while_fresh() -> None:
    status = EngineStatus("degraded", NOW, "h:1", "disk full", notifications=False)
    assert assess(None, status, NOW) == Liveness(False, last_heard=NOW)
    assert assess("h:1", status, NOW) == Liveness(True, "disk full", False, NOW)
    assert assess("h:2", status, NOW).degraded  # another holder: this status is not its
    assert assess("h:1", status, NOW + timedelta(seconds=11)).degraded  # silent: hung or refused


def test_the_watchdog_tells_once_per_outage_after_the_wait() -> None:
    gone = Liveness(False, last_heard=NOW)
    wait = timedelta(minutes=2)
    assert not watchdog_due(Liveness(True), NOW, wait, None)
    assert not watchdog_due(gone, NOW + timedelta(minutes=1), wait, None)
    assert watchdog_due(gone, NOW + timedelta(minutes=3), wait, None)
    assert not watchdog_due(gone, NOW + timedelta(minutes=4), wait, NOW + timedelta(minutes=3))
    back_and_gone = Liveness(False, last_heard=NOW + timedelta(minutes=10))
    assert watchdog_due(back_and_gone, NOW + timedelta(minutes=13), wait, NOW + timedelta(minutes=3))


def test_sd_notify_reaches_the_socket_systemd_gives(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        assert systemd.notify("WATCHDOG=1", {"NOTIFY_SOCKET": str(path)})
        assert server.recv(100) == b"WATCHDOG=1"
    assert not systemd.notify("READY=1", {})


def test_install_systemd_writes_the_engine_unit_and_the_watchdog_timer(tmp_path: Path) -> None:
    folder = tmp_path / "units"
    run = dutydesk(tmp_path, "install-systemd", "--dir", str(folder), "--no-enable")
    assert run.returncode == 0, run.stderr
    assert "systemctl --user enable --now dutydesk.service dutydesk-watchdog.timer" in run.stdout
    service = (folder / "dutydesk.service").read_text()
    assert "Type=notify" in service and "Restart=always" in service and "WatchdogSec=30" in service
    assert f"Environment=DUTYDESK_HOME={tmp_path}" in service and " serve\n" in service
    assert " watchdog\n" in (folder / "dutydesk-watchdog.service").read_text()
    assert "OnUnitActiveSec=1min" in (folder / "dutydesk-watchdog.timer").read_text()


async def test_quitting_leaves_the_engine_and_stopping_it_asks_first(
    tmp_path: Path, plans: dict[str, Plan]
) -> None:
    serve = start_serve(tmp_path)
    settings = load_settings(None, {"DUTYDESK_HOME": str(tmp_path)})
    store = await SqliteEventStore.open(settings.database)
    wall = WallClock()
    journal = await Journal.open(store, plans=plans, deadlines=deadlines(settings), clock=wall)

    def app() -> DutyApp:
        return DutyApp(
            journal=journal,
            settings=settings,
            t=Translator("en"),
            operator="王值班",
            liveness=lambda: engine_liveness(store, settings.database, wall.now()),
            stop_engine=lambda: stop_holder(store, wall.now()),
        )

    try:
        first = app()
        async with first.run_test(size=(160, 40)) as pilot:
            await pilot.press("ctrl+q")
        assert serve.poll() is None, "quitting the console stopped the engine"
        second = app()
        async with second.run_test(size=(160, 40)) as pilot:
            second.action_stop_engine()
            await pilot.pause()
            assert "notifications stop" in screen_text(second), screen_text(second)  # what it costs
            await pilot.press("enter")  # the default: keep it running
            await pilot.pause()
            assert serve.poll() is None
            second.action_stop_engine()
            await pilot.pause()
            await pilot.press("down", "enter")
            await asyncio.to_thread(serve.wait, PATIENCE)  # SIGTERM: a clean stop
            await until(lambda: "NO ENGINE RUNNING" in board_text(second, "#attention"), "the banner")
        assert serve.returncode == 0
    finally:
        if serve.poll() is None:
            serve.kill()
        serve.communicate(timeout=PATIENCE)
        await store.close()


def retained(broker: Mosquitto, topic: str) -> dict[str, object]:
    """The retained message on `topic` now."""
    command = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-C", "1", "-W", "10"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 0, run.stderr
    return dict(json.loads(run.stdout))


@pytest.mark.broker
def test_the_engine_publishes_its_state_retained_and_its_last_will_says_gone(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    path = config(tmp_path, mosquitto)
    text = path.read_text(encoding="utf-8").replace(
        'client_id = "dutydesk-test"\n', 'client_id = "dutydesk-test"\nkeepalive = 5\n'
    )
    path.write_text(text, encoding="utf-8")
    engine = serve(path)
    try:
        connected(engine)
        topic = "dutydesk/engine/status"
        end = time.monotonic() + PATIENCE
        while retained(mosquitto, topic)["state"] != "running":
            assert time.monotonic() < end, "no running state published"
        engine.kill()  # no goodbye: the broker speaks for it after 1.5 keep-alives
        engine.communicate(timeout=PATIENCE)
        while retained(mosquitto, topic)["state"] != "gone":
            assert time.monotonic() < end + PATIENCE, "the last will never came"
            time.sleep(0.5)
    finally:
        if engine.poll() is None:
            engine.kill()
            engine.communicate(timeout=PATIENCE)
