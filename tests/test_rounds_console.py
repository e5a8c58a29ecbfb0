"""Rounds and events in the console through Textual's pilot, on a real SQLite file and a manual
clock: the board's panel with its countdown colours, single keys to log a round (an abnormal one
opening a linked incident), and the handover's lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, Static

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.screens.board import BoardScreen
from dutydesk.console.screens.rounds import EventForm
from dutydesk.console.views import handover_summary
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.duty_events import DutyDone
from dutydesk.playbooks.duty_library import bundled_event_plans, bundled_routines
from dutydesk.playbooks.eventplans import load_event_plans
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.routines import load_routines
from dutydesk.playbooks.timetable import LogRound, ScheduleEvent
from tests.conftest import MONDAY, SHANGHAI
from tests.test_console import console, until

ROUTINES, _ = load_routines(bundled_routines())
EVENT_PLANS, _ = load_event_plans(bundled_event_plans())


@pytest.fixture
async def journal(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> AsyncIterator[Journal]:
    store = await SqliteEventStore.open(tmp_path / "duty.db")
    yield await Journal.open(
        store, plans=plans, deadlines=deadlines, clock=clock, routines=ROUTINES, event_plans=EVENT_PLANS
    )
    await store.close()


def panel(board: BoardScreen) -> Text:
    content = board.query_one("#duties", Static).content
    assert isinstance(content, Text)
    return content


async def test_the_board_shows_rounds_and_logs_them_by_single_keys(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    start = MONDAY.replace(hour=11)
    await journal.submit(
        ScheduleEvent(
            actor="王值班",
            plan_id="meeting-support",
            title="季度工作会",
            place="三楼",
            start=start,
            end=start + timedelta(hours=1),
        )
    )
    for title, day, hour in (("党组会", 23, 16), ("明日会", 24, 16)):
        at = MONDAY.replace(day=day, hour=hour)
        await journal.submit(
            ScheduleEvent(
                actor="王值班",
                plan_id="meeting-support",
                title=title,
                place="五楼",
                start=at,
                end=at + timedelta(hours=1),
            )
        )
    await journal.submit(LogRound(actor="王值班", routine="cctv-patrol"))  # registers the routines at 09:00
    clock.set(MONDAY.replace(hour=9, minute=50))
    app = console(journal, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        board = app.screen
        assert isinstance(board, BoardScreen)
        text = panel(board)
        assert "10:00 CCTV monitor patrol" in text.plain
        assert "Room set up and equipment tested an hour before (季度工作会)" in text.plain
        assert "17:30 Room cleared within 30 minutes after (党组会)" in text.plain  # today, hours ahead
        assert "(明日会)" not in text.plain
        # the 10:00 patrol warns at 10:05: yellow, as an incident's obligation would be
        clock.set(MONDAY.replace(hour=10, minute=6))
        await journal.fire()
        await until(lambda: "yellow" in str(panel(board).spans), "the warning colour")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")  # the first routine: the CCTV patrol
        await until(
            lambda: any(isinstance(r.event, DutyDone) for r in app.feed) or _rounds(journal) == 2, "the round"
        )
        assert _rounds(journal) == 2
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"东门画面黑屏")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")  # yes: open an incident with the routine's plan
        await until(lambda: len(journal.engine.projection.incidents), "the incident")
        (incident,) = journal.engine.projection.incidents.open()
        assert incident.plan.id == "cctv-alarm" and "东门画面黑屏" in incident.title


def _rounds(journal: Journal) -> int:
    return journal.engine.projection.duties.routines["cctv-patrol"].track.rounds


async def test_the_handover_says_what_was_checked_and_what_is_coming(
    journal: Journal, clock: ManualClock
) -> None:
    await journal.submit(LogRound(actor="王值班", routine="cctv-patrol", abnormal=True, note="东门画面黑屏"))
    clock.set(MONDAY.replace(hour=10, minute=30))
    await journal.fire()  # the 10:00 patrol is missed
    summary = handover_summary(journal.engine, clock.now(), "en", SHANGHAI)
    assert "Rounds this shift: 1 done, 1 missed" in summary
    assert "09:00 CCTV monitor patrol — abnormal: 东门画面黑屏" in summary
    assert "10:00 CCTV monitor patrol — missed" in summary
    assert "11-23 17:30 Shift handover" in summary


async def test_the_duty_log_lists_rounds_and_events(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    start = MONDAY.replace(hour=14)
    await journal.submit(
        LogRound(actor="王值班", routine="cctv-patrol", abnormal=True, note="东门画面黑屏"),
        ScheduleEvent(
            actor="王值班",
            plan_id="meeting-support",
            title="季度工作会",
            place="三楼",
            start=start,
            end=start + timedelta(hours=1),
        ),
    )
    app = console(journal, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        table = app.screen.query_one("#log", DataTable)
        texts = [str(table.get_row_at(n)[2]) for n in range(table.row_count)]
        assert texts == [
            "abnormal round routine:cctv-patrol: 东门画面黑屏",
            "event EV20261123-01: 季度工作会, 三楼, 2026-11-23T14:00:00+08:00 – 2026-11-23T15:00:00+08:00",
        ]
        handover = str(app.screen.query_one("#handover", Static).content)
        assert "Rounds this shift: 1 done, 0 missed" in handover


async def test_an_event_is_added_from_the_board(journal: Journal, tmp_path: Path) -> None:
    app = console(journal, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, EventForm)
        for name, value in (
            ("title", "季度工作会"),
            ("place", "三楼会议室"),
            ("start", "2026-11-24 14:00"),
            ("end", "2026-11-24 13:00"),
        ):
            form.query_one(f"#{name}", Input).value = value
        await pilot.click("#ok")
        await until(
            lambda: "is not after the start" in str(form.query_one("#error", Static).content), "the refusal"
        )
        end = form.query_one("#end", Input)
        end.value = "2026-11-24 16:00"
        end.focus()
        await pilot.press("enter")  # the refusal's toast may cover the button
        await until(lambda: journal.engine.projection.duties.events, "the event")
        (planned,) = journal.engine.projection.duties.events.values()
        assert (planned.id, planned.plan.id, planned.place) == ("EV20261124-01", "large-event", "三楼会议室")
        assert isinstance(app.screen, BoardScreen)


async def test_an_event_is_moved_from_the_board(journal: Journal, tmp_path: Path) -> None:
    start = MONDAY.replace(day=24, hour=14)
    await journal.submit(
        ScheduleEvent(
            actor="王值班",
            plan_id="meeting-support",
            title="季度工作会",
            place="三楼",
            start=start,
            end=start + timedelta(hours=2),
        )
    )
    app = console(journal, tmp_path)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("enter")  # the only event
        await pilot.pause()
        await pilot.press(*"2026-11-24 15:00", "enter")
        await pilot.pause()
        await pilot.press(*"2026-11-24 17:00", "enter")
        planned = journal.engine.projection.duties.events["EV20261124-01"]
        await until(lambda: planned.moves == 1, "the move")
        assert (planned.start, planned.end) == (start + timedelta(hours=1), start + timedelta(hours=3))
