"""Monthly and yearly KPIs (值班工作指标): timeliness per obligation type, time to acknowledge and to
stabilise, the rectification register, incidents by type, place and level, and alarm load in the
ISA-18.2 manner — real incidents and drills apart.

The figures fold in one pass over facts from the log: an incident opened, a milestone, an
obligation met or breached, an item added or done, an alarm's confirmed change. A fact is a row
of the few payload fields it needs (`INCIDENT_FACTS`, `ALARM_FACTS`), not a whole event: a busy
year is a million of them, and rebuilding each as a typed event would cost more than the whole
report may take. `connectors/application/reporting.py` reads the rows.

Incidents count in the period they were received in, with everything that happened to them since:
an investigation due next month counts for this month, so a month's rates settle once its
incidents' deadlines have passed, and an obligation still running is not counted yet. Alarms count
in the period they were annunciated in.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dutydesk.playbooks.events import (
    AlarmChanged,
    AlarmObserved,
    IncidentMerged,
    IncidentOpened,
    MilestoneReached,
    ObligationBreached,
    ObligationMet,
    RectificationAdded,
    RectificationCompleted,
    SeverityChanged,
)
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan, Text
from dutydesk.playbooks.rectification import ItemState, deadline, state_of
from dutydesk.playbooks.rules import waived
from dutydesk.playbooks.vocab import Milestone, Severity

INTERVAL = timedelta(minutes=10)  # ISA-18.2 counts alarms per operator per 10 minutes
FLOOD_ALARMS = 10  # more than this in one interval is a flood (one operator: the duty desk)
CHATTER_WINDOW = timedelta(minutes=1)  # an alarm raised again within a minute is chattering
TOP_DEVICES = 10

# The facts read from the log: per event kind, the payload fields each row carries after
# (kind, at in microseconds since the epoch, incident, drill).
INCIDENT_FACTS: dict[str, tuple[str, ...]] = {
    IncidentOpened.kind: ("plan_fingerprint", "severity", "location"),
    SeverityChanged.kind: ("severity",),
    MilestoneReached.kind: ("milestone",),
    ObligationMet.kind: ("obligation", "occurrence", "margin_seconds"),
    ObligationBreached.kind: ("obligation", "occurrence"),
    RectificationAdded.kind: ("item", "anchor_at", "workdays", "content", "owner"),
    RectificationCompleted.kind: ("item",),
}
# Incidents merged into another (`IncidentMerged` on the merged one): each counts once, in the
# incident it joined. Read by time: the facts beside the log predate merging.
MERGED_FACTS: dict[str, tuple[str, ...]] = {IncidentMerged.kind: ("merged",)}
ALARM_FACTS: dict[str, tuple[str, ...]] = {
    AlarmObserved.kind: ("key", "signal", "replay", "confirmed"),
    AlarmChanged.kind: ("key", "status", "replay"),
}
Fact = Sequence[Any]


def _time(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, UTC)


def _micros(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def _micros_of(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month or year in the centre's time zone."""

    start: datetime
    end: datetime
    label: str  # 2026-11 or 2026

    @classmethod
    def month(cls, year: int, month: int, zone: ZoneInfo) -> Period:
        start = datetime(year, month, 1, tzinfo=zone)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
        return cls(start, end, f"{year:04d}-{month:02d}")

    @classmethod
    def year(cls, year: int, zone: ZoneInfo) -> Period:
        return cls(datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone), f"{year:04d}")

    def incident_ids(self, *, drill: bool) -> tuple[str, str]:
        """The range [low, high) of the ids of incidents received in the period: the engine names
        each by the day it was received, in the centre's zone (drills with a leading D)."""
        prefix = "D" if drill else ""
        return prefix + self.start.strftime("%Y%m%d"), prefix + self.end.strftime("%Y%m%d")


@dataclass(frozen=True, slots=True)
class Timeliness:
    """How often one kind of obligation was met in time."""

    obligation: str
    title: Text
    on_time: int
    late: int  # met late, or breached and never met

    @property
    def total(self) -> int:
        return self.on_time + self.late

    @property
    def rate(self) -> float | None:
        return self.on_time / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Spread:
    count: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, seconds: list[float]) -> Spread:
        if not seconds:
            return cls(0, None, None)
        p90 = statistics.quantiles(seconds, n=10, method="inclusive")[-1] if len(seconds) > 1 else seconds[0]
        return cls(len(seconds), timedelta(seconds=statistics.median(seconds)), timedelta(seconds=p90))


@dataclass(frozen=True, slots=True)
class LateItem:
    item: str
    incident: str
    content: str
    owner: str
    due_at: datetime
    done_at: datetime | None  # None: still open


@dataclass(frozen=True, slots=True)
class Rectification:
    total: int
    on_time: int
    done_late: int
    overdue: int  # open past the limit
    open: int  # open within the limit
    waived: int
    late_items: tuple[LateItem, ...]  # done late or overdue, soonest deadline first

    @property
    def rate(self) -> float | None:
        settled = self.on_time + self.done_late + self.overdue
        return self.on_time / settled if settled else None


@dataclass(frozen=True, slots=True)
class Flood:
    start: datetime
    end: datetime
    alarms: int


@dataclass(frozen=True, slots=True)
class Chattering:
    device: str  # source/device
    alarms: int
    chatter: int  # raised again within a minute of its previous raise


@dataclass(frozen=True, slots=True)
class AlarmLoad:
    total: int
    intervals: int  # 10-minute intervals in the period so far
    peak: int
    peak_at: datetime | None
    flooded: int  # intervals with more than FLOOD_ALARMS
    floods: tuple[Flood, ...]  # runs of flooded intervals, in time order
    devices: tuple[Chattering, ...]  # the most chattering devices, then the most frequent
    per_day: tuple[tuple[date, int], ...]

    @property
    def average(self) -> float:
        """Alarms per 10 minutes (ISA-18.2: about 1 is acceptable, 2 manageable)."""
        return self.total / self.intervals if self.intervals else 0.0

    @property
    def flooded_share(self) -> float:
        """Share of time in flood (ISA-18.2: under 1 %)."""
        return self.flooded / self.intervals if self.intervals else 0.0


@dataclass(frozen=True, slots=True)
class Figures:
    incidents: int
    closed: int
    by_plan: tuple[tuple[str, Text, int], ...]
    by_location: tuple[tuple[str | None, int], ...]
    by_severity: tuple[tuple[Severity, int], ...]
    timeliness: tuple[Timeliness, ...]
    acknowledge: Spread  # received -> reported to the leader on duty
    stabilise: Spread  # received -> stabilised
    rectification: Rectification
    alarms: AlarmLoad


@dataclass(frozen=True, slots=True)
class Kpi:
    period: Period
    as_of: datetime
    real: Figures
    drills: Figures


@dataclass(slots=True)
class _Case:
    """What the figures need of one incident."""

    drill: bool
    plan: str
    severity: str
    location: str | None
    received: datetime
    reported: datetime | None = None
    stabilised: datetime | None = None
    closed: datetime | None = None
    reached: dict[str, datetime] = field(default_factory=dict)  # every milestone, for waivers


@dataclass(slots=True)
class _Item:
    incident: str
    content: str
    owner: str
    due: datetime
    done: datetime | None = None


@dataclass(slots=True)
class _Side:
    """Real incidents, or drills."""

    on_time: Counter[tuple[str, str]] = field(default_factory=Counter)  # (obligation, title) -> n
    late: Counter[tuple[str, str]] = field(default_factory=Counter)
    buckets: Counter[int] = field(default_factory=Counter)  # 10-minute interval -> alarms
    device_alarms: Counter[str] = field(default_factory=Counter)
    device_chatter: Counter[str] = field(default_factory=Counter)
    last_raised: dict[str, int] = field(default_factory=dict)  # microseconds


class KpiBuilder:
    """Folds facts into figures. Facts of incidents received outside the period are ignored, so
    a reader may give more than it must."""

    def __init__(self, period: Period, deadlines: Deadlines, now: datetime) -> None:
        self.period = period
        self.deadlines = deadlines
        self.now = now
        self._plans: dict[str, Plan] = {}
        self._cases: dict[str, _Case] = {}
        self._items: dict[str, _Item] = {}
        self._sides = (_Side(), _Side())  # indexed by the drill flag
        self._titles: dict[tuple[str, str], tuple[str, str]] = {}  # (plan, obligation) -> group
        self._texts: dict[tuple[str, str], tuple[int, Text]] = {}  # group -> (order, title)
        # unmet yet: key -> (group, when breached: the due time since breaches are dated at it)
        self._breached: dict[tuple[str, str, int], tuple[tuple[str, str], int]] = {}
        self._dues: dict[tuple[date, int], datetime] = {}  # limits depend on the day, not the hour

    # -- facts -------------------------------------------------------------------------------------

    def plan(self, fingerprint: str, plan: Plan) -> None:
        self._plans[fingerprint] = plan

    def incidents(self, rows: Iterable[Fact]) -> None:
        """Facts of incidents (`INCIDENT_FACTS`), each incident's in log order.

        An obligation met with a negative margin was late; meeting it settles an earlier breach
        (a report backdated to before the deadline was in time after all). The loop is written
        out, the commonest kinds first: it runs a million times for a year."""
        cases, titles, breached, sides = self._cases, self._titles, self._breached, self._sides
        met, milestone = ObligationMet.kind, MilestoneReached.kind
        reported, stabilised, closed = Milestone.REPORTED, Milestone.STABILISED, Milestone.CLOSED
        for kind, at, incident, drill, a, b, c, d, e in rows:
            case = cases.get(incident)
            if kind == met:
                if case is None or c is None:  # no deadline, nothing to be timely about
                    continue
                group = titles.get((case.plan, a)) or self._group(case, a)
                if breached:
                    breached.pop((incident, a, b), None)
                side = sides[case.drill]
                (side.on_time if c >= 0 else side.late)[group] += 1
            elif kind == milestone:
                if case is None:
                    continue
                case.reached[a] = _time(at)
                if a == reported:
                    case.reported = _time(at)
                elif a == stabilised:
                    case.stabilised = _time(at)
                elif a == closed:
                    case.closed = _time(at)
            elif kind == IncidentOpened.kind:
                received = _time(at)
                if self.period.start <= received < self.period.end:
                    cases[incident] = _Case(bool(drill), a, b, c, received)
            elif case is None:
                continue
            elif kind == ObligationBreached.kind:
                breached[(incident, a, b)] = (self._group(case, a), at)
            elif kind == SeverityChanged.kind:
                case.severity = a
            elif kind == RectificationAdded.kind:
                self._item_added(incident, a, datetime.fromisoformat(b), c, d, e)
            elif kind == RectificationCompleted.kind and a in self._items:
                self._items[a].done = _time(at)

    def merged(self, rows: Iterable[Fact]) -> None:
        """Facts of merges (`MERGED_FACTS`), after every incident's: the merged incident counts
        once, in the one it joined; what was met or breached on it before stays counted."""
        for _, _, incident, _, merged in rows:
            case = self._cases.pop(incident, None) if incident == merged else None
            if case is None:
                continue
            for key in [key for key in self._breached if key[0] == incident]:
                group, due = self._breached.pop(key)
                if not self._waived(case, key[1], _time(due)):
                    self._sides[case.drill].late[group] += 1

    def _item_added(  # noqa: PLR0917 - the fields of one fact row, in order
        self, incident: str, item: str, anchor_at: datetime, workdays: int, content: str, owner: str
    ) -> None:
        day = (anchor_at.astimezone(self.deadlines.zone).date(), workdays)
        due = self._dues.get(day)
        if due is None:
            due = self._dues[day] = deadline(anchor_at, workdays, self.deadlines)[0]
        self._items[item] = _Item(incident, content, owner, due)

    def alarms(self, rows: Iterable[Fact]) -> None:
        """Alarm changes (`ALARM_FACTS`) in time order. A raise is annunciated once confirmed: at once
        (an observed raise taking effect at once) or after its raise delay (a confirmed change to
        active); never a replayed state. Times stay in microseconds here: there are many alarms."""
        start, end = _micros(self.period.start), _micros(self.period.end)
        interval, window = _micros_of(INTERVAL), _micros_of(CHATTER_WINDOW)
        changed = AlarmChanged.kind
        for kind, at, _, drill, key, state, replay, confirmed in rows:
            raised = state == "active" if kind == changed else bool(confirmed) and state == "raise"
            if not raised or replay or not start <= at < end:
                continue
            side = self._sides[bool(drill)]
            side.buckets[(at - start) // interval] += 1
            device = key.rsplit("/", 2)[0]  # keys are source/device/point/kind
            side.device_alarms[device] += 1
            last = side.last_raised.get(key)
            if last is not None and at - last <= window:
                side.device_chatter[device] += 1
            side.last_raised[key] = at

    def _group(self, case: _Case, obligation: str) -> tuple[str, str]:
        """Obligations of one kind across plans: the same id and the same wording (so "dispatch
        within 1 hour" and "within 2 working days" stay apart)."""
        known = self._titles.get((case.plan, obligation))
        if known is None:
            plan = self._plans.get(case.plan)
            found = [
                (n, ob.title) for n, ob in enumerate(plan.obligations if plan else ()) if ob.id == obligation
            ]
            index, text = found[0] if found else (len(self._texts), Text(zh=obligation, en=obligation))
            known = self._titles[(case.plan, obligation)] = (obligation, text.zh)
            self._texts.setdefault(known, (index, text))
        return known

    def _waived(self, case: _Case, obligation: str, due: datetime) -> bool:
        """A breach no longer owed once a milestone was back-dated before its due time: the same
        rule as `incidents show` (`rules.waived`)."""
        plan = self._plans.get(case.plan)
        rule = next((ob for ob in plan.obligations if ob.id == obligation), None) if plan else None
        return rule is not None and waived(due, rule.timing.stop(case.reached))

    # -- figures -----------------------------------------------------------------------------------

    def result(self) -> Kpi:
        for (incident, obligation, _), (group, due) in self._breached.items():
            case = self._cases[incident]
            if not self._waived(case, obligation, _time(due)):
                self._sides[case.drill].late[group] += 1
        self._breached.clear()
        return Kpi(self.period, self.now, self._figures(drill=False), self._figures(drill=True))

    def _figures(self, *, drill: bool) -> Figures:
        cases = {k: c for k, c in self._cases.items() if c.drill == drill}
        side = self._sides[drill]
        plans: Counter[str] = Counter()
        titles: dict[str, Text] = {}
        for case in cases.values():
            plan = self._plans.get(case.plan)
            plan_id = plan.id if plan else case.plan
            plans[plan_id] += 1
            titles.setdefault(plan_id, plan.title if plan else Text(zh=plan_id, en=plan_id))
        groups = sorted(side.on_time.keys() | side.late.keys(), key=lambda g: (self._texts[g][0], g))
        return Figures(
            incidents=len(cases),
            closed=sum(c.closed is not None for c in cases.values()),
            by_plan=tuple((p, titles[p], n) for p, n in plans.most_common()),
            by_location=tuple(Counter(c.location for c in cases.values()).most_common()),
            by_severity=tuple(
                sorted(Counter(Severity[c.severity.upper()] for c in cases.values()).items(), reverse=True)
            ),
            timeliness=tuple(
                Timeliness(g[0], self._texts[g][1], side.on_time[g], side.late[g]) for g in groups
            ),
            acknowledge=Spread.of(
                [(c.reported - c.received).total_seconds() for c in cases.values() if c.reported]
            ),
            stabilise=Spread.of(
                [(c.stabilised - c.received).total_seconds() for c in cases.values() if c.stabilised]
            ),
            rectification=self._rectification(cases),
            alarms=self._alarm_load(side),
        )

    def _rectification(self, cases: dict[str, _Case]) -> Rectification:
        states: Counter[str] = Counter()
        late = []
        for key, item in self._items.items():
            case = cases.get(item.incident)
            if case is None:
                continue
            state = state_of(item.due, item.done, case.closed, self.now)
            if state is ItemState.DONE:
                state_key = "late" if item.done and item.done > item.due else "on_time"
            else:
                state_key = state.value
            states[state_key] += 1
            if state_key in ("late", ItemState.OVERDUE):
                late.append(LateItem(key, item.incident, item.content, item.owner, item.due, item.done))
        late.sort(key=lambda i: (i.due_at, i.item))
        return Rectification(
            total=sum(states.values()),
            on_time=states["on_time"],
            done_late=states["late"],
            overdue=states[ItemState.OVERDUE],
            open=states[ItemState.OPEN],
            waived=states[ItemState.WAIVED],
            late_items=tuple(late),
        )

    def _alarm_load(self, side: _Side) -> AlarmLoad:
        start, zone = self.period.start, self.deadlines.zone
        elapsed = min(self.now, self.period.end) - start
        intervals = max(0, math.ceil(elapsed / INTERVAL))
        buckets = side.buckets
        peak_bucket = max(buckets, key=lambda b: (buckets[b], -b)) if buckets else None
        runs: list[tuple[int, int, int]] = []  # (first interval, interval after the last, alarms)
        for bucket in sorted(b for b, n in buckets.items() if n > FLOOD_ALARMS):
            if runs and runs[-1][1] == bucket:
                first, _, alarms = runs[-1]
                runs[-1] = (first, bucket + 1, alarms + buckets[bucket])
            else:
                runs.append((bucket, bucket + 1, buckets[bucket]))
        days: Counter[date] = Counter()
        for bucket, count in buckets.items():
            days[(start + bucket * INTERVAL).astimezone(zone).date()] += count
        devices = sorted(
            side.device_alarms,
            key=lambda d: (-side.device_chatter[d], -side.device_alarms[d], d),
        )[:TOP_DEVICES]
        return AlarmLoad(
            total=sum(buckets.values()),
            intervals=intervals,
            peak=buckets[peak_bucket] if peak_bucket is not None else 0,
            peak_at=start + peak_bucket * INTERVAL if peak_bucket is not None else None,
            flooded=sum(1 for n in buckets.values() if n > FLOOD_ALARMS),
            floods=tuple(Flood(start + a * INTERVAL, start + b * INTERVAL, n) for a, b, n in runs),
            devices=tuple(Chattering(d, side.device_alarms[d], side.device_chatter[d]) for d in devices),
            per_day=tuple(sorted(days.items())),
        )
