"""What notifying people has to remember, folded from the event log, and the policies it runs on.

Pure. The book holds the duty roster, the breaches nobody has acknowledged yet (they escalate),
the items waiting to be sent to each role (they go out singly or as one digest), and the
deliveries not finished yet (a restart resumes them). `playbooks/dispatch.py` decides from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dutydesk.playbooks.events import (
    BreachAcknowledged,
    BreachEscalated,
    Event,
    MilestoneReached,
    NotificationAttempted,
    NotificationFailed,
    NotificationQueued,
    ObligationBreached,
    ObligationMet,
    ObligationWarned,
    RectificationOverdue,
    RectificationReminder,
    RosterImported,
    RosterOverridden,
)
from dutydesk.playbooks.roster import Roster, Shift
from dutydesk.playbooks.vocab import Milestone

BreachKey = tuple[str, str, int]  # incident, obligation, occurrence
BucketKey = tuple[str, bool]  # role, drill
DeliveryKey = tuple[str, str, bool]  # notification, target, to the fallback


@dataclass(frozen=True, slots=True)
class NoticePolicy:
    """How notifications are decided. `delays[i]` is the wait from chain level i to level i+1;
    level 0 is the breach's own notification."""

    digest_interval: timedelta = timedelta(minutes=1)
    chain: tuple[str, ...] = ("duty_officer", "leader_on_duty", "centre_leadership")
    delays: tuple[timedelta, ...] = (timedelta(minutes=10), timedelta(minutes=20))
    fallback_tag: str = "fallback"
    drill_tag: str = "drill"

    def __post_init__(self) -> None:
        if len(self.delays) != max(len(self.chain) - 1, 0):
            raise ValueError(
                f"the escalation chain has {len(self.chain)} roles and so needs "
                f"{max(len(self.chain) - 1, 0)} delays, not {len(self.delays)}"
            )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts per target before the fallback, with exponential backoff between them."""

    attempts: int = 3
    backoff: timedelta = timedelta(seconds=5)
    factor: float = 3.0
    ceiling: timedelta = timedelta(minutes=5)

    def delay(self, attempt: int) -> timedelta | None:
        """The wait after failed attempt number `attempt` (from 1), or None: give up."""
        if attempt >= self.attempts:
            return None
        return min(self.backoff * self.factor ** (attempt - 1), self.ceiling)


@dataclass(slots=True)
class OpenBreach:
    """A breach nobody has acknowledged: the chain level it has reached, and since when."""

    due_at: datetime
    level: int
    since: datetime
    drill: bool


@dataclass(slots=True)
class Delivery:
    """A delivery under way to one target, of the notification stored at `seq`."""

    seq: int
    role: str
    incident: str | None
    drill: bool
    attempts: int = 0


@dataclass(slots=True)
class NoticeBook:
    roster: Roster = field(default_factory=Roster)
    breaches: dict[BreachKey, OpenBreach] = field(default_factory=dict)
    # items waiting per bucket by their ref, oldest first
    pending: dict[BucketKey, dict[str, dict[str, Any]]] = field(default_factory=dict)
    last_sent: dict[BucketKey, datetime] = field(default_factory=dict)
    deliveries: dict[DeliveryKey, Delivery] = field(default_factory=dict)
    count: int = 0  # notifications queued so far; numbers the next one
    # where each incident's items wait, so that dropping them costs what the incident has pending,
    # not what everyone has (a replay without a notifier piles up every warning); may hold refs
    # already sent, which dropping skips
    _holding: dict[str, set[tuple[BucketKey, str]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for bucket, items in self.pending.items():
            for ref, item in items.items():
                self._hold(bucket, ref, item)

    def _hold(self, bucket: BucketKey, ref: str, item: dict[str, Any]) -> None:
        self.pending.setdefault(bucket, {})[ref] = item
        self._holding.setdefault(item["incident"] or "", set()).add((bucket, ref))

    def apply(self, event: Event, seq: int) -> None:
        if type(event) not in _FOLDED:
            return  # most of the log (alarms, updates, notes) is none of the book's business
        match event:
            case ObligationWarned():
                self._add(event, "warning")
            case ObligationBreached():
                key = (event.incident or "", event.obligation, event.occurrence)
                self.breaches[key] = OpenBreach(event.due_at, 0, event.noticed_at, event.drill)
                self._add(event, "breach")
            case BreachEscalated():
                breach = self.breaches.get((event.incident or "", event.obligation, event.occurrence))
                if breach is not None:
                    breach.level, breach.since = event.level, event.at
                self._add(event, "escalation", event.level)
            case BreachAcknowledged():
                key = (event.incident or "", event.obligation, event.occurrence)
                self.breaches.pop(key, None)
                self._drop(key[0], lambda item: _breach_of(item) == key and item["stage"] != "warning")
            case ObligationMet():
                key = (event.incident or "", event.obligation, event.occurrence)
                self.breaches.pop(key, None)
                self._drop(key[0], lambda item: _breach_of(item) == key)
            case MilestoneReached(milestone=Milestone.CLOSED):
                for key in [k for k in self.breaches if k[0] == event.incident]:
                    del self.breaches[key]
                self._drop(event.incident or "", lambda item: True)
            case NotificationQueued():
                self._queued(event, seq)
            case NotificationAttempted():
                key = (event.notification, event.target, event.fallback)
                delivery = self.deliveries.get(key)
                if delivery is not None:
                    if event.ok:
                        del self.deliveries[key]
                    else:
                        delivery.attempts = max(delivery.attempts, event.attempt)
            case NotificationFailed(settled=False):
                pass  # another destination of the target is still trying: the delivery goes on
            case NotificationFailed():
                delivery = self.deliveries.pop((event.notification, event.target, event.fallback), None)
                if delivery is not None and event.next_target:
                    self.deliveries[(event.notification, event.next_target, True)] = Delivery(
                        delivery.seq, delivery.role, delivery.incident, delivery.drill
                    )
            case RectificationReminder() | RectificationOverdue():
                self._add_item(event)
            case RosterImported(shifts=shifts):
                self.roster = self.roster.merged(Shift.from_dict(s) for s in shifts)
            case RosterOverridden(shift=shift):
                self.roster = self.roster.overridden(Shift.from_dict(shift))
            case _:
                pass

    def _add(
        self, event: ObligationWarned | ObligationBreached | BreachEscalated, stage: str, level: int = 0
    ) -> None:
        obligation, occurrence = event.obligation, event.occurrence
        ref = f"{event.incident}/{obligation}#{occurrence}/{stage}{level or ''}"
        item = {
            "ref": ref,
            "stage": stage,
            "incident": event.incident,
            "obligation": obligation,
            "occurrence": occurrence,
            "level": level,
            "at": event.at.isoformat(),
            "due_at": event.due_at.isoformat(),
        }
        for role in event.notify:
            self._hold((role, event.drill), ref, item)

    def _add_item(self, event: RectificationReminder | RectificationOverdue) -> None:
        """A register item's reminder or overdue notice, told like an obligation's."""
        if isinstance(event, RectificationOverdue):
            stage, ref = "rectification_overdue", f"{event.item}/overdue"
        else:
            stage, ref = "reminder", f"{event.item}/reminder{event.workdays_left}"
        item = {
            "ref": ref,
            "stage": stage,
            "incident": event.incident,
            "obligation": event.item,
            "obligation_title": {
                "zh": f"整改事项 {event.item}（责任人 {event.owner}）",
                "en": f"rectification item {event.item} (responsible: {event.owner})",
            },
            "occurrence": 1,
            "level": 0,
            "at": event.at.isoformat(),
            "due_at": event.due_at.isoformat(),
        }
        for role in event.notify:
            self._hold((role, event.drill), ref, item)

    def _drop(self, incident: str, unwanted: Callable[[dict[str, Any]], bool]) -> None:
        """Drop the incident's waiting items that `unwanted` picks."""
        held = self._holding.get(incident)
        if not held:
            return
        for bucket, ref in list(held):
            items = self.pending.get(bucket)
            item = items.get(ref) if items is not None else None
            if item is None:
                held.discard((bucket, ref))  # sent meanwhile
            elif unwanted(item):
                held.discard((bucket, ref))
                assert items is not None
                del items[ref]
                if not items:
                    del self.pending[bucket]
        if not held:
            del self._holding[incident]

    def _queued(self, event: NotificationQueued, seq: int) -> None:
        bucket = (event.role, event.drill)
        left = self.pending.get(bucket)
        if left is not None:
            for item in event.items:
                left.pop(item["ref"], None)
            if not left:
                del self.pending[bucket]
        if event.items:
            self.last_sent[bucket] = event.at
        self.count += 1
        for target in event.targets:
            self.deliveries[(event.notification, target, False)] = Delivery(
                seq, event.role, event.incident, event.drill
            )

    def open_breaches(self, incident: str) -> list[BreachKey]:
        return [key for key in self.breaches if key[0] == incident]

    # -- snapshot ------------------------------------------------------------------------------

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "roster": [s.to_dict() for s in self.roster.shifts],
            "breaches": [
                [*key, b.due_at.isoformat(), b.level, b.since.isoformat(), b.drill]
                for key, b in self.breaches.items()
            ],
            "pending": [[role, drill, list(items.values())] for (role, drill), items in self.pending.items()],
            "last_sent": [[role, drill, at.isoformat()] for (role, drill), at in self.last_sent.items()],
            "deliveries": [
                [*key, d.seq, d.role, d.incident, d.drill, d.attempts] for key, d in self.deliveries.items()
            ],
            "count": self.count,
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> NoticeBook:
        _time = datetime.fromisoformat
        return cls(
            roster=Roster(tuple(Shift.from_dict(s) for s in data["roster"])),
            breaches={
                (i, o, n): OpenBreach(_time(due), level, _time(since), drill)
                for i, o, n, due, level, since, drill in data["breaches"]
            },
            pending={
                (role, drill): {item["ref"]: item for item in items} for role, drill, items in data["pending"]
            },
            last_sent={(role, drill): _time(at) for role, drill, at in data["last_sent"]},
            deliveries={
                (n, target, fallback): Delivery(seq, role, incident, drill, attempts)
                for n, target, fallback, seq, role, incident, drill, attempts in data["deliveries"]
            },
            count=data["count"],
        )


_FOLDED = frozenset(
    {
        RectificationReminder,
        RectificationOverdue,
        ObligationWarned,
        ObligationBreached,
        BreachEscalated,
        BreachAcknowledged,
        ObligationMet,
        MilestoneReached,
        NotificationQueued,
        NotificationAttempted,
        NotificationFailed,
        RosterImported,
        RosterOverridden,
    }
)


def _breach_of(item: dict[str, Any]) -> BreachKey:
    return (item["incident"] or "", item["obligation"], item["occurrence"])
