"""`dutydesk sms-inbound`: SMS replies (`1a`, `aa`) from the command line, standard input, or as
gammu-smsd's `RunOnReceive` command; the work is `connectors/phone/sms.py`'s."""

from __future__ import annotations

import argparse
import os
import sys

from dutydesk.connectors.application.factories import apprise_path
from dutydesk.connectors.deliverers import load_destinations
from dutydesk.connectors.phone.acts import sms_routes
from dutydesk.connectors.phone.page import say
from dutydesk.connectors.phone.sms import Sms, apply_reply, from_gammu
from dutydesk.console.cli.bootstrap import CliError, Context
from dutydesk.console.cli.output import Lines, Output


async def sms_inbound(args: argparse.Namespace, ctx: Context) -> Output:
    """Apply each reply; exit 1 when any was refused (gammu-smsd logs a failed command)."""
    if args.sender:
        messages = [Sms(args.sender, " ".join(args.text) if args.text else sys.stdin.read())]
    else:
        messages = from_gammu(os.environ)
    if not messages:
        raise CliError(ctx.t("sms_none"))
    path = apprise_path(ctx.settings)
    routes = sms_routes(load_destinations(path, ctx.settings.file.notify.drill_tag)) if path else {}
    lines: list[str] = []
    refused = 0
    async with ctx.journal() as journal:
        for sms in messages:
            reply = await apply_reply(journal, sms, routes)
            if reply.refused:
                refused += 1
                ctx.warn(ctx.t(f"sms.{reply.refused}", number=sms.number, notification=reply.notification))
            lines += [
                ctx.t(
                    "sms_done",
                    holder=reply.holder,
                    incident=incident,
                    result=say(f"done.{done.result}", ctx.t.lang),
                )
                for incident, done in reply.done.items()
            ]
    return Lines(lines, code=1 if refused else 0)
