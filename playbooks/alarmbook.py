"""The alarm book: every alarm point and device as folded from the log, and what a new reading
means for them — coalescing repeats, holding back flapping, clears by disappearance, offline
devices whose alarms become unknown, stale devices, out-of-order and replayed messages."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dutydesk.playbooks.alarms import (
    OFFLINE_KIND,
    Arrival,
    Availability,
    Debounce,
    Decoded,
    Feed,
    Reading,
    Signal,
    Status,
)
from dutydesk.playbooks.events import (
    AlarmAcknowledged,
    AlarmChanged,
    AlarmObserved,
    AlarmShelved,
    DeviceChanged,
    Event,
)

SYSTEM = "ingest"
LIVE = (Status.PENDING, Status.ACTIVE, Status.CLEARING)


@dataclass(slots=True)
class Alarm:
    key: str
    source: str
    device: str
    point: str
    kind: str
    status: Status
    since: datetime  # when the current status began
    severity: str | None = None
    urgent: bool = False
    vendor_code: str | None = None
    text: str | None = None
    site: str | None = None
    building: str | None = None
    floor: str | None = None
    device_time: datetime | None = None
    clock: str | None = None
    raised_at: datetime | None = None
    cleared_at: datetime | None = None
    flaps: int = 0
    observations: int = 0
    incident: str | None = None
    replay: bool = False
    drill: bool = False
    acknowledged_by: str | None = None  # who has seen it, since it last became active
    shelved_until: datetime | None = None
    zones: tuple[str, ...] = ()
    related: tuple[str, ...] = ()

    def shelved(self, now: datetime) -> bool:
        return self.shelved_until is not None and now < self.shelved_until

    @property
    def device_key(self) -> str:
        return f"{self.source}/{self.device}"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("since", "device_time", "raised_at", "cleared_at", "shelved_until"):
            data[name] = data[name].isoformat() if data[name] else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alarm:
        values = dict(data)
        for name in ("since", "device_time", "raised_at", "cleared_at", "shelved_until"):
            values[name] = datetime.fromisoformat(values[name]) if values.get(name) else None
        values["status"] = Status(values["status"])
        values["zones"] = tuple(values.get("zones", ()))
        values["related"] = tuple(values.get("related", ()))
        return cls(**values)


@dataclass(slots=True)
class Device:
    key: str  # source/device
    availability: Availability
    changed_at: datetime
    site: str | None = None
    building: str | None = None
    floor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "changed_at": self.changed_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Device:
        return cls(
            **{
                **data,
                "availability": Availability(data["availability"]),
                "changed_at": datetime.fromisoformat(data["changed_at"]),
            }
        )


class AlarmBook:
    def __init__(self) -> None:
        self.alarms: dict[str, Alarm] = {}
        self.by_device: dict[str, list[str]] = {}  # device key -> its alarm keys
        self.devices: dict[str, Device] = {}
        self.last_seen: dict[str, datetime] = {}  # liveness, not logged: heartbeats are many

    # -- folding the log -------------------------------------------------------------------------

    def apply(self, event: Event) -> Alarm | None:
        match event:
            case AlarmObserved():
                return self._observed(event)
            case AlarmChanged():
                alarm = self.alarms[event.key]
                alarm.status, alarm.since, alarm.flaps = Status(event.status), event.at, event.flaps
                alarm.replay = event.replay
                if alarm.status is Status.ACTIVE:
                    alarm.raised_at, alarm.cleared_at = event.at, None
                    alarm.acknowledged_by = None
                    alarm.incident = event.incident or alarm.incident
                elif alarm.status is Status.CLEARED:
                    alarm.cleared_at = event.at
                return alarm
            case AlarmAcknowledged(key=key):
                alarm = self.alarms[key]
                alarm.acknowledged_by = event.actor
                return alarm
            case AlarmShelved(key=key, until=until):
                alarm = self.alarms[key]
                alarm.shelved_until = until
                return alarm
            case DeviceChanged():
                self.devices[event.device] = Device(
                    event.device,
                    Availability(event.availability),
                    event.at,
                    event.site,
                    event.building,
                    event.floor,
                )
        return None

    def _observed(self, event: AlarmObserved) -> Alarm:
        alarm = self.alarms.get(event.key)
        if alarm is None:
            alarm = self.alarms[event.key] = Alarm(
                event.key,
                event.source,
                event.device,
                event.point,
                event.alarm_kind,
                Status.CLEARED,
                event.at,
            )
            self.by_device.setdefault(alarm.device_key, []).append(alarm.key)
        alarm.observations += 1
        alarm.drill = event.drill
        # details a message leaves out stay as last heard (written out: this runs per message)
        alarm.severity = event.severity or alarm.severity
        alarm.vendor_code = event.vendor_code or alarm.vendor_code
        alarm.text = event.text or alarm.text
        alarm.site = event.site or alarm.site
        alarm.building = event.building or alarm.building
        alarm.floor = event.floor or alarm.floor
        alarm.clock = event.clock or alarm.clock
        alarm.urgent = alarm.urgent or event.urgent
        alarm.zones = event.zones or alarm.zones
        alarm.related = event.related or alarm.related
        alarm.device_time = event.device_time or alarm.device_time
        alarm.replay = event.replay
        if event.signal == Signal.CLEAR:
            if alarm.status is Status.ACTIVE:
                alarm.status, alarm.since = Status.CLEARING, event.at
            elif alarm.status is Status.PENDING:  # never lasted long enough to count
                alarm.status, alarm.since, alarm.flaps = Status.CLEARED, event.at, alarm.flaps + 1
        elif alarm.status is Status.CLEARING:  # back before the clear counted
            alarm.status, alarm.since, alarm.flaps = Status.ACTIVE, event.at, alarm.flaps + 1
        elif alarm.status not in LIVE:
            alarm.status, alarm.since = Status.PENDING, event.at
        if event.confirmed and alarm.status is Status.PENDING:
            alarm.status, alarm.raised_at, alarm.cleared_at = Status.ACTIVE, event.at, None
            alarm.acknowledged_by = None
            alarm.incident = event.incident or alarm.incident
        elif event.confirmed and alarm.status is Status.CLEARING:
            alarm.status, alarm.cleared_at = Status.CLEARED, event.at
        return alarm

    # -- reading new messages --------------------------------------------------------------------

    def observe(
        self, feed: Feed, decoded: Decoded, arrival: Arrival, debounce: Debounce, *, drill: bool
    ) -> list[Event]:
        """The events a decoded message causes; repeats and stale news cause none.

        Confirmed raises come back as AlarmChanged(active) without an incident: the engine
        attaches or opens one."""
        at = arrival.received_at
        # a lone reading's effects are read by nothing later in the message: no copies for it
        scratch = _Scratch(self, needed=len(decoded.readings) > 1 or bool(decoded.complete))
        events: list[Event] = []
        announced = {r.device for r in decoded.readings if r.kind == OFFLINE_KIND}
        for device in decoded.devices():
            device_key = f"{feed.name}/{device}"
            self.last_seen[device_key] = at
            known = self.devices.get(device_key)
            # a device first heard from is online by its liveness alone; only a return from
            # silence is an event worth logging
            quiet = known is not None and known.availability is Availability.STALE
            if quiet and device not in announced:
                events.append(self._device_event(feed, device_key, Availability.ONLINE, at, drill))
        for reading in decoded.readings:
            events += self._availability(feed, reading, scratch, at, drill, relay=decoded.relay)
            if reading.signal is not Signal.HEARTBEAT:
                events += self._reading(
                    feed, reading, arrival, debounce=debounce, scratch=scratch, drill=drill
                )
        for device, prefix in decoded.complete:
            present = {r.key(feed.name) for r in decoded.readings if r.device == device}
            for alarm in scratch.live(f"{feed.name}/{device}"):
                if alarm.kind.startswith(prefix) and alarm.key not in present:
                    gone = Reading(device=device, kind=alarm.kind, point=alarm.point, signal=Signal.CLEAR)
                    events += self._reading(
                        feed,
                        gone,
                        arrival,
                        debounce=debounce,
                        scratch=scratch,
                        drill=drill,
                        cause="disappeared",
                    )
        return events

    def _availability(
        self, feed: Feed, reading: Reading, scratch: _Scratch, at: datetime, drill: bool, *, relay: bool
    ) -> list[Event]:
        """LWT-style readings: offline makes the device's live alarms unknown, not cleared; and
        those of every device of the feed when the device relays them (a Frigate server)."""
        if reading.kind != OFFLINE_KIND or reading.signal not in (Signal.RAISE, Signal.CLEAR):
            return []
        device_key = f"{feed.name}/{reading.device}"
        wanted = Availability.OFFLINE if reading.signal is Signal.RAISE else Availability.ONLINE
        current = self.devices.get(device_key)
        if current is not None and current.availability is wanted:
            return []
        events: list[Event] = [self._device_event(feed, device_key, wanted, at, drill)]
        if wanted is Availability.OFFLINE:
            devices = [device_key]
            if relay:
                devices += [d for d in self.by_device if d.startswith(f"{feed.name}/") and d != device_key]
            for alarm in (alarm for d in devices for alarm in scratch.live(d)):
                if alarm.kind == OFFLINE_KIND:
                    continue
                event = AlarmChanged(
                    at=at,
                    incident=alarm.incident,
                    actor=SYSTEM,
                    drill=drill,
                    key=alarm.key,
                    status=Status.UNKNOWN.value,
                    reason="device-offline",
                    flaps=alarm.flaps,
                )
                scratch.apply(event)
                events.append(event)
        return events

    def _device_event(
        self, feed: Feed, device_key: str, availability: Availability, at: datetime, drill: bool
    ) -> DeviceChanged:
        place = feed.place_of(device_key.split("/", 1)[1])
        return DeviceChanged(
            at=at,
            incident=None,
            actor=SYSTEM,
            drill=drill,
            device=device_key,
            availability=availability.value,
            site=place.site,
            building=place.building,
            floor=place.floor,
        )

    def _reading(
        self,
        feed: Feed,
        reading: Reading,
        arrival: Arrival,
        *,
        debounce: Debounce,
        scratch: _Scratch,
        drill: bool,
        cause: str | None = None,
    ) -> list[Event]:
        key = reading.key(feed.name)
        alarm = scratch.get(key)
        status = alarm.status if alarm else Status.CLEARED
        if (
            alarm is not None
            and reading.device_time is not None
            and alarm.device_time is not None
            and reading.device_time < alarm.device_time
        ):
            return []  # older news than we have: it must not reopen or close anything
        raising = reading.signal in (Signal.RAISE, Signal.UPDATE)
        changed_details = (
            alarm is not None and reading.severity is not None and (reading.severity.id != alarm.severity)
        )
        if raising and status in (Status.PENDING, Status.ACTIVE) and not changed_details:
            return []  # a repeat: coalesced
        if not raising and status not in LIVE:
            return []  # already clear (or unknown): nothing to clear
        place = feed.place_of(reading.device)
        # with no raise delay or hysteresis for its kind, the change counts at once: one event
        at_once = (
            debounce.delay(reading.kind) == timedelta(0) and status not in LIVE
            if raising
            else debounce.hysteresis(reading.kind) == timedelta(0) and status is Status.ACTIVE
        )
        observed = AlarmObserved(
            at=arrival.received_at,
            incident=alarm.incident if alarm and at_once and not raising else None,
            actor=SYSTEM,
            drill=drill,
            key=key,
            source=feed.name,
            device=reading.device,
            point=reading.point,
            alarm_kind=reading.kind,
            signal=Signal.CLEAR.value if not raising else reading.signal.value,
            confirmed=at_once,
            cause=(cause or "explicit") if not raising else None,
            severity=reading.severity.id if reading.severity else None,
            urgent=reading.urgent,
            vendor_code=reading.vendor_code,
            text=reading.text,
            device_time=reading.device_time,
            clock=reading.clock.value if reading.clock else None,
            replay=arrival.retained,
            site=place.site,
            building=place.building,
            floor=place.floor,
            topic=arrival.topic,
            raw=arrival.raw,
            zones=reading.zones,
            related=reading.related,
        )
        if scratch.needed:
            scratch.apply(observed)
        return [observed]

    # -- time ------------------------------------------------------------------------------------

    def confirm(self, alarm: Alarm, now: datetime, debounce: Debounce, drill: bool) -> AlarmChanged | None:
        """The confirmed change once a pending raise or clear has lasted long enough."""
        if alarm.status is Status.PENDING and now >= alarm.since + debounce.delay(alarm.kind):
            return AlarmChanged(
                at=now,
                incident=None,
                actor=SYSTEM,
                drill=drill,
                key=alarm.key,
                status=Status.ACTIVE.value,
                reason="raised",
                flaps=alarm.flaps,
                replay=alarm.replay,
            )
        if alarm.status is Status.CLEARING and now >= alarm.since + debounce.hysteresis(alarm.kind):
            return AlarmChanged(
                at=now,
                incident=alarm.incident,
                actor=SYSTEM,
                drill=drill,
                key=alarm.key,
                status=Status.CLEARED.value,
                reason="cleared",
                flaps=alarm.flaps,
                replay=alarm.replay,
            )
        return None

    def due(self, alarm: Alarm, debounce: Debounce) -> datetime | None:
        """When a pending raise or clear of this alarm will have lasted long enough."""
        if alarm.status is Status.PENDING:
            return alarm.since + debounce.delay(alarm.kind)
        if alarm.status is Status.CLEARING:
            return alarm.since + debounce.hysteresis(alarm.kind)
        return None

    def started(self, now: datetime) -> None:
        """Liveness is not logged: after a restart every known device starts its silence now."""
        for device_key in self.devices:
            self.last_seen.setdefault(device_key, now)

    def stale(self, feeds: Mapping[str, Feed], now: datetime, drill: bool) -> list[DeviceChanged]:
        """Devices silent for longer than their feed allows."""
        events: list[DeviceChanged] = []
        for device_key, seen in self.last_seen.items():
            feed = feeds.get(device_key.split("/", 1)[0])
            if feed is None or feed.stale_after is None or now < seen + feed.stale_after:
                continue
            device = self.devices.get(device_key)
            if device is None or device.availability is Availability.ONLINE:
                events.append(self._device_event(feed, device_key, Availability.STALE, now, drill))
        return events

    # -- snapshots -------------------------------------------------------------------------------

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "alarms": [a.to_dict() for a in self.alarms.values()],
            "devices": [d.to_dict() for d in self.devices.values()],
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.alarms = {a["key"]: Alarm.from_dict(a) for a in data["alarms"]}
        for alarm in self.alarms.values():
            self.by_device.setdefault(alarm.device_key, []).append(alarm.key)
        self.devices = {d["key"]: Device.from_dict(d) for d in data["devices"]}


class _Scratch:
    """Copies of the alarms one message touches, so its readings see each other's effects before
    anything is stored."""

    def __init__(self, book: AlarmBook, *, needed: bool) -> None:
        self._book = book
        self.needed = needed  # whether later readings of the message look at the copies
        self._alarms: dict[str, Alarm] = {}
        self._shadow: AlarmBook | None = None  # a book over the copies, made when first needed

    def get(self, key: str) -> Alarm | None:
        if key not in self._alarms:
            original = self._book.alarms.get(key)
            if original is None:
                return None
            self._alarms[key] = dataclasses.replace(original)
        return self._alarms[key]

    def live(self, device_key: str) -> list[Alarm]:
        keys = list(self._book.by_device.get(device_key, ()))
        keys += [k for k, a in self._alarms.items() if a.device_key == device_key and k not in keys]
        return [a for a in map(self.get, keys) if a is not None and a.status in LIVE]

    def apply(self, event: AlarmObserved | AlarmChanged) -> Alarm | None:
        """Apply to the copies only (the real book changes once the events are stored)."""
        self.get(event.key)
        if self._shadow is None:
            self._shadow = AlarmBook()
            self._shadow.alarms = self._alarms
        return self._shadow.apply(event)
