"""`dutydesk alarms list|dead-letters` and `dutydesk devices`: what the building systems sent."""

from __future__ import annotations

import argparse

from dutydesk.console import render
from dutydesk.console.cli.bootstrap import Context
from dutydesk.console.cli.output import Lines, Output, Table
from dutydesk.playbooks.alarmbook import LIVE
from dutydesk.playbooks.events import DeadLetter


async def list_alarms(args: argparse.Namespace, ctx: Context) -> Output:
    zone, t = ctx.settings.zone, ctx.t
    async with ctx.journal() as journal:
        book = journal.engine.projection.alarms
        alarms = [a for a in book.alarms.values() if not args.active or a.status in LIVE]
    alarms.sort(key=lambda a: a.since, reverse=True)
    rows = [
        [
            alarm.since.astimezone(zone).strftime("%m-%d %H:%M:%S"),
            t(f"alarm.{alarm.status.value}") + (f" ×{alarm.flaps}" if alarm.flaps else ""),
            alarm.text or alarm.kind,
            f"{alarm.source}/{alarm.device}" + (f" {alarm.point}" if alarm.point else ""),
            " ".join(p for p in (alarm.building, alarm.floor) if p),
            alarm.incident or "-",
        ]
        for alarm in alarms
    ]
    return Table(
        [t("h.since"), t("h.status"), t("h.alarm"), t("h.device"), t("h.location"), t("h.id")],
        rows,
        data=[render.alarm_json(a, zone) for a in alarms],
        empty=t("no_alarms"),
    )


async def list_devices(args: argparse.Namespace, ctx: Context) -> Output:
    zone, t = ctx.settings.zone, ctx.t
    async with ctx.journal() as journal:
        book = journal.engine.projection.alarms
        seen = await journal.store.liveness()
    keys = sorted(book.devices.keys() | seen.keys())
    items = [render.device_json(key, book.devices.get(key), seen.get(key), zone) for key in keys]
    rows = [
        [
            item["device"],
            t(f"availability.{item['availability']}"),
            item["last_seen"][5:19].replace("T", " ") if item["last_seen"] else "-",
            " ".join(p for p in (item["building"], item["floor"]) if p),
        ]
        for item in items
    ]
    return Table(
        [t("h.device"), t("h.availability"), t("h.last_seen"), t("h.location")],
        rows,
        data=items,
        empty=t("no_devices"),
    )


async def dead_letters(args: argparse.Namespace, ctx: Context) -> Output:
    zone = ctx.settings.zone
    async with ctx.store() as store:
        letters = await store.read_kind(DeadLetter.kind)
    items = [render.event_json(item, zone) for item in letters]
    lines = [
        f"{item['at'][:19].replace('T', ' ')}  {item['source']}  {item['topic']}  "
        f"{item['reason']}  ({item['size']} B)"
        for item in items
    ]
    return Lines(lines or [ctx.t("no_dead_letters")], data=items)
