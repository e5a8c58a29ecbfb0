"""Pieces every screen of the console shares: the messages that refresh them, translated key
bindings, and the screen base that reaches the app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.dom import DOMNode
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from dutydesk.console.i18n import Translator

if TYPE_CHECKING:
    from dutydesk.console.app import DutyApp


class Changed(Message, bubble=False):
    """The journal applied events; screens refresh. Bursts merge into one message. It must not
    bubble: the app hands it on to every screen."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Changed)


class Tick(Message, bubble=False):
    """A second passed: countdowns move."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Tick)


def translate_bindings(node: DOMNode, t: Translator, keys: Sequence[tuple[str, str, str]]) -> None:
    """Give a screen its key bindings with descriptions in the console's language (the class-level
    BINDINGS cannot know the language). Textual has no public per-instance rebinding."""
    for key, action, label in keys:
        node._bindings.bind(key, action, t(label))


class DutyScreen(Screen[None]):
    """A screen of the duty console: reaches the app's queries, clock and language."""

    @property
    def duty(self) -> DutyApp:
        return cast("DutyApp", self.app)


PALETTE_ACTIONS = ("command_palette", "app.command_palette")


class KeyBar(Static):
    """Every key the screen answers to, wrapped onto as many lines as the width needs: Textual's
    footer keeps to one line and cuts what does not fit, so at 80 columns keys went unseen."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._show)
        self._show()

    def on_resize(self, event: Resize) -> None:
        self._show()

    def _show(self, *_: object) -> None:
        width = max(self.size.width, 20)
        lines: list[Text] = [Text()]
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show and binding.action not in PALETTE_ACTIONS:
                continue
            item = Text.assemble((self.app.get_key_display(binding), "bold"), f" {binding.description}")
            if lines[-1] and lines[-1].cell_len + 2 + item.cell_len > width:
                lines.append(Text())
            if lines[-1]:
                lines[-1].append("  ")
            lines[-1].append_text(item)
        self.update(Text("\n").join(lines))
