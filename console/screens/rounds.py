"""Rounds and planned events from the console: a round logged by a single key (pick the routine;
for an abnormal one say what was found and whether to open an incident with the routine's plan),
a form to add a planned event, and prompts to move one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, Static

from dutydesk.console.base import DutyScreen
from dutydesk.console.screens.forms import ChoicePrompt, Form, TextPrompt, read_time
from dutydesk.playbooks.timetable import LogRound, MoveEvent, ScheduleEvent


def log_round(screen: DutyScreen, *, abnormal: bool) -> None:
    app, t = screen.duty, screen.duty.t
    routines = app.queries.routines()
    if not routines:
        app.notify(t("round.none"))
        return

    async def send(routine_id: str, note: str = "", open_incident: bool = False) -> None:
        title = routines[routine_id].title.get(t.lang)
        command = LogRound(
            actor=app.operator, routine=routine_id, abnormal=abnormal, note=note, open_incident=open_incident
        )
        await app.submit(command, t("round.logged", title=title))

    def chosen(routine_id: str | None) -> None:
        if routine_id is None:
            return
        if not abnormal:
            app.run_worker(send(routine_id))
            return
        plan = routines[routine_id].plan

        def noted(note: str | None) -> None:
            if note is None:
                return
            if plan is None:
                app.run_worker(send(routine_id, note))
                return
            offer = [("yes", t("round.open_incident", plan=plan)), ("no", t("round.no_incident"))]

            async def decided(answer: str | None) -> None:
                if answer is not None:
                    await send(routine_id, note, open_incident=answer == "yes")

            app.push_screen(ChoicePrompt(t("round.offer"), offer), decided)

        app.push_screen(TextPrompt(t("round.note")), noted)

    choices = [(rid, routine.title.get(t.lang)) for rid, routine in routines.items()]
    app.push_screen(ChoicePrompt(t("round.abnormal" if abnormal else "round.choose"), choices), chosen)


def move_event(screen: DutyScreen) -> None:
    """Pick an event not over yet, then give its new start and end."""
    app, t = screen.duty, screen.duty.t
    now = app.clock.now()
    events = app.queries.events_not_over(now)
    if not events:
        app.notify(t("move.none"))
        return

    def chosen(event_id: str | None) -> None:
        if event_id is None:
            return

        def started(start_text: str | None) -> None:
            start = read_time(start_text or "", app.zone)
            if start is None:
                if start_text:
                    app.notify(t("form.bad_time", text=start_text), severity="error")
                return

            async def ended(end_text: str | None) -> None:
                end = read_time(end_text or "", app.zone)
                if end is None:
                    if end_text:
                        app.notify(t("form.bad_time", text=end_text), severity="error")
                    return
                command = MoveEvent(actor=app.operator, event=event_id, start=start, end=end)
                await app.submit(command, t("event_moved", event=event_id))

            app.push_screen(TextPrompt(t("move.end")), ended)

        app.push_screen(TextPrompt(t("move.start")), started)

    choices = [(e.id, f"{e.title}（{e.start.astimezone(app.zone):%m-%d %H:%M}）") for e in events]
    app.push_screen(ChoicePrompt(t("move.choose"), choices), chosen)


class EventForm(Form[str]):
    """A planned event (会议、大型活动): its support plan, title, place, start and end."""

    FIELDS = ("title", "place", "start", "end")

    def compose(self) -> ComposeResult:
        t = self.t
        plans = self.duty.queries.event_plans()
        with Vertical(classes="form wide"):
            yield Label(t("form.event"), classes="title")
            yield Select(
                [(plan.title.get(t.lang), plan.id) for plan in plans.values()], allow_blank=False, id="plan"
            )
            for name in self.FIELDS:
                yield Label(t(f"h.{name}"))
                yield Input(placeholder="2026-11-24 14:00" if name in ("start", "end") else "", id=name)
            yield Static(id="error", classes="error")
            yield from self.buttons()

    def submit(self) -> None:
        t, app = self.t, self.duty
        title, place, start_text, end_text = (
            self.query_one(f"#{name}", Input).value.strip() for name in self.FIELDS
        )
        start, end = read_time(start_text, app.zone), read_time(end_text, app.zone)
        if start is None or end is None:
            self.refuse(t("form.bad_time", text=start_text if start is None else end_text))
            return
        plan = str(self.query_one("#plan", Select).value)
        command = ScheduleEvent(
            actor=app.operator, plan_id=plan, title=title, place=place, start=start, end=end
        )
        self.run_worker(self._add(command), exclusive=True)

    async def _add(self, command: ScheduleEvent) -> None:
        outcome = await self.duty.submit(command, self.t("form.event_added"))
        if outcome.rejected is None and outcome.recorded:
            self.dismiss(getattr(outcome.recorded[-1].event, "event", None))
        elif outcome.rejected is not None:
            self.refuse(self.duty.refusal(outcome))
