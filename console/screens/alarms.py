"""The alarm screen: active alarms (acknowledge, shelve), dead letters, device availability and
the delivery log."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, TabbedContent, TabPane

from dutydesk.console import render
from dutydesk.console.base import Changed, DutyScreen, KeyBar, translate_bindings
from dutydesk.console.deliveries import target_text
from dutydesk.console.screens.forms import ChoicePrompt, TextPrompt
from dutydesk.console.words import alarm_kind_word
from dutydesk.playbooks.commands import AcknowledgeAlarm, ShelveAlarm

SHELVE_FOR = (("1", 1), ("4", 4), ("8", 8), ("24", 24))  # hours a shelving may last


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
        yield KeyBar()

    async def on_mount(self) -> None:
        await self.refresh_view()

    async def on_changed(self, message: Changed) -> None:
        await self.refresh_view()

    async def refresh_view(self) -> None:
        app, t = self.duty, self.duty.t
        now, zone, queries = app.clock.now(), app.zone, app.queries
        table = self.query_one("#alarms", DataTable)
        table.clear()
        for alarm in queries.alarms(now):
            table.add_row(
                render.stamp(alarm.since, now, zone, seconds=True),
                t(f"alarm.{alarm.status.value}") + (f" ×{alarm.flaps}" if alarm.flaps else ""),
                alarm_kind_word(alarm.kind, t),
                f"{alarm.source}/{alarm.device}",
                " ".join(p for p in (alarm.building, alarm.floor) if p),
                alarm.incident or "-",
                alarm.acknowledged_by or "",
                key=alarm.key,
            )
        dead = self.query_one("#dead", DataTable)
        dead.clear()
        for letter in await queries.dead_letters():
            dead.add_row(
                render.stamp(letter.at, now, zone, seconds=True),
                letter.source,
                letter.topic,
                letter.reason,
            )
        devices = self.query_one("#devices", DataTable)
        devices.clear()
        for device in await queries.devices(zone):
            devices.add_row(
                device["device"],
                t(f"availability.{device['availability']}"),
                (device["last_seen"] or "-")[5:19].replace("T", " "),
                " ".join(p for p in (device["building"], device["floor"]) if p),
            )
        # the delivery log, failures first: a notification that did not arrive is an alarm too
        sent = self.query_one("#notifications", DataTable)
        sent.clear()
        rows = await queries.deliveries(zone)
        rows.sort(key=lambda r: (r["state"] != "failed", r["state"] != "retrying", r["at"]))
        for row in rows:
            style = "bold white on red" if row["state"] == "failed" else ""
            sent.add_row(
                (row["last_at"] or row["at"])[5:19].replace("T", " "),
                Text(t(f"delivery.{row['state']}"), style=style),
                render.role_label(row["role"], t),
                target_text(row) + (" ↪" if row["fallback"] else ""),
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
