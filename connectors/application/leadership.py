"""Which engine node runs the timers, escalations and notifications: the holder of the engine
lease in the shared log.

Every node ingests; exactly one leads. The leader renews its lease a few times per time-to-live;
the others ask as often, and take the lease over when it has run out or its holder's process is
gone (a holder on this machine killed with SIGKILL is seen at once). A node that finds another
holder where it thought itself leader ends its term, so whatever it led stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from dutydesk.connectors.store import EventStore, StorageUnavailable
from dutydesk.connectors.waits import first_of
from dutydesk.playbooks.clock import Clock

log = logging.getLogger(__name__)

ENGINE_LEASE = "engine"
RENEWALS_PER_TTL = 3  # how often, per time-to-live, the leader renews and the others ask


class Leadership:
    """Hold or wait for the lease `ENGINE_LEASE`. `leading` is set while this node leads; `term`
    is set when the current term ends (the lease lost, or the node stopping)."""

    def __init__(
        self,
        store: EventStore,
        me: str,
        *,
        clock: Clock,
        ttl: timedelta,
        alive: Callable[[str], bool],
        trouble: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.store = store
        self.trouble = trouble  # told when the log cannot be reached to renew
        self.me = me
        self.clock = clock
        self.ttl = ttl
        self.alive = alive
        self.leading = asyncio.Event()
        self.term = asyncio.Event()

    async def take(self) -> str | None:
        """Ask for the lease once. Returns None when this node holds it now, else the holder."""
        holder = await self.store.lease(ENGINE_LEASE, self.me, self.clock.now(), self.ttl, alive=self.alive)
        if holder is None and not self.leading.is_set():
            log.info("%s leads: timers, escalations and notifications run here", self.me)
            self.term = asyncio.Event()
            self.leading.set()
        elif holder is not None and self.leading.is_set():
            log.warning("%s no longer leads: %s holds the engine lease", self.me, holder)
            self._end()
        return holder

    async def run(self, stop: asyncio.Event) -> None:
        """Renew, or wait for a turn, until `stop`; then end the term and give the lease back."""
        try:
            while not stop.is_set():
                try:
                    await self.take()
                except StorageUnavailable as exc:  # a lock or a full disk: try again at the next turn
                    self.trouble(str(exc))
                await first_of(
                    self.clock.sleep_until(self.clock.now() + self.ttl / RENEWALS_PER_TTL), stop.wait()
                )
        finally:
            self._end()

    async def release(self) -> None:
        await self.store.release(ENGINE_LEASE, self.me)

    def _end(self) -> None:
        self.leading.clear()
        self.term.set()
