"""The engine: turns commands into events, folds events into state, and fires deadlines on time.

It is pure: no I/O, no system clock. Callers hand it the time, persist what it returns, then feed
the persisted events back through `apply`, so the event log stays the single source of truth.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dutydesk.playbooks import rectification
from dutydesk.playbooks.alarmbook import Alarm
from dutydesk.playbooks.alarms import Arrival, Debounce, Decoded, Feed
from dutydesk.playbooks.commands import Command, Rejected
from dutydesk.playbooks.corrections import RETRACT_WITHIN
from dutydesk.playbooks.correlation import Correlation, Correlator
from dutydesk.playbooks.decisions import ENGINE_ACTOR, Decisions
from dutydesk.playbooks.dispatch import Dispatcher
from dutydesk.playbooks.eventplans import EventPlan
from dutydesk.playbooks.events import Event, ObligationBreached, ObligationWarned
from dutydesk.playbooks.incidents import Incident, Projection
from dutydesk.playbooks.notices import NoticePolicy
from dutydesk.playbooks.obligations import Deadlines, State, Status, evaluate, history
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.rectification import Item
from dutydesk.playbooks.routines import Routine
from dutydesk.playbooks.text import decoded_sanitised, sanitised
from dutydesk.playbooks.timetable import DUTY_COMMANDS, Timetable

FUTURE_TOLERANCE = timedelta(minutes=1)
RETRY_AFTER = timedelta(seconds=1)
SWEEP = "sweep"  # the heap entry that looks for silent devices
SWEEP_EVERY = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class Keyed:
    """An event with its idempotency key: writing the same key twice stores it once."""

    key: str
    event: Event


class Engine:
    def __init__(
        self,
        *,
        plans: Mapping[str, Plan],
        deadlines: Deadlines,
        projection: Projection | None = None,
        feeds: Mapping[str, Feed] | None = None,
        debounce: Debounce | None = None,
        notices: NoticePolicy | None = None,
        correlation: Correlation | None = None,
        routines: Mapping[str, Routine] | None = None,
        event_plans: Mapping[str, EventPlan] | None = None,
        retract_within: timedelta = RETRACT_WITHIN,
    ) -> None:
        self.plans = dict(plans)
        self.deadlines = deadlines
        self.projection = projection or Projection()
        self.feeds = dict(feeds or {})
        self.debounce = debounce or Debounce()
        # one heap for everything timed; entries name an incident ("i:"), an alarm waiting out
        # its raise delay or hysteresis ("a:"), a rectification item's reminders ("r:"), or the
        # stale-device sweep; superseded entries are skipped by their version
        self._heap: list[tuple[datetime, int, str, int]] = []
        self._versions: dict[str, int] = {}
        self._started: tuple[datetime | None, datetime] | None = None  # (last activity, start)
        self._order = itertools.count()
        for incident in self.projection.incidents.open():
            self._schedule(incident)
        for alarm in self.projection.alarms.alarms.values():
            self._schedule_alarm(alarm)
        # notification timers (escalations, digests) keep their own heaps; None: decide none
        self.dispatcher = Dispatcher(self.projection, notices)
        self.decisions = Decisions(
            plans=self.plans,
            deadlines=deadlines,
            projection=self.projection,
            dispatcher=self.dispatcher,
            retract_within=retract_within,
        )
        self.correlator = Correlator(
            plans=self.plans, projection=self.projection, decisions=self.decisions, rules=correlation
        )
        for item in self.projection.register.items.values():
            self._schedule_item(item)
        self.timetable = Timetable(
            routines=routines or {},
            event_plans=event_plans or {},
            deadlines=deadlines,
            decisions=self.decisions,
        )

    # -- state ---------------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        return self.projection.seq

    def incident(self, incident_id: str) -> Incident:
        return self.decisions.incident(incident_id)

    def status(self, incident: Incident, now: datetime) -> list[Status]:
        """Every occurrence of the incident's obligations, for showing and reporting: its cost
        grows with the occurrences. Deciding uses `current`."""
        return history(incident, self.deadlines, now)

    def current(self, incident: Incident, now: datetime) -> list[Status]:
        """What the incident owes now: each one-off obligation, and of a recurring one its latest
        occurrence met and those since; the same cost on day 90 as on day 1 (boards, lists)."""
        return evaluate(incident, self.deadlines, now)

    def apply(self, event: Event, seq: int) -> None:
        """Fold in a persisted event and re-arm whatever it touched."""
        touched = self.projection.apply(event, seq)
        self.correlator.applied(event)
        if isinstance(touched, Incident):
            self._schedule(touched)
        elif isinstance(touched, Alarm):
            self._schedule_alarm(touched)
        elif isinstance(touched, Item):
            self._schedule_item(touched)
        self.dispatcher.applied(event)

    def load(self, events: Iterable[tuple[int, Event]]) -> None:
        """Replay many persisted events, arming deadlines once at the end (restart)."""
        touched: dict[str, Incident | Alarm | Item] = {}
        for seq, event in events:
            item = self.projection.apply(event, seq)
            self.correlator.applied(event)
            if item is not None:
                key = item.key if isinstance(item, Alarm) else f"{type(item).__name__}:{item.id}"
                touched[key] = item
        for item in touched.values():
            if isinstance(item, Incident):
                self._schedule(item)
            elif isinstance(item, Item):
                self._schedule_item(item)
            else:
                self._schedule_alarm(item)
        self.dispatcher.rebuild()

    def started(self, now: datetime) -> None:
        """The engine starts running at `now`: device silence counts from here."""
        self.projection.alarms.started(now)
        # a deadline that passed before now passed while the engine was not running
        self._started = (self.projection.last_at, now)
        self.timetable.started(now, self.projection.last_at)
        if any(feed.stale_after for feed in self.feeds.values()):
            self._versions[SWEEP] = 1
            self._push(now + SWEEP_EVERY, SWEEP, 1)

    # -- time ----------------------------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        """When `tick` next has something to do."""
        heap = self._heap
        while heap and self._versions.get(heap[0][2]) != heap[0][3]:
            heapq.heappop(heap)  # superseded by a later schedule of the same incident
        candidates = (
            heap[0][0] if heap else None,
            self.dispatcher.next_wakeup(),
            self.timetable.next_wakeup(),
        )
        times = [t for t in candidates if t is not None]
        return min(times) if times else None

    def tick(self, now: datetime) -> list[Keyed]:
        """Everything due by `now`: warnings, breaches, confirmed alarms, stale devices.

        The cost depends on what is due, not on how much is armed."""
        out: list[Keyed] = []
        while self._heap and self._heap[0][0] <= now:
            _, _, ref, version = heapq.heappop(self._heap)
            if self._versions.get(ref) != version:
                continue
            if ref == SWEEP:
                stale = self.projection.alarms.stale(self.feeds, now, drill=False)
                out += [Keyed(f"stale:{e.device}@{now.isoformat()}", e) for e in stale]
                self._push(now + SWEEP_EVERY, ref, version)
                continue
            kind, name = ref.split(":", 1)
            if kind == "a":
                fired = self._alarm_events(self.projection.alarms.alarms[name], now)
            elif kind == "r":
                fired = self._item_events(self.projection.register.items[name], now)
            else:
                fired = self._timer_events(self.projection.incidents[name], now)
            if fired:
                out.extend(fired)
                # applying these re-arms what they touched; should they fail to be stored, retry
                self._push(now + RETRY_AFTER, ref, version)
            elif kind == "a":
                self._versions.pop(ref, None)
            elif kind == "r":
                self._schedule_item(self.projection.register.items[name], not_before=now + RETRY_AFTER)
            else:
                self._schedule(self.projection.incidents[name], not_before=now + RETRY_AFTER)
        out += [Keyed(key, event) for key, event in self.timetable.tick(now)]
        out += [Keyed(key, event) for key, event in self.dispatcher.tick(now)]
        return out

    def _alarm_events(self, alarm: Alarm, now: datetime) -> list[Keyed]:
        confirmed = self.projection.alarms.confirm(alarm, now, self.debounce, drill=alarm.drill)
        if confirmed is None:
            return []
        keyed = self.correlator.correlate([confirmed], now)
        return [Keyed(f"confirm:{alarm.key}#{alarm.observations}:{n}", e) for n, e in enumerate(keyed)]

    def _schedule_alarm(self, alarm: Alarm) -> None:
        ref = f"a:{alarm.key}"
        when = self.projection.alarms.due(alarm, self.debounce)
        if when is None:
            self._versions.pop(ref, None)
            return
        version = self._versions.get(ref, 0) + 1
        self._versions[ref] = version
        self._push(when, ref, version)

    def _timer_events(self, incident: Incident, now: datetime) -> list[Keyed]:
        out = []
        for status in self.current(incident, now):
            ob, due = status.obligation, status.due_at
            assert due is not None or status.state is State.PENDING or status.state is State.WAIVED
            if status.state is State.WARNING and status.key not in incident.warned and due:
                event: Event = ObligationWarned(
                    at=now,
                    incident=incident.id,
                    actor=ENGINE_ACTOR,
                    drill=incident.drill,
                    obligation=ob.id,
                    occurrence=status.occurrence,
                    due_at=due,
                    notify=incident.plan.targets(ob, "warning", incident.severity),
                )
                out.append(Keyed(f"{incident.id}/{ob.id}#{status.occurrence}/warned", event))
            elif status.state is State.BREACHED and status.key not in incident.breached and due:
                idle = self._started is not None and due < self._started[1]
                event = ObligationBreached(
                    at=due,  # a breach is dated at its due time, however late it is recorded
                    incident=incident.id,
                    actor=ENGINE_ACTOR,
                    drill=incident.drill,
                    obligation=ob.id,
                    occurrence=status.occurrence,
                    due_at=due,
                    late_seconds=(now - due).total_seconds(),
                    notify=incident.plan.targets(ob, "breach", incident.severity),
                    recorded_at=now,
                    idle_from=self._started[0] if idle and self._started else None,
                )
                out.append(Keyed(f"{incident.id}/{ob.id}#{status.occurrence}/breached", event))
        return out

    def _schedule(self, incident: Incident, not_before: datetime | None = None) -> None:
        """Put the incident's next warning or deadline on the heap, replacing any earlier entry.

        `not_before` guards the timer loop: a time that fired nothing is not tried again at once."""
        ref = f"i:{incident.id}"
        version = self._versions.get(ref, 0) + 1
        self._versions[ref] = version
        if incident.closed:
            return
        times = []
        for status in self.current(incident, incident.received_at):
            if status.due_at is None or status.met_at is not None or status.state is State.WAIVED:
                continue
            if status.key in incident.breached:
                continue
            times.append(status.due_at)
            if status.key not in incident.warned and status.warn_at is not None:
                times.append(status.warn_at)
        if times:
            when = min(times)
            self._push(max(when, not_before) if not_before else when, ref, version)

    def _item_events(self, item: Item, now: datetime) -> list[Keyed]:
        incident = self.projection.incidents[item.incident]
        due = rectification.due_events(item, incident, self.deadlines, now, ENGINE_ACTOR)
        return [Keyed(key, event) for key, event in due]

    def _schedule_item(self, item: Item, not_before: datetime | None = None) -> None:
        """Put the item's next reminder or overdue notice on the heap, like `_schedule`."""
        ref = f"r:{item.id}"
        version = self._versions.get(ref, 0) + 1
        self._versions[ref] = version
        when = rectification.next_wakeup(item, self.projection.incidents[item.incident], self.deadlines)
        if when is not None:
            self._push(max(when, not_before) if not_before else when, ref, version)

    def _push(self, when: datetime, ref: str, version: int) -> None:
        heapq.heappush(self._heap, (when, next(self._order), ref, version))

    # -- alarms ----------------------------------------------------------------------------------

    def ingest(self, feed: str, decoded: Decoded, arrival: Arrival, *, drill: bool = False) -> list[Keyed]:
        """What a decoded message means: alarm changes, and incidents opened or attached to."""
        source = self.feeds.get(feed) or Feed(name=feed)
        decoded = decoded_sanitised(decoded)  # devices' text made harmless, cut when too long
        events = self.projection.alarms.observe(source, decoded, arrival, self.debounce, drill=drill)
        keyed = self.correlator.correlate(events, arrival.received_at)
        return [Keyed(f"{arrival.id}:{n}", event) for n, event in enumerate(keyed)]

    # -- commands ------------------------------------------------------------------------------

    def handle(self, command: Command, now: datetime) -> list[Keyed]:
        """Check a command against the current state and return the events it causes.

        Nothing changes until the caller has stored the events and applied them."""
        command = sanitised(command)  # hostile text made harmless, over-long text refused
        at = command.at or now
        if at > now + FUTURE_TOLERANCE:
            raise Rejected("future", f"{at.isoformat()} is in the future", at=at)
        if isinstance(command, DUTY_COMMANDS):
            events = self.timetable.decide(command, at)
        else:
            events = self.decisions.decide(command, at)
        return [Keyed(f"{command.request_id}:{n}", event) for n, event in enumerate(events)]
