"""Acknowledging from a phone, end to end: a real `dutydesk serve` with its link page on loopback,
real notifications to loopback endpoints, real HTTP requests, real SQLite; SMS replies through the
real `dutydesk sms-inbound` command."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import decode_header
from pathlib import Path

import httpx
import pytest

from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.phone.links import Signer, load_key
from tests.endpoints import Endpoint, endpoint
from tests.test_notify import apprise_yaml
from tests.test_serve import PATIENCE, dutydesk, events, minutes_ago, start_serve, wait_for

WANG = "+86 138 0000 0001"  # the duty officer's phone, as the SMS gateway reports it
ROTA = """role,holder,tags,start,end
值班人员,王值班,wang 13800000001,,
带班领导,李主任,li 13900000002,,
"""
ESCALATE_AFTER = 8  # seconds: time enough to tap the link before the leader is told
LINK = re.compile(r"http://127\.0\.0\.1:\d+/a/(\S+)/(\S+)")


@dataclass
class Desk:
    home: Path
    wang: Endpoint
    li: Endpoint
    sms: Endpoint
    ntfy: Endpoint
    serve: subprocess.Popen[str]

    def stop(self) -> str:
        """Stop serve cleanly; what it logged."""
        if self.serve.returncode is None:
            self.serve.send_signal(signal.SIGTERM)
        _, err = self.serve.communicate(timeout=PATIENCE)
        assert self.serve.returncode == 0, err
        return err

    def links(self, count: int = 1) -> dict[str, str]:
        """Incident -> the link in the messages the duty officer received (waits for `count`)."""
        end = time.monotonic() + PATIENCE
        while time.monotonic() < end:
            found = {
                m.group(1): m.group(0) for b in self.wang.bodies("wang") for m in LINK.finditer(b["message"])
            }
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {count} link(s) within {PATIENCE}s: {self.wang.bodies('wang')}")

    def open(self, title: str, minutes: int = 2) -> str:
        run = dutydesk(
            self.home,
            "incident",
            "open",
            "--plan",
            "fire-conflict",
            "--title",
            title,
            "--at",
            minutes_ago(minutes),
        )
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()


def _decoded(headers: dict[str, str]) -> str:
    """ntfy's X-Actions header as ntfy reads it (RFC 2047)."""
    ((text, charset),) = decode_header(headers.get("X-Actions", ""))
    return text.decode(charset) if isinstance(text, bytes) else text


def until(found: Callable[[], list[str]]) -> list[str]:
    """What `found` returns once it returns something (within PATIENCE)."""
    end = time.monotonic() + PATIENCE
    while not (result := found()) and time.monotonic() < end:
        time.sleep(0.05)
    assert result, f"nothing within {PATIENCE}s"
    return result


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    with endpoint() as wang, endpoint() as li, endpoint() as sms, endpoint() as ntfy, endpoint() as fallback:
        (tmp_path / "apprise.yml").write_text(
            apprise_yaml(
                {
                    wang.url("wang"): "wang",
                    sms.url("sms"): '"13800000001"',  # stands in for the SMS gateway
                    f"ntfy://127.0.0.1:{ntfy.port}/duty-wang": "wang",  # a self-hosted ntfy
                    li.url("li"): "li",
                    fallback.url("fallback"): "fallback",
                }
            ),
            encoding="utf-8",
        )
        (tmp_path / "dutydesk.toml").write_text(
            f'[notify]\nlang = "en"\ndigest_interval = 1\n'
            f"[escalation]\ndelays = [{ESCALATE_AFTER}, 600]\n"
            '[ack]\nenabled = true\nlisten = "127.0.0.1:0"\n',
            encoding="utf-8",
        )
        (tmp_path / "rota.csv").write_text(ROTA, encoding="utf-8")
        assert dutydesk(tmp_path, "roster", "import", str(tmp_path / "rota.csv")).returncode == 0
        desk = Desk(tmp_path, wang, li, sms, ntfy, start_serve(tmp_path))
        try:
            yield desk
        finally:
            if desk.serve.returncode is None:
                desk.stop()


def test_the_link_in_a_delivered_message_acknowledges_and_escalation_stops(desk: Desk) -> None:
    tapped = desk.open("食堂冒烟")
    link = desk.links()[tapped]
    page = httpx.get(link)
    assert (
        page.status_code == 200 and "食堂冒烟" in page.text and "Security team starts the plan" in page.text
    )
    assert (
        'method="post"' in page.text
        and "<script" not in page.text
        and "http" not in page.text.split("<body>")[1]
    )
    # ntfy shows the same link as a button
    buttons = until(lambda: [b for b in map(_decoded, desk.ntfy.headers) if tapped in b])
    assert f"view, Acknowledge {tapped}, {link}" in buttons[0]
    acked = httpx.post(link, data={"action": "ack"})
    assert acked.status_code == 200 and "escalation stops" in acked.text, acked.text
    # a second fire, never acknowledged: its escalation shows when the first one's would have gone
    ignored = desk.open("仓库冒烟")
    (escalated,) = wait_for(desk.home, "obligation.escalated", 1)
    assert escalated[0] == ignored
    assert [row for row in events(desk.home, "obligation.escalated") if row[0] == tapped] == []
    told = until(lambda: [b["message"] for b in desk.li.bodies("li") if "escalated" in b["message"]])
    assert ignored in told[0] and tapped not in told[0]
    # the acknowledgement, with its person and channel, in the record of the incident
    timeline = dutydesk(desk.home, "incidents", "show", tapped, "--json")
    acks = [e for e in json.loads(timeline.stdout)["timeline"] if e["kind"] == "obligation.acknowledged"]
    assert [(e["actor"], e["channel"]) for e in acks] == [("王值班", "link")]
    shown = dutydesk(desk.home, "incidents", "show", tapped)
    assert "acknowledged: Security team starts the plan within 1 minute (by phone link)" in shown.stdout
    report = dutydesk(desk.home, "report", "incident", tapped)
    assert report.returncode == 0 and "经手机链接确认" in report.stdout, report.stderr


def test_refused_links_say_why_show_nothing_and_change_nothing(desk: Desk) -> None:
    first, second = desk.open("食堂冒烟"), desk.open("仓库冒烟")
    links = desk.links(2)
    base, _, token = links[first].rpartition("/")
    body, _, mac = token.partition(".")
    signer = Signer(load_key(desk.home / "ack.key"), expiry=timedelta(hours=24))
    stranger = Signer(b"k" * 32, expiry=timedelta(hours=24))
    now = WallClock().now()

    def minted(by: Signer, incident: str, at: object = now) -> str:
        issued = by.issue(notification="n1", holder="王值班", incident=incident, now=at)  # type: ignore[arg-type]
        return f"{base.rpartition('/')[0]}/{incident}/{issued}"

    cases = {
        f"{base}/not-a-token": (403, "not a link this duty desk sent"),
        f"{base}/{body[:-2]}xy.{mac}": (403, "altered"),  # another holder or incident written in
        minted(stranger, first): (403, "altered"),  # another desk's key
        minted(signer, first, now - timedelta(hours=25)): (410, "expired"),
        f"{links[second].rpartition('/')[0].rpartition('/')[0]}/{first}/{links[second].rpartition('/')[2]}": (
            403,
            "does not belong",
        ),
    }
    for url, (status, words) in cases.items():
        for answer in (httpx.get(url), httpx.post(url, data={"action": "ack"})):
            assert answer.status_code == status and words in answer.text, (url, answer.text)
            assert "食堂冒烟" not in answer.text and "仓库冒烟" not in answer.text
    assert events(desk.home, "obligation.acknowledged") == []
    # replayed: acts once; then a link used once the breach is acknowledged, and once closed
    assert httpx.post(links[first], data={"action": "onway"}).status_code == 200
    again = httpx.post(links[first], data={"action": "ack"})
    assert again.status_code == 409 and "used already" in again.text
    late = httpx.post(minted(signer, first), data={"action": "ack"})
    assert late.status_code == 409 and "no breach to acknowledge" in late.text
    assert dutydesk(desk.home, "incident", second, "close", "--reason", "false alarm").returncode == 0
    wait_for(desk.home, "incident.milestone", 1)
    closed = httpx.post(minted(signer, second), data={"action": "ack"})
    assert closed.status_code == 409 and "closed" in closed.text
    assert len(events(desk.home, "obligation.acknowledged")) == 1
    notes = [row for row in events(desk.home, "incident.note") if row[0] == first]
    assert len(notes) == 1 and "on my way" in notes[0][1]
    logged = desk.stop()
    for reason in ("malformed", "altered", "expired", "foreign"):
        assert f": {reason}" in logged and "refused POST /a/" in logged, reason


def test_a_flood_is_refused_and_deadlines_keep_their_time(desk: Desk) -> None:
    first = desk.open("食堂冒烟")
    host = desk.links()[first].split("/")[2]
    answers: list[int] = []
    done = threading.Event()

    def flood() -> None:
        with httpx.Client() as client:
            while not done.is_set():
                answers.append(client.get(f"http://{host}/a/{first}/forged.token").status_code)

    # a deadline falling due in a few seconds, while the page is flooded
    due_soon = (WallClock().now() - timedelta(seconds=50)).isoformat()
    flooding = threading.Thread(target=flood)
    flooding.start()
    try:
        run = dutydesk(
            desk.home,
            "incident",
            "open",
            "--plan",
            "fire-conflict",
            "--title",
            "配电房冒烟",
            "--at",
            due_soon,
        )
        assert run.returncode == 0, run.stderr
        breaches = wait_for(desk.home, "obligation.breached", 2)
    finally:
        done.set()
        flooding.join(PATIENCE)
    assert answers.count(429) > answers.count(403) > 0 and set(answers) == {403, 429}
    (late,) = [json.loads(data) for incident, data in breaches if incident == run.stdout.strip()]
    fired = logged_at(desk.home, "obligation.breached")[run.stdout.strip()]
    assert fired - datetime.fromisoformat(late["due_at"]) < timedelta(seconds=2)


def logged_at(home: Path, kind: str) -> dict[str, datetime]:
    """When each incident's first event of a kind was written (a breach is dated at its due time,
    so only the moment it was logged shows whether the engine was late)."""
    db = sqlite3.connect(home / "dutydesk.db")
    try:
        rows = db.execute(
            "SELECT incident, MIN(logged_at) FROM events WHERE kind = ? GROUP BY incident", (kind,)
        ).fetchall()
    finally:
        db.close()
    return {incident: datetime.fromtimestamp(at / 1e6, UTC) for incident, at in rows}


def test_sms_replies_from_the_right_number_only(desk: Desk) -> None:
    incident = desk.open("食堂冒烟")
    texted = until(lambda: [b["message"] for b in desk.sms.bodies("sms")])  # the gateway has it
    assert "Reply 1a by SMS" in texted[0] and incident in texted[0]

    def sms(number: str, text: str, **env: str) -> subprocess.CompletedProcess[str]:
        argv = ["--from", number, text] if number else []
        return subprocess.run(
            [sys.executable, "-m", "dutydesk.console.cli", "sms-inbound", *argv],
            env={**os.environ, "DUTYDESK_HOME": str(desk.home), "LANG": "en_US.UTF-8", **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    stranger = sms("+8613700000000", "aa")
    assert stranger.returncode == 1 and "no one's in the roster" in stranger.stderr
    assert sms(WANG, "ok thanks").returncode == 1
    assert "has no such item" in sms(WANG, "9a").stderr
    assert events(desk.home, "obligation.acknowledged") == []
    # gammu-smsd's RunOnReceive: the sender and text in the environment
    done = sms("", "", SMS_MESSAGES="1", SMS_1_NUMBER="+8613800000001", SMS_1_TEXT="1A")
    assert done.returncode == 0 and f"王值班 by SMS on {incident}: Acknowledged" in done.stdout, done.stderr
    acks = events(desk.home, "obligation.acknowledged")
    assert len(acks) == 1 and '"channel":"sms"' in acks[0][1]
    assert "already" in sms(WANG, "aa").stdout  # the same reply again acts once
    shown = dutydesk(desk.home, "incidents", "show", incident)
    assert "(by SMS reply)" in shown.stdout
