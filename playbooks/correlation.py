"""Alarm-to-incident correlation, on Alertmanager's model: one event, one incident.

A confirmed alarm raise joins, in this order: the open incident its device started for the same
kind; the incident of the points it refers to (a Frigate review's detections); an open incident
that absorbs it as a consequence at the same place (inhibition: a power outage absorbs the
device-offline, lift power-loss, video-loss and network-down alarms of its building); the open
incident of its plan at its place, while any of its alarms is on or its latest came within the
window (grouping); an incident of its plan opened by phone, OA or on-site report that names its
place (link). Only then does it open an incident. A joining alarm more severe (or urgent) than
its incident raises it, with the reason. Merging by hand is in `merging`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from dutydesk.playbooks.alarmbook import LIVE, Alarm
from dutydesk.playbooks.commands import OpenIncident
from dutydesk.playbooks.decisions import ENGINE_ACTOR, Decisions, Header
from dutydesk.playbooks.events import (
    AlarmChanged,
    AlarmObserved,
    Event,
    IncidentMerged,
    IncidentOpened,
    SeverityChanged,
    UrgencyChanged,
)
from dutydesk.playbooks.incidents import Projection
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Severity, Source

Level = Literal["site", "building", "zone", "device"]
Part = Literal["site", "building", "floor", "device"]
PARTS: tuple[Part, ...] = ("site", "building", "floor", "device")


@dataclass(frozen=True, slots=True, kw_only=True)
class InhibitRule:
    """An open incident of a `source` plan absorbs alarms of `target` kinds (shell patterns)
    whose place shares every `equal` part with it: they attach to it and open nothing."""

    source: tuple[str, ...]
    target: tuple[str, ...]
    equal: tuple[Part, ...] = ("site", "building")


# What a power cut takes down with it in a building; the centre may replace or extend these.
DEFAULT_INHIBIT: tuple[InhibitRule, ...] = (
    InhibitRule(
        source=("power-outage",),
        target=("device.offline", "elevator.power_loss", "cctv.video_loss", "network.*"),
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Correlation:
    """How alarms group into incidents; the defaults serve a centre of several buildings."""

    # an incident takes the alarms of its plan at its place while any of its alarms is on, and
    # for this long after its latest one
    window: timedelta = timedelta(minutes=10)
    group_by: Mapping[str, Level] = field(default_factory=dict)  # plan id -> level; else building
    inhibit: tuple[InhibitRule, ...] = DEFAULT_INHIBIT

    def level(self, plan_id: str) -> Level:
        return self.group_by.get(plan_id, "building")


Info = AlarmObserved | Alarm


def _place(info: Info, part: Part) -> str | None:
    return f"{info.source}/{info.device}" if part == "device" else getattr(info, part)


def group_of(level: Level, info: Info) -> tuple[str | None, ...]:
    """The place an alarm groups by; a device with no place configured groups on its own."""
    device = ("device", info.source, info.device)
    match level:
        case "device":
            return device
        case "site":
            return ("site", info.site) if info.site else device
        case "building":
            return ("building", info.site, info.building) if info.building else device
        case "zone":
            if not (info.building or info.zones):
                return device
            return ("zone", info.site, info.building, info.floor, *sorted(info.zones))


@dataclass(slots=True)
class Held:
    """An open incident as correlation sees it: its plan, where it is, what it holds."""

    plan: str
    drill: bool
    location: str | None  # as opened: for a report, the text naming the place
    place: dict[Part, str | None] = field(default_factory=dict)  # of its first alarm
    last_at: datetime | None = None  # its latest alarm
    alarms: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    reported: bool = False  # opened by phone, OA or on-site report

    def shares(self, part: Part, value: str | None) -> bool:
        """Whether the incident is at the same `part` of a place as `value` (Alertmanager's
        `equal`: a part both leave unset is equal)."""
        if not self.reported:
            return self.place.get(part) == value
        # a report names its place in words: the building or device must be among them; it
        # names no site or floor to compare
        if part in ("site", "floor"):
            return True
        return value is not None and value in (self.location or "")


@dataclass(slots=True)
class _Batch:
    """Incidents opened and raised within one decision, before any of it is stored."""

    held: dict[str, Held] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)
    groups: dict[tuple[object, ...], str] = field(default_factory=dict)
    severity: dict[str, Severity] = field(default_factory=dict)
    urgent: set[str] = field(default_factory=set)


class Correlator:
    def __init__(
        self,
        *,
        plans: Mapping[str, Plan],
        projection: Projection,
        decisions: Decisions,
        rules: Correlation | None = None,
    ) -> None:
        self.plans = plans
        self.projection = projection
        self.decisions = decisions
        self.rules = rules or Correlation()
        self._plan_by_kind: dict[tuple[str, tuple[str, ...]], Plan | None] = {}
        self._targets: dict[str, tuple[InhibitRule, ...]] = {}
        self._held: dict[str, Held] = {}  # open incidents
        self._by_plan: dict[str, dict[str, Held]] = {}  # the same by plan id
        self._reported: dict[str, dict[str, Held]] = {}  # those opened by a report, by plan id
        self._groups: dict[tuple[object, ...], str] = {}  # (plan, drill, group) -> open incident
        self.rebuild()

    # -- state, folded from the stored events ------------------------------------------------------

    def rebuild(self) -> None:
        """The open incidents and their alarms, from the projection (after a snapshot)."""
        self._held.clear()
        self._by_plan.clear()
        self._reported.clear()
        self._groups.clear()
        for incident in self.projection.incidents.open():
            self._hold(incident.id, incident.plan.id, incident.drill, incident.source, incident.location)
        for alarm in self.projection.alarms.alarms.values():
            if alarm.incident in self._held and alarm.status in LIVE and alarm.raised_at:
                self._attach(alarm.incident, alarm, alarm.raised_at)

    def applied(self, event: Event) -> None:
        """Fold in a stored event (after the projection has)."""
        match event:
            case IncidentOpened():
                assert event.incident is not None
                self._hold(event.incident, event.plan_id, event.drill, event.source, event.location)
            case AlarmObserved(incident=str(incident), confirmed=True) if event.signal != "clear":
                self._attach(incident, self.projection.alarms.alarms[event.key], event.at)
            case AlarmChanged(incident=str(incident), status="active"):
                self._attach(incident, self.projection.alarms.alarms[event.key], event.at)
            case IncidentMerged(merged=merged, into=into):
                if event.incident == into:  # the second of the pair: the merged one is closed by now
                    self._move(merged, into)
            case _ if event.incident in self._held:
                opened = self.projection.incidents.get(event.incident or "")
                if opened is None or opened.closed:
                    self._release(event.incident or "")

    def held(self, incident_id: str) -> tuple[int, int]:
        """How many alarms and devices an open incident holds."""
        held = self._held.get(incident_id)
        return (len(held.alarms), len(held.devices)) if held else (0, 0)

    def _hold(self, incident_id: str, plan: str, drill: bool, source: str, location: str | None) -> None:
        held = self._held[incident_id] = Held(plan, drill, location, reported=source != Source.ALARM)
        self._by_plan.setdefault(plan, {})[incident_id] = held
        if held.reported:
            self._reported.setdefault(plan, {})[incident_id] = held

    def _attach(self, incident_id: str, alarm: Alarm, at: datetime) -> None:
        held = self._held.get(incident_id)
        if held is None:
            return
        held.alarms.add(alarm.key)
        held.devices.add(alarm.device_key)
        held.last_at = max(held.last_at or at, at)
        if not held.place and not held.reported:
            held.place = {part: _place(alarm, part) for part in PARTS}
        plan = self._plan_for(alarm.kind, alarm.zones)
        if plan is not None and plan.id == held.plan:  # absorbed consequences do not make a group
            self._groups[(plan.id, held.drill, group_of(self.rules.level(plan.id), alarm))] = incident_id

    def _move(self, merged: str, into: str) -> None:
        """What the merged incident held, and the places it grouped, now belong to `into`."""
        source, target = self._held.get(merged), self._held.get(into)
        if source is None or target is None:
            return
        target.alarms |= source.alarms
        target.devices |= source.devices
        target.place = target.place or source.place
        target.last_at = max(filter(None, (target.last_at, source.last_at)), default=None)
        for key, incident_id in list(self._groups.items()):
            if incident_id == merged:
                self._groups[key] = into
        self._release(merged)

    def _release(self, incident_id: str) -> None:
        held = self._held.pop(incident_id, None)
        if held is not None:
            self._by_plan[held.plan].pop(incident_id, None)
            self._reported.get(held.plan, {}).pop(incident_id, None)
        for key in [k for k, v in self._groups.items() if v == incident_id]:
            del self._groups[key]

    # -- deciding ----------------------------------------------------------------------------------

    def correlate(self, events: list[Event], now: datetime) -> list[Event]:
        """Attach each confirmed raise to the incident it belongs to, or open one through the
        first plan whose triggers match (an exact kind before a pattern)."""
        out: list[Event] = []
        batch = _Batch()
        for event in events:
            raised = (isinstance(event, AlarmObserved) and event.confirmed and event.signal != "clear") or (
                isinstance(event, AlarmChanged) and event.status == "active"
            )
            info = self._info(event) if raised else None
            if info is None:
                out.append(event)
                continue
            assert isinstance(event, AlarmChanged | AlarmObserved)
            kind = info.alarm_kind if isinstance(info, AlarmObserved) else info.kind
            plan = self._plan_for(kind, info.zones)
            if plan is None and not self._held and not batch.held:  # nothing to open or to join
                out.append(event)
                continue
            trigger = f"{info.source}/{info.device}#{kind}"
            incident, same_plan = self._find(info, kind, plan, trigger, batch, now, event.drill)
            if incident is None and plan is not None:
                opening = self._open_for_alarm(plan, info, kind, trigger, now, event.drill, len(batch.held))
                out += opening
                incident = opening[-1].incident
                assert incident is not None
                place = {part: _place(info, part) for part in PARTS}
                batch.held[incident] = Held(plan.id, event.drill, None, place=place, last_at=now)
                batch.triggers[trigger] = incident
                batch.groups[(plan.id, event.drill, group_of(self.rules.level(plan.id), info))] = incident
            elif incident is not None and same_plan:
                out += self._rise(incident, info, kind, now, batch)
            out.append(dataclasses.replace(event, incident=incident) if incident else event)
        return out

    def _info(self, event: Event) -> Info | None:
        if isinstance(event, AlarmObserved):
            return event
        assert isinstance(event, AlarmChanged)
        return self.projection.alarms.alarms.get(event.key)

    def _find(  # noqa: PLR0917 - the alarm and its context, each needed
        self,
        info: Info,
        kind: str,
        plan: Plan | None,
        trigger: str,
        batch: _Batch,
        now: datetime,
        drill: bool,
    ) -> tuple[str | None, bool]:
        """The incident the alarm joins, and whether it joins as one of its plan's own alarms."""
        found = batch.triggers.get(trigger) or self.projection.by_trigger.get(trigger)
        if found is not None:
            return found, True
        if not self._held and not batch.held:  # nothing open to join: a quiet board costs nothing
            return None, False

        def held(incident_id: str | None) -> Held | None:
            return batch.held.get(incident_id or "") or self._held.get(incident_id or "")

        if (found := self._related(info, held)) is not None:
            return found, True
        for rule in self._absorbed_by(kind):
            for incident_id, candidate in self._of_plans(rule.source, batch):
                if candidate.drill == drill and all(
                    candidate.shares(part, _place(info, part)) for part in rule.equal
                ):
                    return incident_id, False
        if plan is None:
            return None, False
        key = (plan.id, drill, group_of(self.rules.level(plan.id), info))
        found = batch.groups.get(key) or self._groups.get(key)
        grouped = held(found)
        if (
            found
            and grouped
            and grouped.last_at
            and (now - grouped.last_at <= self.rules.window or self._live(grouped))
        ):
            return found, True
        for incident_id, candidate in self._reported.get(plan.id, {}).items():
            named = candidate.shares("building", info.building) or candidate.shares("device", info.device)
            if candidate.drill == drill and named:
                return incident_id, True
        return None, False

    def _of_plans(self, patterns: tuple[str, ...], batch: _Batch) -> Iterator[tuple[str, Held]]:
        """The open incidents of the plans `patterns` match, those opened in this decision too."""
        for plan_id, incidents in self._by_plan.items():
            if any(fnmatch.fnmatchcase(plan_id, pattern) for pattern in patterns):
                yield from incidents.items()
        for incident_id, candidate in batch.held.items():
            if any(fnmatch.fnmatchcase(candidate.plan, pattern) for pattern in patterns):
                yield incident_id, candidate

    def _live(self, held: Held) -> bool:
        """Whether any alarm the incident holds is still on: the window runs from the last clear."""
        alarms = self.projection.alarms.alarms
        return any(alarms[key].status in LIVE for key in held.alarms if key in alarms)

    def _related(self, info: Info, held: Callable[[str | None], Held | None]) -> str | None:
        """The open incident of a point this alarm refers to (a review's tracked objects)."""
        if not info.related:
            return None
        book = self.projection.alarms
        for key in book.by_device.get(f"{info.source}/{info.device}", ()):
            alarm = book.alarms[key]
            if held(alarm.incident) and any(
                alarm.point == ref or alarm.point.endswith(f"/{ref}") for ref in info.related
            ):
                return alarm.incident
        return None

    def _rise(self, incident_id: str, info: Info, kind: str, now: datetime, batch: _Batch) -> list[Event]:
        """A joining alarm more severe (or urgent) than its incident raises it, saying why."""
        incident = self.projection.incidents.get(incident_id)
        if incident is None:  # opened in this very decision, at the alarm's own level
            return []
        head = Header(at=now, incident=incident_id, actor=ENGINE_ACTOR, drill=incident.drill)
        reason = " · ".join(part for part in (kind, info.device, info.text) if part)
        out: list[Event] = []
        current = batch.severity.get(incident_id, incident.severity)
        level = Severity[info.severity.upper()] if info.severity else None
        if level is not None and level.value < current.value:
            out.append(SeverityChanged(**head, severity=level.id, previous=current.id, reason=reason))
            batch.severity[incident_id] = level
        if info.urgent and not incident.urgent and incident_id not in batch.urgent:
            out.append(UrgencyChanged(**head, urgent=True, reason=reason))
            batch.urgent.add(incident_id)
        return out

    def _absorbed_by(self, kind: str) -> tuple[InhibitRule, ...]:
        """The inhibition rules that target `kind`."""
        rules = self._targets.get(kind)
        if rules is None:
            rules = self._targets[kind] = tuple(
                rule
                for rule in self.rules.inhibit
                if any(fnmatch.fnmatchcase(kind, pattern) for pattern in rule.target)
            )
        return rules

    def _plan_for(self, kind: str, zones: tuple[str, ...] = ()) -> Plan | None:
        key = (kind, zones)
        if key not in self._plan_by_kind:
            self._plan_by_kind[key] = self._match_plan(kind, zones)
        return self._plan_by_kind[key]

    def _match_plan(self, kind: str, zones: tuple[str, ...]) -> Plan | None:
        """The plan an alarm starts: one naming the alarm's zone before one for any zone, and an
        exact kind before a pattern. A plan with `triggers.zones` starts only for those zones."""
        in_zone = [p for p in self.plans.values() if p.triggers.zones and _in_zones(zones, p.triggers.zones)]
        anywhere = [p for p in self.plans.values() if not p.triggers.zones]
        for plans in (in_zone, anywhere):
            for exact in (True, False):
                for plan in plans:
                    for pattern in plan.triggers.alarms:
                        if (pattern == kind) if exact else fnmatch.fnmatchcase(kind, pattern):
                            return plan
        return None

    def _open_for_alarm(  # noqa: PLR0917 - the alarm and its context, each needed
        self,
        plan: Plan,
        info: Info,
        kind: str,
        trigger: str,
        now: datetime,
        drill: bool,
        opened_now: int,
    ) -> list[Event]:
        place = " ".join(p for p in (info.site, info.building, info.floor) if p) or None
        severity = Severity[info.severity.upper()] if info.severity else None
        # by plan and place, as an officer would name it ("电梯困人 · 3号楼 EL-0107"); the alarm's
        # own words stay on the alarm
        title = f"{plan.title.zh} · {' '.join(p for p in (info.building, info.floor, info.device) if p)}"
        command = OpenIncident(
            actor=ENGINE_ACTOR,
            plan_id=plan.id,
            title=title,
            severity=severity,
            urgent=info.urgent,
            source=Source.ALARM,
            location=place,
            trigger=trigger,
            drill=drill,
        )
        return self.decisions.open(command, now, already=opened_now)


def _in_zones(zones: tuple[str, ...], patterns: tuple[str, ...]) -> bool:
    """Whether an alarm in `zones` is in one the patterns name (`fnmatch` patterns, e.g. `perimeter*`)."""
    return any(fnmatch.fnmatchcase(zone, pattern) for zone in zones for pattern in patterns)
