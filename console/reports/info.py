"""Information reports on an incident (突发事件信息报告): the 首报 from the opening (time, place,
what happened, impact, first measures, who was told), each 续报 from one progress update (what is
new since the last, measures, current state, next steps; not repeating the 首报), and the 终报 at
stabilise or close (course, outcome, follow-up)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.document import Block, Document, Fields, Heading, Paragraph
from dutydesk.console.reports.events import Wording, happened, in_time_order, source, span, when
from dutydesk.console.reports.filing import Filing
from dutydesk.console.reports.output import ReportError
from dutydesk.console.reports.wording import translator
from dutydesk.playbooks.events import (
    CauseRecorded,
    DocumentNumbered,
    ObligationMet,
    ProgressUpdated,
    RectificationAdded,
)
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.vocab import Milestone

STAGES = ("first", "follow", "final")
EPSILON = timedelta(microseconds=1)
DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """1 一, 10 十, 12 十二, 23 二十三: how 续报 are numbered (up to 99)."""
    tens, ones = divmod(n, 10)
    if n < 10:
        return DIGITS[n]
    return (DIGITS[tens] if tens > 1 else "") + "十" + (DIGITS[ones] if ones else "")


def updates_of(timeline: Sequence[Recorded]) -> list[Recorded]:
    return [r for r in in_time_order(timeline) if isinstance(r.event, ProgressUpdated)]


def info_report(
    incident: Incident,
    timeline: Sequence[Recorded],
    stage: str,
    *,
    sequence: int,
    now: datetime,
    zone: ZoneInfo,
    lang: str,
    filing: Filing,
) -> Document:
    """`sequence`: which 续报 (from 1); ignored for the others."""
    t = translator(lang)
    build = _Builder(incident, t, zone, timeline)
    if stage == "first":
        title, blocks, dated = t("i.first_title", title=incident.title), build.first(), incident.received_at
    elif stage == "follow":
        number = chinese(sequence) if t.lang == "zh" else str(sequence)
        update = build.updates[sequence - 1]
        title, blocks, dated = (
            t("i.follow_title", title=incident.title, n=number),
            build.follow(sequence),
            update.at,
        )
    else:
        end = incident.milestones.get(Milestone.CLOSED) or incident.milestones[Milestone.STABILISED]
        title, blocks, dated = t("i.final_title", title=incident.title), build.final(), end
    on = dated.astimezone(zone).date()
    return Document(
        title=title,
        subtitle=t("i.subtitle", incident=incident.id, now=when(now, zone)),
        lang=t.lang,
        blocks=(Paragraph(t("i.to"), indent=False), *blocks, Paragraph(t("i.reporter"))),
        marks=(t("drill"),) if incident.drill else (),
        letterhead=filing.letterhead(),
        signature=filing.signature(on, t),
        colophon=filing.colophon(on, t),
    )


def check_stage(incident: Incident, timeline: Sequence[Recorded], stage: str, ui: Translator) -> int:
    """The 续报's number (the latest update's), after checking the stage can be reported yet."""
    if stage not in STAGES:
        raise ReportError(ui("i.bad_stage", stage=stage))
    count = len(updates_of(timeline))
    if stage == "follow" and count == 0:
        raise ReportError(ui("i.no_update", incident=incident.id))
    if stage == "final" and Milestone.STABILISED not in incident.milestones:
        raise ReportError(ui("i.not_stabilised", incident=incident.id))
    return count


class _Builder:
    def __init__(
        self, incident: Incident, t: Translator, zone: ZoneInfo, timeline: Sequence[Recorded]
    ) -> None:
        self.incident, self.t, self.zone = incident, t, zone
        self.timeline = in_time_order(timeline)
        self.updates = [r.event for r in updates_of(timeline) if isinstance(r.event, ProgressUpdated)]
        self.words = Wording(t, zone, self.title)

    def title(self, obligation: str) -> str:
        try:
            return self.incident.plan.obligation(obligation).title.get(self.t.lang)
        except KeyError:
            return obligation

    def happenings(self, start: datetime | None, end: datetime | None) -> list[Block]:
        """What the log says happened in (start, end], as dated lines; the machinery left out,
        obligations met, updates and numbers too (the milestones say the first, the 续报 the
        second, and the documents themselves the third)."""
        out: list[Block] = []
        for recorded in self.timeline:
            event = recorded.event
            at = happened(event)
            inside = (start is None or at > start) and (end is None or at <= end)
            described = self.words.describe(event) if inside else None
            if described is None or isinstance(event, ObligationMet | ProgressUpdated | DocumentNumbered):
                continue
            what, detail, tone = described
            text = self.t("r.pair", a=what, b=detail.rstrip("。.")) if detail else what
            out.append(Paragraph(self.t("i.dated", when=when(at, self.zone), text=text), tone))
        return out

    def first(self) -> list[Block]:
        incident, t = self.incident, self.t
        level = t.label(incident.severity.label) + (t("r.and_urgent") if incident.urgent else "")
        first_update = self.updates[0].at if self.updates else None
        told = incident.milestones.get(Milestone.REPORTED)
        return [
            Paragraph(
                t(
                    "i.first_opening",
                    when=when(incident.received_at, self.zone),
                    source=source(incident.source, t),
                    location=incident.location or t("i.no_place"),
                    title=incident.title,
                )
            ),
            Heading(t("i.basics")),
            Fields(
                (
                    (t("i.time"), when(incident.received_at, self.zone)),
                    (t("h.location"), incident.location or "—"),
                    (t("r.type"), incident.plan.title.get(t.lang)),
                    (t("h.severity"), level),
                    (t("i.what"), incident.description or incident.title),
                    (t("i.losses"), t("i.checking")),
                )
            ),
            Heading(t("i.first_measures")),
            *(
                self.happenings(None, first_update - EPSILON if first_update else None)
                or [Paragraph(t("i.none_yet"), "note")]
            ),
            Heading(t("i.told")),
            Paragraph(t("i.told_leader", when=when(told, self.zone)) if told else t("i.not_told"), "plain"),
        ]

    def follow(self, sequence: int) -> list[Block]:
        t = self.t
        update = self.updates[sequence - 1]
        # from where the last report stopped: the previous 续报, or (the 首报) just before this update
        before = self.updates[sequence - 2].at if sequence > 1 else update.at - EPSILON
        return [
            Paragraph(t("i.follow_opening", title=self.incident.title, when=when(update.at, self.zone))),
            Heading(t("i.new")),
            *(self.happenings(before, update.at) or [Paragraph(t("i.nothing_new"), "note")]),
            Heading(t("i.measures")),
            Paragraph(update.measures),
            Heading(t("i.state")),
            Paragraph(update.status),
            Heading(t("i.next")),
            Paragraph(update.next_steps),
        ]

    def final(self) -> list[Block]:
        incident, t = self.incident, self.t
        stabilised = incident.milestones[Milestone.STABILISED]
        outcome = [
            t(
                "i.stabilised",
                when=when(stabilised, self.zone),
                span=span(stabilised - incident.received_at, t),
            )
        ]
        if incident.close_reason:
            outcome.append(t("r.pair", a=t("r.close_reason"), b=incident.close_reason))
        events = [r.event for r in self.timeline]
        follow_up = [
            t("r.pair", a=t("r.e.cause"), b=e.text) for e in events if isinstance(e, CauseRecorded)
        ] + [
            t("r.pair", a=e.item, b=t("r.item_added", content=e.content, owner=e.owner, workdays=e.workdays))
            for e in events
            if isinstance(e, RectificationAdded)
        ]
        return [
            Paragraph(t("i.final_opening", title=incident.title)),
            Heading(t("i.course")),
            *self.happenings(None, stabilised),
            *(
                Paragraph(t("i.update_line", n=n, text=u.measures))
                for n, u in enumerate(self.updates, start=1)
            ),
            Heading(t("i.outcome")),
            *(Paragraph(text) for text in outcome),
            Heading(t("i.follow_up")),
            *(Paragraph(text) for text in follow_up or [t("i.follow_up_pending")]),
        ]
