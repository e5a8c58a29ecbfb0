"""The investigation report (《事件调查报告》) of one incident, in the centre's usual structure:
overview, handling in time order, response times with the reasons for lateness, causes,
responsibility, rectification, prevention and lessons, feedback; the unit's number and sign-off.

Everything shown derives from the log, never from the moment of generation (margins are as of
when each obligation settled), so a report made twice differs only in its generation stamp."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.console import render
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.charts import Span, Timeline
from dutydesk.console.reports.document import Block, Document, Fields, Figure, Heading, Paragraph, Row, Table
from dutydesk.console.reports.events import Wording, actor, source, span, when
from dutydesk.console.reports.filing import Filing, sign_off
from dutydesk.console.reports.wording import TICKS, translator
from dutydesk.playbooks.events import (
    AlarmChanged,
    CauseRecorded,
    FindingRecorded,
    LateExplained,
    MilestoneReached,
)
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.obligations import State, Status
from dutydesk.playbooks.rectification import ItemState, ItemStatus
from dutydesk.playbooks.vocab import Cause, Milestone
from dutydesk.playbooks.workdays import WorkCalendar


def investigation_report(
    incident: Incident,
    statuses: Sequence[Status],
    timeline: Sequence[Recorded],
    items: Sequence[ItemStatus],
    *,
    now: datetime,
    zone: ZoneInfo,
    lang: str,
    filing: Filing,
    calendar: WorkCalendar,
) -> Document:
    """The report from the incident's state, its obligations (evaluated at `now`), every event of
    its timeline and its rectification items; `now` shows only in the generation stamp."""
    t = translator(lang)
    build = _Builder(incident, t, zone, timeline, calendar)
    blocks: list[Block] = [
        Heading(t("r.overview")),
        build.overview(timeline),
        Heading(t("r.handling")),
        build.timeline(timeline),
        Heading(t("r.timeliness")),
        *build.timeliness(statuses),
        Heading(t("r.causes")),
        *build.causes(timeline),
        Heading(t("r.responsibility")),
        *build.findings(timeline, "responsibility"),
        Heading(t("r.rectification")),
        *build.items(items),
        Heading(t("r.lessons")),
        *build.findings(timeline, "lessons"),
        Heading(t("r.feedback")),
        *build.feedback(items, timeline),
        sign_off(("f.team_lead", "f.reviewer", "f.issuer"), t),
    ]
    marks = [t("drill")] if incident.drill else []
    if Milestone.INVESTIGATED not in incident.milestones:
        marks.append(t("r.draft"))
    dated = build.dated
    return Document(
        title=t("r.incident_title", title=incident.title),
        subtitle=t("r.incident_subtitle", incident=incident.id, now=when(now, zone)),
        lang=t.lang,
        blocks=tuple(blocks),
        marks=tuple(marks),
        letterhead=filing.letterhead(),
        signature=filing.signature(dated, t),
        colophon=filing.colophon(dated, t),
    )


class _Builder:
    def __init__(
        self,
        incident: Incident,
        t: Translator,
        zone: ZoneInfo,
        timeline: Sequence[Recorded],
        calendar: WorkCalendar,
    ) -> None:
        self.incident, self.t, self.zone, self.calendar = incident, t, zone, calendar
        self.words = Wording(t, zone, self.title)
        # the log's last word: where a deadline still open is drawn to, and the document's date
        self.as_of = max((r.event.at for r in timeline), default=incident.received_at)
        investigated = incident.milestones.get(Milestone.INVESTIGATED)
        self.dated: date = (investigated or self.as_of).astimezone(zone).date()
        self.reasons = {
            (e.obligation, e.occurrence): e.text
            for e in (r.event for r in timeline)
            if isinstance(e, LateExplained)
        }

    def when(self, moment: datetime | None) -> str:
        return when(moment, self.zone)

    def span(self, delta: timedelta) -> str:
        return span(delta, self.t)

    def title(self, obligation: str) -> str:
        try:
            return self.incident.plan.obligation(obligation).title.get(self.t.lang)
        except KeyError:
            return obligation

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
        team = [
            r.event.text
            for r in timeline
            if isinstance(r.event, FindingRecorded) and r.event.section == "team"
        ]
        rows = [
            (t("r.incident_id"), incident.id),
            (t("h.title"), incident.title),
            (t("r.type"), incident.plan.title.get(t.lang)),
            (t("h.severity"), level),
            (t("h.received"), self.when(incident.received_at)),
            (t("h.location"), incident.location or "—"),
            (t("h.source"), source(incident.source, t)),
            (t("r.impact"), t("r.sentence_sep").join(impact)),
            (t("h.phase"), t.label(incident.phase.label)),
            (t("r.team"), team[-1] if team else t("r.no_team")),
        ]
        if incident.close_reason:
            rows.append((t("r.close_reason"), incident.close_reason))
        return Fields(tuple(rows))

    # -- 处置经过 ----------------------------------------------------------------------------------

    def timeline(self, timeline: Sequence[Recorded]) -> Table:
        t = self.t
        rows = tuple(
            Row((self.when(line.at), line.what, line.who, line.detail), line.tone)
            for line in self.words.lines(timeline)
        )
        return Table((t("r.time"), t("r.what"), t("r.who"), t("r.detail")), rows, (3.4, 2.6, 2, 9))

    # -- 响应时效 ----------------------------------------------------------------------------------

    def timeliness(self, statuses: Sequence[Status]) -> list[Block]:
        t, incident = self.t, self.incident
        rows = []
        reasons: list[Block] = []
        counts = {"on_time": 0, "late": 0, "running": 0}
        for status in statuses:
            ob = status.obligation
            title = ob.title.get(t.lang) + (f" #{status.occurrence}" if ob.recurring else "")
            late = _late(status)
            if status.state is State.MET:
                counts["late" if late else "on_time"] += 1
            elif status.state is State.BREACHED:
                counts["late"] += 1
            elif status.state is not State.WAIVED:
                counts["running"] += 1
            state = (
                t("r.met_late") if late and status.state is State.MET else t(f"state.{status.state.value}")
            )
            rows.append(
                Row(
                    (
                        title,
                        render.role_label(ob.role, t),
                        render.limit_text(ob.limit(incident.urgent), t),
                        self._due(status),
                        self.when(status.met_at),
                        self._margin(status),
                        state,
                    ),
                    "alert" if late else "note" if status.state is State.WARNING else "plain",
                )
            )
            if late:
                reason = self.reasons.get(status.key)
                text = t("r.pair", a=title, b=reason) if reason else t("r.no_reason", title=title)
                reasons.append(Paragraph(text, "plain" if reason else "alert"))
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
            Table(header, tuple(rows), (5, 2.2, 2.2, 3.4, 3.4, 3, 2)),
        ]
        chart = self.chart(statuses)
        if chart.spans:
            blocks.append(Figure(chart, t("r.timeline_caption")))
        if reasons:
            blocks += [Heading(t("r.late_reasons"), level=2), *reasons]
        return blocks

    def _due(self, status: Status) -> str:
        if status.due_at is None:
            ob = status.obligation
            return self.t("r.after", anchor=render.anchor_label(ob.after, self.incident.plan, self.t))
        return self.when(status.due_at) + (self.t("r.provisional") if status.provisional else "")

    def _margin(self, status: Status) -> str:
        """How early or late it was met: in working days for a working-day limit. An obligation
        not settled yet has no margin here; its state says where it stands."""
        if status.state is not State.MET or status.met_at is None or status.due_at is None:
            return "—"
        margin = status.due_at - status.met_at
        word = "early" if margin >= timedelta(0) else "late"
        if not status.obligation.limit(self.incident.urgent).is_workdays:
            return self.t(word, span=self.span(margin))
        days = self._workdays(status.met_at, status.due_at)
        if days == 0:
            return self.t("r.same_workday")
        return self.t(word, span=self.t("r.workdays", count=abs(days)))

    def _workdays(self, met: datetime, due: datetime) -> int:
        """Working days from the day it was met to the due day (negative when met after it)."""
        first, last = sorted((met.astimezone(self.zone).date(), due.astimezone(self.zone).date()))
        count = sum(
            1
            for n in range(1, (last - first).days + 1)
            if self.calendar.day(first + timedelta(days=n)).kind.is_workday
        )
        return count if met <= due else -count

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
            spans.append(Span(row, minutes(status.anchor_at), minutes(status.due_at), done, _late(status)))
        titles = [self.title(ob) for ob in rows]
        ticks = tuple((minute, t(label)) for minute, label in TICKS)
        legend = (t("r.legend_allowed"), t("r.legend_met"), t("r.legend_late"))
        return Timeline(tuple(titles), tuple(spans), minutes(self.as_of), ticks, t("r.axis_since"), legend)

    # -- 责任认定, 防范措施/经验教训 ------------------------------------------------------------------

    def findings(self, timeline: Sequence[Recorded], section: str) -> list[Block]:
        found = [
            r.event for r in timeline if isinstance(r.event, FindingRecorded) and r.event.section == section
        ]
        if not found:
            return [Paragraph(self.t(f"r.no_{section}"), "note")]
        return [Paragraph(self.t("r.numbered", n=n, text=e.text)) for n, e in enumerate(found, start=1)]

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
                    Paragraph(t("r.cause", text=e.text, who=actor(e.actor, t), when=self.when(e.at)))
                    for e in mine
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
        return [Table(header, tuple(rows), (4.6, 4.6, 2, 3, 3.8, 2, 4))]

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
                t(
                    "r.feedback_given",
                    text=event.text or "—",
                    who=actor(event.actor, t),
                    when=self.when(event.at),
                )
            )
        ]


def _late(status: Status) -> bool:
    """Met after its due time, or the due time passed unmet."""
    if status.state is State.BREACHED:
        return True
    return status.met_at is not None and status.due_at is not None and status.met_at > status.due_at
