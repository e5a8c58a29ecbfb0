"""The board (值班台): the clock, who is on duty, open incidents by their next deadline with live
countdowns, the alarm feed, device availability and what falls due in the next hour."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Static

from dutydesk.console import render
from dutydesk.console.base import Changed, DutyScreen, Tick, translate_bindings
from dutydesk.console.duty_views import duty_line
from dutydesk.console.screens.incident import IncidentScreen
from dutydesk.console.screens.rounds import EventForm, log_round, move_event
from dutydesk.console.views import (
    IncidentRow,
    StatusCache,
    Urgency,
    countdown,
    urgency,
)
from dutydesk.playbooks.alarms import Availability

URGENCY_STYLE = {
    Urgency.NONE: "dim",
    Urgency.OK: "green",
    Urgency.WARNING: "bold yellow",
    Urgency.DUE_SOON: "bold dark_orange",
    Urgency.BREACHED: "bold white on red",
}


REFRESH_EVERY = 0.25  # seconds: changes arriving faster than this are shown together
FULL_EVERY = 5  # ticks between full refreshes when nothing changed (the order of what is pressing)


class BoardScreen(DutyScreen):
    def __init__(self) -> None:
        super().__init__()
        self._rows: list[str] = []
        self._dirty = False
        self._cache = StatusCache()
        self._shown: dict[str, tuple[Text | str, ...]] = {}
        self._last: list[IncidentRow] = []
        self._ticks = 0

    def compose(self) -> ComposeResult:
        t = self.duty.t
        keys = [("enter", "open_incident", "key.open"), ("r", "round", "key.round")]
        keys += [("x", "abnormal_round", "key.abnormal_round"), ("e", "new_event", "key.event")]
        keys += [("m", "move_event", "key.move_event")]
        translate_bindings(self, t, keys)
        yield Static(id="topbar")
        yield Static(t("drill.banner"), id="drill-banner")
        table: DataTable[Text | str] = DataTable(id="incidents", cursor_type="row", zebra_stripes=True)
        # the countdown comes second so that it shows on the narrowest terminal
        table.add_column(t("h.id"), key="id")
        table.add_column(t("h.countdown"), key="countdown")
        table.add_column(t("h.title"), key="title")
        table.add_column(t("h.severity"), key="severity")
        table.add_column(t("h.next_due"), key="next")
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
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_all()
        self.set_interval(REFRESH_EVERY, self._refresh_if_changed)

    def on_changed(self, message: Changed) -> None:
        # a stream of alarms must not keep the screen busy: gather changes, show them together
        self._dirty = True

    def _refresh_if_changed(self) -> None:
        if self._dirty:
            self.refresh_all()

    def on_tick(self, message: Tick) -> None:
        self._ticks += 1
        if self._dirty or self._ticks % FULL_EVERY == 0:
            self.refresh_all()
        else:  # between full refreshes only the clock and the countdowns in view move
            now = self.duty.clock.now()
            self._show_clock(now)
            rows = [
                dataclasses.replace(r, urgency=urgency(r.next.at(now), now)) if r.next else r
                for r in self._last
            ]
            self._fill_incidents(rows, now)
            self._fill_duties(now)

    def _show_clock(self, now: datetime) -> None:
        """The clock, who is on duty and the leader on duty (from the roster, else this console's
        operator)."""
        app, t = self.duty, self.duty.t
        local = now.astimezone(app.zone)
        officers = ", ".join(app.queries.holders("duty_officer", now)) or app.operator
        leaders = ", ".join(app.queries.holders("leader_on_duty", now)) or "-"
        self.query_one("#topbar", Static).update(
            f"[b]{t('board.title')}[/b]  {local:%Y-%m-%d %H:%M:%S} {local.tzname()}  "
            f"{t('board.on_duty')}: {officers}  {t('board.leader')}: {leaders}"
        )

    def refresh_all(self) -> None:
        app, t = self.duty, self.duty.t
        now = app.clock.now()
        queries = app.queries
        self._show_clock(now)
        self._dirty = False
        rows = self._last = queries.open_incidents(now, self._cache)
        self.query_one("#drill-banner").display = any(r.incident.drill for r in rows)
        self._fill_incidents(rows, now)
        self._fill_feed()
        self._fill_duties(now)
        due = queries.due_soon(now, self._cache)
        self.query_one("#due", Static).update(
            "\n".join(
                f"{countdown(d.status, now):>8}  {d.incident.id}  {d.status.obligation.title.get(t.lang)}"
                for d in due[:20]
            )
            or t("board.nothing_due")
        )
        counts = queries.device_counts()
        active = len(queries.alarms(now))
        parts = [f"{t(f'availability.{a.value}')} {counts[a]}" for a in Availability if counts[a]]
        self.query_one("#devices", Static).update(
            f"{t('h.device')}: {'  '.join(parts) or '-'}   {t('board.active_alarms')}: {active}"
        )

    def _fill_incidents(self, rows: list[IncidentRow], now: datetime) -> None:
        table = self.query_one("#incidents", DataTable)
        ids = [r.incident.id for r in rows]
        if ids != self._rows:  # the set or order changed: rebuild; else only the cells that moved
            cursor = table.cursor_row
            table.clear()
            self._shown = {}
            for row in rows:
                cells = self._shown[row.incident.id] = self._cells(row, now)
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
            for column, index in (("countdown", 1), ("next", 4)):
                if shown is None or cells[index] != shown[index]:
                    table.update_cell(row.incident.id, column, cells[index])
            self._shown[row.incident.id] = cells

    def _cells(self, row: IncidentRow, now: datetime) -> tuple[Text | str, ...]:
        t = self.duty.t
        incident = row.incident
        title = incident.title + (f" [{t('urgent')}]" if incident.urgent else "")
        if incident.drill:
            title = f"[{t('drill')}] {title}"
        alarms, devices = self.duty.queries.held(incident.id)
        if alarms > 1:  # a flood is one row: say how much it holds
            title += f" ({t('board.held', alarms=alarms, devices=devices)})"
        style = URGENCY_STYLE[row.urgency]
        nxt = row.next.obligation.title.get(t.lang) if row.next else "-"
        clock = countdown(row.next, now) if row.next else "-"
        return (incident.id, Text(clock, style=style), title, t.label(incident.severity.label), nxt)

    def _fill_duties(self, now: datetime) -> None:
        """The next rounds and today's event tasks, with the incidents' countdown colours."""
        app, t = self.duty, self.duty.t
        rows = app.queries.duty_rows(now)[:12]
        # a centre that times no routines and plans no events keeps the room for the others
        self.query_one("#duties-box").display = bool(rows or app.queries.routines())
        lines = [Text(duty_line(r, now, t.lang, app.zone), style=URGENCY_STYLE[r.urgency]) for r in rows]
        self.query_one("#duties", Static).update(Text("\n").join(lines) if lines else t("board.no_duties"))

    def action_round(self) -> None:
        log_round(self, abnormal=False)

    def action_abnormal_round(self) -> None:
        log_round(self, abnormal=True)

    def action_new_event(self) -> None:
        self.app.push_screen(EventForm())

    def action_move_event(self) -> None:
        move_event(self)

    def _fill_feed(self) -> None:
        app, t = self.duty, self.duty.t
        lines = []
        for item in reversed(app.feed):
            event = item.event
            when = event.at.astimezone(app.zone).strftime("%H:%M:%S")
            lines.append(f"{when} {render.describe(event, None, t)}")
            if len(lines) >= 30:
                break
        self.query_one("#feed", Static).update("\n".join(lines) or t("no_alarms"))

    def action_open_incident(self) -> None:
        table = self.query_one("#incidents", DataTable)
        if not self._rows or table.cursor_row < 0:
            return
        self.app.push_screen(IncidentScreen(self._rows[table.cursor_row]))

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        if message.row_key.value:
            self.app.push_screen(IncidentScreen(message.row_key.value))
