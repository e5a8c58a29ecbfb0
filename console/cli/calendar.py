"""`dutydesk calendar add-workdays|is-workday`: the working-day calendar with the centre's overrides."""

from __future__ import annotations

import argparse

from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output


def add_workdays(args: argparse.Namespace, ctx: Context) -> Output:
    if args.count < 0:
        raise CliError("the number of working days cannot be negative")
    counted = ctx.calendar().add_workdays(ctx.day(args.date), args.count)
    return Lines(
        [counted.date.isoformat() + (" (provisional)" if counted.provisional else "")],
        data={"date": counted.date.isoformat(), "provisional": counted.provisional},
    )


def is_workday(args: argparse.Namespace, ctx: Context) -> Output:
    return Lines([ctx.calendar().day(ctx.day(args.date)).describe()])
