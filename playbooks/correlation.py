"""Alarm-to-incident correlation: which incident a confirmed alarm raise belongs to, opening one
through the first matching plan when its device has none open for that kind."""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Mapping
from datetime import datetime

from dutydesk.playbooks.alarmbook import Alarm
from dutydesk.playbooks.commands import OpenIncident
from dutydesk.playbooks.decisions import ENGINE_ACTOR, Decisions
from dutydesk.playbooks.events import AlarmChanged, AlarmObserved, Event
from dutydesk.playbooks.incidents import Projection
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Severity, Source


class Correlator:
    def __init__(self, *, plans: Mapping[str, Plan], projection: Projection, decisions: Decisions) -> None:
        self.plans = plans
        self.projection = projection
        self.decisions = decisions
        self._plan_by_kind: dict[str, Plan | None] = {}

    def correlate(self, events: list[Event], now: datetime) -> list[Event]:
        """Attach each confirmed raise to its device's open incident for that kind, or open one
        through the first plan whose triggers match (an exact kind before a pattern)."""
        out: list[Event] = []
        opened: dict[str, str] = {}
        for event in events:
            raised = (isinstance(event, AlarmChanged) and event.status == "active") or (
                isinstance(event, AlarmObserved) and event.confirmed and event.signal != "clear"
            )
            if not raised:
                out.append(event)
                continue
            assert isinstance(event, AlarmChanged | AlarmObserved)
            info = event if isinstance(event, AlarmObserved) else self.projection.alarms.alarms.get(event.key)
            if info is None:
                out.append(event)
                continue
            kind = info.alarm_kind if isinstance(info, AlarmObserved) else info.kind
            trigger = f"{info.source}/{info.device}#{kind}"
            incident = opened.get(trigger) or self.projection.by_trigger.get(trigger)
            if incident is None:
                plan = self._plan_for(kind)
                if plan is not None:
                    opening = self._open_for_alarm(
                        plan,
                        info,
                        kind=kind,
                        trigger=trigger,
                        now=now,
                        drill=event.drill,
                        opened_now=len(opened),
                    )
                    out += opening
                    incident = opening[-1].incident
                    assert incident is not None
                    opened[trigger] = incident
            out.append(dataclasses.replace(event, incident=incident) if incident else event)
        return out

    def _plan_for(self, kind: str) -> Plan | None:
        if kind not in self._plan_by_kind:
            self._plan_by_kind[kind] = self._match_plan(kind)
        return self._plan_by_kind[kind]

    def _match_plan(self, kind: str) -> Plan | None:
        for exact in (True, False):
            for plan in self.plans.values():
                for pattern in plan.triggers.alarms:
                    if (pattern == kind) if exact else fnmatch.fnmatchcase(kind, pattern):
                        return plan
        return None

    def _open_for_alarm(
        self,
        plan: Plan,
        info: AlarmObserved | Alarm,
        *,
        kind: str,
        trigger: str,
        now: datetime,
        drill: bool,
        opened_now: int,
    ) -> list[Event]:
        place = " ".join(p for p in (info.site, info.building, info.floor) if p) or None
        severity = Severity[info.severity.upper()] if info.severity else None
        title = f"{info.text or kind} · {info.device}"
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
