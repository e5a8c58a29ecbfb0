"""`dutydesk incident open|ID ACTION` and `dutydesk incidents list|show`.

An action on an incident is one entry of `ACTIONS` (the command it sends) and one line in
`grammar.INCIDENT_ACTIONS` with its options in `parser.action_parser`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta

from dutydesk.connectors.application.journal import Outcome
from dutydesk.console import render
from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output, Table
from dutydesk.console.views import incident_rows
from dutydesk.playbooks.commands import (
    AcknowledgeBreach,
    AddNote,
    Command,
    CompleteObligation,
    ExplainLate,
    LinkIncidents,
    MarkUrgent,
    MergeIncident,
    OpenIncident,
    PostUpdate,
    ReachMilestone,
    RecordCause,
    RecordFinding,
    SetSeverity,
)
from dutydesk.playbooks.events import BreachAcknowledged, ObligationMet
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.vocab import Cause, Milestone, Source


async def open_incident(args: argparse.Namespace, ctx: Context) -> Output:
    command = OpenIncident(
        actor=ctx.operator,
        at=ctx.when_or_none(args.at),
        plan_id=args.plan,
        title=args.title,
        severity=ctx.severity(args.severity) if args.severity else None,
        urgent=args.urgent,
        source=Source(args.source),
        location=args.location,
        description=args.description,
    )
    async with ctx.journal(plans=True) as journal:
        (outcome,) = await journal.submit(command)
    ctx.refused(outcome)
    return Lines([str(outcome.recorded[-1].event.incident)])


# What each action sends: (arguments, incident, actor, when) -> the command.
Build = Callable[[argparse.Namespace, str, str, datetime | None], Command]


def _milestone(milestone: Milestone, text_attr: str | None = None) -> Build:
    def build(args: argparse.Namespace, incident: str, actor: str, at: datetime | None) -> Command:
        text = getattr(args, text_attr) if text_attr else None
        return ReachMilestone(actor=actor, at=at, incident=incident, milestone=milestone, text=text)

    return build


ACTIONS: dict[str, Build] = {
    "report": _milestone(Milestone.REPORTED),
    "arrive": _milestone(Milestone.ON_SITE),
    "stabilise": _milestone(Milestone.STABILISED),
    "investigated": _milestone(Milestone.INVESTIGATED),
    "rectified": _milestone(Milestone.RECTIFIED),
    "feedback": _milestone(Milestone.FEEDBACK, "text"),
    "close": _milestone(Milestone.CLOSED, "reason"),
    "update": lambda a, i, who, at: PostUpdate(
        actor=who, at=at, incident=i, measures=a.measures, status=a.status, next_steps=a.next
    ),
    "urgent": lambda a, i, who, at: MarkUrgent(actor=who, at=at, incident=i),
    "severity": lambda a, i, who, at: SetSeverity(
        actor=who, at=at, incident=i, severity=Context.severity(a.level)
    ),
    "note": lambda a, i, who, at: AddNote(actor=who, at=at, incident=i, text=a.text),
    "merge": lambda a, i, who, at: MergeIncident(actor=who, at=at, incident=i, into=a.other, reason=a.reason),
    "link": lambda a, i, who, at: LinkIncidents(actor=who, at=at, incident=i, to=a.other, reason=a.reason),
    "done": lambda a, i, who, at: CompleteObligation(actor=who, at=at, incident=i, obligation=a.obligation),
    "ack": lambda a, i, who, at: AcknowledgeBreach(actor=who, at=at, incident=i, obligation=a.obligation),
    "cause": lambda a, i, who, at: RecordCause(
        actor=who, at=at, incident=i, category=Cause(a.category), text=a.text
    ),
    "finding": lambda a, i, who, at: RecordFinding(
        actor=who, at=at, incident=i, section=a.section, text=a.text
    ),
    "late": lambda a, i, who, at: ExplainLate(
        actor=who, at=at, incident=i, obligation=a.obligation, occurrence=a.occurrence, text=a.text
    ),
}


async def act(args: argparse.Namespace, ctx: Context) -> Output:
    """`dutydesk incident ID ACTION`: record what was done."""
    command = ACTIONS[args.action](args, args.incident, ctx.operator, ctx.when_or_none(args.at))
    async with ctx.journal() as journal:
        (outcome,) = await journal.submit(command)
        if outcome.repeated:
            return Lines([ctx.t("repeated")])
        ctx.refused(outcome)
        incident = journal.engine.incident(args.incident)
    return Lines([ctx.t("recorded", what=f"{incident.id} {args.action}"), *met_lines(outcome, incident, ctx)])


def met_lines(outcome: Outcome, incident: Incident, ctx: Context) -> list[str]:
    """Each obligation a command met, with its margin, and each breach acknowledged."""
    lines = []
    for item in outcome.recorded:
        event = item.event
        if isinstance(event, ObligationMet) and event.margin_seconds is not None:
            title = incident.plan.obligation(event.obligation).title.get(ctx.t.lang)
            margin = timedelta(seconds=event.margin_seconds)
            word = "early" if event.margin_seconds >= 0 else "late"
            lines.append(ctx.t("met", title=title, margin=ctx.t(word, span=render.span(margin, ctx.t.lang))))
        elif isinstance(event, BreachAcknowledged):
            title = incident.plan.obligation(event.obligation).title.get(ctx.t.lang)
            lines.append(ctx.t("acknowledged", title=title))
    return lines


async def list_incidents(args: argparse.Namespace, ctx: Context) -> Output:
    """Open incidents in the board's order: overdue ones first, then by the next deadline."""
    now, zone, t = ctx.clock.now(), ctx.settings.zone, ctx.t
    async with ctx.journal() as journal:
        chosen = incident_rows(journal.engine, now, drills=args.drills, closed=args.all)
    rows = []
    for row in chosen:
        incident, first = row.incident, row.next
        rows.append(
            [
                incident.id,
                incident.title + (f" [{t('urgent')}]" if incident.urgent else ""),
                t.label(incident.severity.label),
                t.label(incident.phase.label),
                f"{first.obligation.title.get(t.lang)}: {render.due_text(first, incident.plan, now, zone, t)}"
                if first
                else "-",
            ]
        )
    return Table(
        [t("h.id"), t("h.title"), t("h.severity"), t("h.phase"), t("h.next_due")],
        rows,
        data=[render.incident_json(row.incident, list(row.statuses), zone, now) for row in chosen],
        empty=t("no_incidents"),
    )


async def show_incident(args: argparse.Namespace, ctx: Context) -> Output:
    now, zone, t = ctx.clock.now(), ctx.settings.zone, ctx.t
    async with ctx.journal() as journal:
        incident = journal.engine.projection.incidents.get(args.id)
        if incident is None:
            raise CliError(t("unknown_incident", incident=args.id))
        statuses = journal.engine.status(incident, now)
        timeline = await journal.store.read(0, incident=args.id)
    every = args.all_occurrences
    data = render.incident_json(incident, statuses, zone, now, all_occurrences=every)
    data["timeline"] = [render.event_json(item, zone) for item in timeline]
    lines = [*render.incident_lines(incident, statuses, now, zone, t, all_occurrences=every), ""]
    lines.append(f"{t('h.timeline')}:")
    for item in timeline:
        when = item.event.at.astimezone(zone).strftime("%m-%d %H:%M:%S")
        lines.append(
            f"  {when}  {item.event.actor:<10} {render.describe(item.event, incident.plan, t, zone)}"
        )
    return Lines(lines, data=data)
