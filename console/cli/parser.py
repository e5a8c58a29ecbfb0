"""The command line's grammar: every command, its options and its help, and nothing else.

Each command names its handler as "module:function" in this package; `main` imports that one
module when the command runs, so `dutydesk --help` loads no more than argparse and the vocabulary.
Adding a command is one function in its group's module and its lines here.

`--config`, `--operator` and `--lang` are taken before the command and after it, at any level
(`dutydesk --lang en report incident ID`, `dutydesk report incident ID --lang en`); given twice,
the later one wins.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dutydesk.playbooks.vocab import Cause, Source

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
    "ack": "acknowledge breaches (all, or one obligation's): their escalation stops (确认超时)",
}

Sub = Any  # argparse's _SubParsersAction, which it does not export


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("--config", type=Path, default=default, help="configuration file (TOML)")
    parser.add_argument(
        "--operator", default=default, help="who is acting (default: configured, else OS user)"
    )
    parser.add_argument("--lang", choices=["zh", "en"], default=default, help="language of the output")


# The same options on every parser below the top: absent, they leave the top's value alone.
_AFTER = argparse.ArgumentParser(add_help=False)
_global_options(_AFTER, argparse.SUPPRESS)


def _parser(prog: str, **kwargs: Any) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, parents=[_AFTER], **kwargs)


def _group(commands: Sub, name: str, help: str, metavar: str = "ACTION") -> Sub:
    """A command with sub-commands of its own (`plans list`, `plans check`, ...)."""
    return commands.add_parser(name, help=help, parents=[_AFTER]).add_subparsers(
        dest="sub", required=True, metavar=metavar
    )


def _command(commands: Sub, name: str, handler: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
    """One command, run by `handler` ("module:function" in this package)."""
    kwargs.setdefault("description", help[0].upper() + help[1:] + ".")
    p: argparse.ArgumentParser = commands.add_parser(name, help=help, parents=[_AFTER], **kwargs)
    p.set_defaults(handler=handler)
    return p


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="JSON for scripts instead of text")


def _at(p: argparse.ArgumentParser, what: str = "when it really happened (default: now)") -> None:
    p.add_argument("--at", metavar="ISO", help=what)


def bundled_scenarios() -> list[str]:
    """The names of the bundled drill scenarios, read from the folder without loading the simulator."""
    spec = importlib.util.find_spec("dutydesk.sim.library")
    folders = spec.submodule_search_locations if spec else None
    if not folders:
        return []
    names = (entry.name for folder in folders for entry in os.scandir(folder))
    return sorted(name.removesuffix(".yaml") for name in names if name.endswith(".yaml"))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole grammar; with `command`, only that command's part of it (all of it when the
    word names no command), which is all that parsing its arguments needs."""
    parser = argparse.ArgumentParser(
        prog="dutydesk",
        description="Duty-room console: contingency plans as timed playbooks. 值班台：应急预案的时限管理。",
        epilog="--config, --operator and --lang may also follow the command.",
    )
    _global_options(parser, None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups = [GROUPS[command]] if command in GROUPS else dict.fromkeys(GROUPS.values())
    for add in groups:
        add(commands)
    return parser


def command_word(argv: list[str]) -> str | None:
    """The command named in the arguments, stepping over the options before it (and their
    values); None when help is asked for first or there is no command."""
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help") or word == "--":
            return None
        if (
            word.startswith("--")
            and "=" not in word
            and any(name.startswith(word) for name in ("--config", "--operator", "--lang"))
        ):
            next(words, None)  # the option's value
        elif not word.startswith("-"):
            return word
    return None


def _plans(commands: Sub) -> None:
    plans = _group(commands, "plans", "the plan library")
    _json(_command(plans, "list", "plans:list_plans", "list the plans"))
    p = _command(
        plans, "check", "plans:check_plans", "validate plan files (default: library and plan folder)"
    )
    p.add_argument("paths", nargs="*", metavar="PATH")
    p = _command(plans, "show", "plans:show_plan", "a plan's obligations with due times")
    p.add_argument("id")
    p.add_argument("--urgent", action="store_true")
    p.add_argument("--severity", metavar="LEVEL")
    p.add_argument("--opened-at", metavar="ISO")
    _json(p)


def _calendar(commands: Sub) -> None:
    cal = _group(commands, "calendar", "working days")
    p = _command(cal, "add-workdays", "calendar:add_workdays", "the date N working days after DATE")
    p.add_argument("date")
    p.add_argument("count", type=int, metavar="N")
    _json(p)
    p = _command(cal, "is-workday", "calendar:is_workday", "workday, weekend, holiday or adjusted-workday")
    p.add_argument("date")


def _incidents(commands: Sub) -> None:
    actions = "\n".join(f"  {name:<13} {text}" for name, text in INCIDENT_ACTIONS.items())
    p = commands.add_parser(
        "incident",
        help="open an incident, or act on one",
        usage="dutydesk incident open --plan ID --title TEXT [...]\n       dutydesk incident ID ACTION [...]",
        description="Open an incident, or record what was done on one.",
        epilog=f"actions on an incident (dutydesk incident ID ACTION --help for each):\n{actions}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_AFTER],
    )
    p.add_argument("target", metavar="open|ID", help="open a new incident, or act on the incident ID")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    listing = _group(commands, "incidents", "list and show incidents")
    p = _command(listing, "list", "incidents:list_incidents", "open incidents, the most pressing first")
    p.add_argument("--all", action="store_true", help="closed ones too")
    p.add_argument("--drills", action="store_true", help="drill incidents too")
    _json(p)
    p = _command(listing, "show", "incidents:show_incident", "one incident with its obligations and timeline")
    p.add_argument("id")
    p.add_argument(
        "--all-occurrences",
        action="store_true",
        help="list every occurrence of a recurring obligation (default: a tally and the last few)",
    )
    _json(p)


def open_parser() -> argparse.ArgumentParser:
    """`dutydesk incident open ...`"""
    p = _parser("dutydesk incident open")
    p.add_argument("--plan", required=True, metavar="ID")
    p.add_argument("--title", required=True)
    p.add_argument("--urgent", action="store_true")
    p.add_argument("--severity", metavar="LEVEL")
    p.add_argument(
        "--source",
        choices=[s.value for s in Source if s is not Source.ALARM],
        default=Source.PHONE.value,
    )
    p.add_argument("--location")
    p.add_argument("--description")
    _at(p, "when the report was received")
    p.set_defaults(handler="incidents:open_incident")
    return p


def action_parser(incident: str) -> argparse.ArgumentParser:
    """`dutydesk incident ID ACTION ...`"""
    p = _parser(f"dutydesk incident {incident}")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in INCIDENT_ACTIONS.items():
        aliases = ["stabilize"] if name == "stabilise" else []
        a = actions.add_parser(name, help=text, aliases=aliases, parents=[_AFTER])
        _at(a)
        a.set_defaults(action=name)
        if name == "update":
            a.add_argument("--measures", required=True, help="已采取措施 measures taken")
            a.add_argument("--status", required=True, help="当前状态 current status")
            a.add_argument("--next", required=True, help="下一步计划 next steps")
        elif name == "severity":
            a.add_argument("level", metavar="LEVEL")
        elif name == "feedback":
            a.add_argument("--text", required=True)
        elif name == "done":
            a.add_argument("obligation")
        elif name == "note":
            a.add_argument("text")
        elif name == "close":
            a.add_argument("--reason", help="needed while obligations are outstanding")
        elif name == "merge":
            a.add_argument("other", metavar="OTHER", help="the incident that carries on")
            a.add_argument("--reason")
        elif name == "ack":
            a.add_argument("obligation", nargs="?", help="default: every unacknowledged breach")
        elif name == "cause":
            a.add_argument("--category", required=True, choices=[c.value for c in Cause])
            a.add_argument("--text", required=True)
    p.set_defaults(handler="incidents:act", incident=incident)
    return p


def _alarms(commands: Sub) -> None:
    alarms = _group(commands, "alarms", "alarms from building systems")
    p = _command(alarms, "list", "alarms:list_alarms", "alarms, newest change first")
    p.add_argument("--active", action="store_true", help="only those raised, pending or clearing")
    _json(p)
    _json(_command(alarms, "dead-letters", "alarms:dead_letters", "messages that could not be read"))
    _json(
        _command(
            commands,
            "devices",
            "alarms:list_devices",
            "device availability and when each was last heard from",
        )
    )


def _running(commands: Sub) -> None:
    p = _command(
        commands, "console", "running:console", "the duty console (starts the engine unless one runs)"
    )
    p.add_argument("--attach", action="store_true", help="never start the engine; follow the database")
    p = _command(
        commands,
        "demo",
        "drills:demo",
        "a lively drill with the console in front (on mosquitto if installed, else an embedded broker)",
    )
    p.add_argument("--speed", type=float, default=30.0, help="drill seconds per real second (default: 30)")
    p.add_argument("--scenario", default="power-cut-elevator")
    p.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)

    drill = _group(commands, "drill", "rehearse a plan end to end")
    p = _command(drill, "run", "drills:drill_run", "run a scenario through the whole pipeline and score it")
    p.add_argument(
        "scenario", help="a bundled scenario or a scenario file: " + ", ".join(bundled_scenarios())
    )
    timing = p.add_mutually_exclusive_group()
    timing.add_argument("--speed", type=float, default=1.0, help="drill seconds per real second")
    timing.add_argument("--virtual", action="store_true", help="as fast as possible on virtual time")
    p.add_argument("--headless", action="store_true", help="no console")
    _json(p)
    sim = _group(commands, "sim", "the simulator")
    p = _command(sim, "publish", "drills:sim_publish", "publish a scenario's device messages to a broker")
    p.add_argument("scenario")
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--broker", metavar="HOST:PORT", help="default: the configured [mqtt] broker")

    _command(commands, "serve", "running:serve", "run the engine headless until SIGINT/SIGTERM")
    p = _command(
        commands, "watchdog", "keeping:watchdog", "tell the fallback destinations when no engine runs"
    )
    p.add_argument("--after", type=int, metavar="SECONDS", help="without an engine this long (default 120)")
    p = _command(
        commands,
        "install-systemd",
        "keeping:install_systemd",
        "install and start the engine's units",
    )
    p.add_argument("--system", action="store_true", help="system units (root), not the user's")
    p.add_argument("--dir", metavar="FOLDER", help="write the units here instead")
    p.add_argument("--no-enable", action="store_true", help="write only; print the systemctl steps")


def _records(commands: Sub) -> None:
    p = _command(
        commands, "backup", "records:backup", "a consistent copy of the database, safe while running"
    )
    p.add_argument("file")
    audit = _group(commands, "audit", "check the event log")
    p = _command(audit, "verify", "records:audit_verify", "verify the chain, snapshot, schema and anchors")
    p.add_argument("--anchors", metavar="FILE", help="an anchor file: find a cut tail or a rewritten chain")
    p = _command(audit, "anchor", "records:audit_anchor", "append the chain's head to the anchor file")
    p.add_argument("--to", metavar="FILE", help="the anchor file (default: audit.anchor_file)")


def _rectify(commands: Sub) -> None:
    p = commands.add_parser(
        "rectify",
        help="the rectification register (整改台账)",
        usage="dutydesk rectify list [--overdue] [--all] [--drills] [--json]\n"
        "       dutydesk rectify add INCIDENT --content TEXT --owner NAME [--workdays N]\n"
        "       dutydesk rectify ITEM done --evidence TEXT\n"
        "       dutydesk rectify ITEM feedback --text TEXT",
        parents=[_AFTER],
    )
    p.add_argument("target", metavar="list|add|ITEM", help="list or add items, or act on the item ITEM")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def rectify_parser(target: str) -> argparse.ArgumentParser:
    """`dutydesk rectify list|add|ITEM ...`"""
    if target == "list":
        p = _parser("dutydesk rectify list")
        p.add_argument("--overdue", action="store_true", help="only items past their limit")
        p.add_argument("--all", action="store_true", help="done and waived ones too")
        p.add_argument("--drills", action="store_true", help="items of drills too")
        _json(p)
        p.set_defaults(handler="rectify:list_items")
        return p
    if target == "add":
        p = _parser("dutydesk rectify add")
        p.add_argument("incident", metavar="INCIDENT")
        p.add_argument("--content", required=True, help="整改内容 what is to be done")
        p.add_argument("--owner", required=True, help="责任人 who is responsible")
        p.add_argument(
            "--workdays",
            type=int,
            metavar="N",
            help="working days from now (default: the period from the investigation)",
        )
        _at(p, "when it was decided (default: now)")
        p.set_defaults(handler="rectify:add_item")
        return p
    p = _parser(f"dutydesk rectify {target}")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("done", help="the item is done (整改完成)", parents=[_AFTER])
    a.add_argument("--evidence", required=True, help="what shows it: a work order, photos, a new rule")
    _at(a, "when it was done (default: now)")
    a = actions.add_parser(
        "feedback", help="feedback given to the served department (已反馈)", parents=[_AFTER]
    )
    a.add_argument("--text", required=True)
    _at(a, "when it was given (default: now)")
    p.set_defaults(handler="rectify:act_on_item", item=target)
    return p


def _reports(commands: Sub) -> None:
    reports = _group(commands, "report", "investigation report and KPIs", metavar="KIND")
    p = _command(
        reports, "incident", "report:incident", "the investigation report (事件调查报告) of one incident"
    )
    p.add_argument("id")
    _output_options(p, "report-ID")
    p = _command(reports, "kpi", "report:kpi", "timeliness, times, rectification and alarm load of a period")
    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", metavar="YYYY-MM")
    period.add_argument("--year", metavar="YYYY")
    _output_options(p, "kpi-PERIOD")


def _output_options(p: argparse.ArgumentParser, default_name: str) -> None:
    p.add_argument("--format", choices=FORMATS, help="default: from the file name, else md")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help=f"default: standard output; {default_name}.pdf (.docx) for pdf (docx)",
    )


def _notify(commands: Sub) -> None:
    roster = _group(commands, "roster", "the duty roster")
    p = _command(roster, "show", "notify:roster_show", "who holds each role (now, or --at)")
    p.add_argument("--at", metavar="ISO")
    _json(p)
    p = _command(
        roster,
        "import",
        "notify:roster_import",
        "lay a roster CSV (role,holder,tags,start,end) over the current one",
    )
    p.add_argument("file", metavar="FILE.csv")
    notes = _group(commands, "notifications", "the delivery log")
    p = _command(
        notes,
        "list",
        "notify:notifications_list",
        "every notification to every target, with attempts and errors",
    )
    p.add_argument("--failed", action="store_true", help="only those with failed attempts")
    _json(p)
    notify = _group(commands, "notify", "notification channels")
    p = _command(notify, "test", "notify:notify_test", "send a test message to whoever holds ROLE now")
    p.add_argument("--role", required=True)


# Which function adds each command to the grammar.
GROUPS: dict[str, Callable[[Sub], None]] = {
    "plans": _plans,
    "calendar": _calendar,
    "incident": _incidents,
    "incidents": _incidents,
    "alarms": _alarms,
    "devices": _alarms,
    "console": _running,
    "demo": _running,
    "drill": _running,
    "sim": _running,
    "serve": _running,
    "watchdog": _running,
    "install-systemd": _running,
    "backup": _records,
    "audit": _records,
    "rectify": _rectify,
    "report": _reports,
    "roster": _notify,
    "notifications": _notify,
    "notify": _notify,
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The arguments, `incident` and `rectify` parsed to the end (their first word decides the rest)."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(command_word(argv)).parse_args(argv)
    if args.command == "incident":
        second = open_parser() if args.target == "open" else action_parser(args.target)
    elif args.command == "rectify":
        second = rectify_parser(args.target)
    else:
        return args
    shared = {name: getattr(args, name) for name in ("config", "operator", "lang", "command")}
    return second.parse_args(args.rest, namespace=argparse.Namespace(**shared))
