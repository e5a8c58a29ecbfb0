"""`dutydesk report incident|kpi`: documents in Markdown, HTML, PDF or DOCX.

A new kind of report is a function here that builds its `Document` and hands it to `_emit`,
and its lines in `parser._reports` (with `_output_options` for --format and -o).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dutydesk.connectors.application.reporting import read_kpi
from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output, Raw
from dutydesk.console.reports.document import Document
from dutydesk.console.reports.incident import investigation_report
from dutydesk.console.reports.kpi import kpi_report
from dutydesk.console.reports.output import BINARY, ProgressLine, ReportError, check_target, choose_format
from dutydesk.console.reports.output import render as render_report
from dutydesk.console.reports.output import write as write_report
from dutydesk.playbooks.kpi import Period
from dutydesk.playbooks.rectification import assess
from dutydesk.playbooks.vocab import Milestone


def _target(args: argparse.Namespace, default_name: str) -> tuple[str, Path | None]:
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


def _emit(document: Document, fmt: str, target: Path | None, ctx: Context, progress: ProgressLine) -> Output:
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
        return Raw(data.decode())
    return Lines([ctx.t("report_written", path=target)])


def _lang(args: argparse.Namespace) -> str:
    """Reports are in Chinese, the centre's usual wording, unless --lang asks otherwise."""
    return str(args.lang or "zh")


async def incident(args: argparse.Namespace, ctx: Context) -> Output:
    fmt, target = _target(args, f"report-{args.id}")
    now, zone = ctx.clock.now(), ctx.settings.zone
    async with ctx.journal() as journal:
        engine = journal.engine
        incident = engine.projection.incidents.get(args.id)
        if incident is None:
            raise CliError(ctx.t("unknown_incident", incident=args.id))
        statuses = engine.status(incident, now)
        closed = incident.milestones.get(Milestone.CLOSED)
        items = [assess(i, engine.deadlines, now, closed) for i in engine.projection.register.of(args.id)]
        timeline = await journal.store.read(0, incident=args.id)
    document = investigation_report(incident, statuses, timeline, items, now=now, zone=zone, lang=_lang(args))
    return _emit(document, fmt, target, ctx, _progress(ctx))


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


async def kpi(args: argparse.Namespace, ctx: Context) -> Output:
    period, now = _period(args, ctx), ctx.clock.now()
    if period.start > now:
        raise CliError(ctx.t("future_period", period=period.label))
    fmt, target = _target(args, f"kpi-{period.label}")
    progress = _progress(ctx)
    async with ctx.store() as store:
        try:
            kpi = await read_kpi(store, period, ctx.deadlines(), now, progress.show)
        finally:
            progress.done()
    return _emit(kpi_report(kpi, zone=ctx.settings.zone, lang=_lang(args)), fmt, target, ctx, progress)
