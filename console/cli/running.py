"""Running dutydesk: `serve` (the engine headless) and `console` (the duty console)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from dutydesk.console.cli.bootstrap import Context
from dutydesk.console.cli.output import Lines, Output


async def serve(args: argparse.Namespace, ctx: Context) -> Output:
    """The engine, headless, until SIGINT or SIGTERM."""
    logging.basicConfig(level=logging.INFO, stream=ctx.err, format="%(levelname)s %(name)s: %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await ctx.serve(stop)
    return Lines([ctx.t("stopped")])


async def console(args: argparse.Namespace, ctx: Context) -> Output:
    await ctx.console(attach=args.attach, config=args.config)
    return Lines([])
