"""KPI figures of rounds and planned events from a real SQLite log on a manual clock: rounds on
time, late and missed per routine; an event supported on time only when every task was."""

from __future__ import annotations

from pathlib import Path

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.reporting import read_duty_kpi, read_kpi
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.reports.document import Heading, Table
from dutydesk.console.reports.kpi import kpi_report
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.duty_library import bundled_event_plans, bundled_routines
from dutydesk.playbooks.eventplans import load_event_plans
from dutydesk.playbooks.kpi import Period
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.routines import load_routines
from dutydesk.playbooks.timetable import CompleteTask, LogRound, ScheduleEvent
from tests.conftest import MONDAY, SHANGHAI

ROUTINES, _ = load_routines(bundled_routines())
EVENT_PLANS, _ = load_event_plans(bundled_event_plans())
WHO = "王值班"


async def test_rounds_and_events_on_time_in_the_kpi_report(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    store = await SqliteEventStore.open(tmp_path / "log.db")
    journal = await Journal.open(
        store,
        plans=plans,
        deadlines=deadlines,
        clock=clock,
        routines={"cctv-patrol": ROUTINES["cctv-patrol"]},
        event_plans=EVENT_PLANS,
    )
    start = MONDAY.replace(hour=14)
    await journal.submit(
        ScheduleEvent(
            actor=WHO,
            plan_id="meeting-support",
            title="季度工作会",
            place="三楼",
            start=start,
            end=start.replace(hour=15),
        ),
        ScheduleEvent(
            actor=WHO,
            plan_id="meeting-support",
            title="专题会",
            place="五楼",
            start=start,
            end=start.replace(hour=16),
        ),
    )
    await journal.submit(LogRound(actor=WHO, routine="cctv-patrol"))  # 09:00 on time
    clock.set(MONDAY.replace(hour=10, minute=10))
    await journal.fire()
    await journal.submit(LogRound(actor=WHO, routine="cctv-patrol"))  # 10:00 in its grace: on time
    clock.set(MONDAY.replace(hour=11, minute=20))
    await journal.fire()  # 11:00 breached ...
    await journal.submit(LogRound(actor=WHO, routine="cctv-patrol"))  # ... then logged late
    clock.set(MONDAY.replace(hour=12, minute=40))
    await journal.fire()  # 12:00 missed
    await journal.submit(
        LogRound(actor=WHO, routine="cctv-patrol"),  # 13:00, early in its window
        CompleteTask(actor=WHO, event="EV20261123-01", task="set-up"),
        CompleteTask(actor=WHO, event="EV20261123-02", task="set-up"),
    )
    clock.set(MONDAY.replace(hour=15, minute=20))
    await journal.submit(CompleteTask(actor=WHO, event="EV20261123-01", task="clean-up"))
    clock.set(MONDAY.replace(hour=16, minute=40))  # the second meeting's clean-up is missed
    await journal.fire()
    period = Period.month(2026, 11, SHANGHAI)
    # only what fell due by now counts: rounds from 14:00 on were missed while nothing logged them
    duties = await read_duty_kpi(store, period, clock.now())
    (patrol,) = duties.rounds
    assert (patrol.name, patrol.on_time, patrol.late, patrol.missed) == ("cctv-patrol", 3, 1, 4)
    assert (duties.events.on_time, duties.events.late) == (1, 1)
    kpi = await read_kpi(store, period, deadlines, clock.now())
    await store.close()
    document = kpi_report(kpi, zone=SHANGHAI, lang="zh", duties=duties)
    headings = [b.text for b in document.blocks if isinstance(b, Heading)]
    assert headings[-1] == "八、例行巡查与活动保障"
    section = next(
        i for i, b in enumerate(document.blocks) if isinstance(b, Heading) and b.text == headings[-1]
    )
    table = next(b for b in document.blocks[section:] if isinstance(b, Table))
    assert [r.cells for r in table.rows] == [
        ("cctv-patrol", "3", "1", "4", "37.5%"),
        ("活动保障（全部事项按时）", "1", "1", "0", "50.0%"),
    ]
    assert all(r.tone == "alert" for r in table.rows)


def test_nothing_due_says_so() -> None:
    from dutydesk.console.reports.wording import translator
    from dutydesk.playbooks.duty_kpi import duty_kpi

    empty = duty_kpi([], Period.month(2026, 11, SHANGHAI))
    assert empty.rounds == () and empty.events.total == 0
    assert translator("en")("k.no_duties").startswith("No round")


def test_a_round_backdated_before_its_deadline_was_in_time_after_all() -> None:
    from dutydesk.playbooks.duty_kpi import duty_kpi
    from dutydesk.playbooks.events import ObligationBreached, ObligationMet

    due = "2026-11-23T10:15:00+08:00"
    rows = [
        (ObligationBreached.kind, 0, None, 0, due, "routine:cctv-patrol", 1, None),
        (ObligationMet.kind, 0, None, 0, due, "routine:cctv-patrol", 1, 60.0),  # logged --at 10:14
        (ObligationBreached.kind, 0, None, 0, due, "routine:shift-handover", 2, None),
        (ObligationMet.kind, 0, None, 0, due, "routine:shift-handover", 2, -60.0),
        (ObligationMet.kind, 0, "20261123-001", 0, due, "report-leader", 1, 60.0),  # an incident's: not here
    ]
    kpi = duty_kpi(rows, Period.month(2026, 11, SHANGHAI))
    assert [(r.name, r.on_time, r.late, r.missed) for r in kpi.rounds] == [
        ("cctv-patrol", 1, 0, 0),
        ("shift-handover", 0, 1, 0),
    ]
