"""Pieces every screen of the console shares: the messages that refresh them, translated key
bindings, and the screen base that reaches the app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

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
        node._bindings.bind(key, action, t(label))  # noqa: SLF001 - Textual binds labels only at class level


class DutyScreen(Screen[None]):
    """A screen of the duty console: reaches the app's queries, clock and language."""

    @property
    def duty(self) -> DutyApp:
        return cast("DutyApp", self.app)
