"""The console's forms: the progress update, prompts for one value, and a new incident."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar, cast
from zoneinfo import ZoneInfo

import pendulum
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from dutydesk.console import render
from dutydesk.console.base import translate_bindings
from dutydesk.console.i18n import Translator
from dutydesk.console.views import far_back
from dutydesk.playbooks.commands import OpenIncident
from dutydesk.playbooks.vocab import Source

if TYPE_CHECKING:
    from dutydesk.console.app import DutyApp


T = TypeVar("T")
FOUND_SHOWN = 20  # incidents a search lists


def parse_time(text: str, zone: ZoneInfo) -> datetime | None:
    """A time as an officer types it ("2026-11-23 14:05"), in the centre's zone; None if unreadable."""
    try:
        parsed = pendulum.parse(text, tz=zone)
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        return None
    return parsed if isinstance(parsed, pendulum.DateTime) else None


class Form(ModalScreen[T | None], Generic[T]):
    """A modal form that reaches the app's language; escape cancels."""

    @property
    def duty(self) -> DutyApp:
        return cast("DutyApp", self.app)

    @property
    def t(self) -> Translator:
        return self.duty.t

    def on_mount(self) -> None:
        translate_bindings(self, self.t, [("escape", "cancel", "key.cancel")])
        self._typed = self._values()  # what the form opened with
        self._warned = False  # the officer was told that leaving loses what was typed

    def _values(self) -> dict[str | None, str]:
        return {field.id: field.value for field in self.query(Input)}

    def leave(self) -> bool:
        """Whether the form may go: at once if nothing was typed; else once the officer, warned,
        asks again (Esc or Ctrl+Q a second time)."""
        if self._warned or self._values() == self._typed:
            return True
        self._warned = True
        self.refuse(self.t("form.leave"))
        return False

    def action_cancel(self) -> None:
        if self.leave():
            self.dismiss(None)

    def buttons(self) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button(self.t("form.ok"), variant="primary", id="ok")
            yield Button(self.t("form.cancel"), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.action_cancel()
        else:
            self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def submit(self) -> None:
        """Check the fields and dismiss with the value; each form overrides this."""

    def refuse(self, message: str) -> None:
        self.query_one("#error", Static).update(message)


class UpdateForm(Form[tuple[str, str, str]]):
    """The hourly progress report: 已采取措施 / 当前状态 / 下一步计划, none of them empty."""

    PARTS = ("measures", "status", "next")

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Label(self.t("form.update"), classes="title")
            for part in self.PARTS:
                yield Label(self.t(f"form.{part}"))
                yield Input(id=part)
            yield Static(id="error", classes="error")
            yield from self.buttons()

    def submit(self) -> None:
        values = [self.query_one(f"#{part}", Input).value.strip() for part in self.PARTS]
        for part, value in zip(self.PARTS, values, strict=True):
            if not value:
                self.refuse(self.t("form.part_empty", part=self.t(f"form.{part}")))
                self.query_one(f"#{part}", Input).focus()
                return
        measures, status, next_steps = values
        self.dismiss((measures, status, next_steps))


class TextPrompt(Form[str]):
    """One line of text: a note, a reason, the feedback given, a value to correct."""

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value  # what holds now, to be edited

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Label(self.title_text, classes="title")
            yield Input(self.value, id="text")
            yield Static(id="error", classes="error")
            yield from self.buttons()

    def submit(self) -> None:
        text = self.query_one("#text", Input).value.strip()
        if not text:
            self.refuse(self.t("form.empty"))
            return
        self.dismiss(text)


class ChoicePrompt(Form[str]):
    """Pick one of a few: a severity level, an obligation to tick off."""

    def __init__(self, title: str, choices: Sequence[tuple[str, str]], current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current  # highlighted when the prompt opens: what holds now

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Label(self.title_text, classes="title")
            yield OptionList(*(Option(label, id=value) for value, label in self.choices), id="choices")

    def on_mount(self) -> None:  # Form's on_mount runs too (Textual calls each class's handler)
        values = [value for value, _ in self.choices]
        if self.current in values:
            self.query_one("#choices", OptionList).highlighted = values.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def submit(self) -> None:
        options = self.query_one("#choices", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)


class NewIncidentForm(Form[str]):
    """A report by phone, from the OA system or on site: source, place, plan, urgency, what."""

    def __init__(self) -> None:
        super().__init__()
        self._confirmed: str | None = None  # a far-back received time the officer confirmed

    def compose(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="form wide"):
            yield Label(t("form.new"), classes="title")
            yield Label(t("h.title"))
            yield Input(id="title")
            with Horizontal(classes="row"):
                yield Select(
                    [(t.label(s.label), s.value) for s in Source if s is not Source.ALARM],
                    value=Source.PHONE.value,
                    allow_blank=False,
                    id="source",
                )
                yield Checkbox(t("urgent"), id="urgent")
            yield Label(t("h.location"))
            yield Input(id="location")
            yield Label(t("form.plan_search"))
            yield Input(id="search")
            yield OptionList(id="plans")
            yield Label(t("form.received"))
            yield Input(placeholder="2026-11-23 14:05", id="received")
            yield Label(t("form.description"))
            yield Input(id="description")
            yield Static(id="error", classes="error")
            yield from self.buttons()

    def on_mount(self) -> None:  # Form's on_mount runs too (Textual calls each class's handler)
        self.show_plans("")
        self.query_one("#title", Input).focus()

    def show_plans(self, text: str) -> None:
        """Plans whose id, name or triggers contain the search text (either language)."""
        needle = text.strip().lower()
        options = self.query_one("#plans", OptionList)
        options.clear_options()
        for plan in self.duty.queries.plans():
            haystack = " ".join([plan.id, plan.title.zh, plan.title.en, *plan.triggers.reports]).lower()
            if needle in haystack:
                options.add_option(Option(f"{plan.title.get(self.t.lang)} ({plan.id})", id=plan.id))
        if options.option_count:
            options.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "search":
            self.show_plans(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # Textual calls Form's handler too unless told not to: that would submit twice
        event.prevent_default()
        if event.input.id != "search":
            self.submit()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#received", Input).focus()

    def submit(self) -> None:
        t, app = self.t, self.duty
        title = self.query_one("#title", Input).value.strip()
        options = self.query_one("#plans", OptionList)
        if not title:
            self.refuse(t("form.empty_title"))
            return
        if options.highlighted is None:
            self.refuse(t("form.no_plan"))
            return
        received = self.query_one("#received", Input).value.strip()
        at = None
        if received:
            at = parse_time(received, app.zone)
            if at is None:
                self.refuse(t("form.bad_time", text=received))
                return
            now = app.clock.now()
            if far_back(at, now, app.zone) and self._confirmed != received:
                self._confirmed = received
                ago = render.span(now - at, t.lang)
                self.refuse(t("form.confirm_time", at=f"{at:%Y-%m-%d %H:%M}", ago=ago))
                return
        source = self.query_one("#source", Select).value
        command = OpenIncident(
            actor=app.operator,
            at=at,
            plan_id=str(options.get_option_at_index(options.highlighted).id),
            title=title,
            urgent=self.query_one("#urgent", Checkbox).value,
            source=Source(str(source)),
            location=self.query_one("#location", Input).value.strip() or None,
            description=self.query_one("#description", Input).value.strip() or None,
        )
        self.run_worker(self._open(command), exclusive=True)

    async def _open(self, command: OpenIncident) -> None:
        outcome = await self.duty.submit(command, self.t("done.opened"))
        if outcome.rejected is None and outcome.recorded:
            self.dismiss(outcome.recorded[-1].event.incident)
        elif outcome.rejected is not None:
            self.refuse(self.duty.refusal(outcome))


class FindIncident(Form[str]):
    """Find an incident by its id or by words of its title, place, plan or description."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="form wide"):
            yield Label(self.t("form.find"), classes="title")
            yield Input(id="words")
            yield OptionList(id="found")
            yield Static(id="error", classes="error")

    def on_mount(self) -> None:  # Form's on_mount runs too
        self.show("")

    def show(self, text: str) -> None:
        found = self.query_one("#found", OptionList)
        found.clear_options()
        for incident in self.duty.queries.find(text)[:FOUND_SHOWN]:
            closed = f" [{self.t('incident.closed')}]" if incident.closed else ""
            found.add_option(Option(f"{incident.id}  {incident.title}{closed}", id=incident.id))
        if found.option_count:
            found.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self.show(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def submit(self) -> None:
        found = self.query_one("#found", OptionList)
        if found.highlighted is None:
            self.refuse(self.t("form.none_found"))
            return
        self.dismiss(found.get_option_at_index(found.highlighted).id)
