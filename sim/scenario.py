"""Drill scenarios as YAML: a timeline of injections in real device formats and manual reports,
scripted responders, and the expectations a drill is scored against."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from dutydesk.playbooks.plans import Identifier, SeverityField, TextField
from dutydesk.playbooks.typeddata import Check, Parse, model
from dutydesk.playbooks.vocab import Source
from dutydesk.playbooks.yamlfile import SourceError, SourceErrors, line_of, read_model

_DELAY = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*(?:(\d+)\s*s)?\s*$")


def _delay(value: Any) -> timedelta:
    """`90s`, `2m`, `1h30m` -> timedelta."""
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DELAY.match(value) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"cannot read {value!r}; write e.g. 30s, 2m, 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


Delay = Annotated[timedelta, Parse(_delay, lambda d: f"{int(d.total_seconds())}s")]


@model
class Publication:
    """A message in a device's own format (a mapping is sent as compact JSON). `{n}` in the topic
    or the payload is the repetition's number."""

    topic: str
    payload: str | dict[str, Any]
    retain: bool = False

    def body(self, n: int) -> bytes:
        if isinstance(self.payload, dict):
            text = json.dumps(self.payload, ensure_ascii=False, separators=(",", ":"))
        else:
            text = self.payload
        return text.replace("{n}", str(n)).encode()


@model
class Report:
    """A manual report: a phone call, the OA system, someone on site."""

    plan: str
    title: str
    source: Source = Source.PHONE
    location: str | None = None
    urgent: bool = False
    severity: SeverityField | None = None


@model
class Repeat:
    count: Annotated[int, Check(ge=1, le=100_000)]
    every: Delay


@model
class Injection:
    at: Delay
    publish: Publication | None = None
    report: Report | None = None
    repeat: Repeat | None = None

    def __post_init__(self) -> None:
        if (self.publish is None) == (self.report is None):
            raise ValueError("an injection either publishes a message or makes a report")

    def times(self) -> Iterable[tuple[timedelta, int]]:
        """(when, repetition number) for every occurrence."""
        if self.repeat is None:
            yield self.at, 0
            return
        for n in range(self.repeat.count):
            yield self.at + self.repeat.every * n, n


ACTIONS = ("report", "arrive", "update", "stabilise", "investigated", "done", "close", "urgent")


@model
class Response:
    """A scripted responder: once an incident of `plan` opens, do this `after` its receipt
    (and again `every` so often, `until` that long after receipt)."""

    plan: str  # a plan id, or "*" for every incident
    after: Delay
    do: Literal["report", "arrive", "update", "stabilise", "investigated", "done", "close", "urgent"]
    obligation: str | None = None  # for "done"
    every: Delay | None = None
    until: Delay | None = None

    def __post_init__(self) -> None:
        if (self.do == "done") != (self.obligation is not None):
            raise ValueError("'done' names the obligation it ticks off, and only 'done' does")
        if self.until is not None and self.every is None:
            raise ValueError("'until' belongs to a recurring response ('every')")


@model
class Expectation:
    """What the drill should show: this plan's obligation met (or breached), or this many
    incidents of the plan on the board (an alarm flood must not splinter it)."""

    plan: str
    obligation: str | None = None
    state: Literal["met", "breached"] = "met"
    incidents: Annotated[int, Check(ge=0)] | None = None

    def __post_init__(self) -> None:
        if (self.obligation is None) == (self.incidents is None):
            raise ValueError("an expectation names either an 'obligation' or a number of 'incidents'")


@model
class ScenarioFeed:
    name: Identifier
    topic: str | tuple[str, ...]
    codec: str
    site: str | None = None
    building: str | None = None
    floor: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@model
class Scenario:
    id: Identifier
    title: TextField
    description: TextField | None = None
    duration: Delay
    seed: int = 1
    feeds: tuple[ScenarioFeed, ...] = ()
    injections: Annotated[tuple[Injection, ...], Check(min_length=1)]
    responders: tuple[Response, ...] = ()
    expect: tuple[Expectation, ...] = ()


def parse_scenario(text: str, path: str, *, plans: Iterable[str]) -> Scenario:
    """Read one scenario; every problem is reported as PATH:LINE: message."""
    scenario, root = read_model(text, path, Scenario, "scenario")
    known = set(plans)
    problems: list[tuple[list[int | str], str]] = []
    for n, injection in enumerate(scenario.injections):
        if injection.report and injection.report.plan not in known:
            problems.append((["injections", n, "report", "plan"], f"unknown plan {injection.report.plan!r}"))
        if injection.at > scenario.duration:
            problems.append((["injections", n, "at"], "after the end of the scenario"))
    for n, response in enumerate(scenario.responders):
        if response.plan != "*" and response.plan not in known:
            problems.append((["responders", n, "plan"], f"unknown plan {response.plan!r}"))
    for n, expectation in enumerate(scenario.expect):
        if expectation.plan not in known:
            problems.append((["expect", n, "plan"], f"unknown plan {expectation.plan!r}"))
    if problems:
        raise SourceErrors([SourceError(path, line_of(root, loc), message) for loc, message in problems])
    return scenario


def bundled_scenarios() -> dict[str, Path]:
    folder = resources.files("dutydesk.sim").joinpath("library")
    return {
        entry.name.removesuffix(".yaml"): Path(str(entry))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    }


def load_scenario(name_or_path: str, *, plans: Iterable[str]) -> Scenario:
    """A bundled scenario by name, or a scenario file."""
    path = bundled_scenarios().get(name_or_path) or Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        names = ", ".join(bundled_scenarios())
        raise SourceErrors(
            [SourceError(str(path), 1, f"cannot read ({exc.strerror}); bundled: {names}")]
        ) from None
    except UnicodeDecodeError:
        raise SourceErrors([SourceError(str(path), 1, "not UTF-8: save it as UTF-8")]) from None
    return parse_scenario(text, str(path), plans=plans)
