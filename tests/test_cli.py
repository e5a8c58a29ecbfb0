"""The command line end to end, in-process on a manual clock, against a real SQLite file."""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.cli import main
from dutydesk.console.cli.parser import parse
from dutydesk.console.views import incident_rows
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from tests.conftest import CliRunner


def open_incident(cli: CliRunner, *extra: str) -> str:
    run = cli(
        "incident",
        "open",
        "--plan",
        "elevator-entrapment",
        "--title",
        "3号楼2号梯困人",
        "--location",
        "3号楼",
        *extra,
    )
    assert run.code == 0, run.err
    return run.out.strip()


def test_plans_list_and_check(cli: CliRunner) -> None:
    listed = cli("plans", "list")
    assert listed.code == 0
    assert "elevator-entrapment" in listed.out and "fire-conflict" in listed.out
    checked = cli("plans", "check")
    assert (checked.code, checked.out.strip()) == (0, "9 plans valid")


def test_plans_check_reports_broken_files(cli: CliRunner, home: Path) -> None:
    folder = home / "plans"
    folder.mkdir()
    (folder / "broken.yaml").write_text(
        "id: broken\ntitle: x\nobligations:\n  - id: a\n    title: a\n    role: nobody\n    due: 5m\n",
        encoding="utf-8",
    )
    (folder / "bad-yaml.yaml").write_text("id: [\n", encoding="utf-8")
    run = cli("plans", "check")
    assert run.code == 1
    lines = run.out.strip().splitlines()
    assert any(line.startswith(f"{folder / 'broken.yaml'}:6: unknown role 'nobody'") for line in lines)
    assert any(line.startswith(f"{folder / 'bad-yaml.yaml'}:") and "bad YAML" in line for line in lines)
    # a named file is checked on its own
    assert cli("plans", "check", str(folder / "broken.yaml")).code == 1
    assert cli("plans", "check", str(home / "missing.yaml")).code == 1
    # the broken plan is left out, the others still work, and the user is told
    listed = cli("plans", "list")
    assert listed.code == 0 and "broken" not in listed.out and "plan error" in listed.err


def test_plans_show_gives_absolute_due_times(cli: CliRunner) -> None:
    run = cli("plans", "show", "elevator-entrapment", "--urgent", "--opened-at", "2026-11-23T10:00", "--json")
    assert run.code == 0, run.err
    data = run.json()
    due = {o["id"]: o["due_at"] for o in data["obligations"]}
    assert due["team-on-site"] == "2026-11-23T10:05:00+08:00"
    assert due["report-leader"] == "2026-11-23T10:30:00+08:00"
    assert due["investigation"] is None
    assert "report-party-government" not in due
    major = cli(
        "plans",
        "show",
        "elevator-entrapment",
        "--severity",
        "重大",
        "--opened-at",
        "2026-11-23T10:00",
        "--json",
    ).json()
    assert "report-party-government" in {o["id"] for o in major["obligations"]}
    assert cli("plans", "show", "no-such-plan").code == 1


def test_calendar_commands(cli: CliRunner) -> None:
    assert cli("calendar", "add-workdays", "2026-09-30", "3").out.strip() == "2026-10-10"
    assert cli("calendar", "add-workdays", "2026-12-30", "3", "--json").json() == {
        "date": "2027-01-05",
        "provisional": True,
    }
    assert cli("calendar", "is-workday", "2026-10-10").out.strip() == "adjusted-workday"
    assert cli("calendar", "is-workday", "2026-10-01").out.strip() == "holiday"
    assert cli("calendar", "is-workday", "2026-11-22").out.strip() == "weekend"
    assert cli("calendar", "is-workday", "2027-03-03").out.strip() == "workday (provisional)"
    bad = cli("calendar", "is-workday", "2026-13-01")
    assert bad.code == 1 and "cannot read date" in bad.err


def test_calendar_override_file(cli: CliRunner, home: Path) -> None:
    (home / "calendar.toml").write_text(
        'confirmed_years = [2027]\n[[days]]\ndate = 2027-02-08\ntype = "holiday"\nname = "春节"\n',
        encoding="utf-8",
    )
    assert cli("calendar", "is-workday", "2027-02-08").out.strip() == "holiday"
    assert cli("calendar", "is-workday", "2027-03-03").out.strip() == "workday"


def test_an_incident_from_report_to_close(cli: CliRunner, clock: ManualClock) -> None:
    incident = open_incident(cli, "--at", "2026-11-23T08:50")
    assert incident == "20261123-001"
    assert cli("incident", incident, "report").code == 0  # 10 minutes after receipt
    arrive = cli("incident", incident, "arrive", "--at", "2026-11-23T09:00")
    assert arrive.code == 0 and "5 minutes early" in arrive.out
    clock.advance(timedelta(minutes=5))
    assert cli("incident", incident, "done", "contractor-called").code == 0
    assert (
        cli(
            "incident",
            incident,
            "update",
            "--measures",
            "已断电，安抚乘客",
            "--status",
            "被困2人情绪稳定",
            "--next",
            "等待维保到场",
        ).code
        == 0
    )
    data = cli("incidents", "show", incident, "--json").json()
    for key in (
        "id",
        "plan",
        "title",
        "severity",
        "urgent",
        "drill",
        "state",
        "opened_at",
        "obligations",
        "timeline",
    ):
        assert key in data
    assert data["opened_at"] == "2026-11-23T08:50:00+08:00"
    obligations = {(o["id"], o["occurrence"]): o for o in data["obligations"]}
    report = obligations[("report-leader", 1)]
    assert (report["state"], report["met_at"], report["margin_seconds"]) == (
        "met",
        "2026-11-23T09:00:00+08:00",
        1200.0,
    )
    assert obligations[("team-on-site", 1)]["state"] == "met"
    assert obligations[("progress-update", 2)]["due_at"] == "2026-11-23T10:05:00+08:00"
    assert obligations[("investigation", 1)]["due_at"] is None
    assert data["timeline"][0]["kind"] == "incident.opened"
    assert {e["actor"] for e in data["timeline"] if e["kind"] == "incident.milestone"} == {"tester"}

    assert cli("incident", incident, "stabilise").code == 0
    assert cli("incident", incident, "investigated").code == 0
    assert cli("incident", incident, "rectified").code == 0
    assert cli("incident", incident, "feedback", "--text", "已向3号楼各处室反馈").code == 0
    assert cli("incident", incident, "close").code == 0
    assert cli("incidents", "list", "--json").json() == []
    (closed,) = cli("incidents", "list", "--all", "--json").json()
    assert closed["state"] == "closed"


def test_incidents_list_orders_by_next_deadline(cli: CliRunner) -> None:
    slow = open_incident(cli)
    run = cli("incident", "open", "--plan", "fire-conflict", "--title", "食堂冒烟")
    fast = run.out.strip()
    listed = cli("incidents", "list", "--json").json()
    assert [i["id"] for i in listed] == [fast, slow]
    text = cli("incidents", "list").out
    assert text.index(fast) < text.index(slow)


def test_urgent_and_severity_actions(cli: CliRunner) -> None:
    incident = open_incident(cli)
    assert cli("incident", incident, "urgent").code == 0
    assert cli("incident", incident, "severity", "major").code == 0
    data = cli("incidents", "show", incident, "--json").json()
    assert (data["urgent"], data["severity"]) == (True, "major")
    due = {o["id"]: o["due_at"] for o in data["obligations"]}
    assert due["team-on-site"] == "2026-11-23T09:05:00+08:00"
    assert "report-party-government" in due


def test_actions_that_make_no_sense_fail_clearly_and_write_nothing(cli: CliRunner, home: Path) -> None:
    incident = open_incident(cli)
    assert cli("incident", incident, "close", "--reason", "误报").code == 0
    count = sqlite3.connect(home / "dutydesk.db").execute("SELECT COUNT(*) FROM events").fetchone()[0]
    for argv, message in [
        (("incident", incident, "arrive"), "is closed"),
        (("incident", "20261123-999", "report"), "no incident 20261123-999"),
        (("incident", "open", "--plan", "nope", "--title", "x"), "no plan nope"),
        (("incident", "open", "--plan", "cctv-alarm", "--title", "x", "--at", "soon"), "cannot read time"),
        (("incidents", "show", "20261123-999"), "no incident"),
        (
            ("incident", "open", "--plan", "cctv-alarm", "--title", "x", "--severity", "huge"),
            "unknown severity",
        ),
    ]:
        run = cli(*argv)
        assert run.code == 1, argv
        assert message in run.err, (argv, run.err)
    after = sqlite3.connect(home / "dutydesk.db").execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert after == count


def test_the_console_speaks_chinese(cli: CliRunner) -> None:
    incident = open_incident(cli)
    cli("incident", incident, "close", "--reason", "误报")
    run = cli("--lang", "zh", "incident", incident, "arrive")
    assert run.code == 1 and f"事件 {incident} 已关闭" in run.err
    shown = cli("--lang", "zh", "incidents", "show", incident).out
    assert "30分钟内报告带班领导" in shown and "已免除" in shown


def test_configuration_errors_name_the_key(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[database]\nbusy_timeout = "soon"\n[duty]\ntimezone = "Mars/Base"\nextra = 1\n', encoding="utf-8"
    )
    run = cli("--config", str(config), "incidents", "list")
    assert run.code == 1
    assert f"{config}: database.busy_timeout:" in run.err
    assert "duty.timezone: unknown time zone 'Mars/Base'" in run.err
    assert "duty.extra: unknown key" in run.err
    config.write_text("[database\n", encoding="utf-8")
    assert "bad TOML" in cli("--config", str(config), "incidents", "list").err
    missing = cli("--config", str(tmp_path / "nope.toml"), "incidents", "list")
    assert missing.code == 1 and "no such configuration file" in missing.err


def test_configured_paths_and_operator(cli: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "centre" / "dutydesk.toml"
    config.parent.mkdir()
    config.write_text('[duty]\noperator = "王值班"\n[database]\npath = "data/duty.db"\n', encoding="utf-8")
    run = cli("--config", str(config), "incident", "open", "--plan", "cctv-alarm", "--title", "周界越界")
    assert run.code == 0
    assert (tmp_path / "centre" / "data" / "duty.db").exists()


def test_a_corrupt_database_is_refused_and_kept(cli: CliRunner, home: Path) -> None:
    db = home / "dutydesk.db"
    db.write_bytes(b"\x00garbage" * 1000)
    run = cli("incidents", "list")
    assert run.code == 1 and "not a usable dutydesk database" in run.err
    assert db.read_bytes().startswith(b"\x00garbage")


def test_backup_and_audit(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    incident = open_incident(cli)
    cli("incident", incident, "report")
    copy = tmp_path / "backup.db"
    run = cli("backup", str(copy))
    assert run.code == 0 and copy.exists()
    assert cli("audit", "verify").code == 0
    assert cli("backup", str(copy)).code == 1  # never overwrites
    db = sqlite3.connect(home / "dutydesk.db")
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET actor = 'somebody' WHERE kind = 'incident.milestone'")
    db.commit()
    run = cli("audit", "verify")
    assert run.code == 1 and "tampered" in run.out


def test_merge_closes_one_incident_into_another(cli: CliRunner) -> None:
    kept = open_incident(cli)
    merged = open_incident(cli)
    run = cli("incident", merged, "merge", kept, "--reason", "同一部电梯，重复接报")
    assert run.code == 0, run.err
    data = cli("incidents", "show", merged, "--json").json()
    assert data["state"] == "closed"
    assert {o["state"] for o in data["obligations"]} <= {"waived", "met"}
    # both timelines show it
    for incident in (merged, kept):
        timeline = cli("incidents", "show", incident, "--json").json()["timeline"]
        (line,) = [line for line in timeline if line["kind"] == "incident.merged"]
        assert (line["merged"], line["into"], line["reason"]) == (merged, kept, "同一部电梯，重复接报")
    assert f"merged into {kept}" in cli("incidents", "show", merged).out
    refused = cli("incident", kept, "merge", kept)
    assert (refused.code, "cannot be merged into itself" in refused.err) == (1, True)


def test_the_list_and_the_board_share_one_order_overdue_first(
    cli: CliRunner, home: Path, clock: ManualClock, plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    overdue = open_incident(cli, "--at", "2026-11-23T08:00")  # every timed obligation breached
    soon = cli("incident", "open", "--plan", "fire-conflict", "--title", "食堂冒烟").out.strip()  # due 09:01
    listed = [i["id"] for i in cli("incidents", "list", "--json").json()]
    text = cli("incidents", "list").out
    assert listed == [overdue, soon]
    assert text.index(overdue) < text.index(soon)
    assert "overdue by 50 minutes" in text.splitlines()[1]  # the most pressing: contractor, due 08:10

    async def board() -> list[str]:
        async with await SqliteEventStore.open(home / "dutydesk.db") as store:
            journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
            return [row.incident.id for row in incident_rows(journal.engine, clock.now())]

    assert asyncio.run(board()) == listed


def test_global_options_may_follow_the_command(cli: CliRunner, tmp_path: Path) -> None:
    incident = open_incident(cli)
    english = cli("report", "incident", incident, "--lang", "en")
    assert english.code == 0, english.err
    assert "\n# Investigation report" in english.out and "事件调查报告" not in english.out
    assert cli("incidents", "show", incident, "--operator", "x").code == 0
    noted = cli("incident", incident, "note", "电梯已恢复", "--operator", "王值班")
    assert noted.code == 0, noted.err
    timeline = cli("incidents", "show", incident, "--json").json()["timeline"]
    assert timeline[-1]["actor"] == "王值班"  # the later --operator wins over the one before
    assert "已记录" in cli("incident", incident, "note", "x", "--lang", "zh").out
    assert "已记录" in cli("incident", "--lang", "zh", incident, "note", "y").out
    assert cli("rectify", "list", "--lang", "zh").out.strip() == "没有整改事项"
    missing = cli("incidents", "list", "--config", str(tmp_path / "nope.toml"))
    assert missing.code == 1 and "no such configuration file" in missing.err
    args = parse(["console", "--lang", "en", "--attach"])
    assert (args.lang, args.attach, args.handler) == ("en", True, "running:console")
    assert parse(["--lang", "zh", "plans", "list", "--lang", "en"]).lang == "en"
    assert parse(["--lang", "zh", "plans", "list"]).lang == "zh"


@pytest.mark.parametrize("argv", [("plans", "list"), ("incidents", "show", "ID")])
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, argv: tuple[str, ...]) -> None:
    env = {**os.environ, "DUTYDESK_HOME": str(tmp_path), "LANG": "en_US.UTF-8"}
    command = [sys.executable, "-m", "dutydesk.console.cli", "--operator", "tester"]
    if "ID" in argv:
        opened = subprocess.run(
            [*command, "incident", "open", "--plan", "cctv-alarm", "--title", "周界越界"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        argv = tuple(opened.stdout.strip() if a == "ID" else a for a in argv)
    # the reader is gone before the first line is written, as with `| head -0`
    process = subprocess.Popen([*command, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert (process.returncode, err.decode()) == (141, "")


def test_a_closed_pipe_in_process_is_quiet_too() -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    err = io.StringIO()
    assert main(["calendar", "is-workday", "2026-10-01"], out=Closed(), err=err) == 141
    assert err.getvalue() == ""


def test_no_traceback_reaches_the_user(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, home: Path, tmp_path: Path
) -> None:
    from dutydesk.console.cli import calendar

    def broken(args: object, ctx: object) -> None:
        raise RuntimeError("the calendar fell over")

    monkeypatch.setattr(calendar, "is_workday", broken)
    run = cli("calendar", "is-workday", "2026-10-01")
    assert run.code == 1
    assert run.err.splitlines() == [
        "dutydesk: error: unexpected RuntimeError: the calendar fell over (DUTYDESK_DEBUG=1 shows where)"
    ]
    monkeypatch.setenv("DUTYDESK_DEBUG", "1")
    debug = io.StringIO()
    assert main(["calendar", "is-workday", "2026-10-01"], env=os.environ, out=io.StringIO(), err=debug) == 1
    assert "Traceback" in debug.getvalue()
    # an ordinary failure (here: a file that cannot be written) is one line too
    (tmp_path / "folder").mkdir()
    open_incident(cli)
    refused = cli("backup", str(tmp_path / "folder"))
    assert refused.code == 1 and len(refused.err.splitlines()) == 1 and "Traceback" not in refused.err


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_help_texts_say_what_the_commands_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert "mosquitto if installed, else an embedded broker" in help_of(capsys, "--help")
    assert "mosquitto if installed, else an embedded broker" in help_of(capsys, "demo", "--help")
    kpi = help_of(capsys, "report", "kpi", "--help")
    assert "kpi-PERIOD.pdf" in kpi and "report-ID" not in kpi
    assert "report-ID.pdf" in help_of(capsys, "report", "incident", "--help")
    actions = help_of(capsys, "incident", "--help")
    for action in ("report", "arrive", "update", "urgent", "severity", "stabilise", "investigated"):
        assert f" {action} " in actions, action
    for action in ("rectified", "feedback", "done", "cause", "note", "close", "ack"):
        assert f" {action} " in actions, action
    assert "add a note to the timeline" in help_of(capsys, "incident", "ID", "--help")


def test_the_readme_shows_every_incident_action() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for action in ("report", "arrive", "update", "urgent", "severity", "stabilise", "note", "ack", "close"):
        assert f"dutydesk incident $id {action}" in readme, action
    assert "Every command takes `--config FILE`" in readme and "before or after the command" in readme


def test_link_keeps_both_incidents_open_and_shows_in_both_timelines(cli: CliRunner) -> None:
    one, other = open_incident(cli), open_incident(cli)
    run = cli("incident", one, "link", other, "--reason", "同一次停电")
    assert run.code == 0, run.err
    for incident, peer in ((one, other), (other, one)):
        data = cli("incidents", "show", incident, "--json").json()
        assert data["state"] != "closed"
        assert any(e["kind"] == "incident.linked" for e in data["timeline"])
        assert f"linked with {peer}" in cli("incidents", "show", incident).out
