"""Deciding what to send to whom now: escalation of unacknowledged breaches, and one message per
role per digest interval.

Pure and driven by the engine's clock, like the engine it belongs to: `tick` returns events for
the journal to store, and `applied` re-arms from the events once they are stored. A breach nobody
acknowledges moves up the escalation chain after the policy's delays (re-notifying everyone up to
the new level, plus the plan's severity targets such as the party committee and government);
whatever is pending for a role goes out as one message, a digest when there is more than one
item, and never more than one per role per interval, so fifty alarms at once give each role one
digest instead of fifty messages. Every warning and breach stays in the log regardless.
"""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime
from typing import Any

from dutydesk.playbooks.commands import Rejected
from dutydesk.playbooks.events import (
    BreachAcknowledged,
    BreachEscalated,
    Event,
    NotificationQueued,
    ObligationBreached,
    ObligationWarned,
    RectificationOverdue,
    RectificationReminder,
)
from dutydesk.playbooks.incidents import Incident, Projection
from dutydesk.playbooks.notices import BreachKey, BucketKey, NoticeBook, NoticePolicy

NOTIFIER_ACTOR = "notifier"


class Dispatcher:
    """Arms and fires the notification timers of one engine; inert without a policy (a command
    line process decides nothing on its own)."""

    def __init__(self, projection: Projection, policy: NoticePolicy | None) -> None:
        self.projection = projection
        self.policy = policy
        self._escalations: list[tuple[datetime, int, BreachKey]] = []
        self._flushes: list[tuple[datetime, int, BucketKey]] = []
        self._armed: set[BucketKey] = set()
        self._order = itertools.count()
        self.rebuild()

    @property
    def book(self) -> NoticeBook:
        return self.projection.notices

    def rebuild(self) -> None:
        """Arm everything the book holds (start, restart)."""
        self._escalations.clear()
        self._flushes.clear()
        self._armed.clear()
        for key in self.book.breaches:
            self._arm_escalation(key)
        for bucket in self.book.pending:
            self._arm_flush(bucket)

    def applied(self, event: Event) -> None:
        """Re-arm what a stored event touched."""
        if self.policy is None:
            return
        if isinstance(event, ObligationWarned | ObligationBreached | BreachEscalated):
            for role in event.notify:
                self._arm_flush((role, event.drill))
            if not isinstance(event, ObligationWarned):
                self._arm_escalation((event.incident or "", event.obligation, event.occurrence))
        elif isinstance(event, RectificationReminder | RectificationOverdue):
            for role in event.notify:
                self._arm_flush((role, event.drill))
        elif isinstance(event, NotificationQueued):
            self._arm_flush((event.role, event.drill))

    def _arm_escalation(self, key: BreachKey) -> None:
        breach = self.book.breaches.get(key)
        if self.policy is None or breach is None or breach.level >= len(self.policy.delays):
            return
        when = breach.since + self.policy.delays[breach.level]
        heapq.heappush(self._escalations, (when, next(self._order), key))

    def _flush_due(self, bucket: BucketKey) -> datetime | None:
        items = self.book.pending.get(bucket)
        if self.policy is None or not items:
            return None
        first = datetime.fromisoformat(next(iter(items.values()))["at"])
        last = self.book.last_sent.get(bucket)
        return max(first, last + self.policy.digest_interval) if last else first

    def _arm_flush(self, bucket: BucketKey) -> None:
        when = self._flush_due(bucket)
        if when is not None and bucket not in self._armed:
            self._armed.add(bucket)
            heapq.heappush(self._flushes, (when, next(self._order), bucket))

    def next_wakeup(self) -> datetime | None:
        tops = [heap[0][0] for heap in (self._escalations, self._flushes) if heap]
        return min(tops) if tops else None

    def tick(self, now: datetime) -> list[tuple[str, Event]]:
        """(idempotency key, event) for every escalation and message due by `now`."""
        out: list[tuple[str, Event]] = []
        policy = self.policy
        if policy is None:
            return out
        escalated: set[BreachKey] = set()
        while self._escalations and self._escalations[0][0] <= now:
            _, _, key = heapq.heappop(self._escalations)
            breach = self.book.breaches.get(key)
            if breach is None or key in escalated or breach.level >= len(policy.delays):
                continue  # acknowledged, met, closed, or at the top of the chain
            when = breach.since + policy.delays[breach.level]
            if when > now:
                heapq.heappush(self._escalations, (when, next(self._order), key))
                continue
            escalated.add(key)
            event = self._escalate(key, breach.level + 1, breach.due_at, breach.drill, now)
            out.append((f"{key[0]}/{key[1]}#{key[2]}/escalated{breach.level + 1}", event))
        numbered = self.book.count
        while self._flushes and self._flushes[0][0] <= now:
            _, _, bucket = heapq.heappop(self._flushes)
            self._armed.discard(bucket)
            due = self._flush_due(bucket)
            if due is None:
                continue
            if due > now:
                self._arm_flush(bucket)
                continue
            numbered += 1
            notification = f"n{numbered}"
            out.append((f"notice:{notification}", self._message(notification, bucket, now)))
        return out

    def _escalate(self, key: BreachKey, level: int, due_at: datetime, drill: bool, now: datetime) -> Event:
        assert self.policy is not None
        incident = self.projection.incidents.get(key[0])
        roles = list(self.policy.chain[: level + 1])
        if incident is not None:
            for rule in incident.plan.escalation:
                if incident.severity.at_least(rule.severity):
                    roles.extend(rule.notify)
        return BreachEscalated(
            at=now,
            incident=key[0],
            actor=NOTIFIER_ACTOR,
            drill=drill,
            obligation=key[1],
            occurrence=key[2],
            due_at=due_at,
            level=level,
            notify=tuple(dict.fromkeys(roles)),
        )

    def _message(self, notification: str, bucket: BucketKey, now: datetime) -> NotificationQueued:
        assert self.policy is not None
        role, drill = bucket
        items = [self._describe(item) for item in self.book.pending[bucket].values()]
        holders = self.book.roster.holders(role, now)
        tags = tuple(dict.fromkeys(tag for shift in holders for tag in shift.tags))
        incidents = {item["incident"] for item in items}
        return NotificationQueued(
            at=now,
            incident=next(iter(incidents)) if len(incidents) == 1 else None,
            actor=NOTIFIER_ACTOR,
            drill=drill,
            notification=notification,
            role=role,
            items=tuple(items),
            recipients=tuple(shift.holder for shift in holders),
            # a drill only ever goes to the drill destinations, whoever is on shift
            targets=(self.policy.drill_tag,) if drill else tags or (self.policy.fallback_tag,),
            unstaffed=not tags,
        )

    def _describe(self, item: dict[str, Any]) -> dict[str, Any]:
        """The pending item with what a message needs to say about it."""
        incident = self.projection.incidents.get(item["incident"] or "")
        if incident is None:
            return item
        described = {
            **item,
            "title": incident.title,
            "location": incident.location,
            "severity": incident.severity.id,
        }
        if "obligation_title" not in item:  # a register item names itself
            try:
                title = incident.plan.obligation(item["obligation"]).title
            except KeyError:
                return item
            described["obligation_title"] = {"zh": title.zh, "en": title.en}
        return described

    def acknowledge(
        self, incident: Incident, obligation: str | None, *, at: datetime, actor: str
    ) -> list[Event]:
        """Acknowledge the incident's open breaches (all, or one obligation's)."""
        if obligation is not None and obligation not in {ob.id for ob in incident.plan.obligations}:
            raise Rejected(
                "unknown_obligation",
                f"plan {incident.plan.id} has no obligation {obligation!r}",
                obligation=obligation,
            )
        keys = [k for k in self.book.open_breaches(incident.id) if obligation is None or k[1] == obligation]
        if not keys:
            raise Rejected(
                "nothing_to_ack", f"incident {incident.id} has no unacknowledged breach", incident=incident.id
            )
        return [
            BreachAcknowledged(
                at=at,
                incident=incident.id,
                actor=actor,
                drill=incident.drill,
                obligation=key[1],
                occurrence=key[2],
            )
            for key in keys
        ]
