"""The working-day calendar: statutory holidays, adjusted working days (调休) and the counting rule.

The official schedule comes from the `chinesecalendar` package, which follows the State Council's
annual holiday notices and refuses years it does not know. The centre can add or correct days in a
local file, and may declare a year confirmed once it has entered that year's notice. Any date in a
year that is neither known to the package nor confirmed locally is counted by the plain weekday
rule and flagged provisional, never silently wrong.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar


class DayKind(enum.StrEnum):
    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    ADJUSTED_WORKDAY = "adjusted-workday"  # a weekend day worked in lieu (调休上班)

    @property
    def is_workday(self) -> bool:
        return self in (DayKind.WORKDAY, DayKind.ADJUSTED_WORKDAY)


@dataclass(frozen=True, slots=True)
class Day:
    date: date
    kind: DayKind
    provisional: bool
    name: str | None = None

    def describe(self) -> str:
        return f"{self.kind.value} (provisional)" if self.provisional else self.kind.value


@dataclass(frozen=True, slots=True)
class DayOverride:
    """A local correction: this date is a holiday, or a working day, whatever the source says."""

    date: date
    workday: bool
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CountedDate:
    date: date
    provisional: bool


@dataclass(frozen=True, slots=True)
class CountedDeadline:
    due: datetime
    provisional: bool


END_OF_DAY = time(23, 59, 59, 999999)

# Statutory holidays on fixed Gregorian dates (全国年节及纪念日放假办法, 2024 revision). For a year
# whose official schedule is unknown they are assumed off; the lunar holidays and the adjusted
# working days cannot be guessed. Either way every such date is flagged provisional.
FIXED_HOLIDAYS = {
    (1, 1): "New Year's Day",
    (5, 1): "Labour Day",
    (5, 2): "Labour Day",
    (10, 1): "National Day",
    (10, 2): "National Day",
    (10, 3): "National Day",
}


def _official(day: date) -> tuple[bool, str | None] | None:
    """(is a day off, holiday name) from the official schedule, or None when its year is unknown."""
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return bool(off), name


class WorkCalendar:
    """Answers which days are worked and counts working-day time limits (Civil Code arts. 201-203)."""

    def __init__(
        self,
        *,
        overrides: Sequence[DayOverride] = (),
        confirmed_years: Iterable[int] = (),
        official: bool = True,
    ) -> None:
        self._overrides = {o.date: o for o in overrides}
        self._confirmed = frozenset(confirmed_years)
        self._use_official = official
        self._cache: dict[date, Day] = {}

    def day(self, day: date) -> Day:
        cached = self._cache.get(day)
        if cached is None:
            cached = self._cache[day] = self._classify(day)
        return cached

    def _classify(self, day: date) -> Day:
        weekend = day.weekday() >= 5
        official = _official(day) if self._use_official else None
        provisional = official is None and day.year not in self._confirmed
        override = self._overrides.get(day)
        if override is not None:
            off, name = not override.workday, override.name
        elif official is not None:
            off, name = official
        else:
            name = FIXED_HOLIDAYS.get((day.month, day.day))
            off = weekend or name is not None
        if off:
            kind = DayKind.WEEKEND if weekend and name is None else DayKind.HOLIDAY
        else:
            kind = DayKind.ADJUSTED_WORKDAY if weekend else DayKind.WORKDAY
        return Day(day, kind, provisional, name)

    def add_workdays(self, start: date, count: int) -> CountedDate:
        """The date of the `count`-th working day after `start`; the start day itself is not counted.

        Zero gives `start` back. The result is provisional if any day counted over is.
        """
        if count < 0:
            raise ValueError("cannot count a negative number of working days")
        current, provisional, left = start, False, count
        while left:
            current += timedelta(days=1)
            info = self.day(current)
            provisional |= info.provisional
            left -= info.kind.is_workday
        return CountedDate(current, provisional)

    def deadline(
        self,
        anchor: datetime,
        count: int,
        zone: ZoneInfo,
        close_of_business: time | None = None,
    ) -> CountedDeadline:
        """When "within `count` working days of `anchor`" runs out: the end of the last day
        (or its close of business) in the centre's time zone."""
        counted = self.add_workdays(anchor.astimezone(zone).date(), count)
        end = datetime.combine(counted.date, close_of_business or END_OF_DAY, tzinfo=zone)
        return CountedDeadline(end, counted.provisional)

    def workdays_before(self, end: date, count: int) -> CountedDate:
        """The date `count` working days before the working day `end` (for reminders)."""
        current, provisional, left = end, False, count
        while left:
            current -= timedelta(days=1)
            info = self.day(current)
            provisional |= info.provisional
            left -= info.kind.is_workday
        return CountedDate(current, provisional)
