"""The README tells the truth: its shell blocks run in order in a private home, and every TOML,
YAML and CSV example is loaded by the program itself.

Placeholders are filled the way a newcomer would fill them (`…` in a secret or URL); lines that
cannot run unattended are listed in SKIPPED with the reason, so a new command in the README is run
by default. Apprise destinations become loopback endpoints: nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from dutydesk.connectors.application.factories import correlation, feeds, load_calendar, notice_policy
from dutydesk.connectors.codecs.base import CodecContext
from dutydesk.connectors.codecs.registry import build_codec
from dutydesk.connectors.settings import load_settings
from tests.endpoints import endpoint

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DUTYDESK = Path(sys.executable).parent / "dutydesk"

# Lines of the shell blocks that cannot run unattended here, and why.
SKIPPED = {
    "scripts/run demo": "opens the interactive console (the demo is tested in tests/test_drills.py)",
    "scripts/test": "this is the test suite",
    "alias dutydesk=": "the test defines dutydesk itself",
    "dutydesk serve": "runs until stopped (tested in tests/test_serve.py)",
    "dutydesk console": "the interactive console (tested through Textual's pilot)",
    "dutydesk drill run power-cut-elevator --speed 60": "opens the interactive console",
    "dutydesk sim publish": "needs a broker at the address shown (tested in tests/test_drills.py)",
    "dutydesk incident $id ack": "needs a breach, which only a running serve records (tests/test_notify_cli.py)",
}


def fenced(language: str) -> list[tuple[int, str]]:
    """The README's code blocks in one language, with the line each starts on."""
    found, lines = [], README.read_text(encoding="utf-8").splitlines()
    start: int | None = None
    for number, line in enumerate(lines, 1):
        if start is None and line.strip() == f"```{language}":
            start = number
        elif start is not None and line.strip() == "```":
            found.append((start, "\n".join(lines[start : number - 1])))
            start = None
    return found


def _optional(line: str) -> str:
    """Drop the `[--flag …]` and `[ARG]` parts that mark what may be left out."""
    return re.sub(r"\s\[(?:--|[A-Z])[^\]]*\]", "", line)


def _commands(block: str) -> Iterator[str]:
    """Logical command lines (continuations joined), comments and skipped lines removed."""
    pending = ""
    for raw in block.splitlines():
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        code = re.sub(r"(^|\s)#.*$", "", line).strip()
        if code and not any(code.startswith(prefix) for prefix in SKIPPED):
            yield _optional(code)


@pytest.fixture
def newcomer(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A private home with the README's configuration files, apprise pointing at loopback."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "rota.csv").write_text(fenced("csv")[0][1] + "\n", encoding="utf-8")
    with endpoint() as sink:
        tags = re.findall(r"\{tag: \"?([^\"}]+)\"?\}", fenced("yaml")[0][1])
        urls = "\n".join(f'  - {sink.url("readme")}: {{tag: "{tag}"}}' for tag in tags)
        (home / "apprise.yml").write_text(f"urls:\n{urls}\n", encoding="utf-8")
        env = {
            **os.environ,
            "DUTYDESK_HOME": str(home),
            "LANG": "zh_CN.UTF-8",
            "PATH": f"{DUTYDESK.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        env.pop("LC_ALL", None)
        yield tmp_path, env


def test_the_shell_blocks_run_in_order(newcomer: tuple[Path, dict[str, str]]) -> None:
    folder, env = newcomer
    script = ["set -euo pipefail", "trap 'echo \"README line failed: $BASH_COMMAND\" >&2' ERR"]
    for _, block in fenced("sh"):
        script.extend(_commands(block))
    run = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (folder / "report.pdf").stat().st_size > 0


def test_the_configuration_examples_load(tmp_path: Path) -> None:
    blocks = [text for _, text in fenced("toml")]
    calendar = [text for text in blocks if "[[days]]" in text]
    settings = [text for text in blocks if text not in calendar]
    assert calendar and settings
    (tmp_path / "calendar.toml").write_text(calendar[0], encoding="utf-8")
    bundled = ROOT / "connectors" / "codecs" / "elevator_codebook.yaml"  # a site starts from it
    (tmp_path / "codebook.yaml").write_text(bundled.read_text(encoding="utf-8"), encoding="utf-8")
    config = tmp_path / "dutydesk.toml"
    loaded_feeds: set[str] = set()
    for block in settings:  # each block alone, as a newcomer would copy it
        config.write_text(block.replace("…", "secret"), encoding="utf-8")
        loaded = load_settings(config, env={"DUTYDESK_HOME": str(tmp_path)})
        loaded_feeds |= set(feeds(loaded))
        for feed in loaded.file.feeds:  # the codec takes the options as written
            options = {k: str(tmp_path / v) if k == "codebook" else v for k, v in feed.options.items()}
            build_codec(feed.codec, CodecContext(zone=loaded.zone, options=options))
        notice_policy(loaded)
        correlation(loaded)
    assert loaded_feeds >= {"lifts", "gate-camera"}
    config.write_text('[calendar]\noverrides = "calendar.toml"\n', encoding="utf-8")
    loaded = load_settings(config, env={"DUTYDESK_HOME": str(tmp_path)})
    assert not load_calendar(loaded).day(date(2027, 2, 8)).kind.is_workday  # the override example's holiday


def test_the_plan_example_is_a_valid_plan_beside_the_library() -> None:
    from dutydesk.playbooks.library import bundled_sources
    from dutydesk.playbooks.plans import PlanSource, load_plans

    plans = [text for _, text in fenced("yaml") if text.startswith("id:")]
    assert plans
    sources = [*bundled_sources(), *(PlanSource(f"readme-{n}.yaml", text) for n, text in enumerate(plans))]
    _, errors = load_plans(sources)
    assert not errors, errors


def test_the_apprise_example_names_schemes_apprise_knows() -> None:
    import apprise

    text = next(text for _, text in fenced("yaml") if text.startswith("# apprise.yml") or "urls:" in text)
    schemes = re.findall(r"^\s*- (\w+)://", text, flags=re.MULTILINE)
    assert schemes
    known = {
        protocol
        for schema in apprise.Apprise().details()["schemas"]
        for key in ("protocols", "secure_protocols")
        for protocol in (schema.get(key) or ())
    }
    assert set(schemes) <= known, set(schemes) - known


def test_the_roster_example_parses() -> None:
    from zoneinfo import ZoneInfo

    from dutydesk.playbooks.roster import parse_roster_csv

    shifts = parse_roster_csv(fenced("csv")[0][1], "README.md", zone=ZoneInfo("Asia/Shanghai"))
    assert {shift.role for shift in shifts} >= {"duty_officer", "leader_on_duty"}
