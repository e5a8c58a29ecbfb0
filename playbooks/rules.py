"""The kinds of obligation rule, as closed unions: how an obligation falls due (`Timing`) and what
meets it (`MetBy`). Code that treats rules differently matches on these and ends in `assert_never`,
so a new kind is one class here, and mypy lists every place that must learn about it.

The plan file keeps its flat fields (`due`, `urgent_due`, `every`, `until`, `met_by`); an
`Obligation` reads them into one member of each union (`Obligation.timing`, `Obligation.meets`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dutydesk.playbooks.durations import Duration, Unit
from dutydesk.playbooks.vocab import Milestone

Problem = tuple[list[int | str], str]  # (where in the obligation, message)


@dataclass(frozen=True, slots=True)
class Once:
    """Owed once, `due` after its anchor (`urgent_due` when the incident is urgent). Met late, it
    stays late; once the incident closes, time stops running against it."""

    due: Duration
    urgent_due: Duration | None = None

    def limit(self, urgent: bool) -> Duration:
        return self.urgent_due if urgent and self.urgent_due is not None else self.due

    def stop(self, milestones: Mapping[str, datetime]) -> datetime | None:
        return milestones.get(Milestone.CLOSED)

    def problems(self) -> Iterable[Problem]:
        if self.urgent_due is not None and not no_longer(self.urgent_due, self.due):
            yield (
                ["urgent_due"],
                f"the urgent limit {self.urgent_due} must be in the same unit as and no longer "
                f"than {self.due}",
            )


@dataclass(frozen=True, slots=True)
class Recurring:
    """Owed every `every` from its anchor until the `until` milestone (or the close).

    The rule: each update starts the next period; each further whole period without one is a
    further breach, and the next period starts at the due time it missed. Received 14:00 with an
    hourly report and no update by 16:30: the reports due 15:00 and 16:00 are missed, the next is
    due 17:00. A period whose due time falls after the stop is waived."""

    every: Duration
    until: Milestone = Milestone.STABILISED

    def limit(self, urgent: bool) -> Duration:
        return self.every

    def period(self) -> timedelta:
        return self.every.wall()

    def stop(self, milestones: Mapping[str, datetime]) -> datetime | None:
        stops = [t for t in (milestones.get(self.until), milestones.get(Milestone.CLOSED)) if t is not None]
        return min(stops) if stops else None

    def problems(self) -> Iterable[Problem]:
        if self.every.is_workdays or self.every.amount == 0:
            yield ["every"], "a recurring interval is a positive number of minutes or hours"


Timing = Once | Recurring


@dataclass(frozen=True, slots=True)
class ByHand:
    """Ticked off by the duty officer (`incident ID done OBLIGATION`)."""


@dataclass(frozen=True, slots=True)
class ByUpdate:
    """Met by a progress update (已采取措施 / 当前状态 / 下一步计划)."""


@dataclass(frozen=True, slots=True)
class ByMilestone:
    """Met when the incident reaches `milestone`."""

    milestone: str


MetBy = ByHand | ByUpdate | ByMilestone

MET_BY_UPDATE = "update"
MET_BY_MANUAL = "manual"


def met_by(text: str) -> MetBy:
    if text == MET_BY_MANUAL:
        return ByHand()
    if text == MET_BY_UPDATE:
        return ByUpdate()
    return ByMilestone(text)


def waived(due: datetime, stop: datetime | None) -> bool:
    """An occurrence not met is no longer owed when time stopped running before its due time;
    one rule for the engine, `incidents show`, the KPIs and the reports."""
    return stop is not None and due > stop


def _wall_or_days(duration: Duration) -> tuple[bool, int]:
    minutes = duration.amount if duration.unit is Unit.MINUTES else duration.amount * 60
    return duration.is_workdays, duration.amount if duration.is_workdays else minutes


def no_longer(a: Duration, b: Duration) -> bool:
    (a_days, a_len), (b_days, b_len) = _wall_or_days(a), _wall_or_days(b)
    return a_days == b_days and a_len <= b_len


def shorter(a: Duration, b: Duration) -> bool:
    (a_days, a_len), (b_days, b_len) = _wall_or_days(a), _wall_or_days(b)
    return a_days == b_days and a_len < b_len
