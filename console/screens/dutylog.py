"""The duty log screen: the duty log (值班记录) and the handover (交接班)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from dutydesk.console import render
from dutydesk.console.base import Changed, DutyScreen, KeyBar, translate_bindings
from dutydesk.console.screens.forms import TextPrompt
from dutydesk.console.words import actor_word
from dutydesk.playbooks.commands import AcknowledgeHandover, WriteLog
from dutydesk.playbooks.events import HandoverAcknowledged


class DutyLogScreen(DutyScreen):
    """The duty log (值班记录) and the handover (交接班)."""

    def compose(self) -> ComposeResult:
        t = self.duty.t
        translate_bindings(self, t, [("f5", "handover", "act.handover"), ("escape", "back", "key.back")])
        log: DataTable[str] = DataTable(id="log", cursor_type="row", zebra_stripes=True)
        for key in ("h.since", "h.actor", "h.detail"):
            log.add_column(t(key), key=key)
        yield log
        yield Input(placeholder=t("log.placeholder"), id="entry")
        yield Static(id="handover")
        yield KeyBar()

    async def on_mount(self) -> None:
        await self.refresh_view()
        self.query_one("#entry", Input).focus()

    async def on_changed(self, message: Changed) -> None:
        await self.refresh_view()

    async def refresh_view(self) -> None:
        app = self.duty
        table = self.query_one("#log", DataTable)
        table.clear()
        for item in await app.queries.duty_log():
            event = item.event
            text = (
                app.t("log.handover", outgoing=event.outgoing, incoming=event.actor)
                if isinstance(event, HandoverAcknowledged)
                else render.describe(event, None, app.t)
            )
            when = render.stamp(event.at, app.clock.now(), app.zone)
            table.add_row(when, actor_word(event.actor, app.t), text)
        self.query_one("#handover", Static).update(
            app.queries.handover(app.clock.now(), app.t.lang, app.zone)
        )

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        app = self.duty
        outcome = await app.submit(WriteLog(actor=app.operator, text=text), app.t("done.logged"))
        if outcome.rejected is None:
            event.input.value = ""

    def action_handover(self) -> None:
        """The incoming officer (this console's operator) takes over from the one named."""
        app = self.duty
        summary = app.queries.handover(app.clock.now(), app.t.lang, app.zone)

        async def send(outgoing: str | None) -> None:
            if outgoing:
                command = AcknowledgeHandover(actor=app.operator, outgoing=outgoing, summary=summary)
                await app.submit(command, app.t("done.handover", outgoing=outgoing))

        self.app.push_screen(TextPrompt(app.t("ask.outgoing")), send)

    def action_back(self) -> None:
        self.app.pop_screen()
