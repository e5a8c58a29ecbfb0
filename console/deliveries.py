"""The delivery log as rows: each notification to each destination of each target, with its
attempts and outcome."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.playbooks.clock import iso
from dutydesk.playbooks.events import NotificationAttempted, NotificationFailed, NotificationQueued

KINDS = (NotificationQueued.kind, NotificationAttempted.kind, NotificationFailed.kind)

RowKey = tuple[str, str, bool, str | None]  # notification, target, to the fallback, destination


def delivery_rows(recorded: Iterable[Recorded], zone: ZoneInfo) -> list[dict[str, Any]]:
    """One row per (notification, target, to the fallback or not, destination), in the order
    they began. A target shows as one `pending` row (destination None) until its destinations are
    tried, then as one row per destination; a target with no destination keeps its one row.

    state: `pending` (nothing tried yet), `retrying`, `delivered`, or `failed` (given up)."""
    rows: dict[RowKey, dict[str, Any]] = {}

    def row(key: RowKey, item: Recorded, role: str) -> dict[str, Any]:
        notification, target, fallback, destination = key
        if key not in rows:
            waiting = rows.pop((notification, target, fallback, None), None) if destination else None
            rows[key] = {
                "notification": notification,
                "at": waiting["at"] if waiting else iso(item.event.at, zone),
                "role": role,
                "target": target,
                "destination": destination,
                "fallback": fallback,
                "incident": item.event.incident,
                "drill": item.event.drill,
                "items": waiting["items"] if waiting else 0,
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
                row((event.notification, target, False, None), item, event.role)["items"] = len(event.items)
        elif isinstance(event, NotificationAttempted):
            key = (event.notification, event.target, event.fallback, event.destination)
            current = row(key, item, event.role)
            current["attempts"] = max(current["attempts"], event.attempt)
            current["last_at"] = iso(event.at, zone)
            if event.ok:
                current["state"] = "delivered"
            else:
                current["failures"] += 1
                current["state"], current["error"] = "retrying", event.error
        elif isinstance(event, NotificationFailed):
            key = (event.notification, event.target, event.fallback, event.destination)
            current = row(key, item, event.role)
            current["state"], current["error"] = "failed", event.error
            current["last_at"] = iso(event.at, zone)
    return list(rows.values())


def target_text(row: dict[str, Any]) -> str:
    """The target as the delivery log shows it: the tag, and the destination when there is one."""
    target: str = row["target"]
    return target + (f" → {row['destination']}" if row["destination"] else "")
