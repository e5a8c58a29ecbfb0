"""`dutydesk serve` as a real process on the wall clock: it follows commands written by other
processes, stops cleanly on SIGTERM, and loses nothing when killed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from dutydesk.connectors.clock import WallClock

PATIENCE = 15.0  # seconds to wait for another process, never for a deadline


def dutydesk(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dutydesk.console.cli", "--operator", "tester", *argv],
        env={**os.environ, "DUTYDESK_HOME": str(home), "LANG": "en_US.UTF-8"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start_serve(home: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dutydesk.console.cli", "serve"],
        env={**os.environ, "DUTYDESK_HOME": str(home), "LANG": "en_US.UTF-8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "engine running" in line, process.stderr.read() if process.stderr else line
    return process


def events(home: Path, kind: str) -> list[tuple[str, ...]]:
    db = sqlite3.connect(home / "dutydesk.db")
    try:
        return db.execute("SELECT incident, data FROM events WHERE kind = ?", (kind,)).fetchall()
    finally:
        db.close()


def wait_for(home: Path, kind: str, count: int) -> list[tuple[str, ...]]:
    end = time.monotonic() + PATIENCE
    while time.monotonic() < end:
        found = events(home, kind)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {count} {kind} events within {PATIENCE}s: {events(home, kind)}")


def minutes_ago(minutes: int) -> str:
    return (WallClock().now() - timedelta(minutes=minutes)).isoformat()


def test_serve_follows_the_command_line_and_stops_cleanly(tmp_path: Path) -> None:
    serve = start_serve(tmp_path)
    try:
        # a fire reported two minutes ago: the 1-minute security start is already late
        opened = dutydesk(
            tmp_path,
            "incident",
            "open",
            "--plan",
            "fire-conflict",
            "--title",
            "食堂冒烟",
            "--at",
            minutes_ago(2),
        )
        assert opened.returncode == 0, opened.stderr
        breaches = wait_for(tmp_path, "obligation.breached", 1)
        assert '"obligation":"security-start"' in breaches[0][1]
    finally:
        serve.send_signal(signal.SIGTERM)
        out, err = serve.communicate(timeout=PATIENCE)
    assert serve.returncode == 0, err
    assert "engine stopped" in out
    db = sqlite3.connect(tmp_path / "dutydesk.db")
    assert db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] == 1


def test_killed_engine_loses_nothing_and_catches_up_on_restart(tmp_path: Path) -> None:
    for n in range(3):
        run = dutydesk(
            tmp_path,
            "incident",
            "open",
            "--plan",
            "cctv-alarm",
            "--title",
            f"周界越界 {n}",
            "--at",
            minutes_ago(20),
        )
        assert run.returncode == 0, run.stderr
    serve = start_serve(tmp_path)
    wait_for(tmp_path, "obligation.breached", 6)  # picture check (3 min) and team on site (15 min)
    serve.kill()
    serve.communicate(timeout=PATIENCE)
    before = len(events(tmp_path, "obligation.breached"))
    # while the engine is down, a report arrives and a deadline passes
    run = dutydesk(
        tmp_path,
        "incident",
        "open",
        "--plan",
        "fire-conflict",
        "--title",
        "配电间冒烟",
        "--at",
        minutes_ago(3),
    )
    assert run.returncode == 0
    serve = start_serve(tmp_path)
    try:
        breaches = wait_for(tmp_path, "obligation.breached", before + 1)  # security start (1 min)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=PATIENCE)
    keys = [(incident, data) for incident, data in breaches]
    assert len(keys) == len(set(keys))  # nothing told twice
    assert dutydesk(tmp_path, "audit", "verify").returncode == 0
    listed = dutydesk(tmp_path, "incidents", "list")
    assert listed.returncode == 0 and "配电间冒烟" in listed.stdout


def test_one_engine_per_database_and_a_dead_ones_lease_is_taken_over(tmp_path: Path) -> None:
    first = start_serve(tmp_path)
    try:
        second = dutydesk(tmp_path, "serve")
        assert second.returncode == 1
        assert "the engine is already running" in second.stderr
    finally:
        first.kill()  # SIGKILL: its lease stays in the database
        first.communicate(timeout=PATIENCE)
    third = start_serve(tmp_path)  # the holder's process is gone: taken over at once
    third.send_signal(signal.SIGTERM)
    third.communicate(timeout=PATIENCE)
    assert third.returncode == 0
