"""Hostile text is harmless: escape sequences, NUL bytes, HTML and 100,000-character inputs through
the real command line and a real broker leave no control byte in any output, get clear errors, and
never stop ingest."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dutydesk.connectors.messages import Messages
from dutydesk.connectors.settings import load_settings
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.text import CUT_MARK, NOTIFICATION_MAX, device_id, markdown, visible
from tests.broker import Mosquitto
from tests.conftest import SHANGHAI
from tests.test_ingest import config, running, until

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")
HOSTILE = "\x1b[2J\x1b]0;pwned\x07<script>alert(1)</script>\u202e右到左"


def cli(config_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dutydesk.console.cli", "--config", str(config_path), "--lang", "en", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def clean(run: subprocess.CompletedProcess[str]) -> str:
    output = run.stdout + run.stderr
    assert "Traceback" not in output, output
    assert not CONTROL.search(output), repr(CONTROL.search(output))
    return output


def test_the_helper_shows_what_it_removes_and_flags_what_it_cuts() -> None:
    assert visible("a\x1b[2Jb\x00c") == "a\\u001b[2Jb\\u0000c"
    assert visible("line\nnext\ttab") == "line\\u000anext\\u0009tab"
    assert visible("line\nnext", multiline=True) == "line\nnext"
    assert markdown("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    assert len(device_id(long_a)) <= 128 and device_id(long_a) != device_id(long_b)
    assert CUT_MARK in device_id(long_a)
    title, body = Messages(lang="en", zone=SHANGHAI).compose(
        role="duty_officer",
        items=[
            {
                "ref": "r",
                "stage": "breach",
                "incident": "1",
                "obligation": HOSTILE * 5000,
                "occurrence": 1,
                "level": 0,
                "at": "2026-11-23T09:00:00+08:00",
                "due_at": "2026-11-23T09:00:00+08:00",
            }
        ],
        recipients=[],
        drill=False,
        unstaffed=False,
        at=None,
    )
    assert len(body) <= NOTIFICATION_MAX and body.endswith(CUT_MARK) and not CONTROL.search(title + body)


@pytest.mark.broker
async def test_hostile_text_through_the_cli_and_mqtt_reaches_no_output_raw(
    tmp_path: Path, mosquitto: Mosquitto, clock: ManualClock
) -> None:
    path = config(tmp_path, mosquitto)
    too_long = cli(path, "incident", "open", "--plan", "fire-conflict", "--title", "x" * 100_000)
    assert too_long.returncode == 1 and "title is too long: 100000 characters, at most 200" in clean(too_long)
    opened = cli(
        path, "incident", "open", "--plan", "fire-conflict", "--title", HOSTILE, "--description", HOSTILE
    )
    assert opened.returncode == 0, opened.stderr
    incident = opened.stdout.strip()

    settings = load_settings(path)
    async with running(settings, clock) as (journal, ingest):
        payloads = [
            {"device": HOSTILE, "alarm": "link_down", "state": "active", "time": "2026-11-23T09:00:00+08:00"},
            {
                "device": "sw-\u0000nul",
                "alarm": "x" * 100_000,
                "state": "active",
                "time": "2026-11-23T09:00:00+08:00",
            },
            {"device": "sw-ok", "alarm": "link_down", "state": "active", "time": "2026-11-23T09:00:00+08:00"},
        ]
        for payload in payloads:
            await asyncio.to_thread(mosquitto.publish, "netmon/feed/alarm", json.dumps(payload).encode())
        await until(lambda: ingest.state.received >= len(payloads), "every message taken in")
        devices = set(journal.engine.projection.alarms.last_seen)
    assert "netmon/sw-ok" in devices  # ingest went on past the hostile ones
    assert all(not CONTROL.search(device) for device in devices)

    for argv in (
        ("incidents", "list"),
        ("incidents", "show", incident),
        ("alarms", "list"),
        ("devices",),
        ("report", "incident", incident, "--format", "md"),
    ):
        run = cli(path, *argv)
        output = clean(run)
        assert run.returncode == 0, output
    report = cli(path, "report", "incident", incident, "--format", "md").stdout
    assert "<script>" not in report and "&lt;script&gt;" in report
    assert "\\u001b[2J" in cli(path, "incidents", "show", incident).stdout  # shown, not obeyed
