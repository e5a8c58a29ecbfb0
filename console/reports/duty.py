"""The duty records: the duty log of one day (值班日志) and the handover record (交接班记录) with its
three clears — 情况清 (open incidents, alarms, equipment), 问题清 (breaches, overdue items),
任务清 (what falls due, unfinished tasks with their owners) — and both officers' signatures.

Both are built from the log as it stood at a moment (the end of the day, the handover), replayed
into a projection of their own, so a record of last Tuesday shows last Tuesday."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.console import render
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.document import Block, Document, Fields, Heading, Paragraph, Row, Table
from dutydesk.console.reports.events import ACTORS, Wording, actor, happened, in_time_order, when
from dutydesk.console.reports.filing import Filing, day, sign_off
from dutydesk.console.reports.wording import translator
from dutydesk.playbooks.alarms import Availability
from dutydesk.playbooks.alarms import Status as AlarmStatus
from dutydesk.playbooks.events import AlarmChanged, DutyLogged, HandoverAcknowledged, IncidentOpened
from dutydesk.playbooks.incidents import Incident, Projection
from dutydesk.playbooks.obligations import Deadlines, State, Status, evaluate
from dutydesk.playbooks.rectification import ItemState, assess

AHEAD = timedelta(hours=24)  # the tasks a handover lists: what falls due in the next day


@dataclass(frozen=True, slots=True)
class Moment:
    """The log replayed up to `at`: the state a record describes."""

    at: datetime
    projection: Projection
    records: tuple[Recorded, ...]  # every event up to `at`, in log order


def replay(records: Sequence[Recorded], at: datetime) -> Moment:
    projection = Projection()
    upto = tuple(r for r in records if r.event.at <= at)
    for recorded in upto:
        projection.apply(recorded.event, recorded.seq)
    return Moment(at, projection, upto)


class _Builder:
    def __init__(self, moment: Moment, t: Translator, zone: ZoneInfo, deadlines: Deadlines) -> None:
        self.moment, self.t, self.zone, self.deadlines = moment, t, zone, deadlines

    def wording(self, incident_id: str | None) -> Wording:
        incident = self.moment.projection.incidents.get(incident_id or "")

        def title(obligation: str) -> str:
            try:
                return incident.plan.obligation(obligation).title.get(self.t.lang) if incident else obligation
            except KeyError:
                return obligation

        return Wording(self.t, self.zone, title)

    def holder(self, role: str) -> str:
        """Who the roster names for `role` at the moment; "" when it names nobody."""
        shifts = self.moment.projection.notices.roster.holders(role, self.moment.at)
        return self.t("r.list_sep").join(s.holder for s in shifts)

    def situation(self) -> list[Block]:
        """情况清: the open incidents, the active alarms and the equipment not online."""
        t, projection = self.t, self.moment.projection
        incidents = tuple(
            Row((i.id, i.title, i.location or "—", t.label(i.severity.label), t.label(i.phase.label)))
            for i in sorted(projection.incidents.open(), key=lambda i: i.received_at)
        )
        alarms = tuple(
            Row((a.device, a.text or a.kind, when(a.since, self.zone)), "alert")
            for a in projection.alarms.alarms.values()
            if a.status is AlarmStatus.ACTIVE
        )
        devices = tuple(
            Row((d.key, t(f"d.{d.availability.value}"), when(d.changed_at, self.zone)), "alert")
            for d in projection.alarms.devices.values()
            if d.availability in (Availability.OFFLINE, Availability.STALE)
        )
        blocks: list[Block] = [Heading(t("d.incidents"), level=2)]
        header = (t("h.id"), t("h.title"), t("h.location"), t("h.severity"), t("h.phase"))
        blocks.append(
            Table(header, incidents, (3.4, 4, 2.6, 1.6, 2)) if incidents else Paragraph(t("d.none"))
        )
        blocks.append(Heading(t("d.equipment"), level=2))
        equipment = alarms + devices
        columns = (t("d.device"), t("d.state"), t("d.since"))
        blocks.append(Table(columns, equipment, (5, 4, 3)) if equipment else Paragraph(t("d.all_well")))
        return blocks

    def problems_and_tasks(self) -> tuple[list[Block], list[Block]]:
        """问题清 (breached and unmet, items overdue) and 任务清 (due within a day, items open)."""
        t, at, projection = self.t, self.moment.at, self.moment.projection
        problems: list[Row] = []
        tasks: list[Row] = []
        for incident in projection.incidents.open():
            for status in self.deadlines_of(incident, at):
                ob = status.obligation
                what = t("r.pair", a=incident.id, b=ob.title.get(t.lang))
                name = self.holder(ob.role)
                who = render.role_label(ob.role, t) + (t("d.holder", name=name) if name else "")
                due = when(status.due_at, self.zone)
                if status.state is State.BREACHED:
                    problems.append(Row((what, who, due, t("state.breached")), "alert"))
                elif status.due_at is not None and status.due_at <= at + AHEAD:
                    tasks.append(Row((what, who, due, t(f"state.{status.state.value}"))))
        for item in projection.register.items.values():
            assessed = assess(item, self.deadlines, at)
            if assessed.state in (ItemState.DONE, ItemState.WAIVED):
                continue
            row = (t("r.pair", a=item.id, b=item.content), item.owner, when(assessed.due_at, self.zone))
            if assessed.state is ItemState.OVERDUE:
                problems.append(Row((*row, t("item.overdue")), "alert"))
            else:
                tasks.append(Row((*row, t(f"item.{assessed.state.value}"))))
        header = (t("r.what"), t("r.owner"), t("r.due"), t("h.state"))
        widths = (7, 3.4, 3.2, 2)
        return (
            [Table(header, tuple(problems), widths)] if problems else [Paragraph(t("d.none"))],
            [Table(header, tuple(tasks), widths)] if tasks else [Paragraph(t("d.none"))],
        )

    def deadlines_of(self, incident: Incident, at: datetime) -> list[Status]:
        """The incident's armed obligations not met yet."""
        return [
            s
            for s in evaluate(incident, self.deadlines, at)
            if s.due_at is not None and s.met_at is None and s.state is not State.WAIVED
        ]


def duty_log(
    records: Sequence[Recorded],
    on: date,
    *,
    now: datetime,
    zone: ZoneInfo,
    lang: str,
    filing: Filing,
    deadlines: Deadlines,
) -> Document:
    """The day's log: who was on duty, every entry of the day in time order, the handovers, and
    what was left open at the end of it."""
    t = translator(lang)
    start = datetime.combine(on, time(0), zone)
    end = start + timedelta(days=1)
    build = _Builder(replay(records, end - timedelta(microseconds=1)), t, zone, deadlines)
    today = [r for r in in_time_order(records) if start <= happened(r.event) < end]
    rows = []
    for recorded in today:
        described = build.wording(recorded.event.incident).describe(recorded.event)
        if described is not None:
            what, detail, tone = described
            event = recorded.event
            at = happened(event).astimezone(zone).strftime("%H:%M")
            rows.append(Row((at, event.incident or "—", what, actor(event.actor, t), detail), tone))
    events = [r.event for r in today]
    # without a roster, the officers are the people who made the day's entries
    people = t("r.list_sep").join(dict.fromkeys(e.actor for e in events if e.actor not in ACTORS))
    counts = Fields(
        (
            (t("d.received"), str(sum(isinstance(e, IncidentOpened) for e in events))),
            (t("d.alarms"), str(sum(isinstance(e, AlarmChanged) and e.status == "active" for e in events))),
            (t("d.entries"), str(sum(isinstance(e, DutyLogged) for e in events))),
            (t("d.handovers"), str(sum(isinstance(e, HandoverAcknowledged) for e in events))),
        )
    )
    header = (t("r.time"), t("r.incident_id"), t("r.what"), t("r.who"), t("r.detail"))
    blocks: list[Block] = [
        Fields(
            (
                (t("d.date"), day(on, t)),
                (t("d.officer"), build.holder("duty_officer") or people or "—"),
                (t("d.leader"), build.holder("leader_on_duty") or "—"),
            )
        ),
        Heading(t("d.overview")),
        counts,
        Heading(t("d.entries_heading")),
        Table(header, tuple(rows), (1.6, 3.2, 2.6, 2, 7)) if rows else Paragraph(t("d.quiet"), "note"),
        Heading(t("d.left_open")),
        *build.situation(),
        sign_off(("d.officer", "d.leader"), t),
    ]
    return Document(
        title=t("d.log_title", day=day(on, t)),
        subtitle=t("d.subtitle", now=when(now, zone)),
        lang=t.lang,
        blocks=tuple(blocks),
        letterhead=filing.letterhead(),
    )


def handover_record(
    records: Sequence[Recorded],
    at: datetime,
    handover: HandoverAcknowledged | None,
    *,
    now: datetime,
    zone: ZoneInfo,
    lang: str,
    filing: Filing,
    deadlines: Deadlines,
) -> Document:
    """The record of the handover at `at` (`handover`: the acknowledgement, if it was made)."""
    t = translator(lang)
    build = _Builder(replay(records, at), t, zone, deadlines)
    problems, tasks = build.problems_and_tasks()
    outgoing = handover.outgoing if handover else build.holder("duty_officer") or "—"
    incoming = handover.actor if handover else "＿＿＿＿＿＿"
    blocks: list[Block] = [
        Fields(
            (
                (t("d.at"), when(at, zone)),
                (t("d.outgoing"), outgoing),
                (t("d.incoming"), incoming),
                (t("d.leader"), build.holder("leader_on_duty") or "—"),
            )
        ),
        Heading(t("d.situation")),
        *build.situation(),
        Heading(t("d.problems")),
        *problems,
        Heading(t("d.tasks")),
        *tasks,
    ]
    if handover and handover.summary:
        blocks += [Heading(t("d.summary")), Paragraph(handover.summary)]
    blocks.append(sign_off(("d.outgoing", "d.incoming"), t))
    return Document(
        title=t("d.handover_title"),
        subtitle=t("d.subtitle", now=when(now, zone)),
        lang=t.lang,
        blocks=tuple(blocks),
        letterhead=filing.letterhead(),
    )
