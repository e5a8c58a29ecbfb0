"""The duty console (值班台): a Textual app a duty officer runs a whole shift from.

The app renders state and sends commands; it builds no clients and runs no business rules. It is
handed a journal (the engine bound to its event log) and follows the log, so what another console,
the command line or the engine process writes shows here within a second. Screens read through
the app's `queries` (`console/queries.py`) and write through `submit`; none of them touches the
journal's engine or store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from textual.app import App, SystemCommand
from textual.screen import Screen

from dutydesk.connectors.application.factories import apprise_path
from dutydesk.connectors.application.journal import Journal, Outcome
from dutydesk.connectors.application.liveness import Liveness
from dutydesk.connectors.application.service import WAKE_WITHIN
from dutydesk.connectors.settings import Settings, SettingsError
from dutydesk.connectors.store import Recorded
from dutydesk.console import render
from dutydesk.console.base import Changed, DutyScreen, Tick, translate_bindings
from dutydesk.console.i18n import Translator
from dutydesk.console.queries import DeskQueries
from dutydesk.console.screens.alarms import AlarmsScreen
from dutydesk.console.screens.board import BoardScreen
from dutydesk.console.screens.dutylog import DutyLogScreen
from dutydesk.console.screens.forms import ChoicePrompt, FindIncident, Form, NewIncidentForm, TextPrompt
from dutydesk.console.screens.help import HelpScreen
from dutydesk.console.screens.incident import IncidentScreen
from dutydesk.console.screens.register import RegisterScreen
from dutydesk.console.views import Call, calls_for
from dutydesk.playbooks.clock import Clock
from dutydesk.playbooks.commands import Command, OverrideRoster
from dutydesk.playbooks.events import AlarmChanged, AlarmObserved, DeviceChanged, Event

STYLES = Path(__file__).parent / "styles"
FOLLOW_INTERVAL = 0.1  # seconds between looks for what other processes wrote
TICK_INTERVAL = 1.0  # seconds between countdown refreshes
ENGINE_WATCH = 1.0  # seconds between looks at whether an engine runs (the banner within 5 s)
FEED_LENGTH = 200  # alarm events kept for the live feed
CATCH_UP_BITE = 200  # events folded in between two looks at the keyboard
ON_DUTY_ROLES = ("leader_on_duty", "duty_officer")  # the roles the desk itself may hand over


def _conditions(settings: Settings) -> list[Call]:
    """What calls for attention from the start: notifications going nowhere."""
    try:
        delivering = apprise_path(settings) is not None
    except SettingsError:  # configured, but the file is missing
        delivering = False
    return [] if delivering else [Call.NOTIFY_OFF]


def _set_history_aside() -> None:
    """What the console holds at start (the log's history: with 10,000 incidents, some 70,000
    objects) lives as long as the console runs. Python's garbage collector walked all of it in
    every full collection, every few seconds under a stream of alarms, holding the event loop
    60-140 ms each time: a key press landing then waited as long. Collected once, then frozen:
    full collections walk only what came after. Screens are not frozen (they come and go: a
    language switch replaces the board). `_give_history_back` undoes it."""
    gc.collect()
    gc.freeze()


def _give_history_back() -> None:
    """The console quits: what it set aside is the collector's again (cycles in it are freed)."""
    gc.unfreeze()


class DutyApp(App[None]):
    CSS_PATH = [  # noqa: RUF012 - declared by Textual
        STYLES / "app.tcss",
        STYLES / "board.tcss",
        STYLES / "incident.tcss",
        STYLES / "forms.tcss",
        STYLES / "alarms.tcss",
        STYLES / "dutylog.tcss",
        STYLES / "register.tcss",
    ]
    TITLE = "dutydesk 值班台"

    def __init__(
        self,
        *,
        journal: Journal,
        settings: Settings,
        t: Translator,
        operator: str,
        queries: DeskQueries | None = None,
        follow_interval: float = FOLLOW_INTERVAL,
        liveness: Callable[[], Awaitable[Liveness]] | None = None,
        stop_engine: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        super().__init__()
        self.journal = journal
        self.queries = queries or DeskQueries(journal)  # what screens read; they never reach the journal
        self.settings = settings
        self.t = t
        self.operator = operator
        self.zone = settings.zone
        self.feed: deque[Recorded] = deque(maxlen=FEED_LENGTH)
        self.incidents_changed = 0  # counts applied batches that touched incidents (the board's cue)
        self.calls: list[tuple[Call, Event]] = []  # what called for attention, not yet acknowledged
        self.conditions: list[Call] = _conditions(settings)  # what calls for as long as it holds
        self.liveness = liveness  # whether an engine runs; None: this app runs beside its own
        # quitting leaves the engine running; this stops it, after asking (None: not offered)
        self.stop_engine = stop_engine
        self._follow_interval = follow_interval
        translate_bindings(
            self,
            t,
            [
                ("f1", "help", "key.help"),
                ("f2", "show_board", "key.board"),
                ("f3", "show_alarms", "key.alarms"),
                ("f4", "show_log", "key.log"),
                ("f6", "show_register", "key.register"),
                ("ctrl+n", "new_incident", "key.new"),
            ],
        )
        self._translate_textual_keys()
        journal.subscribe(self._applied)

    def _translate_textual_keys(self) -> None:
        """Textual's own keys (the palette, quit) speak English and quit hides: say them in the
        console's language, and show quit among the keys."""
        for key, label, show in (
            (self.COMMAND_PALETTE_BINDING, "key.palette", False),
            ("ctrl+q", "key.quit", True),
        ):
            self._bindings.key_to_bindings[key] = [
                dataclasses.replace(binding, description=self.t(label), tooltip=self.t(label), show=show)
                for binding in self._bindings.key_to_bindings.get(key, [])[:1]
            ]

    @property
    def clock(self) -> Clock:
        return self.journal.clock

    def _applied(self, recorded: Sequence[Recorded]) -> None:
        feed = [r for r in recorded if isinstance(r.event, AlarmObserved | AlarmChanged | DeviceChanged)]
        self.feed.extend(feed)
        if len(feed) < len(recorded) or any(r.event.incident for r in feed):
            self.incidents_changed += 1  # the board evaluates its incidents again
        calls = [(call, r.event) for r in recorded if (call := calls_for(r.event, self.operator))]
        if calls:
            self.calls += calls
            if self.settings.file.duty.bell:
                self.bell()
        self.post_message(Changed())

    def acknowledge_calls(self) -> None:
        """The officer has seen what called for attention: the banner keeps only conditions."""
        self.calls.clear()

    async def on_mount(self) -> None:
        kinds = (AlarmObserved.kind, AlarmChanged.kind, DeviceChanged.kind)
        self.feed.extend(await self.journal.store.read_recent(kinds, FEED_LENGTH))
        _set_history_aside()  # before the board: screens come and go, the history stays
        await self.push_screen(BoardScreen())
        self.run_worker(self._follow(), exclusive=False, group="follow")
        self.set_interval(TICK_INTERVAL, self.tick)
        if self.liveness is not None:
            self.run_worker(self._watch_engine(self.liveness), exclusive=False, group="engine")

    def on_unmount(self) -> None:
        _give_history_back()

    async def _follow(self) -> None:
        """Fold in what others write (the engine process, another console, the command line)."""
        store = self.journal.store
        await store.changed()
        while True:
            # woken by the database where it can (PostgreSQL); else it looks every interval
            if await store.wait_changed(WAKE_WITHIN, every=self._follow_interval):
                # in small bites, so that a flood of alarms never holds up a key press
                while len(await self.journal.catch_up(limit=CATCH_UP_BITE)) == CATCH_UP_BITE:  # noqa: ASYNC110
                    await asyncio.sleep(0)  # let the keyboard in between bites

    async def _watch_engine(self, liveness: Callable[[], Awaitable[Liveness]]) -> None:
        """Keep the banner's conditions true to whether an engine runs and how it is doing."""
        while True:
            state = await liveness()
            conditions = _conditions(self.settings)
            if not state.notifications and Call.NOTIFY_OFF not in conditions:
                conditions.append(Call.NOTIFY_OFF)
            if not state.running:
                conditions.insert(0, Call.NO_ENGINE)
            elif state.degraded:
                conditions.insert(0, Call.ENGINE_DEGRADED)
            if conditions != self.conditions:
                self.conditions = conditions
                self.post_message(Changed())
            await asyncio.sleep(ENGINE_WATCH)

    def tick(self) -> None:
        """Move the clocks and countdowns (called every second; tests call it after moving the
        clock). Every duty screen of the stack: the board stays visible behind a form."""
        for screen in self._duty_screens():
            screen.post_message(Tick())

    def on_changed(self, message: Changed) -> None:
        for screen in self._duty_screens():
            screen.post_message(Changed())

    def _duty_screens(self) -> list[DutyScreen]:
        """The console's own screens. Not Textual's blank screen at the bottom: a message to it
        has it repaint in full, and the screen on top with it (under a stream of alarms, several
        full repaints a second held the event loop up)."""
        return [screen for screen in self.screen_stack if isinstance(screen, DutyScreen)]

    async def submit(self, command: Command, done: str) -> Outcome:
        """Send a command; confirm what it did, or say why it was refused."""
        (outcome,) = await self.journal.submit(command)
        if outcome.rejected is not None:
            self.notify(self.refusal(outcome), severity="error", timeout=8)
        elif outcome.repeated:
            self.notify(self.t("repeated"))
        else:
            self.notify(done, timeout=4)
        return outcome

    def refusal(self, outcome: Outcome) -> str:
        rejected = outcome.rejected
        assert rejected is not None
        return render.refusal(rejected, self.t, self.zone)

    def drill_finished(self, error: BaseException | None) -> None:
        """The drill beside this console has run to its end (or failed): say so, keep the screen."""
        if error is None:
            self.notify(self.t("drill.over"), timeout=30)
        else:
            self.notify(self.t("drill.failed", error=str(error)), severity="error", timeout=30)

    # -- navigation ------------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit, unless a form holds what the officer typed and has not yet been told."""
        if isinstance(self.screen, Form) and not self.screen.leave():
            return
        await super().action_quit()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def _switch(self, screen: Screen[None]) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if type(self.screen) is not type(screen):
            self.push_screen(screen)

    def action_show_board(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_show_alarms(self) -> None:
        self._switch(AlarmsScreen())

    def action_show_log(self) -> None:
        self._switch(DutyLogScreen())

    def action_show_register(self) -> None:
        self._switch(RegisterScreen())

    def action_new_incident(self) -> None:
        def opened(incident: str | None) -> None:
            if incident:
                self.push_screen(IncidentScreen(incident))

        self.push_screen(NewIncidentForm(), opened)

    def action_find(self) -> None:
        def found(incident: str | None) -> None:
            if incident:
                self.push_screen(IncidentScreen(incident))

        self.push_screen(FindIncident(), found)

    def action_set_on_duty(self) -> None:
        """Who holds a role for the rest of this shift: which role, then who (a roster override)."""
        t = self.t
        roles = [(role, render.role_label(role, t)) for role in ON_DUTY_ROLES]

        def holder_for(role: str | None) -> None:
            if role is None:
                return

            async def send(holder: str | None) -> None:
                if holder:
                    command = OverrideRoster(actor=self.operator, role=role, holder=holder)
                    label = render.role_label(role, t)
                    await self.submit(command, t("done.on_duty", holder=holder, role=label))

            current = ", ".join(self.queries.holders(role, self.clock.now()))
            prompt = TextPrompt(t("form.holder", role=render.role_label(role, t)), value=current)
            self.push_screen(prompt, send)

        self.push_screen(ChoicePrompt(t("key.on_duty"), roles), holder_for)

    async def action_switch_language(self) -> None:
        """中文 ↔ English: the screens are built again in the other language, the board on top."""
        self.t = Translator("en" if self.t.lang == "zh" else "zh")
        self._translate_textual_keys()
        while len(self.screen_stack) > 1:
            self.pop_screen()
        await self.push_screen(BoardScreen())

    def action_stop_engine(self) -> None:
        """Stop the engine, after saying that deadlines and notifications stop with it."""
        stop_engine, t = self.stop_engine, self.t
        if stop_engine is None:
            return

        async def chosen(choice: str | None) -> None:
            if choice == "stop":
                stopped = await stop_engine()
                self.notify(t("engine.stopped" if stopped else "engine.not_stopped"), timeout=10)

        choices = [("keep", t("engine.keep")), ("stop", t("engine.stop"))]
        self.push_screen(ChoicePrompt(t("engine.ask_stop"), choices, current="keep"), chosen)

    def get_system_commands(self, screen: Screen[object]) -> list[SystemCommand]:
        t = self.t
        stopping = [SystemCommand(t("key.stop_engine"), t("cmd.stop_engine"), self.action_stop_engine)]
        return [
            *(stopping if self.stop_engine is not None else []),
            SystemCommand(t("key.board"), t("cmd.board"), self.action_show_board),
            SystemCommand(t("key.alarms"), t("cmd.alarms"), self.action_show_alarms),
            SystemCommand(t("key.log"), t("cmd.log"), self.action_show_log),
            SystemCommand(t("key.register"), t("cmd.register"), self.action_show_register),
            SystemCommand(t("key.new"), t("cmd.new"), self.action_new_incident),
            SystemCommand(t("key.help"), t("cmd.help"), self.action_help),
            SystemCommand(t("key.find"), t("cmd.find"), self.action_find),
            SystemCommand(t("key.on_duty"), t("cmd.on_duty"), self.action_set_on_duty),
            SystemCommand(t("key.language"), t("cmd.language"), self.action_switch_language),
            # Textual's own commands (themes, screenshots, ...) speak English and are not for duty
            SystemCommand(t("key.quit"), t("cmd.quit"), self.action_quit),
        ]
