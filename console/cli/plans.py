"""`dutydesk plans list|check|show`: the plan library."""

from __future__ import annotations

import argparse
from pathlib import Path

from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output, Table
from dutydesk.playbooks.typeddata import dump


def list_plans(args: argparse.Namespace, ctx: Context) -> Output:
    t = ctx.t
    plans = ctx.library()
    rows = [
        [
            plan.id,
            plan.title.get(t.lang),
            t.label(plan.severity.label),
            ", ".join([*plan.triggers.alarms, *plan.triggers.reports]),
        ]
        for plan in plans.values()
    ]
    return Table(
        [t("h.id"), t("h.title"), t("h.severity"), t("h.triggers")],
        rows,
        data=[dump(plan) for plan in plans.values()],
    )


def check_plans(args: argparse.Namespace, ctx: Context) -> Output:
    paths = [Path(p) for p in args.paths] or None
    for path in paths or ():
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")
    plans, errors = ctx.check_library(paths)
    if errors:
        return Lines(errors, code=1)
    return Lines([ctx.t("plans_valid", count=len(plans))])


def show_plan(args: argparse.Namespace, ctx: Context) -> Output:
    """A plan's obligations as they would fall due for an incident opened now (or --opened-at)."""
    # what only this command needs: listing and checking plans load neither incidents nor the store
    from dutydesk.console import render  # noqa: PLC0415
    from dutydesk.playbooks.clock import iso  # noqa: PLC0415
    from dutydesk.playbooks.incidents import Incident  # noqa: PLC0415
    from dutydesk.playbooks.obligations import evaluate  # noqa: PLC0415
    from dutydesk.playbooks.vocab import Milestone, Source  # noqa: PLC0415

    plan = ctx.library().get(args.id)
    if plan is None:
        raise CliError(ctx.t("unknown_plan", plan=args.id))
    opened = ctx.when(args.opened_at) if args.opened_at else ctx.clock.now()
    incident = Incident(
        id="-",
        plan=plan,
        plan_fingerprint=plan.fingerprint(),
        title=plan.title.get(ctx.t.lang),
        severity=ctx.severity(args.severity) if args.severity else plan.severity,
        urgent=args.urgent,
        drill=False,
        source=Source.PHONE.value,
        location=None,
        description=None,
        trigger=None,
        milestones={Milestone.RECEIVED.value: opened},
    )
    statuses = evaluate(incident, ctx.deadlines(), opened)
    zone, t = ctx.settings.zone, ctx.t
    data = render.incident_json(incident, statuses, zone, opened)
    keys = ("plan", "plan_title", "severity", "urgent", "opened_at", "obligations")
    return Lines(
        [
            f"{plan.id}: {plan.title.get(t.lang)}",
            f"{t('h.severity')}: {t.label(incident.severity.label)}"
            + (f"  [{t('urgent')}]" if args.urgent else ""),
            f"{t('h.received')}: {iso(opened, zone)}",
            "",
            render.obligation_table(statuses, plan, opened, zone, t),
        ],
        data={key: data[key] for key in keys},
    )
