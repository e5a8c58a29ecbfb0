"""One incident: plan, severity, urgency and place; its obligations as a checklist with due times,
countdowns and who met them when; the timeline of every event; actions on single keys."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from dutydesk.console import render
from dutydesk.console.base import Changed, DutyScreen, KeyBar, Tick, translate_bindings
from dutydesk.console.screens.forms import ChoicePrompt, TextPrompt, UpdateForm, read_time
from dutydesk.console.views import OUTSTANDING, countdown, urgency
from dutydesk.console.words import actor_word
from dutydesk.playbooks.commands import (
    AddNote,
    Command,
    CompleteObligation,
    CorrectIncident,
    ExplainLate,
    LinkIncidents,
    MarkUrgent,
    MergeIncident,
    PostUpdate,
    ReachMilestone,
    RecordFinding,
    RetractMilestone,
    SetSeverity,
    UnmarkUrgent,
)
from dutydesk.playbooks.obligations import State, Status
from dutydesk.playbooks.plans import MET_BY_MANUAL
from dutydesk.playbooks.vocab import FINDINGS, Milestone, Severity

STATE_STYLE = {
    State.PENDING: "",
    State.WARNING: "bold yellow",
    State.MET: "green",
    State.BREACHED: "bold white on red",
    State.WAIVED: "dim",
}

# key, action, label: the actions of an incident, each on one key
ACTIONS = [
    ("r", "milestone('reported')", "act.report"),
    ("a", "milestone('on_site')", "act.arrive"),
    ("u", "update", "act.update"),
    ("d", "done", "act.done"),
    ("g", "urgent", "act.urgent"),
    ("s", "severity", "act.severity"),
    ("t", "milestone('stabilised')", "act.stabilise"),
    ("i", "milestone('investigated')", "act.investigated"),
    ("x", "milestone('rectified')", "act.rectified"),
    ("f", "feedback", "act.feedback"),
    ("n", "note", "act.note"),
    ("e", "correct", "act.correct"),
    ("z", "retract", "act.retract"),
    ("c", "close", "act.close"),
    ("m", "merge", "act.merge"),
    ("j", "link", "act.link"),
    ("y", "finding", "act.finding"),
    ("w", "late_reason", "act.late"),
    ("escape", "back", "key.back"),
]


class IncidentScreen(DutyScreen):
    def __init__(self, incident_id: str) -> None:
        super().__init__()
        self.incident_id = incident_id
        self._timeline_seq = 0

    def compose(self) -> ComposeResult:
        t = self.duty.t
        translate_bindings(self, t, ACTIONS)
        yield Static(id="incident-head")
        table: DataTable[Text | str] = DataTable(id="obligations", cursor_type="row")
        # the role before the due text: short, it stays in view; a long "after ..." may be cut
        for key in ("h.state", "h.countdown", "h.obligation", "h.role", "h.due"):
            table.add_column(t(key), key=key)
        yield table
        timeline: DataTable[str] = DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
        for key in ("h.since", "h.actor", "h.detail"):
            timeline.add_column(t(key), key=key)
        yield timeline
        yield KeyBar()

    async def on_mount(self) -> None:
        self.refresh_view()
        await self.load_timeline()

    async def on_changed(self, message: Changed) -> None:
        self.refresh_view()
        await self.load_timeline()

    def on_tick(self, message: Tick) -> None:
        self.refresh_view()

    def statuses(self) -> list[Status]:
        app = self.duty
        return app.queries.statuses(self.incident_id, app.clock.now())

    def refresh_view(self) -> None:
        app, t = self.duty, self.duty.t
        now = app.clock.now()
        incident = app.queries.incident(self.incident_id)
        flags = [t("urgent")] if incident.urgent else []
        if incident.drill:
            flags.append(t("drill"))
        state = t("incident.closed") if incident.closed else t("incident.open")
        head = Text.assemble(
            (f"{incident.id}  {incident.title}", "bold"),
            f"  [{state}{''.join(', ' + f for f in flags)}]\n",
            f"{t('h.plan')}: {incident.plan.title.get(t.lang)}  {t('h.severity')}: "
            f"{t.label(incident.severity.grade)}  {t('h.phase')}: {t.label(incident.phase.label)}\n",
            f"{t('h.received')}: {incident.received_at.astimezone(app.zone):%Y-%m-%d %H:%M}  "
            f"{t('h.location')}: {incident.location or '-'}",
        )
        if incident.description:
            head.append(f"\n{t('form.description')}: {incident.description}")
        alarms, devices = app.queries.held(incident.id)
        if alarms:  # what correlation gathered here: one incident, however many alarms
            head.append(f"\n{t('h.held', alarms=alarms, devices=devices)}")
        self.query_one("#incident-head", Static).update(head)
        table = self.query_one("#obligations", DataTable)
        table.clear()
        for status in self.statuses():
            ob = status.obligation
            title = ob.title.get(t.lang) + (f" #{status.occurrence}" if ob.recurring else "")
            if status.due_at is None:
                due, clock = render.due_text(status, incident.plan, now, app.zone, t), ""
            else:
                due = render.stamp(status.due_at, now, app.zone)
                # only what is still owed counts down: not what was met, nor what was waived
                clock = countdown(status, now) if status.state in OUTSTANDING else ""
            if status.met_at is not None:
                clock = status.met_at.astimezone(app.zone).strftime("✓ %H:%M")
            style = STATE_STYLE[status.state]
            table.add_row(
                Text(t(f"state.{status.state.value}"), style=style),
                Text(clock, style=style if urgency(status, now) > 1 else ""),
                title,
                render.role_label(ob.role, t),
                due + (" *" if status.provisional else ""),
            )

    async def load_timeline(self) -> None:
        app = self.duty
        events = await app.queries.timeline(self.incident_id, self._timeline_seq)
        table = self.query_one("#timeline", DataTable)
        plan = app.queries.incident(self.incident_id).plan
        now = app.clock.now()
        for item in events:
            table.add_row(
                render.stamp(item.event.at, now, app.zone, seconds=True),
                actor_word(item.event.actor, app.t),
                render.describe(item.event, plan, app.t),
            )
            self._timeline_seq = item.seq

    # -- actions ---------------------------------------------------------------------------------

    async def _send(self, command: Command, label: str) -> None:
        t = self.duty.t
        await self.duty.submit(command, t("done.action", what=t(label), incident=self.incident_id))

    def action_back(self) -> None:
        self.app.pop_screen()

    async def action_milestone(self, milestone: str) -> None:
        step = Milestone(milestone)
        command = ReachMilestone(actor=self.duty.operator, incident=self.incident_id, milestone=step)
        await self._send(command, f"act.{_ACT_LABEL[step]}")

    def action_update(self) -> None:
        async def send(parts: tuple[str, str, str] | None) -> None:
            if parts is not None:
                measures, status, next_steps = parts
                command = PostUpdate(
                    actor=self.duty.operator,
                    incident=self.incident_id,
                    measures=measures,
                    status=status,
                    next_steps=next_steps,
                )
                await self._send(command, "act.update")

        self.app.push_screen(UpdateForm(), send)

    async def action_urgent(self) -> None:
        """Urgent, or (when it is) urgent taken back, which needs a reason."""
        operator, incident = self.duty.operator, self.incident_id
        if not self.duty.queries.incident(incident).urgent:
            await self._send(MarkUrgent(actor=operator, incident=incident), "act.urgent")
            return
        self._ask(
            "ask.unurgent_reason",
            lambda reason: UnmarkUrgent(actor=operator, incident=incident, reason=reason),
            label="act.unurgent",
        )

    def action_correct(self) -> None:
        """Correct the received time, the place or the title: which, the right value, why."""
        app, t = self.duty, self.duty.t
        incident = app.queries.incident(self.incident_id)
        current = {
            "received_at": f"{incident.received_at.astimezone(app.zone):%Y-%m-%d %H:%M}",
            "location": incident.location or "",
            "title": incident.title,
        }

        def with_value(field: str | None) -> None:
            if field is None:
                return

            def with_reason(value: str | None) -> None:
                if not value:
                    return
                if field == "received_at":
                    at = read_time(value, app.zone)
                    if at is None:
                        app.notify(t("form.bad_time", text=value), severity="error")
                        return
                    value = at.isoformat()
                self._ask(
                    "ask.correct_reason",
                    lambda reason: CorrectIncident(
                        actor=app.operator, incident=self.incident_id, field=field, value=value, reason=reason
                    ),
                    label="act.correct",
                )

            self.app.push_screen(TextPrompt(t(f"field.{field}"), value=current[field]), with_reason)

        choices = [(field, f"{t(f'field.{field}')}: {value or '-'}") for field, value in current.items()]
        self.app.push_screen(ChoicePrompt(t("act.correct"), choices), with_value)

    def action_retract(self) -> None:
        """Take back a milestone recorded by mistake (the engine says how long after it may be)."""
        app, t = self.duty, self.duty.t
        reached = app.queries.incident(self.incident_id).milestones
        choices = [
            (step.value, t.label(step.label))
            for step in Milestone
            if step in reached and step not in (Milestone.RECEIVED, Milestone.CLOSED)
        ]
        if not choices:
            app.notify(t("nothing_to_retract"))
            return

        def with_reason(milestone: str | None) -> None:
            if milestone is not None:
                self._ask(
                    "ask.retract_reason",
                    lambda reason: RetractMilestone(
                        actor=app.operator,
                        incident=self.incident_id,
                        milestone=Milestone(milestone),
                        reason=reason,
                    ),
                    label="act.retract",
                )

        self.app.push_screen(ChoicePrompt(t("act.retract"), choices), with_reason)

    def action_severity(self) -> None:
        t = self.duty.t
        choices = [(level.id, t.label(level.grade)) for level in sorted(Severity)]  # Ⅰ first

        async def send(level: str | None) -> None:
            if level is not None:
                command = SetSeverity(
                    actor=self.duty.operator, incident=self.incident_id, severity=Severity[level.upper()]
                )
                await self._send(command, "act.severity")

        current = self.duty.queries.incident(self.incident_id).severity.id
        self.app.push_screen(ChoicePrompt(t("act.severity"), choices, current=current), send)

    def action_done(self) -> None:
        t = self.duty.t
        manual = [
            (s.obligation.id, s.obligation.title.get(t.lang))
            for s in self.statuses()
            if s.obligation.met_by == MET_BY_MANUAL and s.met_at is None and s.due_at is not None
        ]
        if not manual:
            self.app.notify(t("nothing_manual"))
            return

        async def send(obligation: str | None) -> None:
            if obligation is not None:
                command = CompleteObligation(
                    actor=self.duty.operator, incident=self.incident_id, obligation=obligation
                )
                await self._send(command, "act.done")

        self.app.push_screen(ChoicePrompt(t("act.done"), manual), send)

    def action_finding(self) -> None:
        """The investigation's findings beside its causes: 调查组, 责任认定, 防范措施/经验教训."""
        t = self.duty.t
        sections = [(section, t(f"finding.{section}")) for section in FINDINGS]

        def chosen(section: str | None) -> None:
            if section is not None:
                self._ask(
                    f"finding.{section}",
                    lambda text: RecordFinding(
                        actor=self.duty.operator, incident=self.incident_id, section=section, text=text
                    ),
                    label="act.finding",
                )

        self.app.push_screen(ChoicePrompt(t("act.finding"), sections), chosen)

    def action_late_reason(self) -> None:
        """Why an obligation was late (超时原因), for the investigation report."""
        t = self.duty.t
        late = {
            f"{s.obligation.id}#{s.occurrence}": s
            for s in self.statuses()
            if s.state is State.BREACHED or (s.met_at and s.due_at and s.met_at > s.due_at)
        }
        if not late:
            self.app.notify(t("nothing_late"))
            return
        choices = [(key, f"{s.obligation.title.get(t.lang)} #{s.occurrence}") for key, s in late.items()]

        def chosen(key: str | None) -> None:
            if key is not None:
                status = late[key]
                self._ask(
                    "act.late",
                    lambda text: ExplainLate(
                        actor=self.duty.operator,
                        incident=self.incident_id,
                        obligation=status.obligation.id,
                        occurrence=status.occurrence,
                        text=text,
                    ),
                )

        self.app.push_screen(ChoicePrompt(t("act.late"), choices), chosen)

    def action_note(self) -> None:
        self._ask(
            "act.note", lambda text: AddNote(actor=self.duty.operator, incident=self.incident_id, text=text)
        )

    def action_feedback(self) -> None:
        self._ask(
            "act.feedback",
            lambda text: ReachMilestone(
                actor=self.duty.operator, incident=self.incident_id, milestone=Milestone.FEEDBACK, text=text
            ),
        )

    async def action_close(self) -> None:
        outstanding = [s for s in self.statuses() if s.outstanding]

        def closing(reason: str | None) -> ReachMilestone:
            return ReachMilestone(
                actor=self.duty.operator, incident=self.incident_id, milestone=Milestone.CLOSED, text=reason
            )

        if not outstanding:
            await self._send(closing(None), "act.close")
        else:  # closing early needs the reason, for the record
            self._ask("ask.close_reason", closing, label="act.close")

    def action_merge(self) -> None:
        """Merge this incident into another open one: the same event reported twice."""
        self._pick_other(
            "act.merge",
            lambda into: MergeIncident(actor=self.duty.operator, incident=self.incident_id, into=into),
        )

    def action_link(self) -> None:
        """Link this incident with another open one: related, each kept with its own plan."""
        self._pick_other(
            "act.link", lambda to: LinkIncidents(actor=self.duty.operator, incident=self.incident_id, to=to)
        )

    def _pick_other(self, label: str, build: Callable[[str], Command]) -> None:
        t, queries = self.duty.t, self.duty.queries
        this = queries.incident(self.incident_id)
        others = [(i.id, f"{i.id}  {i.title}  {i.location or ''}") for i in queries.merge_candidates(this.id)]
        if this.closed or not others:
            self.app.notify(t("nothing_to_merge"))
            return

        async def send(other: str | None) -> None:
            if other is not None:
                await self._send(build(other), label)

        self.app.push_screen(ChoicePrompt(t(label), others), send)

    def _ask(self, prompt: str, build: Callable[[str], Command], label: str | None = None) -> None:
        async def send(text: str | None) -> None:
            if text:
                await self._send(build(text), label or prompt)

        self.app.push_screen(TextPrompt(self.duty.t(prompt)), send)


_ACT_LABEL = {
    Milestone.REPORTED: "report",
    Milestone.ON_SITE: "arrive",
    Milestone.STABILISED: "stabilise",
    Milestone.INVESTIGATED: "investigated",
    Milestone.RECTIFIED: "rectified",
}
