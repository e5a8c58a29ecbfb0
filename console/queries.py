"""What the console's screens may read: a small read-only facade over the journal, so screens
never reach into the engine's projection or the event store. Every method returns plain values
(domain records, rows, text) that a screen only renders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import Recorded
from dutydesk.console import render
from dutydesk.console.deliveries import KINDS, delivery_rows
from dutydesk.console.views import (
    DueRow,
    IncidentRow,
    StatusCache,
    active_alarms,
    device_counts,
    due_within,
    find_incidents,
    handover_summary,
    incident_rows,
)
from dutydesk.playbooks.alarmbook import Alarm
from dutydesk.playbooks.alarms import Availability
from dutydesk.playbooks.events import DeadLetter, DutyLogged, HandoverAcknowledged, RosterOverridden
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.obligations import Status
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.rectification import RegisterRow, register_rows

__all__ = ["DeskQueries"]

NOTIFICATIONS_SHOWN = 2000  # delivery events read for the delivery log


@dataclass(frozen=True, slots=True)
class DeskQueries:
    """Read-only questions the console asks; the app is handed one and screens ask through it."""

    journal: Journal

    # -- incidents ------------------------------------------------------------------------------

    def plans(self) -> list[Plan]:
        return list(self.journal.engine.plans.values())

    def incident(self, incident: str) -> Incident:
        return self.journal.engine.incident(incident)

    def statuses(self, incident: str, now: datetime) -> list[Status]:
        engine = self.journal.engine
        return engine.status(engine.incident(incident), now)

    def open_incidents(self, now: datetime, cache: StatusCache) -> list[IncidentRow]:
        """Open incidents in the board's order (`console/views.py` decides it)."""
        return incident_rows(self.journal.engine, now, cache=cache)

    def held(self, incident: str) -> tuple[int, int]:
        """How many alarms and devices correlation gathered into the incident."""
        return self.journal.engine.correlator.held(incident)

    def merge_candidates(self, incident: str) -> list[Incident]:
        """The open incidents this one may be merged into: the others of its kind (drill or not)."""
        this = self.journal.engine.incident(incident)
        return [
            i
            for i in self.journal.engine.projection.incidents.open()
            if i.id != this.id and i.drill == this.drill
        ]

    def due_soon(self, now: datetime, cache: StatusCache) -> list[DueRow]:
        return due_within(self.journal.engine, now, cache=cache)

    def find(self, text: str) -> list[Incident]:
        """Open incidents matching the words (`console/views.py`), and any incident, closed too,
        by its exact id (closed ones sleep as text: searching their words would wake them all)."""
        incidents = self.journal.engine.projection.incidents
        found = find_incidents(incidents.open(), text)
        key = text.strip().upper()
        if key in incidents and all(i.id != key for i in found):
            found.insert(0, incidents[key])
        return found

    async def timeline(self, incident: str, after: int) -> list[Recorded]:
        """The incident's events after `seq`, oldest first."""
        return await self.journal.store.read(after, incident=incident)

    # -- people ---------------------------------------------------------------------------------

    def holders(self, role: str, now: datetime) -> list[str]:
        """Who holds a role on the roster at `now`."""
        return [shift.holder for shift in self.journal.engine.projection.notices.roster.holders(role, now)]

    async def duty_log(self) -> list[Recorded]:
        """Duty log entries and handovers, oldest first."""
        store = self.journal.store
        kinds = (DutyLogged.kind, HandoverAcknowledged.kind, RosterOverridden.kind)
        entries = [item for kind in kinds for item in await store.read_kind(kind)]
        return sorted(entries, key=lambda r: r.seq)

    def handover(self, now: datetime, lang: str, zone: ZoneInfo) -> str:
        return handover_summary(self.journal.engine, now, lang, zone)

    def register(self, now: datetime) -> list[RegisterRow]:
        """The rectification register's rows, as the register screen lists them."""
        engine = self.journal.engine
        return register_rows(engine.projection.register, engine.projection.incidents, engine.deadlines, now)

    # -- alarms, devices, deliveries ------------------------------------------------------------

    def alarms(self, now: datetime) -> list[Alarm]:
        """Active alarms, as the alarm screen lists them."""
        return active_alarms(self.journal.engine.projection.alarms, now)

    def alarm(self, key: str) -> Alarm | None:
        """One alarm as it stands now (the feed names alarms by key)."""
        return self.journal.engine.projection.alarms.alarms.get(key)

    async def device_counts(self) -> dict[Availability, int]:
        """Devices by availability, counting those only the engine process has heard from (its
        heartbeats reach this console through the store, not the log)."""
        book = self.journal.engine.projection.alarms
        return device_counts(book, book.last_seen.keys() | (await self.journal.store.liveness()).keys())

    async def devices(self, zone: ZoneInfo) -> list[dict[str, Any]]:
        """Every device known to the engine or heard from, by key, with its availability."""
        book = self.journal.engine.projection.alarms
        seen = await self.journal.store.liveness()
        return [
            render.device_json(key, book.devices.get(key), seen.get(key), zone)
            for key in sorted(book.devices.keys() | seen.keys())
        ]

    async def dead_letters(self) -> list[DeadLetter]:
        """Messages no codec could read, newest first."""
        letters = await self.journal.store.read_kind(DeadLetter.kind)
        return [item.event for item in reversed(letters) if isinstance(item.event, DeadLetter)]

    async def deliveries(self, zone: ZoneInfo) -> list[dict[str, Any]]:
        """The delivery log's recent rows (`console/deliveries.py`)."""
        return delivery_rows(await self.journal.store.read_recent(KINDS, NOTIFICATIONS_SHOWN), zone)
