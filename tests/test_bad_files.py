"""One bad file never takes the rest down, and no traceback reaches a user: a plan, a
configuration, a scenario or a roster saved in GBK is named ("not UTF-8: save it as UTF-8"), and a
broken plan is left out with `PATH:LINE: message` while the others load; a read-only database
and folder can still be listed, shown, reported on and audited."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.test_serve import dutydesk

NOT_UTF8 = "not UTF-8: save it as UTF-8"


def test_a_plan_in_gbk_is_left_out_and_named_while_the_others_load(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    bad = tmp_path / "plans" / "本地预案.yaml"
    bad.write_bytes("id: 本地\ntitle: 测试预案\n".encode("gbk"))
    checked = dutydesk(tmp_path, "plans", "check")
    assert checked.returncode == 1 and f"{bad}:1: {NOT_UTF8}" in checked.stdout + checked.stderr
    opened = dutydesk(tmp_path, "incident", "open", "--plan", "fire-conflict", "--title", "配电间冒烟")
    assert opened.returncode == 0, opened.stderr
    assert f"{bad}:1: {NOT_UTF8}" in opened.stderr and "Traceback" not in opened.stderr


def test_a_configuration_in_gbk_is_named(tmp_path: Path) -> None:
    (tmp_path / "dutydesk.toml").write_bytes('[duty]\noperator = "王值班"\n'.encode("gbk"))
    run = dutydesk(tmp_path, "incidents", "list")
    assert run.returncode == 1 and f"dutydesk.toml: {NOT_UTF8}" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_scenario_and_a_roster_in_gbk_are_named(tmp_path: Path) -> None:
    scenario = tmp_path / "演练.yaml"
    scenario.write_bytes("id: 演练\n".encode("gbk"))
    run = dutydesk(tmp_path, "drill", "run", str(scenario), "--virtual", "--headless")
    assert run.returncode == 1 and NOT_UTF8 in run.stderr and "Traceback" not in run.stderr
    roster = tmp_path / "排班.csv"
    roster.write_bytes("日期,角色,姓名\n".encode("gbk"))
    run = dutydesk(tmp_path, "roster", "import", str(roster))
    assert run.returncode == 1 and "not UTF-8" in run.stderr and "Traceback" not in run.stderr


def test_a_read_only_database_and_folder_still_list_show_report_and_audit(tmp_path: Path) -> None:
    home = tmp_path / "copy"
    home.mkdir()
    opened = dutydesk(home, "incident", "open", "--plan", "fire-conflict", "--title", "配电间冒烟")
    assert opened.returncode == 0, opened.stderr
    incident = opened.stdout.strip()
    frozen = [home / "dutydesk.db", home]  # the immutable attribute binds root too, unlike chmod
    if subprocess.run(["chattr", "+i", *map(str, frozen)], capture_output=True, check=False).returncode:
        pytest.skip("chattr +i is not allowed here")
    try:
        for argv in (
            ("incidents", "list"),
            ("incidents", "show", incident),
            ("report", "incident", incident, "--format", "md"),
            ("audit", "verify"),
        ):
            run = dutydesk(home, *argv)
            assert run.returncode == 0 and "Traceback" not in run.stderr, (argv, run.stderr)
        refused = dutydesk(home, "incident", "open", "--plan", "fire-conflict", "--title", "又一起")
        assert refused.returncode == 1 and "cannot be written" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        subprocess.run(["chattr", "-i", *map(str, frozen)], check=False)
