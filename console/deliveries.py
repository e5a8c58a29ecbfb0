"""The delivery log as rows: each notification to each target, with its attempts and outcome."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.playbooks.clock import iso
from dutydesk.playbooks.events import NotificationAttempted, NotificationFailed, NotificationQueued

KINDS = (NotificationQueued.kind, NotificationAttempted.kind, NotificationFailed.kind)


def delivery_rows(recorded: Iterable[Recorded], zone: ZoneInfo) -> list[dict[str, Any]]:
    """One row per (notification, target, to the fallback or not), in the order they began.

    state: `pending` (nothing tried yet), `retrying`, `delivered`, or `failed` (given up)."""
    rows: dict[tuple[str, str, bool], dict[str, Any]] = {}

    def row(notification: str, target: str, fallback: bool, item: Recorded, role: str) -> dict[str, Any]:
        key = (notification, target, fallback)
        if key not in rows:
            rows[key] = {
                "notification": notification,
                "at": iso(item.event.at, zone),
                "role": role,
                "target": target,
                "fallback": fallback,
                "incident": item.event.incident,
                "drill": item.event.drill,
                "items": 0,
                "attempts": 0,
                "failures": 0,
                "state": "pending",
                "error": None,
                "last_at": None,
            }
        return rows[key]

    for item in sorted(recorded, key=lambda r: r.seq):
        event = item.event
        if isinstance(event, NotificationQueued):
            for target in event.targets:
                row(event.notification, target, False, item, event.role)["items"] = len(event.items)
        elif isinstance(event, NotificationAttempted):
            current = row(event.notification, event.target, event.fallback, item, event.role)
            current["attempts"] = max(current["attempts"], event.attempt)
            current["last_at"] = iso(event.at, zone)
            if event.ok:
                current["state"] = "delivered"
            else:
                current["failures"] += 1
                current["state"], current["error"] = "retrying", event.error
        elif isinstance(event, NotificationFailed):
            current = row(event.notification, event.target, event.fallback, item, event.role)
            current["state"], current["error"] = "failed", event.error
            current["last_at"] = iso(event.at, zone)
    return list(rows.values())
