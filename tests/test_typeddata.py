"""Typed data: each declared type takes what TOML gives for it and refuses the rest, naming the key;
every problem of a file is reported at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Literal

import pytest

from dutydesk.playbooks.typeddata import Check, ProblemsError, Secret, dotted, dump, given, read


@dataclass(frozen=True, kw_only=True)
class Inner:
    floor: str | None = None


@dataclass(frozen=True, kw_only=True)
class Sample:
    name: Annotated[str, Check(pattern=r"^[a-z]+$")]
    port: Annotated[int, Check(ge=1, le=65535)] = 1883
    ratio: Annotated[float, Check(gt=0)] = 1.0
    on: bool = False
    path: Path = Path("x")
    secret: Secret | None = None
    day: date | None = None
    at: time | None = None
    wait: timedelta = timedelta(0)
    lang: Literal["zh", "en"] = "zh"
    topic: str | tuple[str, ...] = ()
    places: dict[str, Inner] = field(default_factory=dict)
    list_: tuple[Annotated[int, Check(ge=1)], ...] = ()

    def __post_init__(self) -> None:
        if self.name == "bad":
            raise ValueError("bad is not a name")


def test_each_type_takes_what_toml_gives() -> None:
    sample = read(
        Sample,
        {
            "name": "lifts",
            "port": 8883,
            "ratio": 2,
            "on": True,
            "path": "a/b",
            "secret": "pw",
            "day": date(2026, 10, 1),
            "at": "17:30",
            "wait": 1.5,
            "lang": "en",
            "topic": ["a/#", "b/#"],
            "places": {"L1": {"floor": "B1"}},
        },
    )
    assert sample.ratio == 2.0 and isinstance(sample.ratio, float)
    assert sample.path == Path("a/b") and sample.at == time(17, 30) and sample.wait == timedelta(seconds=1.5)
    assert sample.secret is not None and sample.secret.get_secret_value() == "pw" and "pw" not in repr(sample)
    assert sample.topic == ("a/#", "b/#") and sample.places == {"L1": Inner(floor="B1")}
    assert read(Sample, {"name": "x", "topic": "a/#", "day": "2026-10-01"}).day == date(2026, 10, 1)
    assert given(sample) >= {"name", "port"} and "list_" not in given(sample)


def test_every_problem_is_named_by_its_key_at_once() -> None:
    with pytest.raises(ProblemsError) as caught:
        read(
            Sample,
            {
                "name": "Lifts",
                "port": True,
                "ratio": 0,
                "wait": "ten minutes",
                "lang": "fr",
                "places": {"L1": {"floor": 3, "room": "x"}},
                "list_": [1, 0],
                "extra": 1,
            },
        )
    problems = {dotted(loc): why for loc, why in caught.value.problems}
    assert set(problems) == {
        "name",
        "port",
        "ratio",
        "wait",
        "lang",
        "places.L1.floor",
        "places.L1.room",
        "list_[1]",
        "extra",
    }
    assert problems["extra"] == "unknown key" and problems["places.L1.room"] == "unknown key"
    assert "true or false" not in problems["port"] and "an integer" in problems["port"]
    assert "seconds" in problems["wait"] and "'zh' or 'en'" in problems["lang"]


def test_required_keys_and_rules_across_fields() -> None:
    with pytest.raises(ProblemsError) as caught:
        read(Sample, {})
    assert caught.value.problems == [(("name",), "required")]
    with pytest.raises(ProblemsError) as caught:
        read(Sample, {"name": "bad"})
    assert caught.value.problems == [((), "bad is not a name")]
    with pytest.raises(ProblemsError) as caught:
        read(Sample, {"name": "x", "places": []})
    assert caught.value.problems[0][0] == ("places",)


def test_written_data_reads_back_the_same_for_every_bundled_plan_and_routine() -> None:
    from dutydesk.playbooks.library import bundled_sources
    from dutydesk.playbooks.plans import Plan, load_plans
    from dutydesk.playbooks.routines import Routine, parse_routine

    plans, errors = load_plans(bundled_sources())
    assert not errors and len(plans) > 5
    for plan in plans.values():
        again = read(Plan, dump(plan))
        assert again == plan and again.fingerprint() == plan.fingerprint()
    folder = Path(__file__).parents[1] / "playbooks" / "duty_library" / "routines"
    for file in folder.glob("*.yaml"):
        routine = parse_routine(file.read_text(encoding="utf-8"), str(file))
        assert read(Routine, dump(routine)) == routine
        assert "from" in dump(routine)["schedule"]  # written under its key, not the field's name


def test_none_only_where_declared() -> None:
    assert read(Sample, {"name": "x", "secret": None}).secret is None
    with pytest.raises(ProblemsError) as caught:
        read(Sample, {"name": None})
    assert caught.value.problems == [(("name",), "should be a string, not None")]
