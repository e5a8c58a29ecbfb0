"""Whether an engine runs, and how it is doing, for consoles and the watchdog to tell people.

The engine says it twice: its lease in the database (renewed every few seconds; a holder whose
process is gone holds nothing) and a status file beside the database, rewritten every second
(`Beacon`): running or degraded (why), whether notifications can be delivered, and when it last
said so. The status file is what still speaks when the database cannot be written; the lease is
what a reader trusts about who runs. Over MQTT the same status is published retained, with a last
will (`connectors/mqtt.py`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from dutydesk.connectors.application.storage import Health
from dutydesk.connectors.store import EventStore

ENGINE_LEASE = "engine"
LEASE_TTL = timedelta(seconds=15)  # a holder that stops renewing loses the engine after this
STATUS_EVERY = 1.0  # seconds between two writes of the status file
STATUS_STALE = timedelta(seconds=10)  # a status file older than this speaks for nobody


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_alive(holder: str) -> bool:
    """A holder on this machine whose process is gone holds nothing (kill -9 leaves its lease)."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's: trust its expiry
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status_path(database: Path) -> Path:
    return database.with_name(database.name + ".status.json")


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """What the engine said of itself last."""

    state: Literal["running", "degraded", "stopped"]
    at: datetime
    holder: str = ""
    storage: str | None = None  # why the log cannot be written, when degraded
    notifications: bool = True  # False: no apprise configuration, nothing is delivered

    def to_json(self) -> str:
        return json.dumps(
            {
                "state": self.state,
                "at": self.at.isoformat(),
                "holder": self.holder,
                "storage": self.storage,
                "notifications": self.notifications,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> EngineStatus:
        item = json.loads(text)
        state = item["state"]
        if state not in ("running", "degraded", "stopped"):
            raise ValueError(f"unknown state {state!r}")
        return cls(
            state=state,
            at=datetime.fromisoformat(item["at"]),
            holder=str(item.get("holder", "")),
            storage=item.get("storage"),
            notifications=bool(item.get("notifications", True)),
        )


def status_of(health: Health, *, at: datetime, holder: str) -> EngineStatus:
    state: Literal["running", "degraded"] = "degraded" if health.degraded else "running"
    return EngineStatus(state, at, holder, health.storage, health.notifications)


def write_status(path: Path, status: EngineStatus) -> None:
    """Replace the status file at once (a reader never sees half of it). A full disk may refuse:
    the caller logs that; the stale file then says the engine is not heard from."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(status.to_json(), encoding="utf-8")
    os.replace(partial, path)


def read_status(path: Path) -> EngineStatus | None:
    """The status file, or None when there is none or it cannot be read."""
    try:
        return EngineStatus.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class Liveness:
    """What a console's banner and the watchdog act on."""

    running: bool  # an engine holds the lease and its process is alive
    degraded: str | None = None  # why the running engine cannot write its log
    notifications: bool = True
    last_heard: datetime | None = None  # when the engine last said anything (for "gone since")


def assess(holder: str | None, status: EngineStatus | None, now: datetime) -> Liveness:
    """From the lease's live holder (None: nobody) and the status file."""
    heard = status.at if status is not None else None
    if holder is None:
        return Liveness(False, last_heard=heard)
    if status is None or status.holder != holder or now - status.at > STATUS_STALE:
        # the lease is held but the engine does not speak: hung, or its disk refuses even that
        return Liveness(True, degraded="the engine has not reported for a while", last_heard=heard)
    return Liveness(True, status.storage, status.notifications, heard)


async def engine_liveness(store: EventStore, database: Path, now: datetime) -> Liveness:
    """Whether an engine runs on `database`, read only (a read-only copy answers too)."""
    holder = await store.holder(ENGINE_LEASE, now, alive=holder_alive)
    return assess(holder, read_status(status_path(database)), now)


WATCHDOG_TEXT = {
    "zh": (
        "【值守引擎未运行】dutydesk",
        "dutydesk 值守引擎自 {since} 起未运行（{database}）：期限不会触发，预警和超时不会通知任何人。"
        "请立即检查：systemctl status dutydesk",
    ),
    "en": (
        "[NO ENGINE RUNNING] dutydesk",
        "The dutydesk engine has not run since {since} ({database}): no deadline fires and nobody is "
        "told of warnings or breaches. Check it now: systemctl status dutydesk",
    ),
}


def watchdog_path(database: Path) -> Path:
    """Where the watchdog remembers which outage it has told of."""
    return database.with_name(database.name + ".watchdog.json")


def watchdog_due(state: Liveness, now: datetime, after: timedelta, told_at: datetime | None) -> bool:
    """Whether the watchdog should tell people now: no engine for `after`, and not told of this
    outage yet (an outage is told once; an engine that came back and went again is a new one)."""
    if state.running:
        return False
    since = state.last_heard
    if since is not None and now - since < after:
        return False
    return told_at is None or (since is not None and told_at < since)


def read_told(path: Path) -> datetime | None:
    try:
        return datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["told_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_told(path: Path, at: datetime) -> None:
    path.write_text(json.dumps({"told_at": at.isoformat()}), encoding="utf-8")


async def stop_holder(store: EventStore, now: datetime) -> bool:
    """Ask the engine holding the lease to stop (SIGTERM: it finishes cleanly), if it runs on
    this machine. True when it was asked."""
    holder = await store.holder(ENGINE_LEASE, now, alive=holder_alive)
    if holder is None:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True
