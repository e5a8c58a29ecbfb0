"""The command line starts at once: each command loads only what it uses (issue 12).

Each check runs the real entry point in a fresh interpreter and looks at `sys.modules` after the
command: a heavy library, or the engine where a command has no use for it, must not be there.
The speed itself is measured by `tests/benchmarks/startup.py`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dutydesk.console.cli import main
from dutydesk.console.cli.grammar import FORMATS
from dutydesk.console.cli.main import handler
from dutydesk.console.cli.parser import (
    GROUPS,
    action_parser,
    build_parser,
    open_parser,
    rectify_parser,
)

# Loaded only by the commands whose work needs them.
HEAVY = (
    "httpx",
    "apprise",
    "aiomqtt",
    "amqtt",
    "jinja2",
    "matplotlib",
    "textual",
    "rich",
    "reportlab",
    "docx",
)
ENGINE = (
    "pydantic",
    "asyncio",
    "pendulum",
    "yaml",
    "sqlite3",
    "aiosqlite",
    "dutydesk.playbooks.plans",
    "dutydesk.playbooks.engine",
    "dutydesk.connectors.store",
    "dutydesk.connectors.application.journal",
)

PROBE = """
import json, sys
from dutydesk.console.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exit:
    code = exit.code
with open(sys.argv[1], "w") as file:
    json.dump({"code": code, "modules": sorted(sys.modules)}, file)
"""


def loaded_by(tmp_path: Path, *argv: str) -> set[str]:
    """The modules loaded after running `dutydesk ARGV` in a fresh interpreter."""
    report = tmp_path / "modules.json"
    env = {"DUTYDESK_HOME": str(tmp_path / "home"), "LANG": "en_US.UTF-8", "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *argv],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    result = json.loads(report.read_text())
    assert result["code"] == 0, result
    return set(result["modules"])


def heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_help_loads_argparse_and_little_else(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "--help")
    assert heavy(modules, HEAVY + ENGINE) == []
    assert "dutydesk.connectors.settings" not in modules


def test_a_calendar_question_loads_neither_the_engine_nor_any_client(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "calendar", "is-workday", "2026-10-01")
    assert heavy(modules, HEAVY + ENGINE) == []


def test_listing_plans_reads_the_library_without_the_store(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "plans", "list")
    store = ("asyncio", "sqlite3", "aiosqlite", "dutydesk.connectors.store", "dutydesk.playbooks.engine")
    assert heavy(modules, HEAVY + store) == []


def test_listing_incidents_loads_no_client_nor_report_library(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    modules = loaded_by(tmp_path, "incidents", "list")
    assert heavy(modules, HEAVY) == []
    assert "dutydesk.playbooks.engine" in modules  # it does need the engine
    assert heavy(modules, ("pydantic", "pydantic_core", "yaml")) == []  # not to read the log


def every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:  # argparse keeps its sub-parsers here
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += every_parser(child)
    return found


def test_every_command_names_a_handler_that_exists() -> None:
    parsers = [
        *every_parser(build_parser()),
        *every_parser(open_parser()),
        *every_parser(action_parser("X")),
        *(p for target in ("list", "add", "X-R1") for p in every_parser(rectify_parser(target))),
    ]
    references = {p.get_default("handler") for p in parsers} - {None}
    assert len(references) > 25
    for reference in references:
        assert callable(handler(reference)), reference


def test_each_command_is_built_alone_from_its_group() -> None:
    full = build_parser()
    (commands,) = (a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == set(GROUPS)


def test_the_parser_knows_the_report_formats() -> None:
    from dutydesk.console.reports import output

    assert output.FORMATS == FORMATS


def test_the_parser_knows_the_bundled_scenarios() -> None:
    from dutydesk.console.cli.parser import bundled_scenarios
    from dutydesk.sim.scenario import bundled_scenarios as from_the_simulator

    assert bundled_scenarios() == list(from_the_simulator())


@pytest.mark.parametrize("argv", [["--help"], ["calendar", "--help"], ["incident", "--help"]])
def test_help_exits_cleanly(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    assert "usage: dutydesk" in capsys.readouterr().out


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.sampled_from(["zh", "en"]))
def test_durations_in_words_as_pendulum_writes_them(seconds: float, lang: str) -> None:
    """`render.span` spells durations itself so that listing incidents need not load pendulum."""
    import pendulum

    from dutydesk.console.render import span

    rounded = abs(seconds)
    if rounded >= 60:
        rounded = round(rounded / 60) * 60
    expected = pendulum.duration(seconds=round(rounded)).in_words(locale=lang)
    assert span(timedelta(seconds=seconds), lang) == expected


def test_every_incident_action_in_the_grammar_sends_a_command() -> None:
    from dutydesk.console.cli.incidents import ACTIONS
    from dutydesk.console.cli.parser import INCIDENT_ACTIONS

    assert set(ACTIONS) == set(INCIDENT_ACTIONS)
