"""Alarms and devices, the duty log and handover, and help."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Input, Markdown, Static, TabbedContent, TabPane

from dutydesk.console import render
from dutydesk.console.base import Changed, DutyScreen, translate_bindings
from dutydesk.console.deliveries import KINDS, delivery_rows
from dutydesk.console.screens.forms import ChoicePrompt, TextPrompt
from dutydesk.console.views import active_alarms, handover_summary
from dutydesk.playbooks.commands import (
    AcknowledgeAlarm,
    AcknowledgeHandover,
    Command,
    CompleteRectification,
    GiveRectificationFeedback,
    ShelveAlarm,
    WriteLog,
)
from dutydesk.playbooks.duty_events import DutyDone, EventMoved, EventScheduled
from dutydesk.playbooks.events import DeadLetter, DutyLogged, HandoverAcknowledged
from dutydesk.playbooks.rectification import ItemState, register_rows

NOTIFICATIONS_SHOWN = 2000  # delivery events read for the notifications tab
SHELVE_FOR = (("1", 1), ("4", 4), ("8", 8), ("24", 24))  # hours a shelving may last


# rounds and planned events, in the duty log beside its entries (值班记录)
DUTY_LOGGED = (DutyDone.kind, EventScheduled.kind, EventMoved.kind)


class AlarmsScreen(DutyScreen):
    """Active alarms (acknowledge, shelve), dead letters, device availability."""

    def compose(self) -> ComposeResult:
        t = self.duty.t
        translate_bindings(
            self,
            t,
            [
                ("k", "acknowledge", "act.acknowledge"),
                ("z", "shelve", "act.shelve"),
                ("escape", "back", "key.back"),
            ],
        )
        with TabbedContent():
            with TabPane(t("tab.alarms"), id="tab-alarms"):
                alarms: DataTable[str] = DataTable(id="alarms", cursor_type="row")
                for key in ("h.since", "h.status", "h.alarm", "h.device", "h.location", "h.id", "h.ack"):
                    alarms.add_column(t(key), key=key)
                yield alarms
            with TabPane(t("tab.dead_letters"), id="tab-dead"):
                dead: DataTable[str] = DataTable(id="dead", cursor_type="row")
                for key in ("h.since", "h.source", "h.topic", "h.reason"):
                    dead.add_column(t(key), key=key)
                yield dead
            with TabPane(t("tab.devices"), id="tab-devices"):
                devices: DataTable[str] = DataTable(id="devices", cursor_type="row")
                for key in ("h.device", "h.availability", "h.last_seen", "h.location"):
                    devices.add_column(t(key), key=key)
                yield devices
            with TabPane(t("tab.notifications"), id="tab-notifications"):
                sent: DataTable[Text | str] = DataTable(id="notifications", cursor_type="row")
                for key in ("h.since", "h.state", "h.role", "h.target", "h.attempts", "h.error"):
                    sent.add_column(t(key), key=key)
                yield sent
        yield Footer()

    async def on_mount(self) -> None:
        await self.refresh_view()

    async def on_changed(self, message: Changed) -> None:
        await self.refresh_view()

    async def refresh_view(self) -> None:
        app, t = self.duty, self.duty.t
        now, zone = app.clock.now(), app.zone
        book = app.journal.engine.projection.alarms
        table = self.query_one("#alarms", DataTable)
        table.clear()
        for alarm in active_alarms(book, now):
            table.add_row(
                alarm.since.astimezone(zone).strftime("%m-%d %H:%M:%S"),
                t(f"alarm.{alarm.status.value}") + (f" ×{alarm.flaps}" if alarm.flaps else ""),
                alarm.text or alarm.kind,
                f"{alarm.source}/{alarm.device}",
                " ".join(p for p in (alarm.building, alarm.floor) if p),
                alarm.incident or "-",
                alarm.acknowledged_by or "",
                key=alarm.key,
            )
        dead = self.query_one("#dead", DataTable)
        dead.clear()
        for item in reversed(await app.journal.store.read_kind(DeadLetter.kind)):
            letter = item.event
            assert isinstance(letter, DeadLetter)
            dead.add_row(
                letter.at.astimezone(zone).strftime("%m-%d %H:%M:%S"),
                letter.source,
                letter.topic,
                letter.reason,
            )
        devices = self.query_one("#devices", DataTable)
        devices.clear()
        seen = await app.journal.store.liveness()
        for key in sorted(book.devices.keys() | seen.keys()):
            device = render.device_json(key, book.devices.get(key), seen.get(key), zone)
            devices.add_row(
                key,
                t(f"availability.{device['availability']}"),
                (device["last_seen"] or "-")[5:19].replace("T", " "),
                " ".join(p for p in (device["building"], device["floor"]) if p),
            )
        # the delivery log, failures first: a notification that did not arrive is an alarm too
        sent = self.query_one("#notifications", DataTable)
        sent.clear()
        rows = delivery_rows(await app.journal.store.read_recent(KINDS, NOTIFICATIONS_SHOWN), zone)
        rows.sort(key=lambda r: (r["state"] != "failed", r["state"] != "retrying", r["at"]))
        for row in rows:
            style = "bold white on red" if row["state"] == "failed" else ""
            sent.add_row(
                (row["last_at"] or row["at"])[5:19].replace("T", " "),
                Text(t(f"delivery.{row['state']}"), style=style),
                render.role_label(row["role"], t),
                row["target"] + (" ↪" if row["fallback"] else ""),
                str(row["attempts"]),
                row["error"] or "",
            )

    def _selected(self) -> str | None:
        table = self.query_one("#alarms", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def action_acknowledge(self) -> None:
        key = self._selected()
        if key is None:
            return
        app = self.duty

        async def send(reason: str | None) -> None:
            if reason:
                command = AcknowledgeAlarm(actor=app.operator, key=key, reason=reason)
                await app.submit(command, app.t("done.acknowledged"))

        self.app.push_screen(TextPrompt(app.t("ask.ack_reason")), send)

    def action_shelve(self) -> None:
        key = self._selected()
        if key is None:
            return
        app = self.duty
        choices = [(value, app.t("shelve.hours", hours=hours)) for value, hours in SHELVE_FOR]

        async def with_reason(hours: str | None) -> None:
            if hours is None:
                return

            async def send(reason: str | None) -> None:
                if reason:
                    until = app.clock.now() + timedelta(hours=int(hours))
                    command = ShelveAlarm(actor=app.operator, key=key, reason=reason, until=until)
                    await app.submit(command, app.t("done.shelved"))

            self.app.push_screen(TextPrompt(app.t("ask.shelve_reason")), send)

        self.app.push_screen(ChoicePrompt(app.t("act.shelve"), choices), with_reason)

    def action_back(self) -> None:
        self.app.pop_screen()


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
        yield Footer()

    async def on_mount(self) -> None:
        await self.refresh_view()
        self.query_one("#entry", Input).focus()

    async def on_changed(self, message: Changed) -> None:
        await self.refresh_view()

    async def refresh_view(self) -> None:
        app = self.duty
        table = self.query_one("#log", DataTable)
        table.clear()
        entries = [
            *await app.journal.store.read_kind(DutyLogged.kind),
            *await app.journal.store.read_kind(HandoverAcknowledged.kind),
            *[r for kind in DUTY_LOGGED for r in await app.journal.store.read_kind(kind)],
        ]
        for item in sorted(entries, key=lambda r: r.seq):
            event = item.event
            text = (
                app.t("log.handover", outgoing=getattr(event, "outgoing", ""), incoming=event.actor)
                if isinstance(event, HandoverAcknowledged)
                else render.describe(event, None, app.t, app.zone)
            )
            table.add_row(event.at.astimezone(app.zone).strftime("%m-%d %H:%M"), event.actor, text)
        self.query_one("#handover", Static).update(
            handover_summary(app.journal.engine, app.clock.now(), app.t.lang)
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
        summary = handover_summary(app.journal.engine, app.clock.now(), app.t.lang)

        async def send(outgoing: str | None) -> None:
            if outgoing:
                command = AcknowledgeHandover(actor=app.operator, outgoing=outgoing, summary=summary)
                await app.submit(command, app.t("done.handover", outgoing=outgoing))

        self.app.push_screen(TextPrompt(app.t("ask.outgoing")), send)

    def action_back(self) -> None:
        self.app.pop_screen()


class HelpScreen(DutyScreen):
    def compose(self) -> ComposeResult:
        translate_bindings(self, self.duty.t, [("escape", "back", "key.back")])
        with VerticalScroll():
            yield Markdown(self.duty.t("help.text"))
        yield Footer()

    def action_back(self) -> None:
        self.app.pop_screen()


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
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()

    def on_changed(self, message: Changed) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        app, t = self.duty, self.duty.t
        now, projection = app.clock.now(), app.journal.engine.projection
        table = self.query_one("#register", DataTable)
        table.clear()
        for row in register_rows(
            projection.register, projection.incidents, app.journal.engine.deadlines, now
        ):
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
