"""Event plans (活动保障方案) as data: what a planned event owes, anchored to its start and end.

A meeting needs its room set up an hour before the start and cleared within 30 minutes of the
end; a large event needs a full drill 3 days before, hourly leadership rounds while it runs and a
review report within 2 working days after. Tasks name their anchor (`60m before start`,
`2wd after end`) or recur `every` so long while the event runs.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from dutydesk.playbooks.durations import Duration
from dutydesk.playbooks.plans import DurationField, Identifier, Notify, TextField
from dutydesk.playbooks.routines import OffsetField, Source, _unknown_role
from dutydesk.playbooks.typeddata import Check, Parse, dumps, model
from dutydesk.playbooks.vocab import ROLES
from dutydesk.playbooks.yamlfile import SourceError, SourceErrors, line_in, line_of, read_model

_ANCHORED = re.compile(r"^\s*(.+?)\s+(before|after)\s+(start|end)\s*$")


class Anchor(enum.StrEnum):
    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class Anchored:
    """A time limit relative to the event: `60m before start`, `30m after end`, `2wd after end`."""

    amount: Duration
    before: bool
    anchor: Anchor

    @classmethod
    def parse(cls, text: str) -> Anchored:
        match = _ANCHORED.match(str(text))
        if match is None:
            raise ValueError(f"cannot read {text!r}; write e.g. '60m before start' or '2wd after end'")
        amount, before = Duration.parse(match.group(1)), match.group(2) == "before"
        if amount.is_workdays and before:
            raise ValueError(f"{text!r}: working days count forwards only ('2wd after end')")
        return cls(amount, before, Anchor(match.group(3)))

    def __str__(self) -> str:
        return f"{self.amount} {'before' if self.before else 'after'} {self.anchor.value}"


def _anchored(value: Any) -> Anchored:
    if not isinstance(value, str):
        raise TypeError(f"cannot read {value!r}; write e.g. '60m before start' or '2wd after end'")
    return Anchored.parse(value)


AnchoredField = Annotated[Anchored, Parse(_anchored, str)]


@model
class Task:
    """One thing the event owes: once (`due`), or each `every` so long from start to end."""

    id: Identifier
    title: TextField
    role: str
    due: AnchoredField | None = None
    every: DurationField | None = None
    window: DurationField | None = None  # rounds: how early a round counts (default 30m)
    warning: OffsetField | None = None  # relative to the due time or the round's time
    breach: OffsetField | None = None
    notify: Notify | None = None

    def __post_init__(self) -> None:
        if (self.due is None) == (self.every is None):
            raise ValueError("give either 'due' (once) or 'every' (rounds while the event runs)")
        if self.every is not None and (self.every.is_workdays or self.every.amount == 0):
            raise ValueError("'every' is a positive number of minutes or hours")


@model
class EventPlan:
    id: Identifier
    title: TextField
    description: TextField | None = None
    notify: Notify = Notify(warning=("duty_officer",), breach=("duty_officer", "leader_on_duty"))
    tasks: Annotated[tuple[Task, ...], Check(min_length=1)]

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    def targets(self, task: Task, stage: str) -> tuple[str, ...]:
        own = getattr(task.notify, stage, None) if task.notify is not None else None
        return tuple(own if own is not None else getattr(self.notify, stage) or ())

    def fingerprint(self) -> str:
        return hashlib.sha256(dumps(self).encode()).hexdigest()[:16]


def parse_event_plan(text: str, path: str, *, roles: Collection[str] = ROLES) -> EventPlan:
    """Read one event plan from YAML text; raise SourceErrors listing every problem found."""
    plan, root = read_model(text, path, EventPlan, "event plan")
    problems: list[tuple[list[int | str], str]] = []
    seen: set[str] = set()
    for index, task in enumerate(plan.tasks):
        if task.id in seen:
            problems.append((["tasks", index, "id"], f"duplicate task id {task.id!r}"))
        seen.add(task.id)
        named: list[tuple[str, tuple[str, ...]]] = [("role", (task.role,))]
        if task.notify is not None:
            named += [("notify", task.notify.warning or ()), ("notify", task.notify.breach or ())]
        problems += [
            (["tasks", index, key], _unknown_role(r, roles))
            for key, rs in named
            for r in rs
            if r not in roles
        ]
    for stage in ("warning", "breach"):
        named_here = getattr(plan.notify, stage) or ()
        problems += [(["notify", stage], _unknown_role(r, roles)) for r in named_here if r not in roles]
    if problems:
        raise SourceErrors([SourceError(path, line_of(root, loc), msg) for loc, msg in problems])
    return plan


def load_event_plans(
    sources: Iterable[Source], *, roles: Collection[str] = ROLES
) -> tuple[dict[str, EventPlan], list[SourceError]]:
    plans: dict[str, EventPlan] = {}
    errors: list[SourceError] = []
    for source in sources:
        try:
            plan = parse_event_plan(source.text, source.path, roles=roles)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            continue
        if plan.id in plans:
            line = line_in(source.text, ["id"])
            errors.append(SourceError(source.path, line, f"duplicate event plan id {plan.id!r}"))
            continue
        plans[plan.id] = plan
    return plans, errors
