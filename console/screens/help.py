"""The help screen: the keys and what the console is for, in the console's language."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown

from dutydesk.console.base import DutyScreen, KeyBar, translate_bindings


class HelpScreen(DutyScreen):
    def compose(self) -> ComposeResult:
        translate_bindings(self, self.duty.t, [("escape", "back", "key.back")])
        with VerticalScroll():
            yield Markdown(self.duty.t("help.text"))
        yield KeyBar()

    def action_back(self) -> None:
        self.app.pop_screen()
