"""The log's events in the documents' words: what happened, who did it, the details.

Shared by the investigation report, the information reports and the duty records, so an event
reads the same in each. Events kept for the machinery (raw alarm observations, notifications and
their attempts) have no words: the documents leave them out, and no raw kind or actor id shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.console import render
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.document import Tone
from dutydesk.playbooks.events import (
    AlarmChanged,
    BreachAcknowledged,
    CauseRecorded,
    DocumentNumbered,
    DutyLogged,
    Event,
    FindingRecorded,
    HandoverAcknowledged,
    IncidentOpened,
    LateExplained,
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
from dutydesk.playbooks.vocab import Cause, Milestone, Severity, Source

# who acted, when it was not a person: the engine's timer, the alarm feed, the drill's stand-ins
ACTORS = {
    "engine": "r.actor.engine",
    "notifier": "r.actor.engine",
    "ingest": "r.actor.ingest",
    "drill-responder": "r.actor.responder",
    "drill-review": "r.actor.review",
}


@dataclass(frozen=True, slots=True)
class Line:
    at: datetime
    what: str
    who: str
    detail: str
    tone: Tone


def when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"


def actor(name: str, t: Translator) -> str:
    return t(ACTORS[name]) if name in ACTORS else name


def source(value: str, t: Translator) -> str:
    try:
        return t.label(Source(value).label)
    except ValueError:
        return value


def span(delta: timedelta, t: Translator) -> str:
    """To the minute within a day, to the hour beyond: working-day limits need no minutes."""
    if abs(delta) >= timedelta(days=1):
        delta = timedelta(hours=round(delta.total_seconds() / 3600))
    return render.span(delta, t.lang)


def happened(event: Event) -> datetime:
    """When it happened: a breach or an overdue item at its due time, the rest when recorded."""
    if isinstance(event, ObligationBreached | RectificationOverdue):
        return event.due_at
    return event.at


def in_time_order(timeline: Sequence[Recorded]) -> list[Recorded]:
    """By when things happened (an entry made late, `--at`, goes to its place), then log order."""
    return sorted(timeline, key=lambda r: (happened(r.event), r.seq))


class Wording:
    """Turns events into lines; `title` names an obligation of the incident's plan."""

    def __init__(self, t: Translator, zone: ZoneInfo, title: Callable[[str], str]) -> None:
        self.t, self.zone, self.title = t, zone, title

    def roles(self, roles: Sequence[str]) -> str:
        return self.t("r.list_sep").join(render.role_label(role, self.t) for role in roles)

    def lines(self, timeline: Sequence[Recorded]) -> list[Line]:
        """The timeline in words and in time order; a breach at its due time (the timer may
        record it later: after a restart, or when nothing ran), saying when it was recorded."""
        out = []
        for recorded in timeline:
            event = recorded.event
            described = self.describe(event)
            if described is None:
                continue
            what, detail, tone = described
            at = happened(event)
            noted: datetime = getattr(event, "recorded_at", None) or event.at
            if noted - at >= timedelta(minutes=1) and getattr(event, "idle_from", None) is None:
                note = self.t("r.recorded_at", when=when(noted, self.zone))
                detail = self.t("r.paren", a=detail, b=note)
            out.append((at, recorded.seq, Line(at, what, actor(event.actor, self.t), detail, tone)))
        return [line for _, _, line in sorted(out, key=lambda entry: entry[:2])]

    # one line per event kind, exhaustive: one piece on purpose
    def describe(self, event: Event) -> tuple[str, str, Tone] | None:  # noqa: C901
        """(what happened, the details, tone) of one event, or None for machinery."""
        t, w = self.t, self
        match event:
            case IncidentOpened():
                severity = t.label(Severity[event.severity.upper()].label)
                detail = t("r.opened", title=event.title, source=source(event.source, t), severity=severity)
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
                return t("r.e.severity"), t("r.changed", old=old, new=new), "plain"
            case NoteAdded(text=text) | DutyLogged(text=text):
                return t("r.e.note"), text, "plain"
            case HandoverAcknowledged(outgoing=outgoing, summary=summary):
                return t("r.e.handover"), t("r.pair", a=outgoing, b=summary), "plain"
            case ObligationMet(obligation=ob, margin_seconds=margin):
                detail = w.title(ob)
                if margin is not None and margin < 0:
                    detail = t("r.paren", a=detail, b=t("late", span=span(timedelta(seconds=margin), t)))
                    return t("r.e.met_late"), detail, "alert"
                return t("r.e.met"), detail, "plain"
            case ObligationWarned(obligation=ob, due_at=due, notify=notify):
                detail = t("r.due_notify", title=w.title(ob), due=when(due, w.zone), roles=w.roles(notify))
                return t("r.e.warned"), detail, "note"
            case ObligationBreached(obligation=ob, due_at=due, notify=notify):
                detail = t("r.due_notify", title=w.title(ob), due=when(due, w.zone), roles=w.roles(notify))
                late = render.recorded_late(event, w.zone, t)  # the engine was not running
                return t("r.e.breached"), f"{detail} {late}" if late else detail, "alert"
            case BreachAcknowledged():
                return t("r.e.breach_ack"), "", "plain"
            case LateExplained(obligation=ob, text=text):
                return t("r.e.late_reason"), t("r.pair", a=w.title(ob), b=text), "plain"
            case AlarmChanged(key=key, status=status, reason=reason):
                detail = t("r.paren", a=t("r.pair", a=key, b=t(f"alarm.{status}")), b=reason)
                return t("r.e.alarm"), detail, "plain"
            case CauseRecorded(category=category, text=text):
                return t("r.e.cause"), t("r.pair", a=t.label(Cause(category).label), b=text), "plain"
            case FindingRecorded(section=section, text=text):
                return t(f"r.e.{section}"), text, "plain"
            case DocumentNumbered(number=number, document=document):
                return t("r.e.numbered"), t("r.pair", a=t(f"r.doc.{document}"), b=number), "plain"
            case RectificationAdded():
                detail = t("r.item_added", content=event.content, owner=event.owner, workdays=event.workdays)
                return t("r.e.item_added"), t("r.pair", a=event.item, b=detail), "plain"
            case RectificationCompleted(item=item, evidence=evidence):
                return t("r.e.item_done"), t("r.pair", a=item, b=evidence), "plain"
            case RectificationFeedback(item=item, text=text):
                return t("r.e.item_feedback"), t("r.pair", a=item, b=text), "plain"
            case RectificationReminder(item=item, workdays_left=left, due_at=due, notify=notify):
                detail = t("r.reminder", item=item, left=left, due=when(due, w.zone), roles=w.roles(notify))
                return t("r.e.item_reminder"), detail, "note"
            case RectificationOverdue(item=item, due_at=due, notify=notify):
                detail = t("r.due_notify", title=item, due=when(due, w.zone), roles=w.roles(notify))
                return t("r.e.item_overdue"), detail, "alert"
        return None
