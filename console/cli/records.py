"""`dutydesk backup FILE` and `dutydesk audit verify | anchor`: the event log as a record."""

from __future__ import annotations

import argparse
from pathlib import Path

from dutydesk.connectors.application.audit import (
    AnchorError,
    anchor_of,
    check_anchors,
    read_anchors,
    snapshot_problem,
    write_anchor,
)
from dutydesk.connectors.application.factories import anchor_path
from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output


async def backup(args: argparse.Namespace, ctx: Context) -> Output:
    target = Path(args.file)
    async with ctx.journal() as journal:
        await journal.store.backup(target)
        events = journal.engine.seq
    return Lines([ctx.t("backup_done", events=events, path=target)])


async def audit_verify(args: argparse.Namespace, ctx: Context) -> Output:
    """The chain, the snapshot (its seal, and against a replay), the schema, and the anchors."""
    try:
        anchors = read_anchors(Path(args.anchors)) if args.anchors else []
    except AnchorError as exc:
        raise CliError(str(exc)) from None
    async with ctx.journal(plans=True, notices=True) as journal:
        store = journal.store
        result = await store.verify()
        problems = [*result.problems, *await check_anchors(store, anchors)]
        if result.broken_at is None and (mismatch := await snapshot_problem(store, journal.engine)):
            problems.append(mismatch)
    lines = []
    if result.broken_at is not None:
        lines.append(ctx.t("audit_broken", reason=result.reason, seq=result.broken_at))
    lines += [ctx.t("audit_problem", problem=problem) for problem in problems]
    sound = result.broken_at is None and not problems
    if sound:
        lines.append(ctx.t("audit_ok", events=result.events))
    lines.append(ctx.t("audit_head", seq=result.events, hash=result.head))
    return Lines(lines, code=0 if sound else 1)


async def audit_anchor(args: argparse.Namespace, ctx: Context) -> Output:
    """Write the chain's head to the anchor file, outside the database."""
    target = Path(args.to) if args.to else anchor_path(ctx.settings)
    if target is None:
        raise CliError(ctx.t("anchor_nowhere"))
    async with ctx.store() as store:
        result = await store.verify()
    if not result.ok:
        reason = result.reason or "; ".join(result.problems)
        return Lines([ctx.t("audit_broken", reason=reason, seq=result.broken_at)], code=1)
    anchor = anchor_of(result, at=ctx.clock.now(), database=str(ctx.settings.database), why="manual")
    try:
        write_anchor(target, anchor)
    except AnchorError as exc:
        raise CliError(str(exc)) from None
    return Lines([ctx.t("anchored", seq=anchor.seq, hash=anchor.hash, path=target)])
