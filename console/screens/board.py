"""The board (值班台): the clock, who is on duty, open incidents by their next deadline with live
countdowns, the alarm feed, device availability and what falls due in the next hour."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static
from textual.widgets.data_table import ColumnKey, RowKey

from dutydesk.console import render
from dutydesk.console.base import Changed, DutyScreen, KeyBar, Tick, translate_bindings
from dutydesk.console.duty_views import duty_line
from dutydesk.console.screens.incident import IncidentScreen
from dutydesk.console.screens.rounds import EventForm, log_round, move_event
from dutydesk.console.views import (
    DueRow,
    IncidentRow,
    StatusCache,
    Urgency,
    countdown,
    latest_per_subject,
    urgency,
)
from dutydesk.playbooks.alarms import Availability
from dutydesk.playbooks.events import AlarmChanged, AlarmObserved

URGENCY_STYLE = {
    Urgency.NONE: "dim",
    Urgency.OK: "green",
    Urgency.WARNING: "bold yellow",
    Urgency.DUE_SOON: "bold dark_orange",
    Urgency.BREACHED: "bold white on red",
}


# the countdown comes second so that it shows on the narrowest terminal
COLUMNS = ("id", "countdown", "title", "severity", "next_due")
REFRESH_EVERY = 0.25  # seconds: changes arriving faster than this are shown together
FEED_LINES = 30
CALLS_SHOWN = 3  # the banner's lines of events; the rest are counted
FULL_EVERY = 5  # ticks between full refreshes when nothing changed (the order of what is pressing)
PADDING = 2  # a cell's padding: one column either side
SCROLLBAR = 2  # kept free, so that the columns stay put when the list outgrows the screen
COUNTDOWN = 8  # the widest countdown shown ("-1:02:03"): room kept for it as the clock moves


def share(room: int, title: int, next_due: int) -> tuple[int, int]:
    """The widths of the title and the next due item where they cannot both have their own: the
    title what it needs up to half the room (it names the row), the next due item the rest."""
    title_width = min(title, max(room // 2, room - next_due))
    return title_width, max(1, room - title_width)


def cut(text: Text, width: int) -> Text:
    """The text in `width` columns, ending in "…" where it is cut."""
    if text.cell_len <= width:
        return text
    text = text.copy()
    text.truncate(width, overflow="ellipsis")
    return text


class IncidentTable(DataTable[Text | str]):
    """The board's incidents: a DataTable that drops its stale renderings at each update.

    Textual keys the renderings it caches of cells and rows by the table's count of updates, which
    every `update_cell` raises: once a countdown moves, nothing cached can be used again, yet it is
    kept, up to 10,000 cells and 1,000 rows. The countdowns moving every second filled the caches
    with some 100,000 stale objects, which every full garbage collection walked (60 ms and more,
    every few seconds: a key press landing then waited as long)."""

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Text | str,
        *,
        update_width: bool = False,
    ) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        self._cell_render_cache.clear()
        self._row_render_cache.clear()
        self._row_renderable_cache.clear()


class BoardScreen(DutyScreen):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[str] = []
        self._dirty = False
        self._cache = StatusCache()
        self._shown: dict[str, tuple[Text | str, ...]] = {}
        self._last: list[IncidentRow] = []
        self._ticks = 0
        self._due: list[DueRow] = []
        self._incidents_seen = -1  # the app's count of incident changes when last shown
        self._content: dict[str, Text | str] = {}  # what each part shows now
        # on a terminal too narrow for every column at its content's width: the widths of the
        # title and the next due item (the severity then shows as its numeral); None: not so
        self._fit: tuple[int, int] | None = None
        self._width = 0  # the terminal's width the rows were last fitted to

    def compose(self) -> ComposeResult:
        t = self.duty.t
        translate_bindings(
            self,
            t,
            [
                ("enter", "open_incident", "key.open"),
                ("k", "acknowledge_calls", "key.seen"),
                ("r", "round", "key.round"),
                ("x", "abnormal_round", "key.abnormal_round"),
                ("e", "new_event", "key.event"),
                ("m", "move_event", "key.move_event"),
                ("slash", "app.find", "key.find"),
                ("o", "app.set_on_duty", "key.on_duty"),
                ("l", "app.switch_language", "key.language"),
            ],
        )
        yield Static(id="topbar")
        yield Static(id="attention")
        yield Static(t("drill.banner"), id="drill-banner")
        # the countdown's colour says how pressing it is, on the cursor row as on the others
        table = IncidentTable(
            id="incidents",
            cursor_type="row",
            zebra_stripes=True,
            cursor_foreground_priority="renderable",
            cursor_background_priority="renderable",
        )
        self._add_columns(table)
        yield table
        with Horizontal(id="lower"):
            with Vertical(id="feed-box"):
                yield Static(t("h.feed"), classes="heading")
                yield Static(id="feed")
            with Vertical(id="due-box"):
                yield Static(t("h.due_hour"), classes="heading")
                yield Static(id="due")
            with Vertical(id="duties-box"):
                yield Static(t("h.duties"), classes="heading")
                yield Static(id="duties")
        yield Static(id="devices")
        yield KeyBar()

    async def on_mount(self) -> None:
        await self.refresh_all()
        self.set_interval(REFRESH_EVERY, self._refresh_if_changed)

    def on_changed(self, message: Changed) -> None:
        # a stream of alarms must not keep the screen busy: gather changes, show them together
        self._dirty = True

    async def _refresh_if_changed(self) -> None:
        if self._dirty:
            await self.refresh_all(incidents=False)

    async def on_tick(self, message: Tick) -> None:
        self._ticks += 1
        if self._ticks % FULL_EVERY == 0:
            await self.refresh_all()
        elif self._dirty:
            await self.refresh_all(incidents=False)
        else:  # between full refreshes only the clock and the countdowns move, all in step
            now = self.duty.clock.now()
            self._show_clock(now)
            rows = [
                dataclasses.replace(r, next=r.next.at(now), urgency=urgency(r.next.at(now), now))
                if r.next
                else r
                for r in self._last
            ]
            self._fill_incidents(rows, now)
            self._show_due([dataclasses.replace(d, status=d.status.at(now)) for d in self._due], now)
            self._fill_duties(now)

    def _show_clock(self, now: datetime) -> None:
        """The clock, who is on duty and the leader on duty (from the roster, else this console's
        operator)."""
        app, t = self.duty, self.duty.t
        local = now.astimezone(app.zone)
        officers = ", ".join(app.queries.holders("duty_officer", now)) or app.operator
        leaders = ", ".join(app.queries.holders("leader_on_duty", now)) or "-"
        self._put(
            "#topbar",
            f"[b]{t('board.title')}[/b]  {local:%Y-%m-%d %H:%M:%S} {local.tzname()}  "
            f"{t('board.on_duty')}: {officers}  {t('board.leader')}: {leaders}",
        )

    async def refresh_all(self, *, incidents: bool = True) -> None:
        """Everything; the incidents and what falls due only when `incidents` or when incidents
        changed: a stream of alarms then costs the feed and the device line, not 500 incidents
        evaluated four times a second."""
        app, t = self.duty, self.duty.t
        now = app.clock.now()
        queries = app.queries
        self._show_clock(now)
        self._show_calls()
        self._dirty = False
        if incidents or app.incidents_changed != self._incidents_seen:
            self._incidents_seen = app.incidents_changed
            rows = self._last = queries.open_incidents(now, self._cache)
            drill = self.query_one("#drill-banner")
            if drill.display != any(r.incident.drill for r in rows):
                drill.display = not drill.display
            self._fill_incidents(rows, now)
            self._due = queries.due_soon(now, self._cache)
            self._show_due(self._due, now)
        self._fill_feed()
        self._fill_duties(now)
        counts = await queries.device_counts()
        active = len(queries.alarms(now))
        parts = [f"{t(f'availability.{a.value}')} {counts[a]}" for a in Availability if counts[a]]
        self._put(
            "#devices", f"{t('h.device')}: {'  '.join(parts) or '-'}   {t('board.active_alarms')}: {active}"
        )

    def _show_due(self, due: list[DueRow], now: datetime) -> None:
        """What is overdue (in red) and what falls due in the next hour, soonest first."""
        t = self.duty.t
        text = Text()
        for row in due[:20]:
            style = URGENCY_STYLE[urgency(row.status, now)]
            text.append(f"{countdown(row.status, now):>8}", style=style)
            text.append(f"  {row.incident.id}  {row.status.obligation.title.get(t.lang)}\n")
        text.rstrip()
        self._put("#due", text if due else Text(t("board.nothing_due")))

    def _put(self, part: str, content: Text | str) -> None:
        """Show `content` in a part of the board, unless it shows already; only the banner may
        change its height. Laying the whole screen out again at every update is what held the
        event loop up under a stream of alarms."""
        if self._content.get(part) != content:
            self._content[part] = content
            self.query_one(part, Static).update(content, layout=part == "#attention")

    def _show_calls(self) -> None:
        """The banner: what called for attention since the officer last acknowledged (newest
        first), and the conditions that hold."""
        app, t = self.duty, self.duty.t
        lines = [t(f"call.{call.value}") for call in app.conditions]
        for call, event in reversed(app.calls[-CALLS_SHOWN:]):
            plan = app.queries.incident(event.incident).plan if event.incident else None
            lines.append(f"{t(f'call.{call.value}')}: {event.incident}  {render.describe(event, plan, t)}")
        if len(app.calls) > CALLS_SHOWN:
            lines.append(t("call.more", count=len(app.calls) - CALLS_SHOWN))
        if app.calls:
            lines[-1] += f"   {t('call.ack')}"
        self._put("#attention", Text("\n".join(lines)))
        banner = self.query_one("#attention")
        if banner.display != bool(lines):
            banner.display = bool(lines)

    def action_acknowledge_calls(self) -> None:
        self.duty.acknowledge_calls()
        self._show_calls()

    def _add_columns(self, table: DataTable[Text | str]) -> None:
        t = self.duty.t
        for column in COLUMNS:
            heading = "level" if column == "severity" and self._fit else column
            table.add_column(t(f"h.{heading}"), key=column)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width and self._rows:
            self._rows = []  # fitted again to the new width
            self._fill_incidents(self._last, self.duty.clock.now())

    def _fill_incidents(self, rows: list[IncidentRow], now: datetime) -> None:
        table = self.query_one("#incidents", DataTable)
        ids = [r.incident.id for r in rows]
        if ids != self._rows:  # the set or order changed: rebuild; else only the cells that moved
            cursor = table.cursor_row
            narrow = self._fit is not None
            self._fit = None
            natural = [self._cells(row, now) for row in rows]
            self._fit = self._fitting(natural)
            table.clear(columns=narrow != (self._fit is not None))
            if not table.columns:
                self._add_columns(table)
            self._shown = {}
            fitted = [self._cells(row, now) for row in rows] if self._fit else natural
            for row, cells in zip(rows, fitted, strict=True):
                self._shown[row.incident.id] = cells
                table.add_row(*cells, key=row.incident.id)
            self._rows = ids
            if rows:
                table.move_cursor(row=min(cursor, len(rows) - 1))
            return
        # countdowns move every second for every row: touch only the rows in view (the others are
        # brought up to date when they scroll into view, within a second)
        first = max(0, int(table.scroll_y) - 1)
        for row in rows[first : first + table.size.height + 2]:
            cells = self._cells(row, now)
            shown = self._shown.get(row.incident.id)
            for index, column in enumerate(COLUMNS):
                if shown is None or cells[index] != shown[index]:
                    table.update_cell(row.incident.id, column, cells[index])
            self._shown[row.incident.id] = cells

    def _fitting(self, cells: list[tuple[Text | str, ...]]) -> tuple[int, int] | None:
        """None when every column fits the terminal at its content's width; else the widths the
        title and the next due item get beside the id, the countdown and the severity's numeral
        (at 80 columns the severity's words would leave the next due item a few letters)."""
        t, self._width = self.duty.t, self.app.size.width
        widths = [
            max([cell_len(t(f"h.{column}")), *(cell_len(str(row[index])) for row in cells)])
            for index, column in enumerate(COLUMNS)
        ]
        if sum(widths) + PADDING * len(COLUMNS) + SCROLLBAR <= self._width:
            return None
        beside = widths[0] + max(widths[1], COUNTDOWN) + cell_len(t("h.level")) + PADDING * len(COLUMNS)
        return share(self._width - SCROLLBAR - beside, widths[2], widths[4])

    def _cells(self, row: IncidentRow, now: datetime) -> tuple[Text | str, ...]:
        t = self.duty.t
        incident = row.incident
        # Text, not markup: "[urgent]" must show as written, whatever the title holds
        title = Text(incident.title)
        if incident.urgent:
            title.append(f" [{t('urgent')}]", style="bold")
        if incident.drill:
            title = Text(f"[{t('drill')}] ").append_text(title)
        alarms, devices = self.duty.queries.held(incident.id)
        if alarms > 1:  # a flood is one row: say how much it holds
            title.append(f" ({t('board.held', alarms=alarms, devices=devices)})")
        style = URGENCY_STYLE[row.urgency]
        nxt = Text(row.next.obligation.title.get(t.lang) if row.next else "-")
        clock = Text(countdown(row.next, now) if row.next else "-", style=style)
        if self._fit is None:
            return (incident.id, clock, title, t.label(incident.severity.grade), nxt)
        title_width, next_width = self._fit
        return (incident.id, clock, cut(title, title_width), incident.severity.numeral, cut(nxt, next_width))

    def _fill_duties(self, now: datetime) -> None:
        """The next rounds and today's event tasks, with the incidents' countdown colours."""
        app, t = self.duty, self.duty.t
        rows = app.queries.duty_rows(now)[:12]
        # a centre that times no routines and plans no events keeps the room for the others
        self.query_one("#duties-box").display = bool(rows or app.queries.routines())
        lines = [Text(duty_line(r, now, t.lang, app.zone), style=URGENCY_STYLE[r.urgency]) for r in rows]
        self._put("#duties", Text("\n").join(lines) if lines else t("board.no_duties"))

    def action_round(self) -> None:
        log_round(self, abnormal=False)

    def action_abnormal_round(self) -> None:
        log_round(self, abnormal=True)

    def action_new_event(self) -> None:
        self.app.push_screen(EventForm())

    def action_move_event(self) -> None:
        move_event(self)

    def _fill_feed(self) -> None:
        """The latest word on each alarm and device, newest first; an alarm as it stands now."""
        app, t = self.duty, self.duty.t
        lines = []
        for event in latest_per_subject((r.event for r in reversed(app.feed)), FEED_LINES):
            alarm = app.queries.alarm(event.key) if isinstance(event, AlarmObserved | AlarmChanged) else None
            if alarm is not None:
                when = alarm.since.astimezone(app.zone).strftime("%H:%M:%S")
                lines.append(f"{when} {render.alarm_line(alarm, t)}")
            else:
                when = event.at.astimezone(app.zone).strftime("%H:%M:%S")
                lines.append(f"{when} {render.describe(event, None, t)}")
        self._put("#feed", Text("\n".join(lines) if lines else t("no_alarms")))

    def action_open_incident(self) -> None:
        table = self.query_one("#incidents", DataTable)
        if not self._rows or table.cursor_row < 0:
            return
        self.app.push_screen(IncidentScreen(self._rows[table.cursor_row]))

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        if message.row_key.value:
            self.app.push_screen(IncidentScreen(message.row_key.value))
