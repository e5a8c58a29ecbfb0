"""The `dutydesk` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiomqtt
import pendulum

from dutydesk.connectors import systemd
from dutydesk.connectors.application.audit import (
    AnchorError,
    anchor_of,
    check_anchors,
    read_anchors,
    snapshot_problem,
    write_anchor,
)
from dutydesk.connectors.application.factories import (
    anchor_path,
    deadlines,
    debounce,
    feeds,
    load_calendar,
    load_library,
    notice_policy,
)
from dutydesk.connectors.application.factories import apprise_path as apprise_file
from dutydesk.connectors.application.journal import Journal, Outcome
from dutydesk.connectors.application.liveness import (
    ENGINE_LEASE,
    WATCHDOG_TEXT,
    engine_liveness,
    holder_alive,
    read_told,
    status_path,
    stop_holder,
    watchdog_due,
    watchdog_path,
    write_told,
)
from dutydesk.connectors.application.reporting import read_kpi
from dutydesk.connectors.application.service import DiskReserve, EngineRunning, Service
from dutydesk.connectors.application.sources import sources_from_settings
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.deliverers import AppriseDeliverer, load_destinations
from dutydesk.connectors.messages import Messages
from dutydesk.connectors.notify import notifier_from_settings, records_of_test, send_test
from dutydesk.connectors.settings import Settings, SettingsError, load_settings
from dutydesk.connectors.store import SqliteEventStore, StoreError
from dutydesk.console import render
from dutydesk.console.deliveries import KINDS, delivery_rows, target_text
from dutydesk.console.drills import run_drill
from dutydesk.console.i18n import Translator, detect
from dutydesk.console.reports.document import Document
from dutydesk.console.reports.incident import investigation_report
from dutydesk.console.reports.kpi import kpi_report
from dutydesk.console.reports.output import (
    BINARY,
    FORMATS,
    ProgressLine,
    ReportError,
    check_target,
    choose_format,
)
from dutydesk.console.reports.output import render as render_report
from dutydesk.console.reports.output import write as write_report
from dutydesk.playbooks.alarmbook import LIVE
from dutydesk.playbooks.clock import Clock, iso
from dutydesk.playbooks.commands import (
    AcknowledgeBreach,
    AddNote,
    AddRectification,
    Command,
    CompleteObligation,
    CompleteRectification,
    GiveRectificationFeedback,
    ImportRoster,
    MarkUrgent,
    OpenIncident,
    PostUpdate,
    ReachMilestone,
    RecordCause,
    SetSeverity,
)
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.events import (
    BreachAcknowledged,
    DeadLetter,
    MilestoneReached,
    ObligationMet,
)
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.kpi import Period
from dutydesk.playbooks.notices import NoticePolicy
from dutydesk.playbooks.obligations import State, evaluate
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.rectification import ItemState, assess, register_rows
from dutydesk.playbooks.roster import RosterError, parse_roster_csv, role_id
from dutydesk.playbooks.text import visible
from dutydesk.playbooks.vocab import Cause, Milestone, Severity, Source
from dutydesk.playbooks.yamlfile import SourceErrors
from dutydesk.sim.runs import DrillRun, publish_scenario
from dutydesk.sim.scenario import Scenario, bundled_scenarios, load_scenario
from dutydesk.sim.score import result_json


class CliError(Exception):
    """A mistake on the command line that argparse cannot see (a bad date, an unknown plan)."""


@dataclass(slots=True)
class Context:
    settings: Settings
    t: Translator
    clock: Clock
    operator: str
    out: TextIO
    err: TextIO

    # everything printed goes through `visible`: no control character from the log or a device
    # reaches the terminal (JSON keeps its own escapes; `visible`'s are valid JSON too)
    def print(self, *lines: str) -> None:
        for line in lines:
            print(visible(line, multiline=True), file=self.out)

    def json(self, data: object) -> None:
        print(visible(json.dumps(data, ensure_ascii=False, indent=2), multiline=True), file=self.out)

    def warn(self, line: str) -> None:
        print(visible(line, multiline=True), file=self.err)


Handler = Callable[[argparse.Namespace, Context], Coroutine[Any, Any, int]]


# -- arguments --------------------------------------------------------------------------------


def _when(text: str, settings: Settings) -> datetime:
    """An ISO 8601 time; without an offset it is read in the configured time zone."""
    try:
        parsed = pendulum.parse(text, tz=settings.zone)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        raise CliError(f"cannot read time {text!r}; use ISO 8601, e.g. 2026-11-23T14:05") from None
    if not isinstance(parsed, pendulum.DateTime):
        raise CliError(f"{text!r} is not a date and time")
    return parsed


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"cannot read date {text!r}; use YYYY-MM-DD") from None


def _severity(text: str) -> Severity:
    try:
        return Severity.parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from None


# -- plans ------------------------------------------------------------------------------------


def _library(ctx: Context, paths: list[Path] | None = None) -> dict[str, Plan]:
    plans, errors = load_library(ctx.settings, paths)
    if errors:
        ctx.warn(
            f"dutydesk: {len(errors)} plan error(s); these plans are left out (see `dutydesk plans check`):"
        )
        for error in errors:
            ctx.warn(f"  {error}")
    return plans


async def plans_list(args: argparse.Namespace, ctx: Context) -> int:
    t = ctx.t
    plans = _library(ctx)
    if args.json:
        ctx.json([plan.model_dump(mode="json") for plan in plans.values()])
        return 0
    rows = [[t("h.id"), t("h.title"), t("h.severity"), t("h.triggers")]]
    for plan in plans.values():
        triggers = [*plan.triggers.alarms, *plan.triggers.reports]
        rows.append([plan.id, plan.title.get(t.lang), t.label(plan.severity.label), ", ".join(triggers)])
    ctx.print(render.table(rows))
    return 0


async def plans_check(args: argparse.Namespace, ctx: Context) -> int:
    paths = [Path(p) for p in args.paths] or None
    for path in paths or ():
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")
    plans, errors = load_library(ctx.settings, paths)
    for error in errors:
        ctx.print(str(error))
    if errors:
        return 1
    ctx.print(ctx.t("plans_valid", count=len(plans)))
    return 0


async def plans_show(args: argparse.Namespace, ctx: Context) -> int:
    plans = _library(ctx)
    plan = plans.get(args.id)
    if plan is None:
        raise CliError(ctx.t("unknown_plan", plan=args.id))
    opened = _when(args.opened_at, ctx.settings) if args.opened_at else ctx.clock.now()
    incident = Incident(
        id="-",
        plan=plan,
        plan_fingerprint=plan.fingerprint(),
        title=plan.title.get(ctx.t.lang),
        severity=_severity(args.severity) if args.severity else plan.severity,
        urgent=args.urgent,
        drill=False,
        source=Source.PHONE.value,
        location=None,
        description=None,
        trigger=None,
        milestones={Milestone.RECEIVED.value: opened},
    )
    dl = deadlines(ctx.settings)
    statuses = evaluate(incident, dl, opened)
    zone = ctx.settings.zone
    if args.json:
        data = render.incident_json(incident, statuses, zone, opened)
        ctx.json(
            {
                key: data[key]
                for key in ("plan", "plan_title", "severity", "urgent", "opened_at", "obligations")
            }
        )
        return 0
    ctx.print(
        f"{plan.id}: {plan.title.get(ctx.t.lang)}",
        f"{ctx.t('h.severity')}: {ctx.t.label(incident.severity.label)}"
        + (f"  [{ctx.t('urgent')}]" if args.urgent else ""),
        f"{ctx.t('h.received')}: {iso(opened, zone)}",
        "",
        render.obligation_table(statuses, plan, opened, zone, ctx.t),
    )
    return 0


# -- calendar ---------------------------------------------------------------------------------


async def calendar_add(args: argparse.Namespace, ctx: Context) -> int:
    if args.count < 0:
        raise CliError("the number of working days cannot be negative")
    counted = load_calendar(ctx.settings).add_workdays(_date(args.date), args.count)
    if args.json:
        ctx.json({"date": counted.date.isoformat(), "provisional": counted.provisional})
    else:
        ctx.print(counted.date.isoformat() + (" (provisional)" if counted.provisional else ""))
    return 0


async def calendar_is_workday(args: argparse.Namespace, ctx: Context) -> int:
    day = load_calendar(ctx.settings).day(_date(args.date))
    ctx.print(day.describe())
    return 0


# -- incidents --------------------------------------------------------------------------------


@asynccontextmanager
async def _journal(ctx: Context, *, need_plans: bool = False, notices: NoticePolicy | None = None) -> Any:
    settings = ctx.settings
    plans = _library(ctx) if need_plans else {}
    store = await SqliteEventStore.open(settings.database, busy_timeout=settings.file.database.busy_timeout)
    try:
        yield await Journal.open(
            store,
            plans=plans,
            deadlines=deadlines(settings),
            clock=ctx.clock,
            feeds=feeds(settings),
            debounce=debounce(settings),
            notices=notices,
        )
    finally:
        await store.close()


def _outcome(outcome: Outcome, ctx: Context) -> None:
    """Say why a command was refused, in the console's language, times in the centre's zone."""
    if outcome.rejected is not None:
        raise CliError(render.refusal(outcome.rejected, ctx.t, ctx.settings.zone))


async def incident_open(args: argparse.Namespace, ctx: Context) -> int:
    command = OpenIncident(
        actor=ctx.operator,
        at=_when(args.at, ctx.settings) if args.at else None,
        plan_id=args.plan,
        title=args.title,
        severity=_severity(args.severity) if args.severity else None,
        urgent=args.urgent,
        source=Source(args.source),
        location=args.location,
        description=args.description,
    )
    async with _journal(ctx, need_plans=True) as journal:
        (outcome,) = await journal.submit(command)
    _outcome(outcome, ctx)
    incident_id = outcome.recorded[-1].event.incident
    ctx.print(str(incident_id))
    return 0


ACTIONS: dict[str, Callable[[argparse.Namespace, str, str], Command]] = {}


def _milestone_action(milestone: Milestone, text_attr: str | None = None) -> Callable[..., Command]:
    def build(args: argparse.Namespace, incident: str, actor: str) -> Command:
        text = getattr(args, text_attr) if text_attr else None
        return ReachMilestone(actor=actor, at=args.at_time, incident=incident, milestone=milestone, text=text)

    return build


ACTIONS.update(
    report=_milestone_action(Milestone.REPORTED),
    arrive=_milestone_action(Milestone.ON_SITE),
    stabilise=_milestone_action(Milestone.STABILISED),
    investigated=_milestone_action(Milestone.INVESTIGATED),
    rectified=_milestone_action(Milestone.RECTIFIED),
    feedback=_milestone_action(Milestone.FEEDBACK, "text"),
    close=_milestone_action(Milestone.CLOSED, "reason"),
    update=lambda a, i, who: PostUpdate(
        actor=who,
        at=a.at_time,
        incident=i,
        measures=a.measures,
        status=a.status,
        next_steps=a.next,
    ),
    urgent=lambda a, i, who: MarkUrgent(actor=who, at=a.at_time, incident=i),
    severity=lambda a, i, who: SetSeverity(actor=who, at=a.at_time, incident=i, severity=_severity(a.level)),
    note=lambda a, i, who: AddNote(actor=who, at=a.at_time, incident=i, text=a.text),
    done=lambda a, i, who: CompleteObligation(actor=who, at=a.at_time, incident=i, obligation=a.obligation),
    ack=lambda a, i, who: AcknowledgeBreach(actor=who, at=a.at_time, incident=i, obligation=a.obligation),
    cause=lambda a, i, who: RecordCause(
        actor=who, at=a.at_time, incident=i, category=Cause(a.category), text=a.text
    ),
)


async def incident_action(args: argparse.Namespace, ctx: Context) -> int:
    args.at_time = _when(args.at, ctx.settings) if args.at else None
    command = ACTIONS[args.action](args, args.incident, ctx.operator)
    async with _journal(ctx) as journal:
        (outcome,) = await journal.submit(command)
        if outcome.repeated:
            ctx.print(ctx.t("repeated"))
            return 0
        _outcome(outcome, ctx)
        incident = journal.engine.incident(args.incident)
    ctx.print(ctx.t("recorded", what=f"{incident.id} {args.action}"))
    _print_met(outcome, incident, ctx)
    return 0


def _print_met(outcome: Outcome, incident: Incident, ctx: Context) -> None:
    """Each obligation the command met, with its margin, and each breach acknowledged."""
    for item in outcome.recorded:
        event = item.event
        if isinstance(event, ObligationMet) and event.margin_seconds is not None:
            title = incident.plan.obligation(event.obligation).title.get(ctx.t.lang)
            margin = pendulum.duration(seconds=event.margin_seconds)
            word = "early" if event.margin_seconds >= 0 else "late"
            ctx.print(ctx.t("met", title=title, margin=ctx.t(word, span=render.span(margin, ctx.t.lang))))
        elif isinstance(event, BreachAcknowledged):
            title = incident.plan.obligation(event.obligation).title.get(ctx.t.lang)
            ctx.print(ctx.t("acknowledged", title=title))


def _next_due(statuses: list[Any]) -> datetime | None:
    pending = [s.due_at for s in statuses if s.due_at and s.state in (State.PENDING, State.WARNING)]
    return min(pending) if pending else None


async def incidents_list(args: argparse.Namespace, ctx: Context) -> int:
    now, zone, t = ctx.clock.now(), ctx.settings.zone, ctx.t
    async with _journal(ctx) as journal:
        engine = journal.engine
        table = engine.projection.incidents
        chosen = [
            (incident, engine.status(incident, now))
            for incident in (table.values() if args.all else table.open())
            if args.drills or not incident.drill
        ]
    far = datetime.max.replace(tzinfo=zone)
    chosen.sort(key=lambda pair: (_next_due(pair[1]) or far, pair[0].id))
    if args.json:
        ctx.json([render.incident_json(i, s, zone, now) for i, s in chosen])
        return 0
    if not chosen:
        ctx.print(t("no_incidents"))
        return 0
    rows = [[t("h.id"), t("h.title"), t("h.severity"), t("h.phase"), t("h.next_due")]]
    for incident, statuses in chosen:
        upcoming = [
            s
            for s in statuses
            if s.state in (State.PENDING, State.WARNING, State.BREACHED) and s.due_at is not None
        ]
        first = min(upcoming, key=lambda s: s.due_at or far) if upcoming else None
        title = incident.title + (f" [{t('urgent')}]" if incident.urgent else "")
        rows.append(
            [
                incident.id,
                title,
                t.label(incident.severity.label),
                t.label(incident.phase.label),
                f"{first.obligation.title.get(t.lang)}: {render.due_text(first, incident.plan, now, zone, t)}"
                if first
                else "-",
            ]
        )
    ctx.print(render.table(rows))
    return 0


async def incidents_show(args: argparse.Namespace, ctx: Context) -> int:
    now, zone, t = ctx.clock.now(), ctx.settings.zone, ctx.t
    async with _journal(ctx) as journal:
        incident = journal.engine.projection.incidents.get(args.id)
        if incident is None:
            raise CliError(t("unknown_incident", incident=args.id))
        statuses = journal.engine.status(incident, now)
        timeline = await journal.store.read(0, incident=args.id)
    if args.json:
        data = render.incident_json(incident, statuses, zone, now)
        data["timeline"] = [render.event_json(item, zone) for item in timeline]
        ctx.json(data)
        return 0
    ctx.print(*render.incident_lines(incident, statuses, now, zone, t), "", f"{t('h.timeline')}:")
    for item in timeline:
        when = item.event.at.astimezone(zone).strftime("%m-%d %H:%M:%S")
        ctx.print(f"  {when}  {item.event.actor:<10} {render.describe(item.event, incident.plan, t)}")
    return 0


# -- reports and the rectification register ----------------------------------------------------


def _report_target(args: argparse.Namespace, default_name: str) -> tuple[str, Path | None]:
    """The format and the file to write (None: standard output), checked before any work.
    PDF and DOCX go to a file of a default name unless one is given."""
    target = Path(args.output) if args.output else None
    fmt = choose_format(args.format, target)
    if target is None and fmt in BINARY:
        target = Path(f"{default_name}.{fmt}")
    if target is not None:
        try:
            check_target(target)
        except ReportError as exc:
            raise CliError(str(exc)) from None
    return fmt, target


def _progress(ctx: Context) -> ProgressLine:
    stages = ("incidents", "drills", "alarms", "charts", "pages", "rows")
    return ProgressLine(ctx.err, labels={stage: ctx.t(f"p.{stage}") for stage in stages})


def _emit(document: Document, fmt: str, target: Path | None, ctx: Context, progress: ProgressLine) -> None:
    font = ctx.settings.file.reports.font
    try:
        data = render_report(
            document, fmt, font=ctx.settings.resolve(font) if font else None, progress=progress
        )
        if target is not None:
            write_report(target, data)
    except ReportError as exc:
        raise CliError(str(exc)) from None
    finally:
        progress.done()
    if target is None:
        ctx.out.write(visible(data.decode(), multiline=True))
    else:
        ctx.print(ctx.t("report_written", path=target))


async def report_incident(args: argparse.Namespace, ctx: Context) -> int:
    fmt, target = _report_target(args, f"report-{args.id}")
    now, zone = ctx.clock.now(), ctx.settings.zone
    async with _journal(ctx) as journal:
        engine = journal.engine
        incident = engine.projection.incidents.get(args.id)
        if incident is None:
            raise CliError(ctx.t("unknown_incident", incident=args.id))
        statuses = engine.status(incident, now)
        closed = incident.milestones.get(Milestone.CLOSED)
        items = [assess(i, engine.deadlines, now, closed) for i in engine.projection.register.of(args.id)]
        timeline = await journal.store.read(0, incident=args.id)
    # reports are in Chinese, the centre's usual wording, unless --lang asks otherwise
    document = investigation_report(
        incident, statuses, timeline, items, now=now, zone=zone, lang=args.lang or "zh"
    )
    _emit(document, fmt, target, ctx, _progress(ctx))
    return 0


def _period(args: argparse.Namespace, ctx: Context) -> Period:
    zone = ctx.settings.zone
    if args.month is not None:
        year, _, month = args.month.partition("-")
        if not (len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit()) or not (
            1 <= int(month) <= 12
        ):
            raise CliError(ctx.t("bad_month", text=args.month))
        return Period.month(int(year), int(month), zone)
    if not (len(args.year) == 4 and args.year.isdigit()):
        raise CliError(ctx.t("bad_year", text=args.year))
    return Period.year(int(args.year), zone)


async def report_kpi(args: argparse.Namespace, ctx: Context) -> int:
    period, now = _period(args, ctx), ctx.clock.now()
    if period.start > now:
        raise CliError(ctx.t("future_period", period=period.label))
    fmt, target = _report_target(args, f"kpi-{period.label}")
    progress = _progress(ctx)
    settings = ctx.settings
    async with await SqliteEventStore.open(
        settings.database, busy_timeout=settings.file.database.busy_timeout
    ) as store:
        try:
            kpi = await read_kpi(store, period, deadlines(settings), now, progress.show)
        finally:
            progress.done()
    _emit(kpi_report(kpi, zone=settings.zone, lang=args.lang or "zh"), fmt, target, ctx, progress)
    return 0


async def rectify_list(args: argparse.Namespace, ctx: Context) -> int:
    now, zone, t = ctx.clock.now(), ctx.settings.zone, ctx.t
    if args.overdue:
        states: set[ItemState] | None = {ItemState.OVERDUE}
    else:
        states = None if args.all else {ItemState.OPEN, ItemState.OVERDUE}
    async with _journal(ctx) as journal:
        projection = journal.engine.projection
        rows = register_rows(
            projection.register,
            projection.incidents,
            journal.engine.deadlines,
            now,
            states=states,
            drills=args.drills,
        )
    if args.json:
        ctx.json([render.item_json(row, zone, now) for row in rows])
        return 0
    if not rows:
        ctx.print(t("no_items"))
        return 0
    table = [[t("h.item"), t("h.incident"), t("h.content"), t("h.owner"), t("h.due"), t("h.state")]]
    for row in rows:
        status, item = row.status, row.status.item
        due = status.due_at.astimezone(zone).strftime("%m-%d %H:%M")
        if status.state in (ItemState.OPEN, ItemState.OVERDUE):
            margin = status.margin(now)
            word = "left" if margin.total_seconds() >= 0 else "overdue"
            due += f" ({t(word, span=render.span(margin, t.lang))})"
        if status.provisional:
            due += t("provisional")
        table.append([item.id, item.incident, item.content, item.owner, due, t(f"item.{status.state.value}")])
    ctx.print(render.table(table))
    return 0


async def rectify_add(args: argparse.Namespace, ctx: Context) -> int:
    rules = ctx.settings.file.rectification
    command = AddRectification(
        actor=ctx.operator,
        at=_when(args.at, ctx.settings) if args.at else None,
        incident=args.incident,
        content=args.content,
        owner=args.owner,
        workdays=args.workdays if args.workdays is not None else rules.workdays,
        from_investigation=args.workdays is None,
        reminders=rules.reminders,
    )
    async with _journal(ctx) as journal:
        (outcome,) = await journal.submit(command)
    _outcome(outcome, ctx)
    ctx.print(str(getattr(outcome.recorded[-1].event, "item", "")))
    return 0


async def rectify_item(args: argparse.Namespace, ctx: Context) -> int:
    at = _when(args.at, ctx.settings) if args.at else None
    command: Command
    if args.action == "done":
        command = CompleteRectification(actor=ctx.operator, at=at, item=args.item, evidence=args.evidence)
    else:
        command = GiveRectificationFeedback(actor=ctx.operator, at=at, item=args.item, text=args.text)
    async with _journal(ctx) as journal:
        (outcome,) = await journal.submit(command)
        if outcome.repeated:
            ctx.print(ctx.t("repeated"))
            return 0
        _outcome(outcome, ctx)
        incident = journal.engine.incident(journal.engine.projection.register.get(args.item).incident)
    ctx.print(ctx.t("recorded", what=f"{args.item} {args.action}"))
    for item in outcome.recorded:
        if isinstance(item.event, MilestoneReached):
            ctx.print(
                ctx.t("recorded", what=f"{incident.id} {ctx.t.label(Milestone(item.event.milestone).label)}")
            )
    _print_met(outcome, incident, ctx)
    return 0


# -- running, backup, audit -------------------------------------------------------------------


async def serve(args: argparse.Namespace, ctx: Context) -> int:
    logging.basicConfig(level=logging.INFO, stream=ctx.err, format="%(levelname)s %(name)s: %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if apprise_file(ctx.settings) is None:
        ctx.warn(ctx.t("notify_off", path=ctx.settings.resolve(ctx.settings.file.notify.apprise_config)))
    async with _journal(ctx, need_plans=True, notices=notice_policy(ctx.settings)) as journal:
        notifier = notifier_from_settings(journal, ctx.settings)
        sources = sources_from_settings(journal, ctx.settings)
        sources.append(notifier)
        reserve = ctx.settings.file.database.free_space_reserve_mb * 2**20
        if reserve:
            sources.append(DiskReserve(journal=journal, folder=ctx.settings.database.parent, reserve=reserve))
        ctx.print(ctx.t("serving", db=ctx.settings.database))
        ctx.out.flush()
        service = Service(
            journal,
            sources=sources,
            alert=notifier.tell_unrecorded,
            anchors=anchor_path(ctx.settings),
            status=status_path(ctx.settings.database),
            notifications=notifier.deliverer is not None,
        )
        await service.run(stop)
    ctx.print(ctx.t("stopped"))
    return 0


async def alarms_list(args: argparse.Namespace, ctx: Context) -> int:
    zone, t = ctx.settings.zone, ctx.t
    async with _journal(ctx) as journal:
        book = journal.engine.projection.alarms
        alarms = [a for a in book.alarms.values() if not args.active or a.status in LIVE]
    alarms.sort(key=lambda a: a.since, reverse=True)
    if args.json:
        ctx.json([render.alarm_json(a, zone) for a in alarms])
        return 0
    if not alarms:
        ctx.print(t("no_alarms"))
        return 0
    rows = [[t("h.since"), t("h.status"), t("h.alarm"), t("h.device"), t("h.location"), t("h.id")]]
    for alarm in alarms:
        rows.append(
            [
                alarm.since.astimezone(zone).strftime("%m-%d %H:%M:%S"),
                t(f"alarm.{alarm.status.value}") + (f" ×{alarm.flaps}" if alarm.flaps else ""),
                alarm.text or alarm.kind,
                f"{alarm.source}/{alarm.device}" + (f" {alarm.point}" if alarm.point else ""),
                " ".join(p for p in (alarm.building, alarm.floor) if p),
                alarm.incident or "-",
            ]
        )
    ctx.print(render.table(rows))
    return 0


async def devices_list(args: argparse.Namespace, ctx: Context) -> int:
    zone, t = ctx.settings.zone, ctx.t
    async with _journal(ctx) as journal:
        book = journal.engine.projection.alarms
        seen = await journal.store.liveness()
    keys = sorted(book.devices.keys() | seen.keys())
    items = [render.device_json(key, book.devices.get(key), seen.get(key), zone) for key in keys]
    if args.json:
        ctx.json(items)
        return 0
    rows = [[t("h.device"), t("h.availability"), t("h.last_seen"), t("h.location")]]
    for item in items:
        last = item["last_seen"]
        rows.append(
            [
                item["device"],
                t(f"availability.{item['availability']}"),
                last[5:19].replace("T", " ") if last else "-",
                " ".join(p for p in (item["building"], item["floor"]) if p),
            ]
        )
    ctx.print(render.table(rows) if items else t("no_devices"))
    return 0


async def dead_letters(args: argparse.Namespace, ctx: Context) -> int:
    zone = ctx.settings.zone
    async with await SqliteEventStore.open(
        ctx.settings.database, busy_timeout=ctx.settings.file.database.busy_timeout
    ) as store:
        letters = await store.read_kind(DeadLetter.kind)
    items = [render.event_json(item, zone) for item in letters]
    if args.json:
        ctx.json(items)
        return 0
    if not items:
        ctx.print(ctx.t("no_dead_letters"))
    for item in items:
        ctx.print(
            f"{item['at'][:19].replace('T', ' ')}  {item['source']}  {item['topic']}  "
            f"{item['reason']}  ({item['size']} B)"
        )
    return 0


async def console(args: argparse.Namespace, ctx: Context) -> int:
    """The duty console. The engine runs in its own process (`dutydesk serve`), started here
    unless one is running on this database already, so the screen stays fluid under load."""
    from dutydesk.console.app import DutyApp  # noqa: PLC0415 - Textual loads for the console only

    async with _journal(ctx, need_plans=True) as journal:
        store, database, wall = journal.store, ctx.settings.database, WallClock()  # real processes
        if not args.attach and await store.holder(ENGINE_LEASE, wall.now(), alive=holder_alive) is None:
            _start_engine(ctx, args.config)

        async def stop_engine() -> bool:
            return await stop_holder(store, wall.now())

        app = DutyApp(
            journal=journal,
            settings=ctx.settings,
            t=ctx.t,
            operator=ctx.operator,
            liveness=lambda: engine_liveness(store, database, wall.now()),
            stop_engine=stop_engine,
        )
        await app.run_async()
        # closing the console never stops deadline handling: the engine is left running
        holder = await store.holder(ENGINE_LEASE, wall.now(), alive=holder_alive)
        if holder is not None:
            ctx.print(ctx.t("engine.left_running", holder=holder))
    return 0


def _start_engine(ctx: Context, config: Path | None) -> subprocess.Popen[bytes]:
    log = ctx.settings.database.with_suffix(".engine.log")
    command = [sys.executable, "-m", "dutydesk.console.cli", "--operator", ctx.operator]
    if config is not None:
        command += ["--config", str(config)]
    with log.open("ab") as output:  # the child keeps its own handle
        # a session of its own: the engine outlives the console and the terminal it ran in
        return subprocess.Popen([*command, "serve"], stdout=output, stderr=output, start_new_session=True)


def _scenario(ctx: Context, name: str) -> tuple[Scenario, dict[str, Plan]]:
    plans = _library(ctx)
    try:
        return load_scenario(name, plans=plans), plans
    except SourceErrors as exc:
        raise CliError(str(exc)) from None


async def drill_run(args: argparse.Namespace, ctx: Context) -> int:
    scenario, plans = _scenario(ctx, args.scenario)
    speed = None if args.virtual else args.speed
    run = await run_drill(
        scenario,
        settings=ctx.settings,
        plans=plans,
        t=ctx.t,
        operator=ctx.operator,
        speed=speed,
        headless=args.headless,
    )
    return _drill_summary(run, ctx, args.json)


def _drill_summary(run: DrillRun, ctx: Context, as_json: bool) -> int:
    result = run.result
    if as_json:
        ctx.json({**result_json(result, ctx.settings.zone), "folder": str(run.folder), "broker": run.broker})
    else:
        t = ctx.t
        ctx.print(
            t(
                "drill.result",
                scenario=result.scenario.id,
                on_time=sum(s.on_time for s in result.armed),
                armed=len(result.armed),
                rate=f"{result.rate:.0%}",
                verdict=t("drill.passed") if result.passed else t("drill.not_passed"),
                report=run.folder / "report.md",
            )
        )
    return 0 if result.passed else 1


async def demo(args: argparse.Namespace, ctx: Context) -> int:
    """The lively scenario against an embedded broker, with the console in front."""
    scenario, plans = _scenario(ctx, args.scenario)
    run = await run_drill(
        scenario,
        settings=ctx.settings,
        plans=plans,
        t=ctx.t,
        operator=ctx.operator,
        speed=args.speed,
        headless=args.headless,
    )
    _drill_summary(run, ctx, as_json=False)
    return 0


async def sim_publish(args: argparse.Namespace, ctx: Context) -> int:
    scenario, _ = _scenario(ctx, args.scenario)
    host, port = ctx.settings.file.mqtt.host, ctx.settings.file.mqtt.port
    if args.broker:
        host, _, number = args.broker.rpartition(":")
        if not number.isdigit():
            raise CliError(f"--broker {args.broker!r}: write HOST:PORT")
        port = int(number)
    try:
        count = await publish_scenario(
            scenario, host=host or "127.0.0.1", port=port, speed=args.speed, clock=ctx.clock
        )
    except aiomqtt.MqttError as exc:
        raise CliError(f"broker {host}:{port}: {exc}") from None
    ctx.print(ctx.t("drill.published", count=count))
    return 0


async def backup(args: argparse.Namespace, ctx: Context) -> int:
    target = Path(args.file)
    async with _journal(ctx) as journal:
        await journal.store.backup(target)
        events = journal.engine.seq
    ctx.print(ctx.t("backup_done", events=events, path=target))
    return 0


async def audit_verify(args: argparse.Namespace, ctx: Context) -> int:
    """The chain, the snapshot (sealed, and against a replay), the schema, and the anchors."""
    settings = ctx.settings
    anchors = read_anchors(Path(args.anchors)) if args.anchors else []
    async with await SqliteEventStore.open(
        settings.database, busy_timeout=settings.file.database.busy_timeout
    ) as store:
        result = await store.verify()
        problems = [*result.problems, *await check_anchors(store, anchors)]
        blank = Engine(
            plans=_library(ctx),
            deadlines=deadlines(settings),
            feeds=feeds(settings),
            debounce=debounce(settings),
            notices=notice_policy(settings),
        )
        if result.broken_at is None and (mismatch := await snapshot_problem(store, blank)):
            problems.append(mismatch)
    if result.broken_at is not None:
        ctx.print(ctx.t("audit_broken", reason=result.reason, seq=result.broken_at))
    for problem in problems:
        ctx.print(ctx.t("audit_problem", problem=problem))
    if result.broken_at is None and not problems:
        ctx.print(ctx.t("audit_ok", events=result.events))
    ctx.print(ctx.t("audit_head", seq=result.events, hash=result.head))
    return 0 if result.broken_at is None and not problems else 1


async def watchdog(args: argparse.Namespace, ctx: Context) -> int:
    """Tell the fallback destinations when no engine has run for a while (run by a timer)."""
    settings, wall = ctx.settings, WallClock()  # about real processes, like the lease
    after = timedelta(seconds=args.after if args.after is not None else settings.file.watchdog.notify_after)
    async with await SqliteEventStore.open(
        settings.database, busy_timeout=settings.file.database.busy_timeout
    ) as store:
        state = await engine_liveness(store, settings.database, wall.now())
    if state.running:
        ctx.print(ctx.t("watchdog_running", state=state.degraded or "ok"))
        return 0
    since = (
        state.last_heard.astimezone(settings.zone).isoformat(timespec="seconds") if state.last_heard else "?"
    )
    ctx.print(ctx.t("watchdog_gone", since=since))
    told = watchdog_path(settings.database)
    if watchdog_due(state, wall.now(), after, read_told(told)):
        lang = settings.file.notify.lang
        title, body = WATCHDOG_TEXT[lang]
        sent = await _tell_fallback(ctx, title, body.format(since=since, database=settings.database))
        if sent:
            write_told(told, wall.now())
        ctx.print(ctx.t("watchdog_told", count=sent))
    return 1


async def install_systemd(args: argparse.Namespace, ctx: Context) -> int:
    """Write the engine's unit and the watchdog's timer, then enable and start them."""
    system = args.system
    folder = (
        Path(args.dir)
        if args.dir
        else (Path("/etc/systemd/system") if system else Path.home() / ".config/systemd/user")
    )
    command = shlex.join([sys.executable, "-m", "dutydesk.console.cli"])
    if args.config:
        command += " --config " + shlex.quote(os.path.abspath(args.config))  # noqa: ASYNC240 - no I/O
    home = None if args.config else str(ctx.settings.database.parent)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in systemd.units(command, home=home, system=system).items():
            (folder / name).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{folder}: {exc.strerror or exc}") from None
    ctx.print(ctx.t("units_written", folder=folder))
    systemctl = ["systemctl"] if system else ["systemctl", "--user"]
    steps = [
        [*systemctl, "daemon-reload"],
        [*systemctl, "enable", "--now", systemd.UNITS[0], systemd.UNITS[2]],
    ]
    if args.no_enable:
        for step in steps:
            ctx.print("  " + shlex.join(step))
        return 0
    for step in steps:
        done = await asyncio.to_thread(subprocess.run, step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CliError(f"{shlex.join(step)}: {(done.stderr or done.stdout).strip()}")
    ctx.print(ctx.t("units_enabled"))
    return 0


async def _tell_fallback(ctx: Context, title: str, body: str) -> int:
    """Send to every fallback destination; how many took it."""
    path = apprise_file(ctx.settings)
    if path is None:
        raise CliError(
            ctx.t("no_apprise", path=ctx.settings.resolve(ctx.settings.file.notify.apprise_config))
        )
    notify = ctx.settings.file.notify
    deliverer = AppriseDeliverer(load_destinations(path, notify.drill_tag), timeout=notify.timeout)
    try:
        tried = await send_test(deliverer, title, body, [notify.fallback_tag])
    finally:
        deliverer.close()
    return sum(1 for t in tried if t.sent.ok)


async def audit_anchor(args: argparse.Namespace, ctx: Context) -> int:
    """Write the chain's head to the anchor file (outside the database)."""
    settings = ctx.settings
    target = Path(args.to) if args.to else anchor_path(settings)
    if target is None:
        raise CliError(ctx.t("anchor_nowhere"))
    async with await SqliteEventStore.open(
        settings.database, busy_timeout=settings.file.database.busy_timeout
    ) as store:
        result = await store.verify()
    if not result.ok:
        ctx.print(
            ctx.t("audit_broken", reason=result.reason or "; ".join(result.problems), seq=result.broken_at)
        )
        return 1
    anchor = anchor_of(result, at=ctx.clock.now(), database=str(settings.database), why="manual")
    write_anchor(target, anchor)
    ctx.print(ctx.t("anchored", seq=anchor.seq, hash=anchor.hash, path=target))
    return 0


# -- roster and notifications -----------------------------------------------------------------


async def roster_show(args: argparse.Namespace, ctx: Context) -> int:
    at = _when(args.at, ctx.settings) if args.at else ctx.clock.now()
    async with _journal(ctx) as journal:
        roster = journal.engine.projection.notices.roster
    zone, t = ctx.settings.zone, ctx.t
    rows: list[dict[str, Any]] = [
        {
            "role": role,
            "holder": shift.holder if shift else None,
            "tags": list(shift.tags) if shift else [],
            "start": iso(shift.start, zone) if shift else None,
            "end": iso(shift.end, zone) if shift else None,
        }
        for role in ctx.settings.roles
        for shift in (roster.holders(role, at) or [None])
    ]
    if args.json:
        ctx.json({"at": iso(at, zone), "holders": rows})
        return 0
    table = [[t("h.role"), t("h.holder"), t("h.tags"), t("h.until")]]
    for row in rows:
        until = row["end"][5:16].replace("T", " ") if row["end"] else t("standing") if row["holder"] else ""
        table.append(
            [render.role_label(row["role"], t), row["holder"] or t("nobody"), " ".join(row["tags"]), until]
        )
    ctx.print(f"{t('h.since')}: {iso(at, zone)}", render.table(table))
    return 0


def _roster_file(path: Path, settings: Settings, actor: str) -> ImportRoster:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8; save the sheet as CSV UTF-8") from None
    try:
        shifts = parse_roster_csv(text, str(path), zone=settings.zone, roles=settings.roles)
    except RosterError as exc:
        raise CliError(str(exc)) from None
    return ImportRoster(actor=actor, source=path.name, shifts=tuple(shifts))


async def roster_import(args: argparse.Namespace, ctx: Context) -> int:
    command = _roster_file(Path(args.file), ctx.settings, ctx.operator)
    async with _journal(ctx) as journal:
        (outcome,) = await journal.submit(command)
    _outcome(outcome, ctx)
    ctx.print(ctx.t("roster_imported", count=len(command.shifts), source=command.source))
    return 0


async def notifications_list(args: argparse.Namespace, ctx: Context) -> int:
    settings, t = ctx.settings, ctx.t
    async with await SqliteEventStore.open(
        settings.database, busy_timeout=settings.file.database.busy_timeout
    ) as store:
        recorded = [item for kind in KINDS for item in await store.read_kind(kind)]
    rows = delivery_rows(recorded, settings.zone)
    if args.failed:
        rows = [row for row in rows if row["failures"] or row["state"] == "failed"]
    if args.json:
        ctx.json(rows)
        return 0
    if not rows:
        ctx.print(t("no_notifications"))
        return 0
    table = [
        [
            t("h.since"),
            t("h.notification"),
            t("h.role"),
            t("h.target"),
            t("h.state"),
            t("h.attempts"),
            t("h.error"),
        ]
    ]
    for row in rows:
        table.append(
            [
                row["at"][5:19].replace("T", " "),
                row["notification"] + (f" [{t('drill')}]" if row["drill"] else ""),
                render.role_label(row["role"], t),
                target_text(row) + (f" ({t('fallback')})" if row["fallback"] else ""),
                t(f"delivery.{row['state']}"),
                str(row["attempts"]),
                (row["error"] or "")[:60],
            ]
        )
    ctx.print(render.table(table))
    return 0


async def notify_test(args: argparse.Namespace, ctx: Context) -> int:
    settings, t = ctx.settings, ctx.t
    role = role_id(args.role, settings.roles)
    if role is None:
        raise CliError(t("unknown_role", role=args.role, roles=", ".join(settings.roles)))
    path = apprise_file(settings)
    if path is None:
        raise CliError(t("no_apprise", path=settings.resolve(settings.file.notify.apprise_config)))
    notify, now = settings.file.notify, ctx.clock.now()
    deliverer = AppriseDeliverer(load_destinations(path, notify.drill_tag), timeout=notify.timeout)
    messages = Messages(lang=notify.lang, zone=settings.zone)
    notification = f"test-{uuid.uuid4().hex[:8]}"
    try:
        async with _journal(ctx) as journal:
            holders = journal.engine.projection.notices.roster.holders(role, now)
            if not holders:
                raise CliError(t("nobody_on", role=render.role_label(role, t)))
            title, body = messages.compose(
                role=role,
                items=[],
                recipients=[h.holder for h in holders],
                drill=False,
                unstaffed=False,
                at=now,
            )
            tried = await send_test(deliverer, title, body, [tag for h in holders for tag in h.tags])
            for one in tried:
                target = one.target + (f" → {one.destination}" if one.destination else "")
                ok = t("test_sent", target=target, elapsed=one.sent.elapsed)
                ctx.print(ok if one.sent.ok else t("test_failed", target=target, error=one.sent.error))
            await journal.record(
                records_of_test(
                    tried, notification=notification, role=role, actor=ctx.operator, at=ctx.clock.now()
                )
            )
    finally:
        deliverer.close()
    return 0 if all(one.sent.ok for one in tried) else 1


def _notify_parsers(commands: Any) -> None:
    roster = commands.add_parser("roster", help="the duty roster").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = roster.add_parser("show", help="who holds each role (now, or --at)")
    p.add_argument("--at", metavar="ISO")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=roster_show)
    p = roster.add_parser("import", help="lay a roster CSV (role,holder,tags,start,end) over the current one")
    p.add_argument("file", metavar="FILE.csv")
    p.set_defaults(handler=roster_import)
    notes = commands.add_parser("notifications", help="the delivery log").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = notes.add_parser("list", help="every notification to every target, with attempts and errors")
    p.add_argument("--failed", action="store_true", help="only those with failed attempts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=notifications_list)
    notify = commands.add_parser("notify", help="notification channels").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = notify.add_parser("test", help="send a test message to whoever holds ROLE now")
    p.add_argument("--role", required=True)
    p.set_defaults(handler=notify_test)


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dutydesk",
        description="Duty-room console: contingency plans as timed playbooks. 值班台：应急预案的时限管理。",
    )
    parser.add_argument("--config", type=Path, help="configuration file (TOML)")
    parser.add_argument("--operator", help="who is acting (default: configured, else OS user)")
    parser.add_argument("--lang", choices=["zh", "en"], help="language of the output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plans = commands.add_parser("plans", help="the plan library").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = plans.add_parser("list", help="list the plans")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=plans_list)
    p = plans.add_parser("check", help="validate plan files (default: library and plan folder)")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.set_defaults(handler=plans_check)
    p = plans.add_parser("show", help="a plan's obligations with due times")
    p.add_argument("id")
    p.add_argument("--urgent", action="store_true")
    p.add_argument("--severity", metavar="LEVEL")
    p.add_argument("--opened-at", metavar="ISO")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=plans_show)

    cal = commands.add_parser("calendar", help="working days").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = cal.add_parser("add-workdays", help="the date N working days after DATE")
    p.add_argument("date")
    p.add_argument("count", type=int, metavar="N")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=calendar_add)
    p = cal.add_parser("is-workday", help="workday, weekend, holiday or adjusted-workday")
    p.add_argument("date")
    p.set_defaults(handler=calendar_is_workday)

    p = commands.add_parser(
        "incident",
        help="open an incident, or act on one",
        usage="dutydesk incident open --plan ID --title TEXT [...]\n       dutydesk incident ID ACTION [...]",
    )
    p.add_argument("target", metavar="open|ID")
    p.add_argument("rest", nargs=argparse.REMAINDER)

    listing = commands.add_parser("incidents", help="list and show incidents").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = listing.add_parser("list", help="open incidents by next deadline")
    p.add_argument("--all", action="store_true", help="closed ones too")
    p.add_argument("--drills", action="store_true", help="drill incidents too")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=incidents_list)
    p = listing.add_parser("show", help="one incident with its obligations and timeline")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=incidents_show)

    alarms = commands.add_parser("alarms", help="alarms from building systems").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = alarms.add_parser("list", help="alarms, newest change first")
    p.add_argument("--active", action="store_true", help="only those raised, pending or clearing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=alarms_list)
    p = alarms.add_parser("dead-letters", help="messages that could not be read")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=dead_letters)
    p = commands.add_parser("devices", help="device availability and when each was last heard from")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=devices_list)

    p = commands.add_parser("console", help="the duty console (starts the engine unless one runs)")
    p.add_argument("--attach", action="store_true", help="never start the engine; follow the database")
    p.set_defaults(handler=console)

    p = commands.add_parser("demo", help="a lively drill on an embedded broker, with the console")
    p.add_argument("--speed", type=float, default=30.0, help="drill seconds per real second")
    p.add_argument("--scenario", default="power-cut-elevator")
    p.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(handler=demo)

    drill = commands.add_parser("drill", help="rehearse a plan end to end").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = drill.add_parser("run", help="run a scenario through the whole pipeline and score it")
    p.add_argument(
        "scenario", help="a bundled scenario or a scenario file: " + ", ".join(bundled_scenarios())
    )
    timing = p.add_mutually_exclusive_group()
    timing.add_argument("--speed", type=float, default=1.0, help="drill seconds per real second")
    timing.add_argument("--virtual", action="store_true", help="as fast as possible on virtual time")
    p.add_argument("--headless", action="store_true", help="no console")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=drill_run)
    sim = commands.add_parser("sim", help="the simulator").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = sim.add_parser("publish", help="publish a scenario's device messages to a broker")
    p.add_argument("scenario")
    p.add_argument("--speed", type=float, default=1.0)
    p.add_argument("--broker", metavar="HOST:PORT", help="default: the configured [mqtt] broker")
    p.set_defaults(handler=sim_publish)

    p = commands.add_parser("serve", help="run the engine headless until SIGINT/SIGTERM")
    p.set_defaults(handler=serve)
    p = commands.add_parser("install-systemd", help="install and start the engine and watchdog units")
    p.add_argument("--system", action="store_true", help="system units (root), not the user's")
    p.add_argument("--dir", metavar="FOLDER", help="write the units here instead")
    p.add_argument("--no-enable", action="store_true", help="write only; print the systemctl steps")
    p.set_defaults(handler=install_systemd)
    p = commands.add_parser("watchdog", help="tell the fallback destinations when no engine runs")
    p.add_argument("--after", type=int, metavar="SECONDS", help="without an engine this long (default 120)")
    p.set_defaults(handler=watchdog)
    p = commands.add_parser("backup", help="a consistent copy of the database, safe while running")
    p.add_argument("file")
    p.set_defaults(handler=backup)
    p = commands.add_parser(
        "rectify",
        help="the rectification register (整改台账)",
        usage="dutydesk rectify list [--overdue] [--all] [--drills] [--json]\n"
        "       dutydesk rectify add INCIDENT --content TEXT --owner NAME [--workdays N]\n"
        "       dutydesk rectify ITEM done --evidence TEXT\n"
        "       dutydesk rectify ITEM feedback --text TEXT",
    )
    p.add_argument("target", metavar="list|add|ITEM")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    reports = commands.add_parser("report", help="investigation report and KPIs").add_subparsers(
        dest="sub", required=True, metavar="KIND"
    )
    p = reports.add_parser("incident", help="the investigation report (事件调查报告) of one incident")
    p.add_argument("id")
    _output_options(p)
    p.set_defaults(handler=report_incident)
    p = reports.add_parser("kpi", help="timeliness, times, rectification and alarm load of a period")
    period = p.add_mutually_exclusive_group(required=True)
    period.add_argument("--month", metavar="YYYY-MM")
    period.add_argument("--year", metavar="YYYY")
    _output_options(p)
    p.set_defaults(handler=report_kpi)
    audit = commands.add_parser("audit", help="check the event log").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    p = audit.add_parser(
        "verify", help="verify the hash chain, snapshot, schema and anchors of the event log"
    )
    p.add_argument(
        "--anchors", metavar="FILE", help="an anchor file: find a cut-off tail or a rewritten chain"
    )
    p.set_defaults(handler=audit_verify)
    p = audit.add_parser(
        "anchor", help="append the chain's head to the anchor file (keep it on another disk)"
    )
    p.add_argument("--to", metavar="FILE", help="the anchor file (default: audit.anchor_file)")
    p.set_defaults(handler=audit_anchor)
    _notify_parsers(commands)
    return parser


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=FORMATS, help="default: from the file name, else md")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="default: standard output; report-ID.pdf for pdf/docx"
    )


def _rectify_parser(target: str) -> argparse.ArgumentParser:
    if target == "list":
        p = argparse.ArgumentParser(prog="dutydesk rectify list")
        p.add_argument("--overdue", action="store_true", help="only items past their limit")
        p.add_argument("--all", action="store_true", help="done and waived ones too")
        p.add_argument("--drills", action="store_true", help="items of drills too")
        p.add_argument("--json", action="store_true")
        p.set_defaults(handler=rectify_list)
        return p
    if target == "add":
        p = argparse.ArgumentParser(prog="dutydesk rectify add")
        p.add_argument("incident", metavar="INCIDENT")
        p.add_argument("--content", required=True, help="整改内容 what is to be done")
        p.add_argument("--owner", required=True, help="责任人 who is responsible")
        p.add_argument(
            "--workdays",
            type=int,
            metavar="N",
            help="working days from now (default: the period from the investigation)",
        )
        p.add_argument("--at", metavar="ISO", help="when it was decided (default: now)")
        p.set_defaults(handler=rectify_add)
        return p
    p = argparse.ArgumentParser(prog=f"dutydesk rectify {target}")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("done", help="the item is done (整改完成)")
    a.add_argument("--evidence", required=True, help="what shows it: a work order, photos, a new rule")
    a.add_argument("--at", metavar="ISO", help="when it was done (default: now)")
    a = actions.add_parser("feedback", help="feedback given to the served department (已反馈)")
    a.add_argument("--text", required=True)
    a.add_argument("--at", metavar="ISO", help="when it was given (default: now)")
    p.set_defaults(handler=rectify_item, item=target)
    return p


def _open_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dutydesk incident open")
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
    p.add_argument("--at", metavar="ISO", help="when the report was received")
    p.set_defaults(handler=incident_open)
    return p


def _action_parser(incident: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"dutydesk incident {incident}")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    helps = {
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
        "ack": "acknowledge breaches (all, or one obligation's): their escalation stops (确认超时)",
    }
    for name, text in helps.items():
        a = actions.add_parser(name, help=text, aliases=["stabilize"] if name == "stabilise" else [])
        a.add_argument("--at", metavar="ISO", help="when it really happened (default: now)")
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
        elif name == "ack":
            a.add_argument("obligation", nargs="?", help="default: every unacknowledged breach")
        elif name == "cause":
            a.add_argument("--category", required=True, choices=[c.value for c in Cause])
            a.add_argument("--text", required=True)
    p.set_defaults(handler=incident_action, incident=incident)
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    clock: Clock | None = None,
    env: Mapping[str, str] = os.environ,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)
    if args.command in ("incident", "rectify"):
        if args.command == "rectify":
            sub = _rectify_parser(args.target)
        else:
            sub = _open_parser() if args.target == "open" else _action_parser(args.target)
        shared = {name: getattr(args, name) for name in ("config", "operator", "lang", "command")}
        args = sub.parse_args(args.rest, namespace=argparse.Namespace(**shared))
    try:
        settings = load_settings(args.config, env)
    except SettingsError as exc:
        print(f"dutydesk: {exc}", file=err)
        return 1
    t = Translator(args.lang or detect(settings.file.duty.locale, env))
    ctx = Context(settings, t, clock or WallClock(), settings.operator(args.operator), out, err)
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args, ctx))
    except (CliError, SettingsError, StoreError, EngineRunning, AnchorError) as exc:
        print(f"dutydesk: {t('error')}: {exc}", file=err)
        return 1


if __name__ == "__main__":
    sys.exit(main())
