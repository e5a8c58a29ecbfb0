"""The investigation report (《事件调查报告》) of one incident, in the centre's usual structure:
overview, handling timeline, response times, cause analysis, rectification, feedback."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.console import render
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.charts import Span, Timeline
from dutydesk.console.reports.document import (
    Block,
    Document,
    Fields,
    Figure,
    Heading,
    Paragraph,
    Row,
    Table,
    Tone,
)
from dutydesk.console.reports.wording import TICKS, translator
from dutydesk.playbooks.events import (
    AlarmChanged,
    CauseRecorded,
    Event,
    IncidentOpened,
    MilestoneReached,
    NoteAdded,
    ObligationBreached,
    ObligationMet,
    ObligationWarned,
    ProgressUpdated,
    RectificationAdded,
    RectificationCompleted,
    RectificationFeedback,
    RectificationOverdue,
    RectificationReminder,
    SeverityChanged,
    UrgencyChanged,
)
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.obligations import State, Status
from dutydesk.playbooks.rectification import ItemState, ItemStatus
from dutydesk.playbooks.vocab import Cause, Milestone, Severity, Source


def investigation_report(
    incident: Incident,
    statuses: Sequence[Status],
    timeline: Sequence[Recorded],
    items: Sequence[ItemStatus],
    *,
    now: datetime,
    zone: ZoneInfo,
    lang: str,
) -> Document:
    """The report as of `now`, from the incident's state, its obligations, every event of its
    timeline and its rectification items."""
    t = translator(lang)
    build = _Builder(incident, t, zone, now)
    blocks: list[Block] = [
        Heading(t("r.overview")),
        build.overview(timeline),
        Heading(t("r.handling")),
        build.timeline(timeline),
        Heading(t("r.timeliness")),
        *build.timeliness(statuses),
        Heading(t("r.causes")),
        *build.causes(timeline),
        Heading(t("r.rectification")),
        *build.items(items),
        Heading(t("r.feedback")),
        *build.feedback(items, timeline),
    ]
    marks = [t("drill")] if incident.drill else []
    if Milestone.INVESTIGATED not in incident.milestones:
        marks.append(t("r.draft"))
    return Document(
        title=t("r.incident_title", title=incident.title),
        subtitle=t("r.incident_subtitle", incident=incident.id, now=build.when(now)),
        lang=t.lang,
        blocks=tuple(blocks),
        marks=tuple(marks),
    )


class _Builder:
    def __init__(self, incident: Incident, t: Translator, zone: ZoneInfo, now: datetime) -> None:
        self.incident, self.t, self.zone, self.now = incident, t, zone, now

    def when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    def span(self, delta: timedelta) -> str:
        """To the minute within a day, to the hour beyond: working-day limits need no minutes."""
        if abs(delta) >= timedelta(days=1):
            delta = timedelta(hours=round(delta.total_seconds() / 3600))
        return render.span(delta, self.t.lang)

    def title(self, obligation: str) -> str:
        try:
            return self.incident.plan.obligation(obligation).title.get(self.t.lang)
        except KeyError:
            return obligation

    def roles(self, roles: Sequence[str]) -> str:
        return self.t("r.list_sep").join(render.role_label(role, self.t) for role in roles)

    # -- 事件概况 ----------------------------------------------------------------------------------

    def overview(self, timeline: Sequence[Recorded]) -> Fields:
        incident, t = self.incident, self.t
        level = t.label(incident.severity.label) + (t("r.and_urgent") if incident.urgent else "")
        stabilised = incident.milestones.get(Milestone.STABILISED)
        impact = [incident.description] if incident.description else []
        if stabilised:
            impact.append(t("r.lasted", span=self.span(stabilised - incident.received_at)))
        else:
            impact.append(t("r.not_stabilised"))
        alarms = sum(1 for r in timeline if isinstance(r.event, AlarmChanged) and r.event.status == "active")
        if alarms:
            impact.append(t("r.alarms_attached", count=alarms))
        rows = [
            (t("r.incident_id"), incident.id),
            (t("h.title"), incident.title),
            (t("r.type"), incident.plan.title.get(t.lang)),
            (t("h.severity"), level),
            (t("h.received"), self.when(incident.received_at)),
            (t("h.location"), incident.location or "—"),
            (t("h.source"), _source(incident.source, t)),
            (t("r.impact"), t("r.sentence_sep").join(impact)),
            (t("h.phase"), t.label(incident.phase.label)),
        ]
        if incident.close_reason:
            rows.append((t("r.close_reason"), incident.close_reason))
        return Fields(tuple(rows))

    # -- 处置经过 ----------------------------------------------------------------------------------

    def timeline(self, timeline: Sequence[Recorded]) -> Table:
        t = self.t
        rows = []
        for recorded in timeline:
            what, detail, tone = self.describe(recorded.event)
            rows.append(Row((self.when(recorded.event.at), what, recorded.event.actor, detail), tone))
        return Table((t("r.time"), t("r.what"), t("r.who"), t("r.detail")), tuple(rows), (3, 3, 2, 9))

    def describe(self, event: Event) -> tuple[str, str, Tone]:
        """(what happened, the details, tone) of one timeline event, in words."""
        t = self.t
        match event:
            case IncidentOpened():
                severity = t.label(Severity[event.severity.upper()].label)
                detail = t("r.opened", title=event.title, source=_source(event.source, t), severity=severity)
                return t("r.e.opened"), detail, "plain"
            case MilestoneReached(milestone=milestone, text=text):
                return t.label(Milestone(milestone).label), text or "", "plain"
            case ProgressUpdated():
                detail = t("r.update", measures=event.measures, status=event.status, next=event.next_steps)
                return t("r.e.update"), detail, "plain"
            case UrgencyChanged():
                return t("r.e.urgent"), "", "plain"
            case SeverityChanged(severity=severity, previous=previous):
                old, new = (t.label(Severity[s.upper()].label) for s in (previous, severity))
                return t("r.e.severity"), f"{old} → {new}", "plain"
            case NoteAdded(text=text):
                return t("r.e.note"), text, "plain"
            case ObligationMet(obligation=ob, margin_seconds=margin):
                detail = self.title(ob)
                if margin is not None:
                    word = "early" if margin >= 0 else "late"
                    detail = t("r.paren", a=detail, b=t(word, span=self.span(timedelta(seconds=margin))))
                return t("r.e.met"), detail, "plain" if margin is None or margin >= 0 else "alert"
            case ObligationWarned(obligation=ob, due_at=due, notify=notify):
                detail = t("r.due_notify", title=self.title(ob), due=self.when(due), roles=self.roles(notify))
                return t("r.e.warned"), detail, "note"
            case ObligationBreached(obligation=ob, due_at=due, notify=notify):
                detail = t("r.due_notify", title=self.title(ob), due=self.when(due), roles=self.roles(notify))
                late = render.recorded_late(event, self.zone, t)
                return t("r.e.breached"), f"{detail} {late}" if late else detail, "alert"
            case AlarmChanged(key=key, status=status, reason=reason):
                detail = t("r.paren", a=t("r.pair", a=key, b=t(f"alarm.{status}")), b=reason)
                return t("r.e.alarm"), detail, "plain"
            case CauseRecorded(category=category, text=text):
                return t("r.e.cause"), t("r.pair", a=t.label(Cause(category).label), b=text), "plain"
            case RectificationAdded():
                detail = t("r.item_added", content=event.content, owner=event.owner, workdays=event.workdays)
                return t("r.e.item_added"), t("r.pair", a=event.item, b=detail), "plain"
            case RectificationCompleted(item=item, evidence=evidence):
                return t("r.e.item_done"), t("r.pair", a=item, b=evidence), "plain"
            case RectificationFeedback(item=item, text=text):
                return t("r.e.item_feedback"), t("r.pair", a=item, b=text), "plain"
            case RectificationReminder(item=item, workdays_left=left, due_at=due, notify=notify):
                detail = t("r.reminder", item=item, left=left, due=self.when(due), roles=self.roles(notify))
                return t("r.e.item_reminder"), detail, "note"
            case RectificationOverdue(item=item, due_at=due, notify=notify):
                detail = t("r.due_notify", title=item, due=self.when(due), roles=self.roles(notify))
                return t("r.e.item_overdue"), detail, "alert"
        return event.kind, "", "plain"

    # -- 响应时效 ----------------------------------------------------------------------------------

    def timeliness(self, statuses: Sequence[Status]) -> list[Block]:
        t, incident = self.t, self.incident
        rows = []
        counts = {"on_time": 0, "late": 0, "running": 0}
        for status in statuses:
            ob = status.obligation
            title = ob.title.get(t.lang) + (f" #{status.occurrence}" if ob.recurring else "")
            margin = status.margin(self.now)
            late = status.state is State.BREACHED or (
                status.state is State.MET and margin is not None and margin < timedelta(0)
            )
            if status.state is State.MET:
                counts["late" if late else "on_time"] += 1
            elif status.state is State.BREACHED:
                counts["late"] += 1
            elif status.state is not State.WAIVED:
                counts["running"] += 1
            rows.append(
                Row(
                    (
                        title,
                        render.role_label(ob.role, t),
                        render.limit_text(ob.limit(incident.urgent), t),
                        self._due(status),
                        self.when(status.met_at),
                        self._margin(status, margin),
                        t(f"state.{status.state.value}"),
                    ),
                    "alert" if late else "note" if status.state is State.WARNING else "plain",
                )
            )
        header = (
            t("h.obligation"),
            t("h.role"),
            t("r.limit"),
            t("r.due"),
            t("r.met_at"),
            t("r.margin"),
            t("h.state"),
        )
        blocks: list[Block] = [
            Paragraph(t("r.timeliness_summary", **counts)),
            Table(header, tuple(rows), (5.5, 2.2, 2.2, 3.2, 3.2, 3.2, 1.8)),
        ]
        chart = self.chart(statuses)
        if chart.spans:
            blocks.append(Figure(chart, t("r.timeline_caption")))
        return blocks

    def _due(self, status: Status) -> str:
        if status.due_at is None:
            ob = status.obligation
            return self.t("r.after", anchor=render.anchor_label(ob.after, self.incident.plan, self.t))
        return self.when(status.due_at) + (self.t("r.provisional") if status.provisional else "")

    def _margin(self, status: Status, margin: timedelta | None) -> str:
        if margin is None or status.state is State.WAIVED:
            return "—"
        if status.state is State.MET:
            return self.t("early" if margin >= timedelta(0) else "late", span=self.span(margin))
        return self.t("left" if margin >= timedelta(0) else "overdue", span=self.span(margin))

    def chart(self, statuses: Sequence[Status]) -> Timeline:
        t, received = self.t, self.incident.received_at
        rows: dict[str, int] = {}
        spans = []

        def minutes(moment: datetime) -> float:
            return (moment - received).total_seconds() / 60

        for status in statuses:
            if status.due_at is None or status.anchor_at is None:
                continue
            row = rows.setdefault(status.obligation.id, len(rows))
            done = minutes(status.met_at) if status.met_at else None
            late = status.state is State.BREACHED or (
                status.met_at is not None and status.met_at > status.due_at
            )
            spans.append(Span(row, minutes(status.anchor_at), minutes(status.due_at), done, late))
        titles = [self.title(ob) for ob in rows]
        ticks = tuple((minute, t(label)) for minute, label in TICKS)
        legend = (t("r.legend_allowed"), t("r.legend_met"), t("r.legend_late"))
        return Timeline(tuple(titles), tuple(spans), minutes(self.now), ticks, t("r.axis_since"), legend)

    # -- 原因分析 ----------------------------------------------------------------------------------

    def causes(self, timeline: Sequence[Recorded]) -> list[Block]:
        t = self.t
        found = [r.event for r in timeline if isinstance(r.event, CauseRecorded)]
        if not found:
            return [Paragraph(t("r.no_causes"), "note")]
        blocks: list[Block] = []
        for category in Cause:
            mine = [e for e in found if e.category == category.value]
            if mine:
                blocks.append(Heading(t.label(category.label), level=2))
                blocks += [
                    Paragraph(t("r.cause", text=e.text, who=e.actor, when=self.when(e.at))) for e in mine
                ]
        return blocks

    # -- 整改措施 ----------------------------------------------------------------------------------

    def items(self, items: Sequence[ItemStatus]) -> list[Block]:
        t = self.t
        if not items:
            return [Paragraph(t("r.no_items"), "note")]
        investigated = self.incident.milestones.get(Milestone.INVESTIGATED)
        rows = []
        for status in items:
            item = status.item
            origin = "r.from_investigation" if item.anchor_at == investigated else "r.from_added"
            state = t(f"item.{status.state.value}")
            if status.state is ItemState.DONE and status.late:
                state += t("r.done_late")
            done = t("r.paren", a=item.evidence, b=self.when(item.done_at)) if item.done_at else "—"
            due = self.when(status.due_at) + (t("r.provisional") if status.provisional else "")
            rows.append(
                Row(
                    (item.id, item.content, item.owner, t(origin, workdays=item.workdays), due, state, done),
                    "alert" if status.late else "plain",
                )
            )
        header = (
            t("h.id"),
            t("r.content"),
            t("r.owner"),
            t("r.limit"),
            t("r.due"),
            t("h.state"),
            t("r.evidence"),
        )
        return [Table(header, tuple(rows), (3, 6, 2, 3, 3, 2, 5))]

    # -- 服务对象反馈 -------------------------------------------------------------------------------

    def feedback(self, items: Sequence[ItemStatus], timeline: Sequence[Recorded]) -> list[Block]:
        """Per item where the register has them; else what was told for the whole incident."""
        t = self.t
        given = [s.item for s in items if s.item.feedback_at]
        if given:
            rows = tuple(
                Row((i.id, i.feedback or "", i.feedback_by or "", self.when(i.feedback_at))) for i in given
            )
            return [Table((t("h.id"), t("r.feedback_text"), t("r.who"), t("r.time")), rows, (3, 9, 2, 3))]
        told = [
            r.event
            for r in timeline
            if isinstance(r.event, MilestoneReached) and r.event.milestone == Milestone.FEEDBACK
        ]
        if not told:
            return [Paragraph(t("r.no_feedback"), "note")]
        event = told[0]
        return [
            Paragraph(
                t("r.feedback_given", text=event.text or "—", who=event.actor, when=self.when(event.at))
            )
        ]


def _source(source: str, t: Translator) -> str:
    try:
        return t.label(Source(source).label)
    except ValueError:
        return source
