"""Alarms from building systems, normalised: what a device codec reads out of one message.

Codecs (in `connectors/codecs/`) turn vendor payloads into `Reading`s; the alarm book decides what
they mean over time (raise delays, hysteresis, offline devices) and the engine opens incidents.
"""

from __future__ import annotations

import enum
import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta

from dutydesk.playbooks.vocab import Severity


class Signal(enum.StrEnum):
    """What a reading says about its alarm point."""

    RAISE = "raise"  # the condition is present (repeats are coalesced)
    UPDATE = "update"  # still present, with new details (a Frigate update, a severity change)
    CLEAR = "clear"  # the condition is gone
    HEARTBEAT = "heartbeat"  # the device is alive; says nothing about any alarm


class ClockNote(enum.StrEnum):
    """Why a device's own time should not be trusted; the receive time is always kept beside it."""

    NO_ZONE = "no-zone"  # read in the feed's time zone
    SKEWED = "skewed"  # far from the receive time (unset clock, wrong zone, drift)
    UNREADABLE = "unreadable"  # present but malformed


OFFLINE_KIND = "device.offline"


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One alarm point's state as one message reports it."""

    device: str  # the device id within its source, e.g. "EGW-0B17/B1-L2", "lobby_1f"
    kind: str  # dutydesk's alarm kind, e.g. "elevator.entrapment_between_floors", "power.on_battery"
    signal: Signal
    point: str = ""  # a sub-point of the device: a fault code, "switch:0", a camera zone
    severity: Severity | None = None
    urgent: bool = False
    vendor_code: str | None = None
    device_time: datetime | None = None  # timezone-aware; see `clock`
    clock: ClockNote | None = None
    text: str | None = None  # a human description from the payload or the code book
    zones: tuple[str, ...] = ()  # named zones within the device's view (Frigate), for grouping
    related: tuple[str, ...] = ()  # ids of the device's other points this one belongs with

    def key(self, source: str) -> str:
        """Stable identity of the alarm: source + device + point + kind."""
        return f"{source}/{self.device}/{self.point}/{self.kind}"


@dataclass(frozen=True, slots=True)
class Decoded:
    """Everything one message says.

    `complete` names (device, kind prefix) scopes for which the readings are the whole truth: an
    active alarm in such a scope that is not among them has cleared by disappearance (an elevator
    snapshot whose fault list no longer holds a code, a UPS status without OB)."""

    readings: tuple[Reading, ...] = ()
    complete: tuple[tuple[str, str], ...] = ()
    # the message's device relays every other device of the feed (a Frigate server): when it goes
    # offline, their live alarms become unknown as well
    relay: bool = False

    def devices(self) -> list[str]:
        """Every device the message was heard from, once each."""
        heard = [r.device for r in self.readings] + [device for device, _ in self.complete]
        return list(dict.fromkeys(heard))


class Status(enum.StrEnum):
    """An alarm's state in the book."""

    PENDING = "pending"  # raised, waiting out its kind's raise delay
    ACTIVE = "active"
    CLEARING = "clearing"  # cleared, waiting out its kind's hysteresis
    CLEARED = "cleared"
    UNKNOWN = "unknown"  # its device went offline: nobody knows


class Availability(enum.StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"
    STALE = "stale"  # silent for longer than its feed allows
    UNKNOWN = "unknown"  # not heard from since dutydesk started


RAW_LIMIT = 4096  # characters of a payload kept in the log


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """Where a feed's devices are."""

    site: str | None = None
    building: str | None = None
    floor: str | None = None

    def describe(self) -> str:
        return " ".join(p for p in (self.site, self.building, self.floor) if p)


@dataclass(frozen=True, slots=True, kw_only=True)
class Feed:
    """One configured source of alarms: its name is the `source` of every alarm it brings."""

    name: str
    place: Place = Place()
    places: dict[str, Place] | None = None  # per-device locations, overriding the feed's
    stale_after: timedelta | None = None  # a device silent this long becomes stale

    def place_of(self, device: str) -> Place:
        return (self.places or {}).get(device, self.place)


@dataclass(frozen=True, slots=True, kw_only=True)
class Debounce:
    """Per-kind flapping control: a raise counts once it has lasted `raise_delay`; a clear once
    it has lasted `clear_hysteresis`. Patterns are shell-style (`cctv.*`); the first match wins."""

    raise_delay: tuple[tuple[str, timedelta], ...] = ()
    clear_hysteresis: tuple[tuple[str, timedelta], ...] = ()

    @staticmethod
    def _lookup(rules: tuple[tuple[str, timedelta], ...], kind: str) -> timedelta:
        for pattern, delay in rules:
            if fnmatch.fnmatchcase(kind, pattern):
                return delay
        return timedelta(0)

    def delay(self, kind: str) -> timedelta:
        return self._lookup(self.raise_delay, kind)

    def hysteresis(self, kind: str) -> timedelta:
        return self._lookup(self.clear_hysteresis, kind)


@dataclass(frozen=True, slots=True)
class Arrival:
    """The parts of a message the log keeps beside what it meant."""

    id: str  # unique per message received: the events it causes are keyed by it
    topic: str
    raw: str
    retained: bool
    received_at: datetime
