"""What the console shows of routines and planned events: the board's rounds-and-events panel and
the handover's lines, as plain rows and text (like `views.py`), coloured by the same urgency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dutydesk.console.views import DUE_SOON, Urgency, clock_left
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.obligations import State
from dutydesk.playbooks.timetable import Entry

PANEL_AHEAD = timedelta(hours=3)
PANEL_BEHIND = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DutyRow:
    entry: Entry
    urgency: Urgency

    @property
    def title(self) -> str:
        return self.entry.event.title if self.entry.event else ""


def duty_urgency(entry: Entry, now: datetime) -> Urgency:
    """The countdown colour of an occurrence, as for an incident's obligation."""
    if entry.state is State.BREACHED:
        return Urgency.BREACHED
    if entry.state not in (State.PENDING, State.WARNING):
        return Urgency.NONE
    if entry.owed.due_at - now <= DUE_SOON:
        return Urgency.DUE_SOON
    return Urgency.WARNING if entry.state is State.WARNING else Urgency.OK


def duty_rows(engine: Engine, now: datetime, ahead: timedelta = PANEL_AHEAD) -> list[DutyRow]:
    """Rounds from the last hour to `ahead` (rounds done drop off) and the tasks of today's events
    (whatever their time), missed ones first, then by deadline."""
    zone = engine.deadlines.zone
    midnight = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(0), tzinfo=zone)
    entries = engine.timetable.entries(now, max(ahead, midnight - now), PANEL_BEHIND)
    shown = [
        e
        for e in entries
        if (e.event is None and e.state is not State.MET and e.owed.at < now + ahead)
        or (e.event is not None and (e.event.start < midnight or e.owed.at < now + ahead))
    ]
    rows = [DutyRow(e, duty_urgency(e, now)) for e in shown]
    return sorted(rows, key=lambda r: (r.entry.state is not State.BREACHED, r.entry.owed.due_at))


def duty_line(row: DutyRow, now: datetime, lang: str, zone: ZoneInfo) -> str:
    """`  -05:10  10:00 巡查监控画面` or `  12:00  14:00 会前1小时… (季度工作会)`."""
    owed = row.entry.owed
    left = "✓" if row.entry.state is State.MET else clock_left(owed.due_at, now)
    at = owed.at.astimezone(zone).strftime("%H:%M")
    event = f" ({row.title})" if row.title else ""
    return f"{left:>8}  {at} {owed.title.get(lang)}{event}"


def handover_lines(engine: Engine, now: datetime, lang: str, span: timedelta) -> list[str]:
    """交接班: the rounds of the shift ending (done, abnormal, missed) and what is coming."""
    zh, zone = lang == "zh", engine.deadlines.zone
    past = [e for e in engine.timetable.entries(now, timedelta(seconds=1), span) if e.owed.at <= now]
    done = [e for e in past if e.state is State.MET]
    missed = [e for e in past if e.state is State.BREACHED]
    findings = engine.projection.duties.findings()
    lines = [
        f"{'本班巡查' if zh else 'Rounds this shift'}: "
        + (f"完成 {len(done)}，超时 {len(missed)}" if zh else f"{len(done)} done, {len(missed)} missed")
    ]
    for entry in [*missed, *(e for e in done if e.owed.key in findings)]:
        found = findings.get(entry.owed.key)
        mark = f"{'异常' if zh else 'abnormal'}: {found}" if found else ("超时" if zh else "missed")
        lines.append(f"  {entry.owed.at.astimezone(zone):%H:%M} {entry.owed.title.get(lang)} — {mark}")
    coming = [
        e
        for e in engine.timetable.entries(now, span, timedelta(0))
        if e.state is not State.MET and e.owed.at >= now
    ]
    lines.append(f"{'下一班巡查及保障事项' if zh else 'Rounds and event tasks coming'}: {len(coming)}")
    for entry in coming[:12]:
        event = f" ({entry.event.title}, {entry.event.place})" if entry.event else ""
        at = entry.owed.at.astimezone(zone)
        lines.append(f"  {at:%m-%d %H:%M} {entry.owed.title.get(lang)}{event}")
    return lines
