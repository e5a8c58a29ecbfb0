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

from dutydesk.console.cli.grammar import (
    AFTER,
    FORMATS,
    INCIDENT_ACTIONS,
    Sub,
    add_command,
    add_group,
    at_option,
    global_options,
    json_option,
    new_parser,
)
from dutydesk.playbooks.vocab import FINDINGS, Cause, Source


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
    global_options(parser, None)
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
    plans = add_group(commands, "plans", "the plan library")
    json_option(add_command(plans, "list", "plans:list_plans", "list the plans"))
    p = add_command(
        plans, "check", "plans:check_plans", "validate plan files (default: library and plan folder)"
    )
    p.add_argument("paths", nargs="*", metavar="PATH")
    p = add_command(plans, "show", "plans:show_plan", "a plan's obligations with due times")
    p.add_argument("id")
    p.add_argument("--urgent", action="store_true")
    p.add_argument("--severity", metavar="LEVEL")
    p.add_argument("--opened-at", metavar="ISO")
    json_option(p)


def _calendar(commands: Sub) -> None:
    cal = add_group(commands, "calendar", "working days")
    p = add_command(cal, "add-workdays", "calendar:add_workdays", "the date N working days after DATE")
    p.add_argument("date")
    p.add_argument("count", type=int, metavar="N")
    json_option(p)
    p = add_command(cal, "is-workday", "calendar:is_workday", "workday, weekend, holiday or adjusted-workday")
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
        parents=[AFTER],
    )
    p.add_argument("target", metavar="open|ID", help="open a new incident, or act on the incident ID")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    listing = add_group(commands, "incidents", "list and show incidents")
    p = add_command(listing, "list", "incidents:list_incidents", "open incidents, the most pressing first")
    p.add_argument("--all", action="store_true", help="closed ones too")
    p.add_argument("--drills", action="store_true", help="drill incidents too")
    json_option(p)
    p = add_command(
        listing, "show", "incidents:show_incident", "one incident with its obligations and timeline"
    )
    p.add_argument("id")
    p.add_argument(
        "--all-occurrences",
        action="store_true",
        help="list every occurrence of a recurring obligation (default: a tally and the last few)",
    )
    json_option(p)


def open_parser() -> argparse.ArgumentParser:
    """`dutydesk incident open ...`"""
    p = new_parser("dutydesk incident open")
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
    at_option(p, "when the report was received")
    p.set_defaults(handler="incidents:open_incident")
    return p


def action_parser(incident: str) -> argparse.ArgumentParser:
    """`dutydesk incident ID ACTION ...`"""
    p = new_parser(f"dutydesk incident {incident}")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in INCIDENT_ACTIONS.items():
        aliases = ["stabilize"] if name == "stabilise" else []
        a = actions.add_parser(name, help=text, aliases=aliases, parents=[AFTER])
        at_option(a)
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
        elif name in ("merge", "link"):
            a.add_argument("other", metavar="OTHER", help="the other incident")
            a.add_argument("--reason")
        elif name == "ack":
            a.add_argument("obligation", nargs="?", help="default: every unacknowledged breach")
        elif name == "cause":
            a.add_argument("--category", required=True, choices=[c.value for c in Cause])
            a.add_argument("--text", required=True)
        elif name == "finding":
            a.add_argument("--section", required=True, choices=FINDINGS)
            a.add_argument("--text", required=True)
        elif name == "late":
            a.add_argument("obligation")
            a.add_argument("--occurrence", type=int, default=1)
            a.add_argument("--text", required=True)
    p.set_defaults(handler="incidents:act", incident=incident)
    return p


def _alarms(commands: Sub) -> None:
    alarms = add_group(commands, "alarms", "alarms from building systems")
    p = add_command(alarms, "list", "alarms:list_alarms", "alarms, newest change first")
    p.add_argument("--active", action="store_true", help="only those raised, pending or clearing")
    json_option(p)
    json_option(add_command(alarms, "dead-letters", "alarms:dead_letters", "messages that could not be read"))
    json_option(
        add_command(
            commands,
            "devices",
            "alarms:list_devices",
            "device availability and when each was last heard from",
        )
    )


def _running(commands: Sub) -> None:
    p = add_command(
        commands, "console", "running:console", "the duty console (starts the engine unless one runs)"
    )
    p.add_argument("--attach", action="store_true", help="never start the engine; follow the database")
    p = add_command(
        commands,
        "demo",
        "drills:demo",
        "a lively drill with the console in front (on mosquitto if installed, else an embedded broker)",
    )
    p.add_argument("--speed", type=float, default=30.0, help="drill seconds per real second (default: 30)")
    p.add_argument("--scenario", default="power-cut-elevator")
    p.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)

    drill = add_group(commands, "drill", "rehearse a plan end to end")
    p = add_command(
        drill, "run", "drills:drill_run", "run a scenario through the whole pipeline and score it"
    )
    p.add_argument(
        "scenario", help="a bundled scenario or a scenario file: " + ", ".join(bundled_scenarios())
    )
    timing = p.add_mutually_exclusive_group()
    timing.add_argument("--speed", type=float, default=1.0, help="drill seconds per real second")
    timing.add_argument("--virtual", action="store_true", help="as fast as possible on virtual time")
    p.add_argument("--headless", action="store_true", help="no console")
    json_option(p)
    sim = add_group(commands, "sim", "the simulator")
    p = add_command(sim, "publish", "drills:sim_publish", "publish a scenario's device messages to a broker")
    p.add_argument("scenario")
    p.add_argument(
        "--speed", type=float, default=1.0, help="scenario seconds per real second (default: 1, real time)"
    )
    p.add_argument("--broker", metavar="HOST:PORT", help="default: the configured [mqtt] broker")

    add_command(commands, "serve", "running:serve", "run the engine headless until SIGINT/SIGTERM")

    p = add_command(
        commands, "watchdog", "keeping:watchdog", "tell the fallback destinations when no engine runs"
    )
    p.add_argument("--after", type=int, metavar="SECONDS", help="without an engine this long (default 120)")
    p = add_command(
        commands,
        "install-systemd",
        "keeping:install_systemd",
        "install and start the engine's units",
    )
    p.add_argument("--system", action="store_true", help="system units (root), not the user's")
    p.add_argument("--dir", metavar="FOLDER", help="write the units here instead")
    p.add_argument("--no-enable", action="store_true", help="write only; print the systemctl steps")


def _phone(commands: Sub) -> None:
    p = add_command(
        commands, "sms-inbound", "phone:sms_inbound", "apply SMS replies (1a, aa); gammu-smsd's RunOnReceive"
    )
    p.add_argument("--from", dest="sender", metavar="NUMBER", help="default: gammu-smsd's SMS_1_NUMBER, ...")
    p.add_argument("text", nargs="*", help="the reply (default: standard input, with --from)")


def _records(commands: Sub) -> None:
    p = add_command(
        commands, "backup", "records:backup", "a consistent copy of the database, safe while running"
    )
    p.add_argument("file")
    audit = add_group(commands, "audit", "check the event log")
    p = add_command(audit, "verify", "records:audit_verify", "verify the chain, snapshot, schema and anchors")
    p.add_argument("--anchors", metavar="FILE", help="an anchor file: find a cut tail or a rewritten chain")
    p = add_command(audit, "anchor", "records:audit_anchor", "append the chain's head to the anchor file")
    p.add_argument("--to", metavar="FILE", help="the anchor file (default: audit.anchor_file)")


def _rectify(commands: Sub) -> None:
    p = commands.add_parser(
        "rectify",
        help="the rectification register (整改台账)",
        usage="dutydesk rectify list [--overdue] [--all] [--drills] [--json]\n"
        "       dutydesk rectify add INCIDENT --content TEXT --owner NAME [--workdays N]\n"
        "       dutydesk rectify ITEM done --evidence TEXT\n"
        "       dutydesk rectify ITEM feedback --text TEXT",
        parents=[AFTER],
    )
    p.add_argument("target", metavar="list|add|ITEM", help="list or add items, or act on the item ITEM")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def rectify_parser(target: str) -> argparse.ArgumentParser:
    """`dutydesk rectify list|add|ITEM ...`"""
    if target == "list":
        p = new_parser("dutydesk rectify list")
        p.add_argument("--overdue", action="store_true", help="only items past their limit")
        p.add_argument("--all", action="store_true", help="done and waived ones too")
        p.add_argument("--drills", action="store_true", help="items of drills too")
        json_option(p)
        p.set_defaults(handler="rectify:list_items")
        return p
    if target == "add":
        p = new_parser("dutydesk rectify add")
        p.add_argument("incident", metavar="INCIDENT")
        p.add_argument("--content", required=True, help="整改内容 what is to be done")
        p.add_argument("--owner", required=True, help="责任人 who is responsible")
        p.add_argument(
            "--workdays",
            type=int,
            metavar="N",
            help="working days from now (default: the period from the investigation)",
        )
        at_option(p, "when it was decided (default: now)")
        p.set_defaults(handler="rectify:add_item")
        return p
    p = new_parser(f"dutydesk rectify {target}")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("done", help="the item is done (整改完成)", parents=[AFTER])
    a.add_argument("--evidence", required=True, help="what shows it: a work order, photos, a new rule")
    at_option(a, "when it was done (default: now)")
    a = actions.add_parser(
        "feedback", help="feedback given to the served department (已反馈)", parents=[AFTER]
    )
    a.add_argument("--text", required=True)
    at_option(a, "when it was given (default: now)")
    p.set_defaults(handler="rectify:act_on_item", item=target)
    return p


def _reports(commands: Sub) -> None:
    reports = add_group(commands, "report", "investigation report and KPIs", metavar="KIND")
    p = add_command(
        reports, "incident", "report:incident", "the investigation report (事件调查报告) of one incident"
    )
    p.add_argument("id")
    _output_options(p, "report-ID")
    p = add_command(
        reports,
        "notice",
        "report:document",
        "the rectification notice (整改通知单) of one item, with its receipt",
    )
    p.add_argument("id", metavar="ITEM-ID")
    _output_options(p, "notice-ITEM-ID")
    p = add_command(
        reports, "info", "report:document", "information report on an incident: 首报, the latest 续报, 终报"
    )
    p.add_argument("id")
    p.add_argument("--stage", choices=("first", "follow", "final"), default="first")
    _output_options(p, "info-ID")
    p = add_command(reports, "dutylog", "report:document", "the duty log (值班日志) of a day")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="default: today")
    _output_options(p, "dutylog-DATE")
    p = add_command(
        reports, "handover", "report:document", "the handover record (交接班记录): 情况清、问题清、任务清"
    )
    p.add_argument("id", nargs="?", metavar="SEQ", help="the handover's number in the log (default: now)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="the last handover of that day")
    _output_options(p, "handover-SEQ")
    p = add_command(
        reports, "drill", "report:document", "the drill evaluation report (演练评估报告) of a drill's folder"
    )
    p.add_argument("folder", metavar="FOLDER")
    _output_options(p, "drill-FOLDER")
    p = add_command(
        reports, "kpi", "report:kpi", "timeliness, times, rectification and alarm load of a period"
    )
    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", metavar="YYYY-MM")
    period.add_argument("--year", metavar="YYYY")
    _output_options(p, "kpi-PERIOD")


def _routines(commands: Sub) -> None:
    p = add_command(
        commands, "round", "routines:round_log", "log a round of a routine (巡查记录): done, or abnormal"
    )
    p.add_argument("routine", metavar="ROUTINE")
    p.add_argument("result", choices=["done", "abnormal"])
    p.add_argument("--note", help="what was found (needed when abnormal)")
    p.add_argument(
        "--open-incident", action="store_true", help="abnormal: open an incident with the routine's plan"
    )
    at_option(p)
    listing = add_group(commands, "routines", "routines (例行工作)")
    p = add_command(
        listing, "list", "routines:routines_list", "each routine, its schedule and its next round"
    )
    json_option(p)
    p = add_command(
        commands,
        "event",
        "routines:event_command",
        "planned events (会议、大型活动): `event add ...`, `event ID move|done|report ...`",
    )
    p.add_argument("target", metavar="add|ID")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    listing = add_group(commands, "events", "planned events")
    p = add_command(listing, "list", "routines:events_list", "events with their outstanding tasks")
    json_option(p)


def _output_options(p: argparse.ArgumentParser, default_name: str) -> None:
    p.add_argument("--format", choices=FORMATS, help="default: from the file name, else md")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help=f"default: standard output; {default_name}.pdf (.docx) for pdf (docx)",
    )


def _notify(commands: Sub) -> None:
    roster = add_group(commands, "roster", "the duty roster")
    p = add_command(roster, "show", "notify:roster_show", "who holds each role (now, or --at)")
    p.add_argument("--at", metavar="ISO")
    json_option(p)
    p = add_command(
        roster,
        "import",
        "notify:roster_import",
        "lay a roster CSV (role,holder,tags,start,end) over the current one",
    )
    p.add_argument("file", metavar="FILE.csv")
    notes = add_group(commands, "notifications", "the delivery log")
    p = add_command(
        notes,
        "list",
        "notify:notifications_list",
        "every notification to every target, with attempts and errors",
    )
    p.add_argument("--failed", action="store_true", help="only those with failed attempts")
    json_option(p)
    notify = add_group(commands, "notify", "notification channels")
    p = add_command(notify, "test", "notify:notify_test", "send a test message to whoever holds ROLE now")
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
    "sms-inbound": _phone,
    "watchdog": _running,
    "install-systemd": _running,
    "backup": _records,
    "audit": _records,
    "rectify": _rectify,
    "report": _reports,
    "round": _routines,
    "routines": _routines,
    "event": _routines,
    "events": _routines,
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
