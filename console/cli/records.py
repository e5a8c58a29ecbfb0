"""`dutydesk backup FILE` and `dutydesk audit verify`: the event log as a record."""

from __future__ import annotations

import argparse
from pathlib import Path

from dutydesk.console.cli.bootstrap import Context
from dutydesk.console.cli.output import Lines, Output


async def backup(args: argparse.Namespace, ctx: Context) -> Output:
    target = Path(args.file)
    async with ctx.journal() as journal:
        await journal.store.backup(target)
        events = journal.engine.seq
    return Lines([ctx.t("backup_done", events=events, path=target)])


async def audit_verify(args: argparse.Namespace, ctx: Context) -> Output:
    async with ctx.store() as store:
        result = await store.verify()
    if result.ok:
        return Lines([ctx.t("audit_ok", events=result.events)])
    return Lines([ctx.t("audit_broken", reason=result.reason, seq=result.broken_at)], code=1)
