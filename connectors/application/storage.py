"""Riding out storage trouble: a locked database or a full disk is a state the engine is in, not
a crash. Writers back off and try again; what they were writing waits (an MQTT message stays
unacknowledged, so the broker keeps it) and is written once, when the log takes writes again.

While the log cannot be written, the warnings and breaches falling due cannot be recorded, and
what is not recorded is not notified the usual way. So the engine tells them at once to the
fallback destinations, marked as not in the log (`Service` decides what is due, the notifier
sends it, see `Alert`); once the log is writable the timer records them, dated at their due
time, and they are notified as usual. People may hear of a deadline twice, never not at all.

Before writes fail for want of space, `DiskReserve` (`service.py`) raises a system alarm.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from dutydesk.connectors.store import StorageUnavailable
from dutydesk.connectors.waits import first_of
from dutydesk.playbooks.events import Event

log = logging.getLogger("dutydesk.storage")

BACKOFF_FIRST, BACKOFF_MAX = 0.2, 5.0  # seconds between attempts to write a log that refused
T = TypeVar("T")


@dataclass(slots=True)
class Health:
    """How the engine is doing, as the status it publishes says: why the log cannot be written
    now (None while it can), and how often that began."""

    storage: str | None = None
    troubles: int = 0
    notifications: bool = True  # False: nothing can be delivered (no apprise configuration)
    listeners: list[Callable[[Health], None]] = field(default_factory=list)

    @property
    def degraded(self) -> bool:
        return self.storage is not None

    def trouble(self, reason: str) -> None:
        if self.storage is None:
            self.troubles += 1
            log.warning("the log cannot be written; retrying: %s", reason)
        changed, self.storage = self.storage != reason, reason
        if changed:
            self._tell()

    def recovered(self) -> None:
        if self.storage is not None:
            log.warning("the log takes writes again")
            self.storage = None
            self._tell()

    def _tell(self) -> None:
        for listener in self.listeners:
            listener(self)


class Alert(Protocol):
    """Tells people at once of deadlines that fell due but could not be recorded."""

    async def __call__(self, due: Sequence[Event]) -> None: ...


async def persistently(write: Callable[[], Awaitable[T]], health: Health, stop: asyncio.Event) -> T | None:
    """`write()` until it succeeds, backing off while the log is unavailable. Returns its result,
    or None when `stop` came first (nothing was written then). Other errors are raised."""
    backoff = BACKOFF_FIRST
    while not stop.is_set():
        try:
            result = await write()
        except StorageUnavailable as exc:
            health.trouble(str(exc))
            await first_of(asyncio.sleep(backoff), stop.wait())
            backoff = min(backoff * 2, BACKOFF_MAX)
            continue
        health.recovered()
        return result
    return None
