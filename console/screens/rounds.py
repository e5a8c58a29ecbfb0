"""Logging a round from the console by a single key: pick the routine, and for an abnormal round
say what was found and whether to open an incident with the routine's plan."""

from __future__ import annotations

from dutydesk.console.base import DutyScreen
from dutydesk.console.screens.forms import ChoicePrompt, TextPrompt
from dutydesk.playbooks.timetable import LogRound


def log_round(screen: DutyScreen, *, abnormal: bool) -> None:
    app, t = screen.duty, screen.duty.t
    routines = app.journal.engine.timetable.routines
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
