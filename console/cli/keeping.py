"""`dutydesk watchdog` and `dutydesk install-systemd`: keeping the engine running around the
clock, and telling people when it does not."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from dutydesk.connectors import systemd
from dutydesk.connectors.application.liveness import (
    WATCHDOG_TEXT,
    engine_liveness,
    read_told,
    watchdog_due,
    watchdog_path,
    write_told,
)
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.notify import send_test
from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output


async def watchdog(args: argparse.Namespace, ctx: Context) -> Output:
    """Tell the fallback destinations when no engine has run for a while (run by a timer).
    Exit 1 while no engine runs."""
    settings, wall = ctx.settings, WallClock()  # about real processes, like the engine's lease
    after = timedelta(seconds=args.after if args.after is not None else settings.file.watchdog.notify_after)
    async with ctx.store() as store:
        state = await engine_liveness(store, settings.database, wall.now())
    if state.running:
        return Lines([ctx.t("watchdog_running", state=state.degraded or "ok")])
    heard = state.last_heard
    since = heard.astimezone(settings.zone).isoformat(timespec="seconds") if heard else "?"
    lines = [ctx.t("watchdog_gone", since=since)]
    told = watchdog_path(settings.database)
    if watchdog_due(state, wall.now(), after, read_told(told)):
        title, body = WATCHDOG_TEXT[settings.file.notify.lang]
        deliverer, _ = ctx.deliverer()
        try:
            tried = await send_test(
                deliverer,
                title,
                body.format(since=since, database=settings.database),
                [settings.file.notify.fallback_tag],
            )
        finally:
            deliverer.close()
        sent = sum(1 for attempt in tried if attempt.sent.ok)
        if sent:
            write_told(told, wall.now())
        lines.append(ctx.t("watchdog_told", count=sent))
    return Lines(lines, code=1)


async def install_systemd(args: argparse.Namespace, ctx: Context) -> Output:
    """Write the engine's unit and the watchdog's service and timer, then enable and start them."""
    system = args.system
    if args.dir:
        folder = Path(args.dir)
    else:
        folder = Path("/etc/systemd/system") if system else Path.home() / ".config/systemd/user"
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
    lines = [ctx.t("units_written", folder=folder)]
    systemctl = ["systemctl"] if system else ["systemctl", "--user"]
    steps = [
        [*systemctl, "daemon-reload"],
        [*systemctl, "enable", "--now", systemd.UNITS[0], systemd.UNITS[2]],
    ]
    if args.no_enable:
        return Lines([*lines, *("  " + shlex.join(step) for step in steps)])
    for step in steps:
        done = await asyncio.to_thread(subprocess.run, step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise CliError(f"{shlex.join(step)}: {(done.stderr or done.stdout).strip()}")
    return Lines([*lines, ctx.t("units_enabled")])
