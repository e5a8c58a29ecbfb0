"""The board and the incident screen tell the truth at a glance (issue 14): through Textual's pilot
on a real SQLite file and a manual clock, asserting on the lines the screen draws."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.color import Color
from rich.text import Text
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList

from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.app import DutyApp
from dutydesk.console.screens.board import BoardScreen, cut
from dutydesk.console.views import StatusCache
from dutydesk.playbooks.alarms import Arrival, Decoded, Reading, Signal
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import OpenIncident, ReachMilestone, SetSeverity
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Milestone, Severity
from tests.conftest import SHANGHAI
from tests.test_console import SCREENS, console, journal, open_incident, snapshot_scene, until

__all__ = ["journal"]  # the fixture, shared with the console's other tests

_messages = itertools.count()


def shown(widget: Widget) -> str:
    """The lines a widget draws on the screen, as text."""
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def screen_text(app: DutyApp) -> str:
    """Every line of the terminal as the screen on top draws it (footers are many widgets)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def board_text(app: DutyApp, part: str) -> str:
    return shown(app.screen_stack[1].query_one(part, Widget))


async def alarm(journal: Journal, signal: Signal, device: str = "EL-0107") -> None:
    reading = Reading(device=device, kind="elevator.entrapment_between_floors", signal=signal)
    arrival = Arrival(f"m{next(_messages)}", f"lift/{device}", "{}", False, journal.clock.now())
    await journal.ingest([Incoming("lifts", arrival, b"{}", Decoded((reading,)))])


async def test_a_severity_change_shows_on_the_board_at_once(journal: Journal, tmp_path: Path) -> None:
    incident = await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Ⅲ relatively serious" in board_text(app, "#incidents")
        await journal.submit(SetSeverity(actor="李值班", incident=incident, severity=Severity.MAJOR))
        await until(lambda: "Ⅱ serious" in board_text(app, "#incidents"), "the new severity")


async def test_the_english_board_shows_an_urgent_incident(journal: Journal, tmp_path: Path) -> None:
    await journal.submit(
        OpenIncident(actor="王值班", plan_id="elevator-entrapment", title="Lift 2 stuck", urgent=True)
    )
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Lift 2 stuck [urgent]" in board_text(app, "#incidents")


async def test_overdue_obligations_stay_on_the_board(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        clock.advance(timedelta(minutes=40))
        app.tick()
        await pilot.pause()
        due = board_text(app, "#due")
        assert "Report to the leader" in due and "-10:00" in due


async def test_the_cursor_row_keeps_its_countdown_colour(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        clock.advance(timedelta(minutes=6))  # the contractor is to be called within 10 minutes
        app.tick()
        await pilot.pause()
        table = app.screen.query_one("#incidents", DataTable)
        assert table.cursor_row == 0
        (segment,) = [s for s in table.render_line(1) if "04:00" in s.text]
        assert segment.style is not None and segment.style.color is not None
        assert segment.style.color.get_truecolor() == Color.parse("dark_orange").get_truecolor()


async def test_handover_times_are_local(journal: Journal, tmp_path: Path, clock: ManualClock) -> None:
    clock.set(clock.now().astimezone(UTC))  # the system clock answers in UTC
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        text = shown(app.screen.query_one("#handover", Widget))
        assert "2026-11-23 09:00" in text and "+00:00" not in text


async def test_a_device_heard_by_the_engine_counts_as_online(
    journal: Journal, tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    # the engine process hears the device; heartbeats reach the console through the store only
    store = await SqliteEventStore.open(tmp_path / "duty.db")
    try:
        engine = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
        await alarm(engine, Signal.RAISE)
    finally:
        await store.close()
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)):
        await until(lambda: "online 1" in board_text(app, "#devices"), "the device online")


async def test_the_alarm_feed_shows_each_alarm_once_as_it_stands(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    await alarm(journal, Signal.RAISE)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "active" in board_text(app, "#feed")
        clock.advance(timedelta(minutes=2))
        await alarm(journal, Signal.CLEAR)
        await until(lambda: "cleared" in board_text(app, "#feed"), "the clear")
        feed = [line for line in board_text(app, "#feed").splitlines() if line.strip()]
        assert len([line for line in feed if "EL-0107" in line]) == 1, feed
        assert "active" not in " ".join(feed)
        await until(lambda: "active alarms: 0" in board_text(app, "#devices"), "no alarm active")


async def test_a_waived_obligation_stops_counting(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    incident = await open_incident(journal)
    for step in (Milestone.REPORTED, Milestone.ON_SITE, Milestone.STABILISED):
        clock.advance(timedelta(minutes=3))
        await journal.submit(ReachMilestone(actor="王值班", incident=incident, milestone=step))
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        rows = shown(app.screen.query_one("#obligations", Widget)).splitlines()
        (waived,) = [row for row in rows if "waived" in row]
        assert ":" not in waived.split("waived", 1)[1].split("Hourly")[0], waived


async def test_the_description_shows_on_the_incident(journal: Journal, tmp_path: Path) -> None:
    await journal.submit(
        OpenIncident(
            actor="王值班", plan_id="elevator-entrapment", title="2号梯困人", description="被困2人，一老人"
        )
    )
    app = console(journal, tmp_path, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        assert "被困2人，一老人" in shown(app.screen.query_one("#incident-head", Widget))


async def test_the_clock_and_due_panel_move_behind_a_form(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        clock.advance(timedelta(seconds=7))
        app.tick()
        await pilot.pause()
        assert "09:00:07" in board_text(app, "#topbar")
        assert "09:53" in board_text(app, "#due")  # the contractor: 10 minutes less 7 seconds


async def test_the_severity_picker_opens_on_the_current_level(journal: Journal, tmp_path: Path) -> None:
    await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter", "s")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        assert options.highlighted is not None
        assert options.get_option_at_index(options.highlighted).id == "large"


async def test_a_received_time_on_another_day_asks_first_and_shows_its_year(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    clock.set(datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI))  # just after midnight on new year's day
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        form = app.screen
        form.query_one("#title", Input).value = "3号楼停电"
        form.query_one("#received", Input).value = "2026-12-31 23:50"
        await pilot.press("enter")
        await pilot.pause()
        assert not journal.engine.projection.incidents.open()
        assert "2026-12-31 23:50" in shown(form.query_one("#error", Widget))
        await pilot.press("enter")  # confirmed
        await until(journal.engine.projection.incidents.open, "the incident")
        await pilot.pause()
        assert "2026-12-31" in shown(app.screen.query_one("#timeline", Widget))


async def test_a_new_incident_and_a_breach_ring_and_show_until_seen(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    app = console(journal, tmp_path)
    rings: list[None] = []
    app.bell = lambda: rings.append(None)  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "NOTIFICATIONS OFF" in board_text(app, "#attention")  # no apprise.yml in this home
        await journal.submit(
            OpenIncident(actor="ingest", plan_id="elevator-entrapment", title="3号楼电梯困人")
        )
        await until(lambda: "NEW INCIDENT" in board_text(app, "#attention"), "the banner")
        assert len(rings) == 1
        await pilot.press("k")
        await pilot.pause()
        assert "NEW INCIDENT" not in board_text(app, "#attention")
        clock.advance(timedelta(minutes=11))  # the contractor was to be called within 10
        await journal.fire()
        await until(lambda: "DEADLINE MISSED" in board_text(app, "#attention"), "the breach")
        assert len(rings) == 2
        assert "Call the elevator maintenance contractor" in board_text(app, "#attention")


async def test_nothing_calls_when_notifications_are_configured(journal: Journal, tmp_path: Path) -> None:
    (tmp_path / "apprise.yml").write_text("urls: []\n", encoding="utf-8")
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#attention", Widget).display


async def answer(pilot: Pilot[None], text: str) -> None:
    """Type into the prompt on top and press Enter."""
    await pilot.pause()
    pilot.app.screen.query_one("#text", Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_mistakes_are_put_right_from_the_incident_and_the_timeline_shows_both(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    await journal.submit(
        OpenIncident(actor="王值班", plan_id="elevator-entrapment", title="3号楼困人", urgent=True)
    )
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        incident = journal.engine.incident(screen.incident_id)  # type: ignore[attr-defined]
        await pilot.press("g")  # urgent already: take it back, with the reason
        await answer(pilot, "来电者确认无人被困")
        await until(lambda: not incident.urgent, "urgent taken back")
        await pilot.press("e", "down", "down", "enter")  # the title
        await answer(pilot, "5号楼1号梯困人")
        await answer(pilot, "听错楼号")
        await until(lambda: incident.title == "5号楼1号梯困人", "the title corrected")
        clock.advance(timedelta(minutes=2))
        await pilot.press("r")
        await until(lambda: "reported" in incident.milestones, "reported")
        await pilot.press("z", "enter")
        await answer(pilot, "误按 r")
        await until(lambda: "reported" not in incident.milestones, "reported retracted")
        await pilot.pause()
        timeline = shown(screen.query_one("#timeline", Widget))
        for line in (
            "urgent taken back (reason: 来电者确认无人被困)",
            "corrected title: 3号楼困人 → 5号楼1号梯困人 (reason: 听错楼号)",
            "reported to leader",
            "retracted: reported to leader (reason: 误按 r)",
        ):
            assert line in timeline, line
        assert (
            "pending"
            in shown(screen.query_one("#obligations", Widget)).split("Report to the leader")[0][-40:]
        )


async def test_leaving_a_filled_form_asks_first(journal: Journal, tmp_path: Path) -> None:
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press(*"3号楼停电")
        await pilot.press("escape")
        await pilot.pause()
        form = app.screen
        assert "press Esc (or Ctrl+Q) again" in shown(form.query_one("#error", Widget))
        await pilot.press("ctrl+q")  # asked once: now it goes, and the console with it
        await pilot.pause()
    assert app.return_code is not None or not app.is_running


def test_every_event_kind_has_words_in_both_languages() -> None:
    from dutydesk.console.words import EVENTS
    from dutydesk.playbooks.events import EVENT_TYPES

    assert set(EVENT_TYPES) <= set(EVENTS)


def test_every_refusal_the_engine_gives_is_said_in_both_languages() -> None:
    import re

    from dutydesk.console.i18n import MESSAGES

    playbooks = Path(__file__).parents[1] / "playbooks"
    codes = {
        code
        for path in playbooks.glob("*.py")
        for code in re.findall(r'Rejected\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert codes and codes <= set(MESSAGES), codes - set(MESSAGES)


async def test_alarm_incidents_timelines_and_feeds_speak_words(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    await alarm(journal, Signal.RAISE)
    app = console(journal, tmp_path, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "电梯困人 · EL-0107" in board_text(app, "#incidents")
        assert "Ⅲ 较大" in board_text(app, "#incidents")
        assert "非平层关人" in board_text(app, "#feed")
        await pilot.press("enter")
        await pilot.pause()
        timeline = shown(app.screen.query_one("#timeline", Widget))
        assert "值守引擎" in timeline and "engine" not in timeline
        assert "(电梯困人, 设备告警)" in timeline


async def test_the_palette_speaks_the_console_language(journal: Journal, tmp_path: Path) -> None:
    app = console(journal, tmp_path, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        footer = "\n".join(screen_text(app).splitlines()[-3:])  # the key bar wraps
        assert "命令" in footer and "palette" not in footer
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "退出" in titles  # the language's own name is the one word in English
        assert [title for title in titles if title.isascii()] == ["English"]


async def test_the_leader_on_duty_is_set_from_the_console_for_this_shift(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    app = console(journal, tmp_path, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("o", "enter")  # the first role: the leader on duty
        await answer(pilot, "张主任")
        await until(lambda: "带班领导: 张主任" in board_text(app, "#topbar"), "the leader on the board")
        clock.advance(timedelta(hours=13))  # the override ends with the shift
        app.tick()
        await pilot.pause()
        assert "张主任" not in board_text(app, "#topbar")
        await pilot.press("f4")
        await pilot.pause()
        assert "张主任 任带班领导至" in shown(app.screen.query_one("#log", Widget))


async def test_slash_finds_an_incident_by_words_and_opens_it(journal: Journal, tmp_path: Path) -> None:
    await open_incident(journal, title="会议室空调不制冷", plan="normal-repair")
    wanted = await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"3号楼 elevator")
        await pilot.pause()
        found = app.screen.query_one("#found", OptionList)
        assert found.option_count == 1
        await pilot.press("enter")
        await pilot.pause()
        assert getattr(app.screen, "incident_id", None) == wanted


async def test_the_language_switches_inside_the_console(journal: Journal, tmp_path: Path) -> None:
    await open_incident(journal)
    app = console(journal, tmp_path, lang="zh")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "值班台" in board_text(app, "#topbar")
        await pilot.press("l")
        await pilot.pause()
        assert "Duty board" in board_text(app, "#topbar")
        assert "Ⅲ relatively serious" in board_text(app, "#incidents")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
async def test_every_key_and_each_rows_state_countdown_and_title_show(
    journal: Journal, tmp_path: Path, clock: ManualClock, screen: str, lang: str, size: tuple[int, int]
) -> None:
    await snapshot_scene(journal, clock)
    app = console(journal, tmp_path, lang)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press(*SCREENS[screen])
        await pilot.pause()
        text = screen_text(app)
        keys = [a.binding.description for a in app.screen.active_bindings.values() if a.binding.show]
        assert keys and all(key in text for key in keys), [k for k in keys if k not in text]
        if screen == "board":
            for incident in journal.engine.projection.incidents.open():
                (row,) = [
                    line for line in text.splitlines() if incident.id in line and incident.title in line
                ]
                assert re.search(r"-?\d\d:\d\d", row), row
        if screen == "incident":
            assert re.search(r"(breached|已超时)\s+-\d\d:\d\d\s+\S", text), text


async def test_the_board_keeps_no_stale_renderings_as_countdowns_move(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    """Issue 14: every countdown update made each rendering Textual caches of the table stale, yet
    it kept them (up to 10,000 cells), and full garbage collections walked them all, holding key
    presses up. The board's table keeps only renderings of the table as it stands."""
    for n in range(3):
        await open_incident(journal, title=f"{n + 1}号梯困人")
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#incidents", DataTable)
        for _ in range(20):
            clock.advance(timedelta(seconds=1))
            app.tick()
            await pilot.pause()
            screen_text(app)  # drawn, as the terminal draws it
        cells = table.row_count * len(table.columns)
        assert 0 < len(table._cell_render_cache) <= 2 * cells, (len(table._cell_render_cache), cells)


async def test_a_board_refresh_lays_the_screen_out_again_only_when_a_height_changes(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    """Issue 14: the rounds and events part asked for a new layout of the whole screen at every
    refresh, four times a second under a stream of alarms (107 layouts in the benchmark's 20 s,
    10-17 ms each). What it shows changes in a box of fixed height: no layout."""
    await open_incident(journal)
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        board = app.screen
        assert isinstance(board, BoardScreen)
        layouts = 0
        lay_out = board._refresh_layout

        def counted(*args: object, **kwargs: object) -> None:
            nonlocal layouts
            layouts += 1
            lay_out(*args, **kwargs)  # type: ignore[arg-type]

        board._refresh_layout = counted  # type: ignore[method-assign]
        for _ in range(5):
            clock.advance(timedelta(seconds=1))
            await board.refresh_all(incidents=False)
            await pilot.pause()
        assert layouts == 0


def shows(line: str, text: str, least: int) -> bool:
    """The line holds the text whole, or its first `least` columns or more ending in "…"."""
    return text in line or any(cut(Text(text), w).plain in line for w in range(least, cell_len(text)))


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_next_due_item_fits_a_board_80_columns_wide(
    journal: Journal, tmp_path: Path, clock: ManualClock, lang: str
) -> None:
    """Issue 14: at 80 columns the board ran past the screen's edge and cut the next due item
    there (in English after 16 letters). Fitted to the width, each row shows its id, countdown,
    title and next due item, a long one ending in "…"; the severity shows as its numeral."""
    await snapshot_scene(journal, clock)
    await open_incident(journal, plan="medical-emergency", title="2号楼大厅访客突然晕倒")
    app = console(journal, tmp_path, lang)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "Ⅲ" in board_text(app, "#incidents")  # wide enough: the severity in words
        assert ("较大" if lang == "zh" else "relatively serious") in board_text(app, "#incidents")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        table = app.screen.query_one("#incidents", DataTable)
        assert table.virtual_size.width <= table.size.width  # nothing past the screen's edge
        lines = screen_text(app).splitlines()
        assert ("较大" if lang == "zh" else "relatively serious") not in "\n".join(lines)
        for row in app.queries.open_incidents(clock.now(), StatusCache()):
            assert row.next is not None
            (line,) = [line for line in lines if line.lstrip().startswith(row.incident.id)]
            assert re.search(r"-?\d\d:\d\d", line) and row.incident.severity.numeral in line, line
            assert shows(line, row.incident.title, 10), (line, row.incident.title)
            assert shows(line, row.next.obligation.title.get(lang), 20), (line, row.next)


async def test_findings_and_late_reasons_are_recorded_from_the_incident_screen(
    journal: Journal, tmp_path: Path, clock: ManualClock
) -> None:
    """Issue 15: 调查组, 责任认定, 防范措施 and why an obligation was late, from the console too."""
    incident = await open_incident(journal)
    clock.advance(timedelta(minutes=45))  # the 30-minute report to the leader is now late
    await journal.fire()
    app = console(journal, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y", "down", "enter")  # the second section: responsibility
        await answer(pilot, "维保单位未按期保养")
        await pilot.press("w", "enter")  # the one late obligation
        await answer(pilot, "值班电话占线，未能及时联系带班领导")
        for kind in ("incident.finding", "obligation.explained"):  # written by the console's worker
            for _ in range(400):
                if any(r.event.kind == kind for r in await journal.store.read(0, incident=incident)):
                    break
                await pilot.pause(0.05)
    events = [r.event.kind for r in await journal.store.read(0, incident=incident)]
    assert "incident.finding" in events and "obligation.explained" in events
    kinds = {r.event.kind: r.event for r in await journal.store.read(0, incident=incident)}
    assert kinds["incident.finding"].section == "responsibility"
    assert "占线" in kinds["obligation.explained"].text
