"""`dutydesk roster show|import`, `dutydesk notifications list` and `dutydesk notify test`: who is
on duty and what they were sent."""

from __future__ import annotations

import argparse
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from dutydesk.connectors.settings import Settings
from dutydesk.console import render
from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output, Table
from dutydesk.console.deliveries import KINDS, delivery_rows, target_text
from dutydesk.playbooks.clock import iso
from dutydesk.playbooks.commands import ImportRoster
from dutydesk.playbooks.roster import Roster, RosterError, Shift, parse_roster_csv, role_id


async def roster_show(args: argparse.Namespace, ctx: Context) -> Output:
    at = ctx.when(args.at) if args.at else ctx.clock.now()
    async with ctx.journal() as journal:
        roster = journal.engine.projection.notices.roster
    zone, t = ctx.settings.zone, ctx.t
    holders: list[dict[str, Any]] = [
        {
            "role": role,
            "holder": shift.holder if shift else None,
            "tags": list(shift.tags) if shift else [],
            "start": iso(shift.start, zone) if shift else None,
            "end": iso(shift.end, zone) if shift else None,
        }
        for role in ctx.settings.roles
        for shift in _holders(roster, role, at)
    ]
    rows = []
    for row in holders:
        until = row["end"][5:16].replace("T", " ") if row["end"] else t("standing") if row["holder"] else ""
        rows.append(
            [render.role_label(row["role"], t), row["holder"] or t("nobody"), " ".join(row["tags"]), until]
        )
    return Table(
        [t("h.role"), t("h.holder"), t("h.tags"), t("h.until")],
        rows,
        data={"at": iso(at, zone), "holders": holders},
        above=[f"{t('h.since')}: {iso(at, zone)}"],
    )


def _holders(roster: Roster, role: str, at: datetime) -> list[Shift | None]:
    """Who holds the role at that time; one None when nobody does."""
    return [*roster.holders(role, at)] or [None]


def _roster_file(path: Path, settings: Settings, actor: str) -> ImportRoster:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8: save the sheet as CSV UTF-8") from None
    try:
        shifts = parse_roster_csv(text, str(path), zone=settings.zone, roles=settings.roles)
    except RosterError as exc:
        raise CliError(str(exc)) from None
    return ImportRoster(actor=actor, source=path.name, shifts=tuple(shifts))


async def roster_import(args: argparse.Namespace, ctx: Context) -> Output:
    command = _roster_file(Path(args.file), ctx.settings, ctx.operator)
    async with ctx.journal() as journal:
        (outcome,) = await journal.submit(command)
    ctx.refused(outcome)
    return Lines([ctx.t("roster_imported", count=len(command.shifts), source=command.source)])


async def notifications_list(args: argparse.Namespace, ctx: Context) -> Output:
    t = ctx.t
    async with ctx.store() as store:
        recorded = [item for kind in KINDS for item in await store.read_kind(kind)]
    chosen = delivery_rows(recorded, ctx.settings.zone)
    if args.failed:
        chosen = [row for row in chosen if row["failures"] or row["state"] == "failed"]
    rows = [
        [
            row["at"][5:19].replace("T", " "),
            row["notification"] + (f" [{t('drill')}]" if row["drill"] else ""),
            render.role_label(row["role"], t),
            target_text(row) + (f" ({t('fallback')})" if row["fallback"] else ""),
            t(f"delivery.{row['state']}"),
            str(row["attempts"]),
            (row["error"] or "")[:60],
        ]
        for row in chosen
    ]
    header = ["h.since", "h.notification", "h.role", "h.target", "h.state", "h.attempts", "h.error"]
    return Table([t(h) for h in header], rows, data=chosen, empty=t("no_notifications"))


async def notify_test(args: argparse.Namespace, ctx: Context) -> Output:
    """A test message to each destination of whoever holds the role now; each attempt is logged."""
    from dutydesk.connectors.notify import records_of_test, send_test  # noqa: PLC0415 - apprise is heavy

    settings, t = ctx.settings, ctx.t
    role = role_id(args.role, settings.roles)
    if role is None:
        raise CliError(t("unknown_role", role=args.role, roles=", ".join(settings.roles)))
    deliverer, messages = ctx.deliverer()
    now = ctx.clock.now()
    notification = f"test-{uuid.uuid4().hex[:8]}"
    lines: list[str] = []
    try:
        async with ctx.journal() as journal:
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
            for one in tried:  # one line per destination: a tag may have several
                target = one.target + (f" → {one.destination}" if one.destination else "")
                ok = t("test_sent", target=target, elapsed=one.sent.elapsed)
                lines.append(ok if one.sent.ok else t("test_failed", target=target, error=one.sent.error))
            await journal.record(
                records_of_test(
                    tried, notification=notification, role=role, actor=ctx.operator, at=ctx.clock.now()
                )
            )
    finally:
        deliverer.close()
    delivered = all(one.sent.ok for one in tried)
    return Lines(lines, code=0 if delivered else 1)
