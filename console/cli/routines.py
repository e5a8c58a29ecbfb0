"""`dutydesk round`, `routines list`, `event add|ID move|ID done|ID report` and `events list`:
the duty room's routines (例行工作) and planned events (会议、大型活动保障)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from dutydesk.connectors.application.factories import yaml_files
from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output, Table
from dutydesk.console.cli.report import _emit, _progress, _target
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.event import event_report
from dutydesk.console.reports.output import FORMATS
from dutydesk.playbooks.clock import iso
from dutydesk.playbooks.duties import task_ref
from dutydesk.playbooks.duty_events import DutyDone, EventScheduled
from dutydesk.playbooks.duty_library import bundled_event_plans, bundled_routines
from dutydesk.playbooks.eventplans import load_event_plans
from dutydesk.playbooks.events import IncidentOpened
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.routines import Routine, Schedule, Source, clock_text, load_routines
from dutydesk.playbooks.timetable import CompleteTask, Entry, LogRound, MoveEvent, ScheduleEvent
from dutydesk.playbooks.typeddata import dump

AHEAD = timedelta(hours=24)  # how far `routines list` looks for each routine's next round


def _sources(ctx: Context, kind: str, bundled: list[Source]) -> list[Source]:
    """The bundled files and the centre's own, in `<plan folder>/routines` or `/events`; one that
    cannot be read is said and left out."""
    folder = ctx.settings.plan_folder / kind
    sources = list(bundled)
    for file, text, problem in yaml_files(folder) if folder.is_dir() else ():
        if problem is None:
            sources.append(Source(str(file), text))
        else:
            ctx.warn(f"dutydesk: {file}: {problem}")
    return sources


def duty_library(ctx: Context, plans: dict[str, Plan]) -> dict[str, Any]:
    """The routines and event plans to run (`Journal.open` keywords); files in error are left out
    and said so, as plans are."""
    settings = ctx.settings
    routines, errors = load_routines(
        _sources(ctx, "routines", bundled_routines()), roles=settings.roles, plans=plans.keys()
    )
    event_plans, more = load_event_plans(_sources(ctx, "events", bundled_event_plans()), roles=settings.roles)
    for error in [*errors, *more]:
        ctx.warn(f"dutydesk: {error}")
    return {"routines": routines, "event_plans": event_plans}


def describe(schedule: Schedule, t: Translator) -> str:
    """A schedule in a few words: `every 60m 00:00-24:00`, `08:30, 17:30`, `mon 09:00`."""
    if schedule.every is not None:
        hours = f"{clock_text(schedule.from_)}-{clock_text(schedule.to)}"
        text = t("sched.every", every=schedule.every, hours=hours)
    elif schedule.weekly is not None:
        text = f"{schedule.weekly.day.value} {clock_text(schedule.weekly.at)}"
    else:
        text = ", ".join(clock_text(at) for at in schedule.at or schedule.shifts or (schedule.daily,) if at)
    return f"{text} ({t('sched.days.' + schedule.days.value)})"


def _entry_text(entry: Entry, ctx: Context) -> str:
    return f"{iso(entry.owed.at, ctx.settings.zone)} {ctx.t('state.' + entry.state.value)}"


async def routines_list(args: argparse.Namespace, ctx: Context) -> Output:
    t, now = ctx.t, ctx.clock.now()
    async with ctx.journal(plans=True) as journal:
        timetable = journal.engine.timetable
        routines: dict[str, Routine] = timetable.routines
        entries = timetable.entries(now, AHEAD, timedelta(0))
    following = {}
    for entry in reversed(entries):
        if entry.event is None and entry.state.value != "met":
            following[entry.owed.ref.removeprefix("routine:")] = entry
    data = [
        {
            **dump(routine),
            "next": iso(following[rid].owed.at, ctx.settings.zone) if rid in following else None,
        }
        for rid, routine in routines.items()
    ]
    rows = [
        [
            rid,
            routine.title.get(t.lang),
            routine.role,
            describe(routine.schedule, t),
            _entry_text(following[rid], ctx) if rid in following else "-",
        ]
        for rid, routine in routines.items()
    ]
    return Table([t("h.id"), t("h.title"), t("h.role"), t("h.schedule"), t("h.next")], rows, data=data)


async def round_log(args: argparse.Namespace, ctx: Context) -> Output:
    command = LogRound(
        actor=ctx.operator,
        at=ctx.when_or_none(args.at),
        routine=args.routine,
        abnormal=args.result == "abnormal",
        note=args.note or "",
        open_incident=args.open_incident,
    )
    async with ctx.journal(plans=True) as journal:
        (outcome,) = await journal.submit(command)
        ctx.refused(outcome)
        routine = journal.engine.timetable.routines[args.routine]
    events = [r.event for r in outcome.recorded]
    (done,) = [e for e in events if isinstance(e, DutyDone)]
    title = routine.title.get(ctx.t.lang)
    if done.due_at is None:
        lines = [ctx.t("round_extra", title=title)]
    else:
        lines = [ctx.t("round_logged", title=title, when=iso(done.due_at, ctx.settings.zone))]
    for opened in (e for e in events if isinstance(e, IncidentOpened)):
        lines.append(ctx.t("round_incident", incident=opened.incident, plan=opened.plan_id))
    if command.abnormal and not command.open_incident and routine.plan:
        lines.append(f"dutydesk round {routine.id} abnormal --note … --open-incident  → {routine.plan}")
    return Lines(lines)


def _event_parser(target: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"dutydesk event {target}")
    if target == "add":
        p.add_argument("--plan", required=True, help="meeting-support, large-event or one of the centre's")
        p.add_argument("--title", required=True)
        p.add_argument("--place", required=True)
        p.add_argument("--start", required=True, metavar="ISO")
        p.add_argument("--end", required=True, metavar="ISO")
        return p
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("move", help="new times; the event's obligations move with them")
    a.add_argument("--start", required=True, metavar="ISO")
    a.add_argument("--end", required=True, metavar="ISO")
    a = actions.add_parser("report", help="the event support report (活动保障报告) skeleton")
    a.add_argument("--format", choices=FORMATS, help="default: from the file name, else md")
    a.add_argument(
        "-o", "--output", metavar="FILE", help="default: standard output; event-ID.pdf for pdf/docx"
    )
    a = actions.add_parser("done", help="a task done, or one of its rounds logged")
    a.add_argument("task")
    a.add_argument("--note", default="")
    a.add_argument("--abnormal", action="store_true")
    a.add_argument("--drill", metavar="INCIDENT", help="the drill run that did it (a D… drill incident)")
    a.add_argument("--at", metavar="ISO", help="when it really happened (default: now)")
    return p


async def event_command(args: argparse.Namespace, ctx: Context) -> Output:
    sub = _event_parser(args.target).parse_args(args.rest)
    if args.target != "add" and sub.action == "report":
        # reports are in Chinese, the centre's usual wording, unless --lang asks otherwise
        return await _event_report(args.target, sub, ctx, args.lang or "zh")
    if args.target == "add":
        command: ScheduleEvent | MoveEvent | CompleteTask = ScheduleEvent(
            actor=ctx.operator,
            plan_id=sub.plan,
            title=sub.title,
            place=sub.place,
            start=ctx.when(sub.start),
            end=ctx.when(sub.end),
        )
    elif sub.action == "move":
        command = MoveEvent(
            actor=ctx.operator, event=args.target, start=ctx.when(sub.start), end=ctx.when(sub.end)
        )
    else:
        command = CompleteTask(
            actor=ctx.operator,
            at=ctx.when_or_none(sub.at),
            event=args.target,
            task=sub.task,
            abnormal=sub.abnormal,
            note=sub.note,
            drill=sub.drill,
        )
    async with ctx.journal(plans=True) as journal:
        (outcome,) = await journal.submit(command)
        ctx.refused(outcome)
        events = journal.engine.projection.duties.events
    if isinstance(command, ScheduleEvent):
        scheduled = outcome.recorded[0].event
        assert isinstance(scheduled, EventScheduled)
        return Lines([scheduled.event])
    if isinstance(command, MoveEvent):
        return Lines([ctx.t("event_moved", event=command.event)])
    title = events[command.event].plan.task(command.task).title
    return Lines([ctx.t("task_logged", title=title.get(ctx.t.lang))])


async def _event_report(event_id: str, sub: argparse.Namespace, ctx: Context, lang: str) -> Output:
    now = ctx.clock.now()
    fmt, target = _target(sub, f"event-{event_id}")
    async with ctx.journal(plans=True) as journal:
        planned = journal.engine.projection.duties.events.get(event_id)
        if planned is None:
            raise CliError(ctx.t("unknown_event", event=event_id))
        owed = planned.owed(journal.engine.deadlines)
        prefix = task_ref(event_id, "")
        done = [
            r.event
            for r in await journal.store.read_kind(DutyDone.kind)
            if isinstance(r.event, DutyDone) and r.event.ref.startswith(prefix)
        ]
    document = event_report(planned, owed, done, now=now, zone=ctx.settings.zone, lang=lang)
    return _emit(document, fmt, target, ctx, _progress(ctx))


async def events_list(args: argparse.Namespace, ctx: Context) -> Output:
    t, zone, now = ctx.t, ctx.settings.zone, ctx.clock.now()
    async with ctx.journal(plans=True) as journal:
        timetable = journal.engine.timetable
        planned = list(timetable.book.events.values())
        owed = {p.id: p.owed(timetable.deadlines) for p in planned}
    data: list[dict[str, Any]] = []
    for event in sorted(planned, key=lambda p: p.start):
        outstanding = [o for o in owed[event.id] if not event.track.settled(o.key)]
        data.append(
            {
                "id": event.id,
                "plan": event.plan.id,
                "title": event.title,
                "place": event.place,
                "start": iso(event.start, zone),
                "end": iso(event.end, zone),
                "outstanding": [
                    {"task": o.ref.rsplit("/", 1)[1], "occurrence": o.occurrence, "due": iso(o.due_at, zone)}
                    for o in outstanding
                ],
                "met": len(event.track.met),
                "missed": len(event.track.breached - event.track.met.keys()),
                "past": event.end < now,
            }
        )
    rows = [
        [
            row["id"],
            row["title"],
            row["place"],
            row["start"],
            row["end"],
            row["plan"],
            ", ".join(f"{o['task']}#{o['occurrence']}" for o in row["outstanding"]) or "-",
        ]
        for row in data
    ]
    header = [t("h.id"), t("h.title"), t("h.place"), t("h.start"), t("h.end"), t("h.plan"), t("h.open_tasks")]
    return Table(header, rows, data=data)
