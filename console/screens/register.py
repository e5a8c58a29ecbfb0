"""The register screen: the rectification register (整改台账), every open and overdue item by its
limit; complete an item or give feedback on it."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable

from dutydesk.console import render
from dutydesk.console.base import Changed, DutyScreen, KeyBar, translate_bindings
from dutydesk.console.screens.forms import TextPrompt
from dutydesk.playbooks.commands import Command, CompleteRectification, GiveRectificationFeedback
from dutydesk.playbooks.rectification import ItemState


class RegisterScreen(DutyScreen):
    """The rectification register (整改台账): every open and overdue item by its limit."""

    def compose(self) -> ComposeResult:
        t = self.duty.t
        translate_bindings(
            self,
            t,
            [
                ("d", "done", "act.item_done"),
                ("b", "feedback", "act.item_feedback"),
                ("escape", "back", "key.back"),
            ],
        )
        table: DataTable[Text | str] = DataTable(id="register", cursor_type="row", zebra_stripes=True)
        for key in ("h.state", "h.due", "h.item", "h.owner", "h.content"):
            table.add_column(t(key), key=key)
        yield table
        yield KeyBar()

    def on_mount(self) -> None:
        self.refresh_view()

    def on_changed(self, message: Changed) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        app, t = self.duty, self.duty.t
        now = app.clock.now()
        table = self.query_one("#register", DataTable)
        table.clear()
        for row in app.queries.register(now):
            status, item = row.status, row.status.item
            margin = status.margin(now)
            word = "left" if margin.total_seconds() >= 0 else "overdue"
            due = status.due_at.astimezone(app.zone).strftime("%m-%d")
            if status.state in (ItemState.OPEN, ItemState.OVERDUE):
                due += f" ({t(word, span=render.span(margin, t.lang))})"
            style = "bold white on red" if status.state is ItemState.OVERDUE else ""
            table.add_row(
                Text(t(f"item.{status.state.value}"), style=style),
                due + (" *" if status.provisional else ""),
                item.id,
                item.owner,
                item.content,
                key=item.id,
            )

    def _selected(self) -> str | None:
        table = self.query_one("#register", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def _ask(self, prompt: str, build: Callable[[str, str], Command], done: str) -> None:
        item = self._selected()
        if item is None:
            return
        app = self.duty

        async def send(text: str | None) -> None:
            if text:
                await app.submit(build(item, text), app.t(done, item=item))

        self.app.push_screen(TextPrompt(app.t(prompt)), send)

    def action_done(self) -> None:
        operator = self.duty.operator
        self._ask(
            "ask.evidence",
            lambda item, text: CompleteRectification(actor=operator, item=item, evidence=text),
            "done.item",
        )

    def action_feedback(self) -> None:
        operator = self.duty.operator
        self._ask(
            "ask.item_feedback",
            lambda item, text: GiveRectificationFeedback(actor=operator, item=item, text=text),
            "done.item_feedback",
        )

    def action_back(self) -> None:
        self.app.pop_screen()
