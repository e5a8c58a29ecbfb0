"""Routines and event plans as data: schedules across midnight, weekends, holidays and 调休 (every
occurrence in a period due exactly once), the loaders' `PATH:LINE` errors, and what an event owes."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.duties import event_owed, routine_owed
from dutydesk.playbooks.duty_library import bundled_event_plans, bundled_routines
from dutydesk.playbooks.eventplans import EventPlan, load_event_plans, parse_event_plan
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.routines import (
    Days,
    Routine,
    Schedule,
    Source,
    load_routines,
    occurrences,
    parse_routine,
)
from dutydesk.playbooks.typeddata import dump, read
from dutydesk.playbooks.workdays import WorkCalendar
from dutydesk.playbooks.yamlfile import SourceErrors
from tests.conftest import SHANGHAI

CALENDAR = WorkCalendar()
DEADLINES = Deadlines(CALENDAR, SHANGHAI)
ROUTINES, _ = load_routines(bundled_routines())
EVENT_PLANS, _ = load_event_plans(bundled_event_plans())
# 2026: New Year off 1-3 Jan, Sunday 4 Jan worked; Spring Festival off 15-23 Feb, Saturdays 14 and
# 28 Feb worked (调休).
WINTER = datetime(2025, 12, 29, tzinfo=SHANGHAI)

clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
schedules = st.one_of(
    st.builds(
        lambda every, start, end, days: read(
            Schedule, {"every": f"{every}m", "from": start, "to": end, "days": days}
        ),
        st.sampled_from([15, 30, 45, 60, 90, 120, 240]),
        clock_times,
        clock_times,
        st.sampled_from(list(Days)),
    ),
    st.builds(
        lambda ats, days: read(Schedule, {"at": sorted(ats), "days": days}),
        st.sets(clock_times, min_size=1, max_size=4),
        st.sampled_from(list(Days)),
    ),
    st.builds(
        lambda at, day, days: read(Schedule, {"weekly": {"day": day, "at": at}, "days": days}),
        clock_times,
        st.sampled_from(["mon", "fri", "sat", "sun"]),
        st.sampled_from(list(Days)),
    ),
)
instants = st.integers(0, 70 * 24 * 60).map(lambda m: WINTER + timedelta(minutes=m))
steps = st.lists(st.integers(1, 36 * 60), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(schedules, instants, steps)
def test_every_occurrence_falls_due_exactly_once_on_a_manual_clock(
    schedule: Schedule, start: datetime, minutes: list[int]
) -> None:
    clock = ManualClock(start)
    seen: list[datetime] = []
    for step in minutes:
        before = clock.now()
        clock.advance(timedelta(minutes=step))
        seen += occurrences(schedule, before, clock.now(), SHANGHAI, CALENDAR)
    whole = occurrences(schedule, start, clock.now(), SHANGHAI, CALENDAR)
    assert seen == whole
    assert len(set(seen)) == len(seen)
    assert all(a < b for a, b in itertools.pairwise(seen))
    assert all(start <= at < clock.now() for at in seen)


@settings(max_examples=150, deadline=None)
@given(schedules, instants)
def test_occurrences_keep_their_clock_times_and_serve_only_allowed_days(
    schedule: Schedule, start: datetime
) -> None:
    end = start + timedelta(days=9)
    day_offsets = schedule.times()
    for at in occurrences(schedule, start, end, SHANGHAI, CALENDAR):
        wall = at.astimezone(SHANGHAI).replace(tzinfo=None)
        # the service day is the one whose offset lands here (a night window starts the day before)
        served = [
            d
            for d in (wall.date(), wall.date() - timedelta(days=1))
            if wall - datetime.combine(d, time(0)) in day_offsets
        ]
        assert served, f"{wall} is not one of the schedule's times"
        assert any(schedule.serves(d, CALENDAR) for d in served)


def test_hourly_patrol_runs_24_times_a_day_holidays_included() -> None:
    patrol = ROUTINES["cctv-patrol"].schedule
    for day in (date(2026, 1, 1), date(2026, 2, 14), date(2026, 2, 17), date(2026, 11, 23)):
        start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        slots = occurrences(patrol, start, start + timedelta(days=1), SHANGHAI, CALENDAR)
        assert [s.astimezone(SHANGHAI).hour for s in slots] == list(range(24))


def test_working_day_round_follows_holidays_and_adjusted_working_days() -> None:
    facilities = ROUTINES["facilities-round"].schedule
    start = datetime(2026, 2, 1, tzinfo=SHANGHAI)
    days = [
        s.astimezone(SHANGHAI).date()
        for s in occurrences(facilities, start, start + timedelta(days=28), SHANGHAI, CALENDAR)
    ]
    assert date(2026, 2, 14) in days  # a Saturday worked in lieu (调休上班)
    assert date(2026, 2, 28) in days
    assert not any(date(2026, 2, 15) <= d <= date(2026, 2, 23) for d in days)  # Spring Festival
    assert date(2026, 2, 7) not in days  # an ordinary Saturday
    assert len(days) == sum(CALENDAR.day(start.date() + timedelta(days=n)).kind.is_workday for n in range(28))


def test_a_night_window_runs_past_midnight_and_belongs_to_the_day_it_starts() -> None:
    night = read(Schedule, {"every": "2h", "from": "22:00", "to": "06:00", "days": "workdays"})
    # Friday 2 Jan 2026 is a holiday, Sunday 4 Jan is worked: the night from Sunday into Monday runs,
    # the night from Friday into Saturday does not
    start = datetime(2026, 1, 2, 12, tzinfo=SHANGHAI)
    slots = [
        s.astimezone(SHANGHAI)
        for s in occurrences(night, start, start + timedelta(days=3), SHANGHAI, CALENDAR)
    ]
    assert [s.strftime("%d %H:%M") for s in slots] == ["04 22:00", "05 00:00", "05 02:00", "05 04:00"]


def test_shift_handover_falls_at_each_shift_change() -> None:
    handover = ROUTINES["shift-handover"]
    start = datetime(2026, 11, 23, tzinfo=SHANGHAI)
    owed = routine_owed(handover, start, start + timedelta(days=1), DEADLINES)
    assert [o.at.astimezone(SHANGHAI).strftime("%H:%M") for o in owed] == ["08:30", "17:30"]
    first = owed[0]
    assert first.opens == first.at - timedelta(minutes=30)
    assert first.warn_at == first.at + timedelta(minutes=10)
    assert first.due_at == first.at + timedelta(minutes=30)


def test_bundled_routines_and_event_plans_load() -> None:
    assert set(ROUTINES) == {"cctv-patrol", "shift-handover", "facilities-round"}
    assert set(EVENT_PLANS) == {"meeting-support", "large-event"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("id: r\ntitle: R\nrole: duty_officer\nschedule:\n  daily: '25:00'\n", 5, "cannot read time of day"),
        ("id: r\ntitle: R\nrole: nobody\nschedule:\n  daily: '09:00'\n", 3, "unknown role 'nobody'"),
        (
            "id: r\ntitle: R\nrole: duty_officer\nschedule:\n  daily: '09:00'\n  at: ['10:00']\n",
            5,
            "exactly one of",
        ),
        ("id: r\ntitle: R\nrole: duty_officer\nschedule:\n  every: 1wd\n", 5, "positive number of minutes"),
        (
            "id: r\ntitle: R\nrole: duty_officer\nschedule: {daily: '09:00'}\nbreach: 5m before\n",
            5,
            "'breach'",
        ),
        (
            "id: r\ntitle: R\nrole: duty_officer\nschedule: {daily: '09:00'}\nwarning: soon\n",
            5,
            "cannot read duration",
        ),
    ],
)
def test_a_bad_routine_is_refused_with_its_path_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(SourceErrors) as caught:
        parse_routine(text, "centre/routines/r.yaml")
    assert any(e.line == line and message in e.message for e in caught.value.errors), caught.value
    assert str(caught.value).startswith("centre/routines/r.yaml:")


def test_routines_name_plans_that_exist_and_ids_once() -> None:
    text = "id: r\ntitle: R\nrole: duty_officer\nschedule: {daily: '09:00'}\nplan: no-such-plan\n"
    loaded, errors = load_routines(
        [Source("a.yaml", text), Source("b.yaml", text.replace("no-such-plan", "cctv-alarm"))],
        plans={"cctv-alarm"},
    )
    assert [str(e) for e in errors] == ["a.yaml:5: no plan 'no-such-plan'"]
    assert list(loaded) == ["r"]
    _, errors = load_routines([Source("b.yaml", text), Source("c.yaml", text)])
    assert [str(e) for e in errors] == ["c.yaml:1: duplicate routine id 'r'"]


def test_a_bad_event_plan_is_refused_with_its_path_and_line() -> None:
    text = "id: e\ntitle: E\ntasks:\n  - id: a\n    title: A\n    role: duty_officer\n    due: 2wd before start\n"
    with pytest.raises(SourceErrors) as caught:
        parse_event_plan(text, "e.yaml")
    assert str(caught.value.errors[0]) == (
        "e.yaml:7: tasks[0].due: '2wd before start': working days count forwards only ('2wd after end')"
    )


def test_a_meeting_owes_set_up_an_hour_before_and_clean_up_half_an_hour_after() -> None:
    start, end = datetime(2026, 11, 24, 14, tzinfo=SHANGHAI), datetime(2026, 11, 24, 16, tzinfo=SHANGHAI)
    owed = {o.ref: o for o in event_owed("EV1", EVENT_PLANS["meeting-support"], start, end, DEADLINES)}
    assert owed["event:EV1/set-up"].due_at == start - timedelta(hours=1)
    assert owed["event:EV1/set-up"].warn_at == start - timedelta(hours=1, minutes=30)
    assert owed["event:EV1/clean-up"].due_at == end + timedelta(minutes=30)


def test_a_large_event_owes_a_drill_hourly_rounds_and_a_review_in_working_days() -> None:
    plan: EventPlan = EVENT_PLANS["large-event"]
    # Thursday 09:00 to 12:00; two working days after Thursday end on Monday (the weekend is off)
    start, end = datetime(2026, 11, 26, 9, tzinfo=SHANGHAI), datetime(2026, 11, 26, 12, tzinfo=SHANGHAI)
    owed = event_owed("EV1", plan, start, end, DEADLINES)
    drill = next(o for o in owed if o.ref.endswith("/drill"))
    assert drill.due_at == start - timedelta(days=3)
    rounds = [o for o in owed if o.ref.endswith("/leadership-round")]
    assert [(o.occurrence, o.at.hour) for o in rounds] == [(1, 9), (2, 10), (3, 11)]
    review = next(o for o in owed if o.ref.endswith("/review"))
    assert review.due_at.astimezone(SHANGHAI).date() == date(2026, 11, 30)
    moved = event_owed("EV1", plan, start + timedelta(hours=1), end + timedelta(hours=1), DEADLINES)
    assert [o.at - timedelta(hours=1) for o in moved[:-1]] == [o.at for o in owed[:-1]]


def test_a_routine_serialises_and_reads_back_the_same() -> None:
    for routine in ROUTINES.values():
        again = read(Routine, dump(routine))
        assert again == routine
        assert again.fingerprint() == routine.fingerprint()


def test_the_readme_examples_load_beside_the_bundled_files() -> None:
    from tests.test_readme import fenced

    blocks = [text for _, text in fenced("yaml")]
    routines = [Source(f"readme-{n}.yaml", t) for n, t in enumerate(blocks) if "\nschedule:" in t]
    events = [Source(f"readme-{n}.yaml", t) for n, t in enumerate(blocks) if "\ntasks:" in t]
    assert routines and events
    loaded, errors = load_routines(
        [*bundled_routines(), *routines], plans={"cctv-alarm", "normal-repair", "fire-conflict"}
    )
    assert not errors and "night-patrol" in loaded
    assert loaded["night-patrol"].schedule.days is Days.WORKDAYS
    plans, errors = load_event_plans([*bundled_event_plans(), *events])
    assert not errors and "press-conference" in plans
