"""What an incident owes and when: each obligation's due time, warning point and state at a moment.

Deadlines are derived, never stored: from the incident's milestones, the plan it runs on and the
working-day calendar. So a restart re-arms everything, and a deadline that passed while nothing
was running shows as breached.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import assert_never
from zoneinfo import ZoneInfo

from dutydesk.playbooks.durations import Duration
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.plans import Obligation, Plan
from dutydesk.playbooks.rules import Once, Recurring, waived
from dutydesk.playbooks.workdays import END_OF_DAY, WorkCalendar


class State(enum.StrEnum):
    PENDING = "pending"  # armed or waiting for its anchor, not yet due
    WARNING = "warning"  # past the warning point
    MET = "met"
    BREACHED = "breached"  # past due and not met
    WAIVED = "waived"  # no longer owed: the incident closed, or a recurring duty stopped


@dataclass(frozen=True, slots=True)
class Status:
    obligation: Obligation
    occurrence: int
    anchor_at: datetime | None  # None: the anchor has not been reached yet
    due_at: datetime | None
    warn_at: datetime | None
    met_at: datetime | None
    state: State
    provisional: bool

    @property
    def key(self) -> tuple[str, int]:
        return (self.obligation.id, self.occurrence)

    @property
    def armed(self) -> bool:
        return self.due_at is not None

    @property
    def outstanding(self) -> bool:
        return self.state in (State.PENDING, State.WARNING, State.BREACHED)

    def at(self, now: datetime) -> Status:
        """The same obligation a moment later: only the passing of time changes (warning,
        breached); what people did changes the incident and needs a fresh evaluation."""
        if self.state in (State.MET, State.WAIVED) or self.due_at is None:
            return self
        if now >= self.due_at:
            state = State.BREACHED
        elif self.warn_at is not None and now >= self.warn_at:
            state = State.WARNING
        else:
            state = State.PENDING
        return self if state is self.state else dataclasses.replace(self, state=state)

    def margin(self, now: datetime) -> timedelta | None:
        """Time left (positive) or overdue (negative); for a met obligation, how early it was met."""
        if self.due_at is None:
            return None
        return self.due_at - (self.met_at or now)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Everything deadline arithmetic needs besides the incident: calendar, zone, close of business."""

    calendar: WorkCalendar
    zone: ZoneInfo
    close_of_business: time | None = None

    def due(self, anchor: datetime, limit: Duration) -> tuple[datetime, bool]:
        if not limit.is_workdays:
            return anchor + limit.wall(), False
        counted = self.calendar.deadline(anchor, limit.amount, self.zone, self.close_of_business)
        return counted.due, counted.provisional

    def warn(self, plan: Plan, ob: Obligation, anchor: datetime, due: datetime) -> datetime:
        rule = plan.warning_for(ob)
        if rule.fraction is not None:
            return anchor + (due - anchor) * rule.fraction
        assert rule.before is not None
        if not rule.before.is_workdays:
            return max(anchor, due - rule.before.wall())
        day = self.calendar.workdays_before(due.astimezone(self.zone).date(), rule.before.amount)
        return max(anchor, datetime.combine(day.date, END_OF_DAY, tzinfo=self.zone))


def evaluate(incident: Incident, deadlines: Deadlines, now: datetime) -> list[Status]:
    """What the incident owes as of `now`: each one-off obligation, and of each recurring one its
    latest occurrence met and those since. Costs the same however old the incident is."""
    obligations = incident.plan.obligations
    return [s for ob in obligations for s in _statuses(incident, ob, deadlines, now, full=False)]


def history(incident: Incident, deadlines: Deadlines, now: datetime) -> list[Status]:
    """Every occurrence from the first, as of `now`: for showing and reporting, not for deciding."""
    obligations = incident.plan.obligations
    return [s for ob in obligations for s in _statuses(incident, ob, deadlines, now, full=True)]


def _anchor_time(incident: Incident, after: str) -> datetime | None:
    if after in incident.milestones:
        return incident.milestones[after]
    return incident.met.get((after, 1))


def _statuses(
    incident: Incident, ob: Obligation, deadlines: Deadlines, now: datetime, *, full: bool
) -> Iterator[Status]:
    applies = ob.applies(incident.severity, incident.urgent)
    if not applies and (ob.id, 1) not in incident.met:
        return
    anchor = _anchor_time(incident, ob.after)
    timing = ob.timing
    if anchor is None:
        state = State.WAIVED if incident.closed else State.PENDING
        yield Status(ob, 1, None, None, None, None, state, False)
        return
    stop = timing.stop(incident.milestones)
    match timing:
        case Once():
            due, provisional = deadlines.due(anchor, timing.limit(incident.urgent))
            yield _one(
                incident, ob, 1, anchor, due, provisional=provisional, deadlines=deadlines, now=now, stop=stop
            )
        case Recurring():
            yield from _recurring(
                incident, ob, timing, anchor=anchor, deadlines=deadlines, now=now, stop=stop, full=full
            )
        case _:
            assert_never(timing)


def _recurring(
    incident: Incident,
    ob: Obligation,
    timing: Recurring,
    *,
    anchor: datetime,
    deadlines: Deadlines,
    now: datetime,
    stop: datetime | None,
    full: bool,
) -> Iterator[Status]:
    """The occurrences of a recurring obligation under its rule (see `Recurring`)."""
    period = timing.period()
    occurrence, start = 1, anchor
    latest = incident.latest.get(ob.id)
    if latest is not None and not full:
        # carry on from the latest occurrence met rather than walking every earlier one
        occurrence, met_at = latest
        due = incident.met_due.get((ob.id, occurrence))
        if due is not None:
            yield _one(incident, ob, occurrence, due - period, due, deadlines=deadlines, now=now, stop=stop)
            occurrence, start = occurrence + 1, met_at
        else:
            occurrence = 1
    while True:
        key = (ob.id, occurrence)
        after = start + 2 * period  # when the next period is due
        if not full and key in incident.breached and after <= now and not waived(after, stop):
            # missed, recorded, and not the last one missed: deciding needs none of it
            occurrence, start = occurrence + 1, start + period
            continue
        status = _one(
            incident, ob, occurrence, start, start + period, deadlines=deadlines, now=now, stop=stop
        )
        yield status
        due = start + period
        if status.met_at is not None:
            start = status.met_at  # each update starts the next period
        elif (latest is not None and occurrence < latest[0]) or (
            not waived(due, stop) and (due <= now or key in incident.breached)
        ):
            start = due  # a whole period without an update: missed; the next one starts now
        else:
            return
        occurrence += 1


def _one(
    incident: Incident,
    ob: Obligation,
    occurrence: int,
    start: datetime,
    due: datetime,
    *,
    provisional: bool = False,
    deadlines: Deadlines,
    now: datetime,
    stop: datetime | None,
) -> Status:
    key = (ob.id, occurrence)
    met_at = incident.met.get(key)
    if met_at is not None:
        # the due time it was met against stays, whatever changed since (urgent, severity)
        due = incident.met_due.get(key) or due
        return Status(ob, occurrence, start, due, None, met_at, State.MET, provisional)
    warn_at = deadlines.warn(incident.plan, ob, start, due)
    # once the incident closed (or a recurring duty stopped) time no longer runs against it
    until = min(now, stop) if stop is not None else now
    if until >= due:
        state = State.BREACHED
    elif waived(due, stop):
        state = State.WAIVED
    elif until >= warn_at:
        state = State.WARNING
    else:
        state = State.PENDING
    return Status(ob, occurrence, start, due, warn_at, met_at, state, provisional)


@dataclass(frozen=True, slots=True)
class Tally:
    """How the occurrences of an obligation went: `incidents show`, the KPIs and the reports
    count them the same way."""

    on_time: int = 0
    late: int = 0  # met after its due time
    missed: int = 0  # due and never met
    waived: int = 0
    running: int = 0  # not due yet

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.missed + self.waived + self.running


def tally(statuses: Iterable[Status]) -> Tally:
    counts = {"on_time": 0, "late": 0, "missed": 0, "waived": 0, "running": 0}
    for status in statuses:
        if status.state is State.MET:
            early = status.due_at is None or status.met_at is None or status.met_at <= status.due_at
            counts["on_time" if early else "late"] += 1
        elif status.state is State.BREACHED:
            counts["missed"] += 1
        elif status.state is State.WAIVED:
            counts["waived"] += 1
        else:
            counts["running"] += 1
    return Tally(**counts)
