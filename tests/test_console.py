"""The duty console through Textual's pilot, on a real SQLite file and a manual clock."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, Static

from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.settings import load_settings
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.app import DutyApp
from dutydesk.console.i18n import Translator
from dutydesk.console.queries import DeskQueries
from dutydesk.console.screens.board import BoardScreen
from dutydesk.console.screens.incident import IncidentScreen
from dutydesk.playbooks.alarms import Arrival, Decoded, Feed, Place, Reading, Signal
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import OpenIncident
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan

PATIENCE = 5.0  # seconds to wait for the UI or another process, never for a deadline


@pytest.fixture
async def journal(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> AsyncIterator[Journal]:
    store = await SqliteEventStore.open(tmp_path / "duty.db")
    yield await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
    await store.close()


def console(journal: Journal, tmp_path: Path, lang: str = "en") -> DutyApp:
    settings = load_settings(None, {"DUTYDESK_HOME": str(tmp_path)})
    return DutyApp(
        journal=journal, settings=settings, t=Translator(lang), operator="王值班", follow_interval=0.05
    )


async def open_incident(
    journal: Journal, plan: str = "elevator-entrapment", title: str = "3号楼2号梯困人"
) -> str:
    (outcome,) = await journal.submit(
        OpenIncident(actor="王值班", plan_id=plan, title=title, location="3号楼")
    )
    incident = outcome.recorded[-1].event.incident
    assert incident is not None
    return incident


def cell(table: DataTable, row: str, column: str) -> Text | str:  # type: ignore[type-arg]
    return table.get_cell(row, column)


async def until(condition: object, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not seen within {PATIENCE}s")
        await asyncio.sleep(0.02)


async def test_board_countdown_changes_colour_at_the_warning_point(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    incident = await open_incident(journal, plan="normal-repair", title="会议室空调不制冷")
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.screen
        assert isinstance(board, BoardScreen)
        table = board.query_one("#incidents", DataTable)
        clock_cell = cell(table, incident, "countdown")
        assert isinstance(clock_cell, Text)
        assert "green" in str(clock_cell.style)
        # normal repair: dispatch within 2 working days; warned 1 working day before
        clock.advance(timedelta(days=1, hours=16))
        app.tick()
        await pilot.pause()
        clock_cell = cell(table, incident, "countdown")
        assert isinstance(clock_cell, Text)
        assert "yellow" in str(clock_cell.style)
        clock.advance(timedelta(days=2))
        app.tick()
        await pilot.pause()
        assert "red" in str(cell(table, incident, "countdown").style)  # type: ignore[union-attr]


async def test_incident_actions_show_in_the_timeline(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    incident = await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, IncidentScreen) and screen.incident_id == incident
        clock.advance(timedelta(minutes=3))
        await pilot.press("r")
        await until(lambda: journal.engine.incident(incident).milestones.get("reported"), "reported")
        await pilot.pause()
        timeline = screen.query_one("#timeline", DataTable)
        lines = [str(timeline.get_row_at(i)[2]) for i in range(timeline.row_count)]
        assert "reported to leader" in lines
        assert any(line.startswith("met: Report to the leader on duty") for line in lines)
        obligations = screen.query_one("#obligations", DataTable)
        states = [str(obligations.get_row_at(i)[0]) for i in range(obligations.row_count)]
        assert "met" in states
        # a second report is refused and says why; nothing is written
        before = await journal.store.head()
        await pilot.press("r")
        await pilot.pause()
        assert await journal.store.head() == before


async def test_the_update_form_refuses_an_empty_part(journal: Journal, tmp_path: Path) -> None:
    incident = await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter", "u")
        await pilot.pause()
        await pilot.click("#measures")
        await pilot.press(*"切断电源")
        await pilot.press("enter")
        await pilot.pause()
        error = app.screen.query_one("#error", Static)
        assert "Current status" in str(error.render())
        assert journal.engine.incident(incident).updates == 0
        app.screen.query_one("#status", Input).value = "被困2人，情绪稳定"
        app.screen.query_one("#next", Input).value = "等待维保到场"
        await pilot.press("enter")
        await until(lambda: journal.engine.incident(incident).updates == 1, "the update")


async def test_new_incident_from_a_phone_call(journal: Journal, tmp_path: Path) -> None:
    app = console(journal, tmp_path, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        form = app.screen
        form.query_one("#title", Input).value = "5楼卫生间漏水"
        form.query_one("#location", Input).value = "2号楼5楼"
        search = form.query_one("#search", Input)
        search.value = "紧急维修"
        await pilot.pause()
        await pilot.click("#ok")
        await until(lambda: len(journal.engine.projection.incidents) == 1, "the new incident")
        (incident,) = journal.engine.projection.incidents.values()
        assert (incident.plan.id, incident.title, incident.location) == (
            "urgent-repair",
            "5楼卫生间漏水",
            "2号楼5楼",
        )
        await until(lambda: isinstance(app.screen, IncidentScreen), "the incident screen")


async def test_the_history_loaded_at_start_is_kept_out_of_full_collections_while_it_runs(
    journal: Journal, tmp_path: Path
) -> None:
    """Full garbage collections walking the whole history held key presses up (issue 14): while
    the console runs, what it loaded at start is frozen; when it quits, it is given back."""
    incident = journal.engine.incident(await open_incident(journal))

    def collected() -> bool:  # frozen objects are in no generation of the collector
        return any(o is incident for o in gc.get_objects())

    assert collected()
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert gc.get_freeze_count() > 0 and not collected()
    assert gc.get_freeze_count() == 0 and collected()


async def test_the_board_left_behind_by_a_language_switch_is_freed(journal: Journal, tmp_path: Path) -> None:
    """The board built at start is set aside with the history; switching language replaces it,
    and the one left behind must not stay set aside (it would live as long as the console)."""
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        first = weakref.ref(app.screen)
        await pilot.press("l")
        await pilot.pause()
        assert app.screen is not first()
        for _ in range(100):  # the screen's last messages are being handled
            gc.collect()
            if first() is None:
                break
            await pilot.pause()
        assert first() is None


async def test_what_another_process_writes_shows_within_a_second(
    journal: Journal, tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        other = await Journal.open(
            await SqliteEventStore.open(tmp_path / "duty.db"), plans=plans, deadlines=deadlines, clock=clock
        )
        incident = await open_incident(other, title="配电房跳闸")
        started = time.monotonic()
        table = app.screen.query_one("#incidents", DataTable)
        await until(lambda: table.row_count == 1, "the other process's incident")
        assert time.monotonic() - started < 1.0
        assert str(cell(table, incident, "title")) == "配电房跳闸"
        await other.store.close()
        await pilot.pause()


async def test_duty_log_handover_and_help(journal: Journal, tmp_path: Path) -> None:
    await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        entry = app.screen.query_one("#entry", Input)
        entry.value = "22:00 巡查监控画面，正常"
        await pilot.press("enter")
        await until(lambda: journal.engine.seq == 3, "the log entry")
        summary = str(app.screen.query_one("#handover", Static).render())
        assert "Open incidents: 1" in summary
        await pilot.press("f5")
        await pilot.pause()
        app.screen.query_one("#text", Input).value = "李值班"
        await pilot.press("enter")
        await until(lambda: journal.engine.seq == 4, "the handover")
        handover = (await journal.store.read_kind("desk.handover"))[0].event
        assert (handover.actor, handover.outgoing) == ("王值班", "李值班")  # type: ignore[attr-defined]
        assert "Open incidents: 1" in handover.summary  # type: ignore[attr-defined]
        await pilot.press("escape", "f1")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


SNAPSHOTS = Path(__file__).parent / "snapshots"


async def snapshot_scene(journal: Journal, clock: ManualClock) -> None:
    """Two incidents, one of them late: a board with something to show."""
    await open_incident(journal)
    clock.advance(timedelta(minutes=4))
    await open_incident(journal, plan="fire-conflict", title="食堂后厨冒烟")
    clock.advance(timedelta(minutes=7))
    await journal.fire()


# every main screen, both languages, the smallest terminal promised and a common one
SCREENS = {"board": (), "incident": ("down", "enter"), "alarms": ("f3",), "handover": ("f4",)}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
async def test_snapshots(
    journal: Journal, tmp_path: Path, clock: ManualClock, screen: str, lang: str, size: tuple[int, int]
) -> None:
    """SVG snapshots of the main screens; `DUTYDESK_UPDATE_SNAPSHOTS=1` rewrites them after a
    deliberate change (then look at them before committing)."""
    import os

    await snapshot_scene(journal, clock)
    app = console(journal, tmp_path, lang)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press(*SCREENS[screen])
        await pilot.pause()
        svg = app.export_screenshot(title=f"dutydesk {screen} {lang}")
    path = SNAPSHOTS / f"{screen}-{lang}-{size[0]}x{size[1]}.svg"
    if os.environ.get("DUTYDESK_UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}; run with DUTYDESK_UPDATE_SNAPSHOTS=1 and review it"
    assert svg == path.read_text(encoding="utf-8"), f"{path.name} changed"


async def test_the_board_shows_who_is_on_duty_from_the_roster(journal: Journal, tmp_path: Path) -> None:
    from dutydesk.playbooks.commands import ImportRoster
    from dutydesk.playbooks.roster import parse_roster_csv
    from tests.conftest import SHANGHAI

    rota = "role,holder,tags,start,end\n值班人员,李值班,li,2026-11-23 08:00,2026-11-23 20:00\n带班领导,张主任,zhang,,\n"
    shifts = tuple(parse_roster_csv(rota, "rota.csv", zone=SHANGHAI))
    await journal.submit(ImportRoster(actor="tester", source="rota.csv", shifts=shifts))
    app = console(journal, tmp_path, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        top = str(app.screen.query_one("#topbar", Static).render())
        assert "值班: 李值班" in top and "带班领导: 张主任" in top


async def test_the_register_screen_completes_an_item(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    from dutydesk.playbooks.commands import AddRectification, ReachMilestone
    from dutydesk.playbooks.vocab import Milestone

    incident = await open_incident(journal)
    for step in (Milestone.STABILISED, Milestone.INVESTIGATED):
        clock.advance(timedelta(hours=1))
        await journal.submit(ReachMilestone(actor="王值班", incident=incident, milestone=step))
    (outcome,) = await journal.submit(
        AddRectification(
            actor="王值班",
            incident=incident,
            content="更换2号梯平层感应器",
            owner="维保单位",
            workdays=15,
            from_investigation=True,
            reminders=(5, 2),
        )
    )
    assert outcome.rejected is None, outcome.rejected
    item = getattr(outcome.recorded[-1].event, "item", "")
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f6")
        await pilot.pause()
        table = app.screen.query_one("#register", DataTable)
        assert table.row_count == 1 and str(table.get_row_at(0)[4]) == "更换2号梯平层感应器"
        await pilot.press("d")
        await pilot.pause()
        app.screen.query_one("#text", Input).value = "验收单 2026-118"
        await pilot.press("enter")
        register = journal.engine.projection.register
        await until(lambda: register.items[item].done_at is not None, "the item done")
        assert register.items[item].evidence == "验收单 2026-118"


async def test_failed_notifications_show_in_the_console(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    from dutydesk.playbooks.engine import Keyed
    from dutydesk.playbooks.events import NotificationAttempted, NotificationFailed, NotificationQueued

    head = {"at": clock.now(), "incident": None, "actor": "notifier"}
    events = [
        NotificationQueued(
            **head,
            notification="n1",
            role="leader_on_duty",
            items=(),
            recipients=("李主任",),
            targets=("li",),
        ),
        NotificationAttempted(
            **head,
            notification="n1",
            role="leader_on_duty",
            target="li",
            attempt=1,
            ok=False,
            error="HTTP 500",
        ),
        NotificationFailed(
            **head, notification="n1", role="leader_on_duty", target="li", attempts=3, error="HTTP 500"
        ),
    ]
    async with journal.store.transaction(after=journal.engine.seq, now=clock.now()) as txn:
        txn.append([Keyed(f"k{n}", e) for n, e in enumerate(events)])
    app = console(journal, tmp_path, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        table = app.screen.query_one("#notifications", DataTable)
        assert table.row_count == 1
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[1:] == ["失败", "带班领导", "li", "1", "HTTP 500"]


def test_screens_read_through_the_query_facade_only() -> None:
    screens = Path(__file__).parents[1] / "console" / "screens"
    reaching = [
        f"{path.name}:{n}"
        for path in sorted(screens.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if ".journal" in line or ".projection" in line or ".store." in line
    ]
    assert reaching == []


async def test_the_console_shows_what_its_injected_queries_answer(journal: Journal, tmp_path: Path) -> None:
    class Rostered(DeskQueries):  # a facade with somebody on the roster, though the log has no roster
        def holders(self, role: str, now: datetime) -> list[str]:
            return ["李带班"] if role == "leader_on_duty" else []

    settings = load_settings(None, {"DUTYDESK_HOME": str(tmp_path)})
    app = DutyApp(
        journal=journal, settings=settings, t=Translator("en"), operator="王值班", queries=Rostered(journal)
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        topbar = str(app.screen.query_one("#topbar", Static).render())
        assert "李带班" in topbar and "王值班" in topbar


async def test_merging_from_the_incident_screen(journal: Journal, tmp_path: Path) -> None:
    kept = await open_incident(journal, title="3号楼2号梯困人（电话）")
    merged = await open_incident(journal, title="3号楼2号梯困人（OA）")
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(IncidentScreen(merged))
        await pilot.pause()
        await pilot.press("m")  # a small form: the open incidents it may be merged into
        await pilot.pause()
        await pilot.press("down", "enter")
        await until(lambda: journal.engine.incident(merged).closed, "merged")
        assert journal.engine.incident(merged).close_reason == f"merged into {kept}"
        assert not journal.engine.incident(kept).closed
        screen = app.screen
        assert isinstance(screen, IncidentScreen)
        await until(lambda: screen.query_one("#timeline", DataTable).row_count >= 2, "timeline")
        timeline = screen.query_one("#timeline", DataTable)
        lines = [str(timeline.get_row_at(i)[2]) for i in range(timeline.row_count)]
        assert f"merged into {kept}" in lines
        # the other incident's timeline shows it too
        events = await journal.store.read(0, incident=kept)
        assert [e.event.kind for e in events][-1] == "incident.merged"


async def test_a_flood_is_one_row_on_the_board_with_what_it_holds(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    store = await SqliteEventStore.open(tmp_path / "flood.db")
    meters = Feed(name="meters", place=Place(building="2号楼"))
    journal = await Journal.open(
        store, plans=plans, deadlines=deadlines, clock=clock, feeds={"meters": meters}
    )
    try:
        flood = [
            Incoming(
                "meters",
                Arrival(f"m{n}", f"tele/pm-{n}/SENSOR", "{}", False, clock.now()),
                b"{}",
                Decoded(
                    (Reading(device=f"pm-{n}", kind="power.outage", signal=Signal.RAISE, point="ENERGY"),)
                ),
            )
            for n in range(50)
        ]
        await journal.ingest(flood)
        app = console(journal, tmp_path)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            table = app.screen.query_one("#incidents", DataTable)
            assert table.row_count == 1
            (incident,) = [i.id for i in journal.engine.projection.incidents.open()]
            assert str(cell(table, incident, "title")).endswith("(50 alarms / 50 devices)")
    finally:
        await store.close()
