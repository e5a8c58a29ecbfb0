"""`dutydesk rectify list|add|ITEM done|feedback`: the rectification register (整改台账)."""

from __future__ import annotations

import argparse

from dutydesk.console import render
from dutydesk.console.cli.bootstrap import Context
from dutydesk.console.cli.incidents import met_lines
from dutydesk.console.cli.output import Lines, Output, Table
from dutydesk.playbooks.commands import (
    AddRectification,
    Command,
    CompleteRectification,
    GiveRectificationFeedback,
)
from dutydesk.playbooks.events import MilestoneReached
from dutydesk.playbooks.rectification import ItemState, register_rows
from dutydesk.playbooks.vocab import Milestone


async def list_items(args: argparse.Namespace, ctx: Context) -> Output:
    now, zone, t = ctx.clock.now(), ctx.settings.zone, ctx.t
    if args.overdue:
        states: set[ItemState] | None = {ItemState.OVERDUE}
    else:
        states = None if args.all else {ItemState.OPEN, ItemState.OVERDUE}
    async with ctx.journal() as journal:
        projection = journal.engine.projection
        chosen = register_rows(
            projection.register,
            projection.incidents,
            journal.engine.deadlines,
            now,
            states=states,
            drills=args.drills,
        )
    rows = []
    for row in chosen:
        status, item = row.status, row.status.item
        due = status.due_at.astimezone(zone).strftime("%m-%d %H:%M")
        if status.state in (ItemState.OPEN, ItemState.OVERDUE):
            margin = status.margin(now)
            word = "left" if margin.total_seconds() >= 0 else "overdue"
            due += f" ({t(word, span=render.span(margin, t.lang))})"
        if status.provisional:
            due += t("provisional")
        rows.append([item.id, item.incident, item.content, item.owner, due, t(f"item.{status.state.value}")])
    return Table(
        [t("h.item"), t("h.incident"), t("h.content"), t("h.owner"), t("h.due"), t("h.state")],
        rows,
        data=[render.item_json(row, zone, now) for row in chosen],
        empty=t("no_items"),
    )


async def add_item(args: argparse.Namespace, ctx: Context) -> Output:
    rules = ctx.settings.file.rectification
    command = AddRectification(
        actor=ctx.operator,
        at=ctx.when_or_none(args.at),
        incident=args.incident,
        content=args.content,
        owner=args.owner,
        workdays=args.workdays if args.workdays is not None else rules.workdays,
        from_investigation=args.workdays is None,
        reminders=rules.reminders,
    )
    async with ctx.journal() as journal:
        (outcome,) = await journal.submit(command)
    ctx.refused(outcome)
    return Lines([str(getattr(outcome.recorded[-1].event, "item", ""))])


async def act_on_item(args: argparse.Namespace, ctx: Context) -> Output:
    """`dutydesk rectify ITEM done|feedback`; the last item done marks the incident rectified."""
    at = ctx.when_or_none(args.at)
    command: Command
    if args.action == "done":
        command = CompleteRectification(actor=ctx.operator, at=at, item=args.item, evidence=args.evidence)
    else:
        command = GiveRectificationFeedback(actor=ctx.operator, at=at, item=args.item, text=args.text)
    async with ctx.journal() as journal:
        (outcome,) = await journal.submit(command)
        if outcome.repeated:
            return Lines([ctx.t("repeated")])
        ctx.refused(outcome)
        incident = journal.engine.incident(journal.engine.projection.register.get(args.item).incident)
    lines = [ctx.t("recorded", what=f"{args.item} {args.action}")]
    for item in outcome.recorded:
        if isinstance(item.event, MilestoneReached):
            milestone = ctx.t.label(Milestone(item.event.milestone).label)
            lines.append(ctx.t("recorded", what=f"{incident.id} {milestone}"))
    return Lines([*lines, *met_lines(outcome, incident, ctx)])
