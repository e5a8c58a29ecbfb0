"""The working-day calendar: the official schedule, local overrides, provisional years, and the
laws of working-day arithmetic."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dutydesk.playbooks.workdays import DayKind, DayOverride, WorkCalendar
from tests.conftest import SHANGHAI

CAL = WorkCalendar()


def test_classifies_days_from_the_official_schedule() -> None:
    assert CAL.day(date(2026, 11, 23)).kind is DayKind.WORKDAY
    assert CAL.day(date(2026, 11, 22)).kind is DayKind.WEEKEND
    assert CAL.day(date(2026, 10, 1)).kind is DayKind.HOLIDAY  # National Day
    assert CAL.day(date(2026, 10, 10)).kind is DayKind.ADJUSTED_WORKDAY  # a Saturday worked
    assert not CAL.day(date(2026, 10, 10)).provisional


def test_a_year_without_an_official_schedule_is_provisional() -> None:
    day = CAL.day(date(2027, 3, 3))
    assert (day.kind, day.provisional) == (DayKind.WORKDAY, True)
    assert day.describe() == "workday (provisional)"
    # fixed-date statutory holidays are assumed, still flagged
    assert CAL.day(date(2027, 10, 1)).describe() == "holiday (provisional)"


def test_counting_skips_the_start_day_holidays_and_counts_adjusted_days() -> None:
    # the day before National Day: Oct 8 and 9, then Saturday Oct 10 is worked
    counted = CAL.add_workdays(date(2026, 9, 30), 3)
    assert (counted.date, counted.provisional) == (date(2026, 10, 10), False)
    assert CAL.add_workdays(date(2026, 11, 27), 1).date == date(2026, 11, 30)  # Friday -> Monday
    assert CAL.add_workdays(date(2026, 11, 28), 0).date == date(2026, 11, 28)


def test_counting_into_an_unknown_year_is_provisional() -> None:
    counted = CAL.add_workdays(date(2026, 12, 30), 3)
    assert counted == type(counted)(date(2027, 1, 5), True)


def test_local_overrides_and_confirmed_years() -> None:
    cal = WorkCalendar(
        overrides=[
            DayOverride(date(2027, 2, 8), workday=False, name="春节"),
            DayOverride(date(2027, 2, 20), workday=True),
        ],
        confirmed_years=[2027],
    )
    assert cal.day(date(2027, 2, 8)).describe() == "holiday"
    assert cal.day(date(2027, 2, 20)).describe() == "adjusted-workday"
    assert cal.day(date(2027, 3, 3)).describe() == "workday"


def test_deadline_ends_with_the_day_or_at_close_of_business() -> None:
    anchor = datetime(2026, 11, 23, 16, 0, tzinfo=SHANGHAI)
    end = CAL.deadline(anchor, 3, SHANGHAI)
    assert end.due == datetime(2026, 11, 26, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    close = CAL.deadline(anchor, 3, SHANGHAI, time(17, 30))
    assert close.due == datetime(2026, 11, 26, 17, 30, tzinfo=SHANGHAI)


def test_counting_back_for_reminders() -> None:
    assert CAL.workdays_before(date(2026, 11, 30), 2).date == date(2026, 11, 26)


days = st.dates(min_value=date(2005, 1, 1), max_value=date(2028, 12, 31))
counts = st.integers(min_value=0, max_value=40)


@given(days, counts, counts)
def test_adding_n_then_m_is_adding_n_plus_m(start: date, n: int, m: int) -> None:
    once = CAL.add_workdays(start, n + m)
    twice = CAL.add_workdays(CAL.add_workdays(start, n).date, m)
    assert once.date == twice.date


@given(days, st.integers(min_value=1, max_value=40))
def test_result_is_a_working_day_and_exactly_n_are_counted(start: date, n: int) -> None:
    result = CAL.add_workdays(start, n).date
    assert CAL.day(result).kind.is_workday
    between = [start + timedelta(days=k) for k in range(1, (result - start).days + 1)]
    assert sum(CAL.day(d).kind.is_workday for d in between) == n


@given(days, counts)
def test_more_days_never_end_earlier(start: date, n: int) -> None:
    assert CAL.add_workdays(start, n).date <= CAL.add_workdays(start, n + 1).date


@given(days, counts)
def test_provisional_exactly_when_an_unknown_year_is_crossed(start: date, n: int) -> None:
    counted = CAL.add_workdays(start, n)
    crossed = {start + timedelta(days=k) for k in range(1, (counted.date - start).days + 1)}
    assert counted.provisional == any(d.year > 2026 for d in crossed)
