"""Several `dutydesk serve` nodes on one PostgreSQL log and one broker, as real processes on the
wall clock: ingest spread by a shared subscription survives a node killed mid-stream, and when
the leader dies another node fires what falls due, each deadline and notification once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dutydesk.connectors.clock import WallClock
from tests.broker import Mosquitto
from tests.endpoints import endpoint
from tests.pgcluster import Cluster

PATIENCE = 60.0  # seconds to wait for other processes, never for a deadline
ALARMS = 5_000

pytestmark = pytest.mark.broker


def node_home(tmp_path: Path, name: str, url: str, broker: Mosquitto | None, apprise: str = "") -> Path:
    """A node's own home and configuration: the shared log, its own broker session."""
    home = tmp_path / name
    home.mkdir()
    text = f'[database]\nurl = "{url}"\n'
    if broker is not None:
        text += (
            f'[mqtt]\nport = {broker.port}\nclient_id = "dutydesk-{name}"\nshare_group = "engines"\n'
            '[[feeds]]\nname = "netmon"\ntopic = "netmon/alarms"\ncodec = "generic"\n'
            '[feeds.options]\nfields = { device = "$.device", kind = "$.alarm", state = "$.state" }\n'
            'states = { active = ["active"], cleared = ["cleared"] }\n'
        )
    if apprise:
        (home / "apprise.yml").write_text(apprise, encoding="utf-8")
    (home / "dutydesk.toml").write_text(text, encoding="utf-8")
    return home


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "DUTYDESK_HOME": str(home), "LANG": "en_US.UTF-8"}


def start(home: Path) -> subprocess.Popen[str]:
    with (home / "serve.log").open("a") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            [sys.executable, "-m", "dutydesk.console.cli", "serve"],
            env=environment(home),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "engine running" in line, (home / "serve.log").read_text()
    return process


def dutydesk(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dutydesk.console.cli", "--operator", "tester", *argv],
        env=environment(home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def nodes(*homes: Path) -> Iterator[list[subprocess.Popen[str]]]:
    running = [start(home) for home in homes]
    try:
        yield running
    finally:
        stopping = [process for process in running if process.poll() is None]
        for process in stopping:
            process.send_signal(signal.SIGTERM)
        for process in running:
            process.communicate(timeout=PATIENCE)
    for process in stopping:  # the nodes not killed stop cleanly, the leader's lease given back
        assert process.returncode == 0, process.args


def query(url: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql.encode() if not args else sql, args).fetchall()  # type: ignore[arg-type]


def until(check: Callable[[], bool], what: str, patience: float = PATIENCE) -> None:
    end = time.monotonic() + patience
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"not within {patience}s: {what}")
        time.sleep(0.1)


def leader(url: str) -> int | None:
    """The pid of the node holding the engine lease, if one on this machine does."""
    rows = query(url, "SELECT holder FROM leases WHERE name = 'engine'")
    host, _, pid = rows[0][0].rpartition(":") if rows else ("", "", "")
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None


def test_a_node_killed_mid_stream_loses_nothing_and_repeats_nothing(
    tmp_path: Path, mosquitto: Mosquitto, pg_cluster: Cluster
) -> None:
    url = pg_cluster.database()
    one, two = (node_home(tmp_path, name, url, mosquitto) for name in ("one", "two"))
    lines = [
        json.dumps({"device": f"sw-{n:04d}", "alarm": "link_down", "state": "active"}) for n in range(ALARMS)
    ]
    count = "SELECT COUNT(*) FROM events WHERE kind = 'alarm.observed'"
    with nodes(one, two) as (first, _):
        publishing = subprocess.Popen(
            ["bash", "-c", f"(cat; sleep 1) | mosquitto_pub -p {mosquitto.port} -q 1 -t netmon/alarms -l"],
            stdin=subprocess.PIPE,
            text=True,
        )
        assert publishing.stdin is not None
        publishing.stdin.write("\n".join(lines) + "\n")
        publishing.stdin.close()
        until(lambda: query(url, count)[0][0] >= ALARMS // 5, "a fifth of the alarms stored")
        first.kill()  # mid-stream, whatever it had received but not acknowledged
        first.communicate(timeout=PATIENCE)
        assert publishing.wait(timeout=120) == 0
        # as systemd's Restart=always would: the broker hands its session's unacknowledged
        # messages to it again
        with nodes(one):
            until(lambda: query(url, count)[0][0] >= ALARMS, f"{ALARMS} alarms stored")
            time.sleep(2)  # anything repeated would arrive now
    devices = query(
        url, "SELECT data::json->>'device', COUNT(*) FROM events WHERE kind = 'alarm.observed' GROUP BY 1"
    )
    assert len(devices) == ALARMS
    assert {n for _, n in devices} == {1}  # each exactly once
    # an event's key starts with its process's arrival prefix: the broker spread the alarms
    processes = "SELECT COUNT(DISTINCT split_part(key, '-', 1)) FROM events WHERE kind = 'alarm.observed'"
    assert query(url, processes)[0][0] >= 2
    assert dutydesk(one, "audit", "verify").returncode == 0


def test_when_the_leader_dies_another_fires_what_falls_due_once(tmp_path: Path, pg_cluster: Cluster) -> None:
    url = pg_cluster.database()
    with endpoint() as sink:
        apprise = f"version: 1\nurls:\n  - {sink.url('fallback')}:\n      tag: fallback\n"
        one, two = (node_home(tmp_path, name, url, None, apprise) for name in ("one", "two"))
        with nodes(one, two) as running:
            until(lambda: leader(url) in {p.pid for p in running}, "a node leads")
            (dead,) = [p for p in running if p.pid == leader(url)]
            # the fire plan's security start is due a minute after the report: in 20 s from now,
            # time enough for three command lines to start and open incidents
            due = WallClock().now() + timedelta(seconds=20)
            at = (due - timedelta(minutes=1)).isoformat()
            for n in range(3):
                opened = dutydesk(
                    one, "incident", "open", "--plan", "fire-conflict", "--title", f"冒烟 {n}", "--at", at
                )
                assert opened.returncode == 0, opened.stderr
            dead.kill()
            killed = WallClock().now()
            assert killed < due, "the incidents took too long to open: the leader may have fired"
            dead.communicate(timeout=PATIENCE)
            breached = "SELECT incident, data::json->>'obligation', logged_at FROM events WHERE kind = 'obligation.breached'"
            until(lambda: len(query(url, breached)) >= 3, "the breaches fired by the other node", 30)
            until(lambda: len(sink.bodies("fallback")) >= 1, "the notification delivered", 30)
            time.sleep(3)  # anything fired or sent twice would show now
            breaches = query(url, breached)
        queued = query(url, "SELECT COUNT(*) FROM events WHERE kind = 'notification.queued'")[0][0]
    assert len(breaches) == len({(incident, obligation) for incident, obligation, _ in breaches}) == 3
    for _, _, logged_at in breaches:
        fired = due.timestamp() * 1e6
        assert logged_at >= killed.timestamp() * 1e6  # fired by the survivor, not the dead leader
        assert logged_at - fired < 10e6  # within 10 s of falling due
    assert len(sink.bodies("fallback")) == queued  # each notification once
