"""Contingency plans (应急预案) as data: the plan model, and a YAML loader that reports every error
as `PATH:LINE: message`."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

if TYPE_CHECKING:
    import yaml

from dutydesk.playbooks.durations import Duration
from dutydesk.playbooks.rules import (
    MET_BY_MANUAL,
    MET_BY_REPORTS,
    MET_BY_UPDATE,
    MetBy,
    Once,
    Recurring,
    Timing,
    met_by,
    shorter,
)
from dutydesk.playbooks.typeddata import Check, Parse, ProblemsError, dumps, model, read
from dutydesk.playbooks.vocab import ROLES, Label, Milestone, Severity
from dutydesk.playbooks.yamlfile import SourceError, SourceErrors, line_in, line_of, load_yaml, read_model


def _severity(value: Any) -> Severity:
    if not isinstance(value, str):
        raise TypeError(f"should be a severity such as 'major', not {value!r}")
    return Severity.parse(value)


def _duration(value: Any) -> Duration:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError(f"should be a duration such as '15m', not {value!r}")
    return Duration.parse(str(value))


SeverityField = Annotated[Severity, Parse(_severity, lambda s: s.id)]
DurationField = Annotated[Duration, Parse(_duration, str)]
Identifier = Annotated[str, Check(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]


@dataclass(frozen=True, slots=True)
class Text:
    """Free text in Chinese and English; a plain string serves both."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return Label(self.zh, self.en).get(lang)

    @classmethod
    def read(cls, value: Any) -> Text:
        if isinstance(value, str):
            return cls(value, value)
        if isinstance(value, dict) and value.keys() and value.keys() <= {"zh", "en"}:
            only = next(iter(value.values()))
            zh, en = value.get("zh", only), value.get("en", only)
            if isinstance(zh, str) and isinstance(en, str):
                return cls(zh, en)
        raise ValueError(f"should be a text, or a mapping of 'zh' and 'en' texts, not {value!r}")

    def write(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


TextField = Annotated[Text, Parse(Text.read, Text.write)]


@model
class WarningRule:
    """When to warn before a deadline: at a fraction of the time allowed, or a lead time before it."""

    fraction: Annotated[float, Check(gt=0, lt=1)] | None = None
    before: DurationField | None = None

    def __post_init__(self) -> None:
        if (self.fraction is None) == (self.before is None):
            raise ValueError("give either 'fraction' or 'before'")


@model
class Notify:
    """Roles told when an obligation warns and when it is breached."""

    warning: tuple[str, ...] | None = None
    breach: tuple[str, ...] | None = None


@model
class Condition:
    """An obligation that applies only at a severity or above, or only when urgent."""

    severity: SeverityField | None = None
    urgent: bool | None = None


@model
class Obligation:
    id: Identifier
    title: TextField
    role: str
    after: str = Milestone.RECEIVED.value
    due: DurationField | None = None
    urgent_due: DurationField | None = None
    every: DurationField | None = None
    until: Milestone | None = None
    met_by: str = "manual"
    warning: WarningRule | None = None
    notify: Notify | None = None
    when: Condition | None = None
    guidance: TextField | None = None

    @functools.cached_property
    def timing(self) -> Timing:
        """How it falls due; the loader guarantees exactly one of `due` and `every`."""
        if self.every is not None:
            return Recurring(self.every, self.until or Milestone.STABILISED)
        assert self.due is not None
        return Once(self.due, self.urgent_due)

    @functools.cached_property
    def meets(self) -> MetBy:
        return met_by(self.met_by)

    @property
    def recurring(self) -> bool:
        return isinstance(self.timing, Recurring)

    def applies(self, severity: Severity, urgent: bool) -> bool:
        cond = self.when
        if cond is None:
            return True
        if cond.severity is not None and not severity.at_least(cond.severity):
            return False
        return cond.urgent is None or cond.urgent == urgent

    def limit(self, urgent: bool) -> Duration:
        """The time allowed: the urgent variant when urgent, the interval for recurring ones."""
        return self.timing.limit(urgent)


@model
class EscalationRule:
    """At this severity or above, these roles are told too (重大及以上同步报同级党委政府)."""

    severity: SeverityField
    notify: tuple[str, ...]


@model
class Triggers:
    alarms: tuple[str, ...] = ()  # alarm kinds or patterns that start the plan
    reports: tuple[str, ...] = ()  # report types (phone, OA, on site) that start it
    zones: tuple[str, ...] = ()  # if given, only alarms in these zones (patterns) start it


@model
class Specialist:
    name: TextField
    contact: str | None = None


@model
class Plan:
    id: Identifier
    title: TextField
    description: TextField | None = None
    triggers: Triggers = Triggers()
    severity: SeverityField = Severity.GENERAL
    warning: WarningRule = WarningRule(fraction=0.8)
    notify: Notify = Notify(warning=("duty_officer",), breach=("duty_officer", "leader_on_duty"))
    escalation: tuple[EscalationRule, ...] = ()
    measures: tuple[TextField, ...] = ()
    specialists: tuple[Specialist, ...] = ()
    obligations: Annotated[tuple[Obligation, ...], Check(min_length=1)]

    def obligation(self, obligation_id: str) -> Obligation:
        for obligation in self.obligations:
            if obligation.id == obligation_id:
                return obligation
        raise KeyError(obligation_id)

    def warning_for(self, obligation: Obligation) -> WarningRule:
        return obligation.warning or self.warning

    def targets(
        self, obligation: Obligation | None, stage: Literal["warning", "breach"], severity: Severity
    ) -> tuple[str, ...]:
        """Who is told at this stage: the obligation's roles (or the plan's), plus severity extras."""
        own = getattr(obligation.notify, stage, None) if obligation and obligation.notify else None
        roles = list(own if own is not None else getattr(self.notify, stage) or ())
        if stage == "breach":
            for rule in self.escalation:
                if severity.at_least(rule.severity):
                    roles.extend(rule.notify)
        return tuple(dict.fromkeys(roles))

    def fingerprint(self) -> str:
        return hashlib.sha256(dumps(self).encode()).hexdigest()[:16]


__all__ = ["MET_BY_MANUAL", "MET_BY_UPDATE", "Obligation", "Plan", "PlanSource", "load_plans", "parse_plan"]


# a plan file's problems: each `PATH:LINE: message`
PlanError = SourceError
PlanLoadError = SourceErrors


def parse_plan(text: str, path: str, *, roles: Collection[str] = ROLES) -> Plan:
    """Read one plan from YAML text; raise PlanLoadError listing every problem found: duplicate
    keys, the schema's complaints and the checks of what validated, all in one run."""
    try:
        plan, root = read_model(text, path, Plan, "plan")
    except SourceErrors as exc:
        salvaged = _salvage(text, path)
        if salvaged is None:
            raise
        partial, root, where = salvaged
        checks = _semantic_problems(partial, roles)
        more = [PlanError(path, line_of(root, _moved(loc, where)), msg) for loc, msg in checks]
        raise PlanLoadError([*exc.errors, *more]) from None
    problems = list(_semantic_problems(plan, roles))
    if problems:
        raise PlanLoadError([PlanError(path, line_of(root, loc), msg) for loc, msg in problems])
    return plan


def _salvage(text: str, path: str) -> tuple[Plan, yaml.Node | None, list[int]] | None:
    """The part of a plan that validates (the obligations that do, the plan's other keys that do),
    so that the checks of what is there run beside the schema's complaints; with where each kept
    obligation stood in the file. None when not even that much can be read."""
    try:
        data, root, _ = load_yaml(text, path)
    except SourceErrors:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("obligations"), list):
        return None
    kept, where = [], []
    for index, raw in enumerate(data["obligations"]):
        try:
            kept.append(read(Obligation, raw))
            where.append(index)
        except ProblemsError:
            continue
    rest = {key: value for key, value in data.items() if key != "obligations"}
    while True:  # leave out the plan's keys that do not validate, until the rest does
        try:
            return read(Plan, {**rest, "obligations": kept}), root, where
        except ProblemsError as exc:
            bad = {str(loc[0]) for loc, _ in exc.problems if loc} & rest.keys()
            if not bad:
                return None
            for name in bad:
                del rest[name]


def _moved(loc: list[int | str], where: list[int]) -> list[int | str]:
    """A salvaged plan's location as it stands in the file."""
    if len(loc) > 1 and loc[0] == "obligations" and isinstance(loc[1], int):
        return ["obligations", where[loc[1]], *loc[2:]]
    return loc


# each check a plan must pass, listed in one place: one piece on purpose
def _semantic_problems(plan: Plan, roles: Collection[str]) -> Iterable[tuple[list[int | str], str]]:  # noqa: C901
    """What the schema cannot see: references between obligations, roles, units and cycles."""
    milestones = {m.value for m in Milestone}
    ids: dict[str, int] = {}
    for index, ob in enumerate(plan.obligations):
        here: list[int | str] = ["obligations", index]
        if ob.id in ids:
            yield [*here, "id"], f"duplicate obligation id {ob.id!r}"
        ids.setdefault(ob.id, index)
    for index, ob in enumerate(plan.obligations):
        here = ["obligations", index]
        if ob.after not in milestones and ob.after not in ids:
            yield (
                [*here, "after"],
                (
                    f"unknown anchor {ob.after!r}; use a milestone "
                    f"({', '.join(sorted(milestones))}) or an obligation id of this plan"
                ),
            )
        if ob.after == ob.id:
            yield [*here, "after"], f"obligation {ob.id!r} cannot be anchored on itself"
        if ob.met_by not in milestones - {"received"} | {MET_BY_UPDATE, MET_BY_MANUAL} | MET_BY_REPORTS:
            yield (
                [*here, "met_by"],
                (
                    f"unknown met_by {ob.met_by!r}; use 'manual', 'update', "
                    "'report-first', 'report-follow', 'report-final' or a milestone"
                ),
            )
        elif ob.met_by == ob.after:
            yield [*here, "met_by"], "an obligation cannot be met by the milestone that starts it"
        if (ob.due is None) == (ob.every is None):
            yield here, "give either 'due' (once) or 'every' (recurring)"
        else:
            if ob.every is not None and ob.urgent_due is not None:
                yield [*here, "urgent_due"], "a recurring obligation has no urgent variant"
            elif ob.every is None and ob.until is not None:
                yield [*here, "until"], "'until' belongs to a recurring obligation ('every')"
            for within, message in ob.timing.problems():
                yield [*here, *within], message
        rule = ob.warning or plan.warning
        for limit in (ob.every, ob.due, ob.urgent_due):
            if rule.before is not None and limit is not None and not shorter(rule.before, limit):
                where: list[int | str] = [*here, "warning", "before"] if ob.warning else ["warning", "before"]
                yield (
                    where,
                    (
                        f"the warning lead time {rule.before} must be in the same unit as and "
                        f"shorter than the limit {limit} of obligation {ob.id!r}"
                    ),
                )
        for stage, named in _roles_of(ob):
            for role in named:
                if role not in roles:
                    yield [*here, *stage], f"unknown role {role!r}; known roles: {', '.join(roles)}"
    for stage_name in ("warning", "breach"):
        for role in getattr(plan.notify, stage_name) or ():
            if role not in roles:
                yield ["notify", stage_name], f"unknown role {role!r}"
    for index, esc in enumerate(plan.escalation):
        for role in esc.notify:
            if role not in roles:
                yield ["escalation", index, "notify"], f"unknown role {role!r}"
    yield from _cycles(plan, ids)


def _roles_of(ob: Obligation) -> Iterable[tuple[list[str], tuple[str, ...]]]:
    yield ["role"], (ob.role,)
    if ob.notify is not None:
        yield ["notify", "warning"], ob.notify.warning or ()
        yield ["notify", "breach"], ob.notify.breach or ()


def _cycles(plan: Plan, ids: dict[str, int]) -> Iterable[tuple[list[int | str], str]]:
    """Obligations anchored on each other in a ring can never start."""
    anchor = {ob.id: ob.after for ob in plan.obligations if ob.after in ids}
    reported: set[str] = set()
    for start, first in anchor.items():
        path, node = [start], first
        while node in anchor and node not in path:
            path.append(node)
            node = anchor[node]
        if node in path and not reported.intersection(path):
            ring = path[path.index(node) :]
            reported.update(ring)
            yield (
                ["obligations", ids[node], "after"],
                ("cycle between anchors: " + " -> ".join([*ring, node])),
            )


@dataclass(frozen=True, slots=True)
class PlanSource:
    """Where a plan came from, with its text: a bundled library file or one of the centre's own."""

    path: str
    text: str
    unreadable: str | None = None  # why the file could not be read (it is then left out)


def load_plans(
    sources: Iterable[PlanSource], *, roles: Collection[str] = ROLES
) -> tuple[dict[str, Plan], list[PlanError]]:
    """Parse every source; plan ids must be unique across them. Returns what loaded and all errors."""
    plans: dict[str, Plan] = {}
    where: dict[str, str] = {}
    errors: list[PlanError] = []
    for source in sources:
        if source.unreadable is not None:
            errors.append(PlanError(source.path, 1, source.unreadable))
            continue
        try:
            plan = parse_plan(source.text, source.path, roles=roles)
        except PlanLoadError as exc:
            errors.extend(exc.errors)
            continue
        if plan.id in plans:
            line = line_in(source.text, ["id"])
            errors.append(
                PlanError(source.path, line, f"duplicate plan id {plan.id!r} (also in {where[plan.id]})")
            )
            continue
        plans[plan.id], where[plan.id] = plan, source.path
    return plans, errors
