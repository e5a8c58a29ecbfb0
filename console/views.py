"""What the console's screens show, computed from the engine's state at a moment: plain rows,
no widgets, so that screens stay thin and the arithmetic is testable on its own."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dutydesk.playbooks.alarmbook import LIVE, Alarm, AlarmBook
from dutydesk.playbooks.alarms import Availability
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.events import DeviceChanged, Event, IncidentOpened, ObligationBreached
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.obligations import State, Status

DUE_SOON = timedelta(minutes=5)
OUTSTANDING = (State.PENDING, State.WARNING, State.BREACHED)  # still owed; time runs against them
NEXT_HOUR = timedelta(hours=1)
ASK_BEFORE = timedelta(hours=6)  # a received time further back than this is confirmed first


class Urgency(enum.IntEnum):
    """How a countdown is coloured, least pressing first."""

    NONE = 0  # nothing pending
    OK = 1
    WARNING = 2  # past the obligation's warning point
    DUE_SOON = 3  # within five minutes
    BREACHED = 4


def urgency(status: Status, now: datetime) -> Urgency:
    if status.state is State.BREACHED and status.met_at is None:
        return Urgency.BREACHED
    if status.state not in (State.PENDING, State.WARNING) or status.due_at is None:
        return Urgency.NONE
    if status.due_at - now <= DUE_SOON:
        return Urgency.DUE_SOON
    return Urgency.WARNING if status.state is State.WARNING else Urgency.OK


@dataclass(frozen=True, slots=True)
class IncidentRow:
    incident: Incident
    next: Status | None  # the most pressing outstanding obligation
    urgency: Urgency
    statuses: tuple[Status, ...] = ()  # all of the incident's obligations at that moment

    @property
    def sort_key(self) -> tuple[int, float, str]:
        due = self.next.due_at.timestamp() if self.next and self.next.due_at else float("inf")
        return (-int(self.urgency == Urgency.BREACHED), due, self.incident.id)


def incident_row(incident: Incident, statuses: Iterable[Status], now: datetime) -> IncidentRow:
    """An incident with its most pressing outstanding obligation: an overdue one, else the one
    falling due first."""
    statuses = tuple(statuses)
    outstanding = [s for s in statuses if s.due_at and s.met_at is None and s.state in OUTSTANDING]
    first = (
        min(outstanding, key=lambda s: (-(urgency(s, now) == Urgency.BREACHED), s.due_at))
        if outstanding
        else None
    )
    return IncidentRow(incident, first, urgency(first, now) if first else Urgency.NONE, statuses)


def by_next_deadline(rows: Iterable[IncidentRow]) -> list[IncidentRow]:
    """The one order of incidents, on the board and in `dutydesk incidents list`: overdue ones
    first, then by the next deadline, then by id; those with nothing outstanding last."""
    return sorted(rows, key=lambda r: r.sort_key)


class StatusCache:
    """Obligation statuses per incident, evaluated again only when the incident changed; between
    changes only the clock moves them (Status.at), which is cheap. Keeps the board fluid with
    hundreds of open incidents."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, list[Status]]] = {}

    def statuses(self, engine: Engine, incident: Incident, now: datetime) -> list[Status]:
        cached = self._cache.get(incident.id)
        if cached is None or cached[0] != incident.last_seq:
            cached = self._cache[incident.id] = (incident.last_seq, engine.current(incident, now))
        return [s.at(now) for s in cached[1]]


def incident_rows(
    engine: Engine,
    now: datetime,
    *,
    drills: bool = True,
    closed: bool = False,
    cache: StatusCache | None = None,
) -> list[IncidentRow]:
    """Open incidents (`closed`: all of them), in the order of `by_next_deadline`."""
    cache = cache or StatusCache()
    table = engine.projection.incidents
    return by_next_deadline(
        incident_row(incident, cache.statuses(engine, incident, now), now)
        for incident in (table.values() if closed else table.open())
        if drills or not incident.drill
    )


@dataclass(frozen=True, slots=True)
class DueRow:
    incident: Incident
    status: Status


def due_within(
    engine: Engine, now: datetime, span: timedelta = NEXT_HOUR, *, cache: StatusCache | None = None
) -> list[DueRow]:
    """Every obligation overdue and unmet, or falling due in the next `span`: overdue first (the
    longest overdue at the top), then the soonest."""
    rows = []
    cache = cache or StatusCache()
    for incident in engine.projection.incidents.open():
        for status in cache.statuses(engine, incident, now):
            if (
                status.due_at is not None
                and status.met_at is None
                and status.state in OUTSTANDING
                and status.due_at <= now + span
            ):
                rows.append(DueRow(incident, status))
    return sorted(rows, key=lambda r: (r.status.due_at or now, r.incident.id))


def latest_per_subject(events: Iterable[Event], limit: int) -> list[Event]:
    """The newest word on each alarm and device, newest first: a clear replaces the raise it
    clears, so the feed never shows an alarm both active and cleared."""
    seen: set[str] = set()
    latest: list[Event] = []
    for event in events:
        subject = event.device if isinstance(event, DeviceChanged) else getattr(event, "key", "")
        if subject in seen:
            continue
        seen.add(subject)
        latest.append(event)
        if len(latest) >= limit:
            break
    return latest


class Call(enum.StrEnum):
    """Why the console calls for the officer's attention (bell and banner). An event calls until
    it is acknowledged; a condition calls for as long as it holds."""

    NEW_INCIDENT = "new_incident"  # somebody else, or an alarm, opened an incident
    BREACH = "breach"  # a deadline passed unmet
    NOTIFY_OFF = "notify_off"  # notifications are decided and logged but go nowhere
    NO_ENGINE = "no_engine"  # no engine runs: no deadline fires, nobody is notified
    ENGINE_DEGRADED = "engine_degraded"  # the engine runs but cannot write its log


def calls_for(event: Event, operator: str) -> Call | None:
    """What an event just recorded calls for; what this console's officer did calls for nothing."""
    if isinstance(event, IncidentOpened) and event.actor != operator:
        return Call.NEW_INCIDENT
    if isinstance(event, ObligationBreached):
        return Call.BREACH
    return None


def find_incidents(incidents: Iterable[Incident], text: str) -> list[Incident]:
    """Incidents whose id, title, place, plan or description hold every word typed (either
    language, any case), newest first."""
    words = text.casefold().split()
    found = []
    for incident in incidents:
        plan = incident.plan.title
        haystack = " ".join(
            [
                incident.id,
                incident.title,
                incident.location or "",
                plan.zh,
                plan.en,
                incident.description or "",
            ]
        ).casefold()
        if all(word in haystack for word in words):
            found.append(incident)
    return sorted(found, key=lambda i: i.received_at, reverse=True)


def active_alarms(book: AlarmBook, now: datetime) -> list[Alarm]:
    """Live alarms not shelved, newest change first."""
    alarms = [a for a in book.alarms.values() if a.status in LIVE and not a.shelved(now)]
    return sorted(alarms, key=lambda a: a.since, reverse=True)


def device_counts(book: AlarmBook, heard: Iterable[str]) -> dict[Availability, int]:
    """Devices by availability; one heard from and never logged otherwise is online."""
    counts = dict.fromkeys(Availability, 0)
    keys = set(book.devices) | set(heard)
    for key in keys:
        device = book.devices.get(key)
        counts[device.availability if device else Availability.ONLINE] += 1
    return counts


def far_back(at: datetime, now: datetime, zone: ZoneInfo) -> bool:
    """A received time more than six hours back or on another day: most likely a typing slip
    (a wrong year, a wrong day), so the console asks before it counts deadlines from it."""
    return now - at > ASK_BEFORE or at.astimezone(zone).date() != now.astimezone(zone).date()


def countdown(status: Status, now: datetime) -> str:
    return clock_left(status.due_at, now)


def clock_left(due_at: datetime | None, now: datetime) -> str:
    """`12:34` left, `-05:10` overdue; hours shown when needed."""
    if due_at is None:
        return "--:--"
    seconds = int((due_at - now).total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 48:
        return f"{sign}{hours // 24}d{hours % 24:02d}h"
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes:02d}:{secs:02d}"


def handover_summary(
    engine: Engine, now: datetime, lang: str, zone: ZoneInfo, span: timedelta = timedelta(hours=8)
) -> str:
    """What the incoming officer must know: open incidents, what falls due, what is overdue."""
    zh = lang == "zh"
    lines = [f"{'交接时间' if zh else 'Handover at'}: {now.astimezone(zone):%Y-%m-%d %H:%M}"]
    rows = incident_rows(engine, now)
    lines.append(f"{'进行中事件' if zh else 'Open incidents'}: {len(rows)}")
    for row in rows:
        nxt = row.next
        what = nxt.obligation.title.get(lang) if nxt else "-"
        when = countdown(nxt, now) if nxt else ""
        lines.append(f"  {row.incident.id} {row.incident.title} — {what} {when}".rstrip())
    due = [r for r in due_within(engine, now, span) if r.status.state is not State.BREACHED]
    lines.append(f"{'本班内到期' if zh else 'Falling due this shift'}: {len(due)}")
    overdue = [r for r in rows if r.urgency is Urgency.BREACHED]
    lines.append(f"{'已超时未完成' if zh else 'Overdue and not met'}: {len(overdue)}")
    unacked = [a for a in active_alarms(engine.projection.alarms, now) if not a.acknowledged_by]
    lines.append(f"{'未确认告警' if zh else 'Unacknowledged alarms'}: {len(unacked)}")
    from dutydesk.console.duty_views import handover_lines  # noqa: PLC0415 - it builds on this module

    lines += handover_lines(engine, now, lang, span)
    return "\n".join(lines)
