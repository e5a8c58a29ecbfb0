"""The pieces the command line's grammar (`parser.py`) is built from: the options every level
takes, a command and a group of commands, and the lists the help shows."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

# The report formats, as `console.reports.output.FORMATS` (a test keeps the two the same: the
# reports package is not loaded only to print help).
FORMATS = ("md", "html", "pdf", "docx")

# What can be done to an incident: `dutydesk incident ID ACTION`. One line each, shown by
# `dutydesk incident --help` and `dutydesk incident ID --help`.
INCIDENT_ACTIONS = {
    "report": "reported to the leader on duty (已报告带班领导)",
    "arrive": "the emergency team is on site (已到场)",
    "update": "hourly progress report (进展报告)",
    "urgent": "mark urgent (紧急): tighter response limits",
    "severity": "change the severity level",
    "stabilise": "the event has subsided (事件平息)",
    "investigated": "the investigation is done (调查完成)",
    "rectified": "the rectification is done (整改完成)",
    "feedback": "feedback given to the served departments (已反馈)",
    "done": "tick off an obligation met by hand",
    "cause": "a cause found by the investigation (原因分析)",
    "note": "add a note to the timeline",
    "close": "close the incident",
    "merge": "merge into OTHER: the same event reported twice (合并); this one closes",
    "link": "link with OTHER: related, both stay open (关联)",
    "ack": "acknowledge breaches (all, or one obligation's): their escalation stops (确认超时)",
    "finding": "the investigation's team, 责任认定 or 防范措施/经验教训",
    "late": "why an obligation was late (超时原因)",
}

Sub = Any  # argparse's _SubParsersAction, which it does not export


def global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--config", type=Path, default=default, help="configuration file (TOML)")
    parser.add_argument(
        "--operator", default=default, help="who is acting (default: configured, else OS user)"
    )
    parser.add_argument("--lang", choices=["zh", "en"], default=default, help="language of the output")


# The same options on every parser below the top: absent, they leave the top's value alone.
AFTER = argparse.ArgumentParser(add_help=False)
global_options(AFTER, argparse.SUPPRESS)


def new_parser(prog: str, **kwargs: Any) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, parents=[AFTER], **kwargs)


def add_group(commands: Sub, name: str, help: str, metavar: str = "ACTION") -> Sub:
    """A command with sub-commands of its own (`plans list`, `plans check`, ...)."""
    return commands.add_parser(name, help=help, parents=[AFTER]).add_subparsers(
        dest="sub", required=True, metavar=metavar
    )


def add_command(commands: Sub, name: str, handler: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
    """One command, run by `handler` ("module:function" in this package)."""
    kwargs.setdefault("description", help[0].upper() + help[1:] + ".")
    p: argparse.ArgumentParser = commands.add_parser(name, help=help, parents=[AFTER], **kwargs)
    p.set_defaults(handler=handler)
    return p


def json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="JSON for scripts instead of text")


def at_option(p: argparse.ArgumentParser, what: str = "when it really happened (default: now)") -> None:
    p.add_argument("--at", metavar="ISO", help=what)
