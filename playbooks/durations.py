"""Time limits as plans write them: minutes and hours of wall-clock time, or working days."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import timedelta


class Unit(enum.StrEnum):
    MINUTES = "m"
    HOURS = "h"
    WORKDAYS = "wd"


_UNIT_WORDS = {
    Unit.MINUTES: ("m", "min", "mins", "minute", "minutes", "分", "分钟"),
    Unit.HOURS: ("h", "hr", "hour", "hours", "小时", "个小时"),
    Unit.WORKDAYS: (
        "wd",
        "workday",
        "workdays",
        "working day",
        "working days",
        "工作日",
        "个工作日",
    ),
}
_UNITS = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
_PATTERN = re.compile(r"^\s*(-?\d+)\s*([^\d\s].*?)\s*$")


@dataclass(frozen=True, slots=True)
class Duration:
    """An amount of minutes, hours or working days; never negative."""

    amount: int
    unit: Unit
    _wall: timedelta | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        wall = {Unit.MINUTES: timedelta(minutes=self.amount), Unit.HOURS: timedelta(hours=self.amount)}
        object.__setattr__(self, "_wall", wall.get(self.unit))

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read `30m`, `1h`, `3wd`, `15 minutes`, `3个工作日`."""
        match = _PATTERN.match(str(text))
        unit = _UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None:
            raise ValueError(
                f"cannot read duration {text!r}; write minutes, hours or working days, e.g. 30m, 1h, 3wd"
            )
        amount = int(match.group(1))
        if amount < 0:
            raise ValueError(f"duration {text!r} is negative")
        return cls(amount, unit)

    @property
    def is_workdays(self) -> bool:
        return self.unit is Unit.WORKDAYS

    def wall(self) -> timedelta:
        """The wall-clock length of a minute or hour limit."""
        if self._wall is None:
            raise ValueError("working days have no fixed wall-clock length")
        return self._wall

    def __str__(self) -> str:
        return f"{self.amount}{self.unit.value}"
