"""Routines and planned events in the engine on a manual clock: rounds meet occurrences, missed
rounds warn and breach one by one, an abnormal round opens a linked incident, an event's
obligations move with it, and a large event runs from creation to its review report."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import Command, OpenIncident, Rejected
from dutydesk.playbooks.duties import routine_owed
from dutydesk.playbooks.duty_events import DutyDone, EventMoved, EventScheduled, RoutineRegistered
from dutydesk.playbooks.duty_library import bundled_event_plans, bundled_routines
from dutydesk.playbooks.dutybook import owed_from
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.eventplans import load_event_plans
from dutydesk.playbooks.events import (
    BreachAcknowledged,
    Event,
    IncidentOpened,
    ObligationBreached,
    ObligationMet,
    ObligationWarned,
)
from dutydesk.playbooks.incidents import Projection
from dutydesk.playbooks.library import bundled_sources
from dutydesk.playbooks.obligations import Deadlines, State
from dutydesk.playbooks.plans import Plan, load_plans
from dutydesk.playbooks.routines import load_routines
from dutydesk.playbooks.timetable import CompleteTask, LogRound, MoveEvent, ScheduleEvent
from dutydesk.playbooks.workdays import WorkCalendar
from tests.conftest import MONDAY, SHANGHAI

ROUTINES, _ = load_routines(bundled_routines())
EVENT_PLANS, _ = load_event_plans(bundled_event_plans())
WHO = "王值班"


class Desk:
    """The engine as the journal drives it, minus the database: decide, store once per key, apply."""

    def __init__(self, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock) -> None:
        self.clock = clock
        self.engine = Engine(plans=plans, deadlines=deadlines, routines=ROUTINES, event_plans=EVENT_PLANS)
        self.log: list[Event] = []
        self.keys: set[str] = set()
        self.engine.started(clock.now())
        self.run()

    def _store(self, keyed: list[tuple[str, Event]]) -> list[Event]:
        fresh = []
        for key, event in keyed:
            if key not in self.keys:
                self.keys.add(key)
                self.log.append(event)
                self.engine.apply(event, len(self.log))
                fresh.append(event)
        return fresh

    def do(self, command: Command) -> list[Event]:
        return self._store([(k.key, k.event) for k in self.engine.handle(command, self.clock.now())])

    def run(self) -> list[Event]:
        """What the service's timer loop does: fire at each wakeup up to now."""
        fired: list[Event] = []
        while (when := self.engine.next_wakeup()) is not None and when <= self.clock.now():
            new = self._store([(k.key, k.event) for k in self.engine.tick(self.clock.now())])
            if not new:
                break
            fired += new
        return fired

    def advance(self, **delta: float) -> list[Event]:
        self.clock.advance(timedelta(**delta))
        return self.run()

    def until(self, when: datetime) -> list[Event]:
        self.clock.set(when)
        return self.run()

    def state(self, ref: str, occurrence: int | None = None) -> State:
        entries = self.engine.timetable.entries(self.clock.now(), timedelta(days=7), timedelta(days=7))
        matching = [e for e in entries if e.owed.ref == ref and occurrence in (None, e.owed.occurrence)]
        return matching[0].state


@pytest.fixture
def desk(plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock) -> Desk:
    return Desk(plans, deadlines, clock)


def told(events: list[Event], kind: type[Event]) -> list[tuple[str, str]]:
    return [
        (getattr(e, "obligation", ""), e.due_at.astimezone(SHANGHAI).strftime("%d %H:%M"))  # type: ignore[attr-defined]
        for e in events
        if type(e) is kind
    ]


def test_the_engine_registers_the_configured_routines_at_start(desk: Desk) -> None:
    assert sorted(e.routine for e in desk.log if isinstance(e, RoutineRegistered)) == sorted(ROUTINES)
    assert desk.run() == []  # once


def test_a_round_logged_in_time_meets_its_occurrence_and_nothing_fires(desk: Desk) -> None:
    desk.until(MONDAY.replace(hour=9, minute=50))  # the 10:00 patrol counts from 09:30
    done = desk.do(LogRound(actor=WHO, routine="cctv-patrol"))
    (met,) = [e for e in done if isinstance(e, ObligationMet)]
    assert (met.obligation, met.due_at) == ("routine:cctv-patrol", MONDAY.replace(hour=10, minute=15))
    assert met.margin_seconds == 25 * 60
    fired = desk.until(MONDAY.replace(hour=10, minute=40))
    assert [o for o, _ in told(fired, ObligationBreached) if o == "routine:cctv-patrol"] == []
    assert desk.state("routine:cctv-patrol", met.occurrence) is State.MET


def test_a_missed_round_warns_then_breaches_and_each_missed_one_counts(desk: Desk) -> None:
    fired = desk.until(MONDAY.replace(hour=10, minute=5))
    assert ("routine:cctv-patrol", "23 10:15") in told(fired, ObligationWarned)
    warned = [e for e in fired if isinstance(e, ObligationWarned) and e.obligation == "routine:cctv-patrol"]
    assert warned[0].notify == ("monitoring_room",)
    fired = desk.until(MONDAY.replace(hour=10, minute=15))
    (breach,) = [e for e in fired if isinstance(e, ObligationBreached)]
    assert breach.notify == ("monitoring_room", "duty_officer", "leader_on_duty")
    # nothing ran for three hours: every hour missed is its own breach, the gap shown
    fired = desk.until(MONDAY.replace(hour=13, minute=30))
    missed = told(fired, ObligationBreached)
    assert [m for m in missed if m[0] == "routine:cctv-patrol"] == [
        ("routine:cctv-patrol", f"23 {h}:15") for h in (11, 12, 13)
    ]
    late = [e.late_seconds for e in fired if isinstance(e, ObligationBreached)]
    assert late[0] == 2 * 3600 + 15 * 60


def test_a_late_round_still_meets_a_missed_occurrence_and_stops_its_escalation(desk: Desk) -> None:
    desk.until(MONDAY.replace(hour=10, minute=20))
    done = desk.do(LogRound(actor=WHO, routine="cctv-patrol"))
    (met,) = [e for e in done if isinstance(e, ObligationMet)]
    assert met.margin_seconds == -5 * 60
    assert ("", "routine:cctv-patrol", met.occurrence) not in desk.engine.projection.notices.breaches
    again = desk.do(LogRound(actor=WHO, routine="cctv-patrol"))
    assert [type(e) for e in again] == [DutyDone]  # an extra round meets nothing
    assert again[0].occurrence is None  # type: ignore[attr-defined]


def test_an_abnormal_round_opens_an_incident_with_the_plan_linked_to_the_round(desk: Desk) -> None:
    desk.until(MONDAY.replace(hour=9, minute=55))
    with pytest.raises(Rejected, match="needs a note"):
        desk.do(LogRound(actor=WHO, routine="cctv-patrol", abnormal=True))
    done = desk.do(
        LogRound(
            actor=WHO, routine="cctv-patrol", abnormal=True, note="3号楼东门画面黑屏", open_incident=True
        )
    )
    (opened,) = [e for e in done if isinstance(e, IncidentOpened)]
    (round_,) = [e for e in done if isinstance(e, DutyDone)]
    assert opened.plan_id == "cctv-alarm"
    assert "3号楼东门画面黑屏" in opened.title
    assert round_.incident == opened.incident and round_.abnormal
    assert opened.trigger == f"routine:cctv-patrol#{round_.occurrence}"
    assert desk.engine.incident(opened.incident or "").plan.id == "cctv-alarm"
    with pytest.raises(Rejected, match="only an abnormal round"):
        desk.do(LogRound(actor=WHO, routine="shift-handover", abnormal=True, note="x", open_incident=True))


def test_an_event_moved_by_an_hour_moves_its_obligations(desk: Desk) -> None:
    start = MONDAY.replace(day=24, hour=14)
    (scheduled,) = desk.do(
        ScheduleEvent(
            actor=WHO,
            plan_id="meeting-support",
            title="季度工作会",
            place="三楼会议室",
            start=start,
            end=start + timedelta(hours=2),
        )
    )
    assert isinstance(scheduled, EventScheduled) and scheduled.event == "EV20261124-01"
    ref = "event:EV20261124-01/set-up"
    fired = desk.until(start - timedelta(minutes=95))
    assert told(fired, ObligationWarned) == []
    fired = desk.until(start - timedelta(minutes=90))
    assert (ref, "24 13:00") in told(fired, ObligationWarned)
    moved = desk.do(
        MoveEvent(
            actor=WHO, event="EV20261124-01", start=start + timedelta(hours=1), end=start + timedelta(hours=3)
        )
    )
    assert isinstance(moved[0], EventMoved)
    assert desk.state(ref) is State.PENDING  # the warning was for the old time
    fired = desk.until(start - timedelta(minutes=45))  # the old deadline (13:00) passes quietly
    assert [o for o, _ in told(fired, ObligationBreached) if o.startswith("event:")] == []
    fired = desk.until(start - timedelta(minutes=30))
    assert (ref, "24 14:00") in told(fired, ObligationWarned)
    fired = desk.until(start)
    assert (ref, "24 14:00") in told(fired, ObligationBreached)
    clean = "event:EV20261124-01/clean-up"
    assert desk.state(clean) is State.PENDING
    desk.until(start + timedelta(hours=3, minutes=10))
    done = desk.do(CompleteTask(actor=WHO, event="EV20261124-01", task="clean-up"))
    assert [e.due_at for e in done if isinstance(e, ObligationMet)] == [
        start + timedelta(hours=3, minutes=30)
    ]
    # moving it again stops the escalation of the set-up breach, which was for the old time
    again = desk.do(
        MoveEvent(
            actor=WHO,
            event="EV20261124-01",
            start=start + timedelta(days=1),
            end=start + timedelta(days=1, hours=2),
        )
    )
    assert [e.obligation for e in again if isinstance(e, BreachAcknowledged)] == [ref]


def test_a_large_event_from_creation_to_its_review_report(desk: Desk) -> None:
    # created on Monday for Friday 09:00-12:00: the drill (due Tuesday 09:00) is still ahead
    start = MONDAY.replace(day=27, hour=9)
    desk.do(
        ScheduleEvent(
            actor=WHO,
            plan_id="large-event",
            title="2026年度表彰大会",
            place="礼堂",
            start=start,
            end=start.replace(hour=12),
        )
    )
    event = "EV20261127-01"
    prefix = f"event:{event}/"
    entries = [e for e in desk.engine.timetable.entries(desk.clock.now(), timedelta(days=9)) if e.event]
    assert [(e.owed.ref.removeprefix(prefix), e.owed.occurrence) for e in entries] == [
        ("drill", 1),
        ("set-up", 1),
        ("leadership-round", 1),
        ("leadership-round", 2),
        ("leadership-round", 3),
        ("review", 1),
    ]
    desk.until(MONDAY.replace(day=24, hour=8, minute=30))
    desk.do(CompleteTask(actor=WHO, event=event, task="drill", note="停电、嘉宾突发疾病两个科目"))
    with pytest.raises(Rejected, match="already done"):
        desk.do(CompleteTask(actor=WHO, event=event, task="drill"))
    desk.until(start - timedelta(minutes=70))
    desk.do(CompleteTask(actor=WHO, event=event, task="set-up"))
    # leadership rounds at 09:00 and 11:00 are logged, 10:00 is missed
    desk.until(start + timedelta(minutes=5))
    desk.do(CompleteTask(actor=WHO, event=event, task="leadership-round"))
    fired = desk.until(start + timedelta(hours=1, minutes=20))
    assert [b for b in told(fired, ObligationBreached) if b[0].startswith(prefix)] == [
        (f"{prefix}leadership-round", "27 10:15")
    ]
    desk.until(start + timedelta(hours=2, minutes=10))
    desk.do(
        CompleteTask(
            actor=WHO, event=event, task="leadership-round", abnormal=True, note="南门人员聚集，已疏导"
        )
    )
    # the review is due at the end of the 2nd working day after Friday: Tuesday
    review = next(
        e
        for e in desk.engine.timetable.entries(desk.clock.now(), timedelta(days=7))
        if e.owed.ref.endswith("/review")
    )
    assert review.owed.due_at.astimezone(SHANGHAI).strftime("%a %d %H:%M") == "Tue 01 23:59"
    desk.until(datetime(2026, 12, 1, 16, tzinfo=SHANGHAI))
    desk.do(CompleteTask(actor=WHO, event=event, task="review", note="《活动保障报告》已报中心领导"))
    planned = desk.engine.projection.duties.events[event]
    assert len(planned.track.met) == 5 and len(planned.track.breached) == 1
    assert (planned.track.rounds, planned.track.abnormal) == (5, 1)
    states = [
        e.state
        for e in desk.engine.timetable.entries(desk.clock.now(), timedelta(days=1), timedelta(days=9))
        if e.event
    ]
    assert states == [State.MET, State.MET, State.MET, State.BREACHED, State.MET, State.MET]


def test_the_duty_book_survives_a_snapshot(desk: Desk) -> None:
    desk.until(MONDAY.replace(hour=9, minute=50))
    desk.do(LogRound(actor=WHO, routine="cctv-patrol"))
    start = MONDAY.replace(day=24, hour=14)
    desk.do(
        ScheduleEvent(
            actor=WHO,
            plan_id="meeting-support",
            title="会",
            place="101",
            start=start,
            end=start + timedelta(hours=1),
        )
    )
    desk.until(MONDAY.replace(hour=12))
    again = Projection.from_snapshot(desk.engine.projection.to_snapshot())
    assert again.duties.to_snapshot() == desk.engine.projection.duties.to_snapshot()


def test_bad_event_commands_are_refused(desk: Desk) -> None:
    start = MONDAY.replace(day=24, hour=14)
    with pytest.raises(Rejected, match="no event plan 'gala'"):
        desk.do(ScheduleEvent(actor=WHO, plan_id="gala", title="x", place="y", start=start, end=start))
    with pytest.raises(Rejected, match="is not after the start"):
        desk.do(
            ScheduleEvent(actor=WHO, plan_id="meeting-support", title="x", place="y", start=start, end=start)
        )
    with pytest.raises(Rejected, match="no event 'EV1'"):
        desk.do(MoveEvent(actor=WHO, event="EV1", start=start, end=start + timedelta(hours=1)))
    with pytest.raises(Rejected, match="no routine 'patrol'"):
        desk.do(LogRound(actor=WHO, routine="patrol"))


STARTS = [
    MONDAY,
    datetime(2026, 2, 13, 16, 40, tzinfo=SHANGHAI),  # the Friday before the Spring Festival, 14 Feb worked
    datetime(2025, 12, 31, 23, 10, tzinfo=SHANGHAI),  # across midnight into the New Year holiday
]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STARTS), st.lists(st.integers(1, 12 * 60), min_size=1, max_size=30))
def test_every_missed_occurrence_breaches_exactly_once_however_the_clock_moves(
    start: datetime, steps: list[int]
) -> None:
    plans, _ = load_plans(bundled_sources())
    deadlines = Deadlines(WorkCalendar(), SHANGHAI)
    desk = Desk(plans, deadlines, ManualClock(start))
    for minutes in steps:
        desk.advance(minutes=minutes)
    now = desk.clock.now()
    breaches = [(e.obligation, e.occurrence) for e in desk.log if isinstance(e, ObligationBreached)]
    warnings = [(e.obligation, e.occurrence) for e in desk.log if isinstance(e, ObligationWarned)]
    assert len(breaches) == len(set(breaches))
    assert len(warnings) == len(set(warnings))
    owed = {
        o.key
        for routine in ROUTINES.values()
        for o in routine_owed(routine, owed_from(routine, start), now + timedelta(days=1), deadlines)
        if o.due_at <= now
    }
    assert set(breaches) == owed
    assert all(
        e.at == e.due_at and e.recorded_at and e.recorded_at <= now
        for e in desk.log
        if isinstance(e, ObligationBreached)
    )


def test_the_drill_task_is_linked_to_the_drill_run_that_did_it(desk: Desk) -> None:
    start = MONDAY.replace(day=27, hour=9)
    desk.do(
        ScheduleEvent(
            actor=WHO,
            plan_id="large-event",
            title="表彰大会",
            place="礼堂",
            start=start,
            end=start.replace(hour=12),
        )
    )
    real = desk.do(OpenIncident(actor=WHO, plan_id="power-outage", title="停电"))[-1].incident
    with pytest.raises(Rejected, match="is not a drill run"):
        desk.do(CompleteTask(actor=WHO, event="EV20261127-01", task="drill", drill=real))
    run = desk.do(OpenIncident(actor=WHO, plan_id="power-outage", title="演练：礼堂停电", drill=True))[
        -1
    ].incident
    assert run is not None and run.startswith("D")
    done = desk.do(CompleteTask(actor=WHO, event="EV20261127-01", task="drill", drill=run, note="停电科目"))
    (logged,) = [e for e in done if isinstance(e, DutyDone)]
    assert logged.incident == run
    assert [e.obligation for e in done if isinstance(e, ObligationMet)] == ["event:EV20261127-01/drill"]


def test_messages_name_rounds_and_tasks_by_their_titles(desk: Desk) -> None:
    start = MONDAY.replace(day=24, hour=14)
    desk.do(
        ScheduleEvent(
            actor=WHO,
            plan_id="meeting-support",
            title="季度工作会",
            place="三楼",
            start=start,
            end=start + timedelta(hours=2),
        )
    )
    book = desk.engine.projection.duties
    assert book.title_of("routine:cctv-patrol").zh == "巡查监控画面"  # type: ignore[union-attr]
    task = book.title_of("event:EV20261124-01/clean-up")
    assert task is not None and task.zh == "会后30分钟内清理场地（季度工作会）"
    assert book.title_of("event:EV20261124-01/nothing") is None and book.title_of("routine:none") is None


def test_a_routine_registered_mid_hour_owes_the_round_still_due(
    plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    desk = Desk(plans, deadlines, ManualClock(MONDAY.replace(hour=22, minute=10, second=37)))
    done = desk.do(LogRound(actor=WHO, routine="cctv-patrol"))
    assert [e.due_at for e in done if isinstance(e, ObligationMet)] == [MONDAY.replace(hour=22, minute=15)]
