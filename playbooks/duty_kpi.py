"""KPI figures of routines and planned events: rounds done on time per routine, and events
supported on time (every task and round of the event met by its deadline).

Folded from the same kind of rows as the incident figures (`kpi.py`): per event kind a few
payload fields, read by time for the period. A round or task counts in the period its deadline
falls in (a breach is dated at its due time; a met one carries its due time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dutydesk.playbooks.dutybook import EVENT_PREFIX, ROUTINE_PREFIX
from dutydesk.playbooks.events import ObligationBreached, ObligationMet
from dutydesk.playbooks.kpi import Fact, Period

# (kind, at in microseconds since the epoch, incident, drill) and then these fields
DUTY_FACTS: dict[str, tuple[str, ...]] = {
    ObligationMet.kind: ("due_at", "obligation", "occurrence", "margin_seconds"),
    ObligationBreached.kind: ("due_at", "obligation", "occurrence"),
}


@dataclass(frozen=True, slots=True)
class DutyRate:
    """Occurrences of one routine, or planned events: done on time, done late, missed."""

    name: str
    on_time: int
    late: int
    missed: int

    @property
    def total(self) -> int:
        return self.on_time + self.late + self.missed

    @property
    def rate(self) -> float | None:
        return self.on_time / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class DutyKpi:
    rounds: tuple[DutyRate, ...]  # per routine
    events: DutyRate  # per event: on time when all its tasks were met by their deadlines


@dataclass(slots=True)
class _Tally:
    met: dict[tuple[str, int], float] = field(default_factory=dict)  # margin in seconds
    breached: set[tuple[str, int]] = field(default_factory=set)


def duty_kpi(rows: Iterable[Fact], period: Period) -> DutyKpi:
    """The figures of the rows (`DUTY_FACTS`, as the store's `fields` gives them) whose deadline
    falls in the period; the incidents' own obligations are left to `kpi.py`."""
    tally = _Tally()
    for kind, _, incident, drill, due_at, ref, occurrence, margin in rows:
        if incident is not None or drill or not ref.startswith((ROUTINE_PREFIX, EVENT_PREFIX)):
            continue
        due = datetime.fromisoformat(due_at).astimezone(UTC) if due_at else None
        if due is None or not period.start <= due < period.end:
            continue
        if kind == ObligationMet.kind:
            tally.met[(ref, occurrence)] = margin
        else:
            tally.breached.add((ref, occurrence))
    routines: dict[str, list[int]] = {}
    events: dict[str, bool] = {}
    for key in tally.met.keys() | tally.breached:
        ref = key[0]
        margin = tally.met.get(key)
        # a round logged (backdated) before its deadline was in time after all, even if the engine
        # had already called it missed
        outcome = 2 if margin is None else 0 if margin >= 0 else 1
        if ref.startswith(ROUTINE_PREFIX):
            routines.setdefault(ref.removeprefix(ROUTINE_PREFIX), [0, 0, 0])[outcome] += 1
        else:
            event = ref.removeprefix(EVENT_PREFIX).split("/", 1)[0]
            events[event] = events.get(event, True) and outcome == 0
    return DutyKpi(
        rounds=tuple(DutyRate(name, *counts) for name, counts in sorted(routines.items())),
        events=DutyRate("events", sum(events.values()), len(events) - sum(events.values()), 0),
    )
