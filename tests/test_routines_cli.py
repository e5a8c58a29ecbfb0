"""The command line of routines and planned events, in-process on the manual clock and a real
SQLite file: log rounds, open an incident from an abnormal one, add, move and complete events."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from dutydesk.playbooks.clock import ManualClock
from tests.conftest import MONDAY, CliRunner


def test_rounds_from_the_command_line(cli: CliRunner, clock: ManualClock) -> None:
    listed = cli("routines", "list")
    assert listed.code == 0, listed.err
    assert "cctv-patrol" in listed.out and "every 60m 00:00-24:00 (every day)" in listed.out
    assert "08:30, 17:30 (every day)" in listed.out
    done = cli("round", "cctv-patrol", "done")
    assert done.code == 0, done.err
    assert done.out.strip() == "round logged: CCTV monitor patrol (due 2026-11-23T09:15:00+08:00)"
    again = cli("round", "cctv-patrol", "done")
    assert "extra round" in again.out
    refused = cli("round", "cctv-patrol", "abnormal")
    assert refused.code == 1 and "note" in refused.err
    clock.advance(timedelta(minutes=45))
    abnormal = cli("round", "cctv-patrol", "abnormal", "--note", "东门画面黑屏", "--open-incident")
    assert abnormal.code == 0, abnormal.err
    assert "opened incident 20261123-001 (cctv-alarm), linked to this round" in abnormal.out
    shown = cli("incidents", "show", "20261123-001", "--json").json()
    assert shown["plan"] == "cctv-alarm" and "东门画面黑屏" in shown["title"]
    unknown = cli("round", "patrol", "done")
    assert unknown.code == 1 and "no routine patrol" in unknown.err


def test_events_from_the_command_line(cli: CliRunner, clock: ManualClock) -> None:
    added = cli(
        "event", "add", "--plan", "meeting-support", "--title", "季度工作会", "--place", "三楼会议室",
        "--start", "2026-11-24T14:00", "--end", "2026-11-24T16:00",
    )  # fmt: skip
    assert added.code == 0, added.err
    assert added.out.strip() == "EV20261124-01"
    (event,) = cli("events", "list", "--json").json()
    assert [(o["task"], o["due"]) for o in event["outstanding"]] == [
        ("set-up", "2026-11-24T13:00:00+08:00"),
        ("clean-up", "2026-11-24T16:30:00+08:00"),
    ]
    moved = cli("event", "EV20261124-01", "move", "--start", "2026-11-24T15:00", "--end", "2026-11-24T17:00")
    assert moved.code == 0, moved.err
    (event,) = cli("events", "list", "--json").json()
    assert [o["due"] for o in event["outstanding"]] == [
        "2026-11-24T14:00:00+08:00",
        "2026-11-24T17:30:00+08:00",
    ]
    done = cli("event", "EV20261124-01", "done", "set-up", "--note", "话筒、投影已调试")
    assert done.code == 0, done.err
    assert "done: Room set up" in done.out
    twice = cli("event", "EV20261124-01", "done", "set-up")
    assert twice.code == 1 and "already done" in twice.err
    bad = cli(
        "event",
        "add",
        "--plan",
        "gala",
        "--title",
        "x",
        "--place",
        "y",
        "--start",
        "2026-11-24T15:00",
        "--end",
        "2026-11-24T17:00",
    )
    assert bad.code == 1 and "no event plan gala" in bad.err
    table = cli("events", "list")
    assert "EV20261124-01" in table.out and "clean-up#1" in table.out


def test_the_centres_own_routine_files_are_checked_with_their_lines(cli: CliRunner, home: Path) -> None:
    folder = home / "plans" / "routines"
    folder.mkdir(parents=True)
    (folder / "night.yaml").write_text(
        "id: night-round\ntitle: 夜间巡更\nrole: security_team\nschedule:\n  every: 2h\n  from: '22:00'\n  to: '06:00'\n",
        encoding="utf-8",
    )
    (folder / "bad.yaml").write_text(
        "id: bad\ntitle: B\nrole: guard\nschedule: {daily: '09:00'}\n", encoding="utf-8"
    )
    listed = cli("routines", "list")
    assert "night-round" in listed.out and "every 2h 22:00-06:00" in listed.out
    assert f"{folder / 'bad.yaml'}:3: unknown role 'guard'" in listed.err


def test_a_large_event_from_the_command_line_to_its_report(
    cli: CliRunner, clock: ManualClock, tmp_path: Path
) -> None:
    added = cli(
        "event", "add", "--plan", "large-event", "--title", "年度表彰大会", "--place", "礼堂",
        "--start", "2026-11-27T09:00", "--end", "2026-11-27T11:00",
    )  # fmt: skip
    event = added.out.strip()
    assert event == "EV20261127-01", added.err
    assert cli("event", event, "done", "drill", "--note", "停电、嘉宾突发疾病两个科目").code == 0
    clock.set(MONDAY.replace(day=27, hour=7, minute=50))
    assert cli("event", event, "done", "set-up").code == 0
    clock.set(MONDAY.replace(day=27, hour=9, minute=5))
    assert cli("event", event, "done", "leadership-round").code == 0
    clock.set(MONDAY.replace(day=27, hour=10, minute=5))
    done = cli("event", event, "done", "leadership-round", "--abnormal", "--note", "南门人员聚集，已疏导")
    assert done.code == 0, done.err
    listed = cli("events", "list", "--json").json()
    assert [o["task"] for o in listed[0]["outstanding"]] == ["review"]
    report = cli("event", event, "report")
    assert report.code == 0, report.err
    text = report.out
    assert "年度表彰大会 活动保障报告" in text
    assert "活动前3天开展全流程演练" in text and "停电、嘉宾突发疾病两个科目" in text
    assert "活动期间中心领导每小时巡查（2）" in text and "南门人员聚集，已疏导" in text
    assert "四、复盘总结与改进措施" in text
    pdf = cli("event", event, "report", "-o", str(tmp_path / "report.pdf"))
    assert pdf.code == 0, pdf.err
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
