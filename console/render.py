"""Incidents, obligations and plans as text for people and as JSON for scripts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.console.columns import table
from dutydesk.console.i18n import Translator
from dutydesk.console.words import alarm_kind_word, event_word
from dutydesk.playbooks.alarmbook import Alarm, Device
from dutydesk.playbooks.alarms import Availability
from dutydesk.playbooks.clock import iso
from dutydesk.playbooks.commands import Rejected
from dutydesk.playbooks.durations import Duration
from dutydesk.playbooks.duty_events import DutyDone, EventMoved, EventScheduled
from dutydesk.playbooks.eventcodec import payload
from dutydesk.playbooks.events import (
    AlarmChanged,
    AlarmObserved,
    BreachAcknowledged,
    DeviceChanged,
    DutyLogged,
    Event,
    IncidentCorrected,
    IncidentLinked,
    IncidentMerged,
    IncidentOpened,
    MilestoneReached,
    MilestoneRetracted,
    NoteAdded,
    ObligationBreached,
    ObligationMet,
    ObligationWarned,
    ProgressUpdated,
    RosterOverridden,
    SeverityChanged,
    UrgencyChanged,
)
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.obligations import State, Status, Tally, tally
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.rectification import RegisterRow
from dutydesk.playbooks.vocab import ROLES, Milestone, Severity, Source

# Units of a duration in words, largest first: (seconds, Chinese, English one, English other), as
# pendulum's `Duration.in_words` writes them; spelt out here so that listing incidents does not
# load pendulum (a test holds the two to the same words).
_UNITS = (
    (7 * 86400, "{0}周", "{0} week", "{0} weeks"),
    (86400, "{0}天", "{0} day", "{0} days"),
    (3600, "{0}小时", "{0} hour", "{0} hours"),
    (60, "{0}分钟", "{0} minute", "{0} minutes"),
    (1, "{0}秒钟", "{0} second", "{0} seconds"),
)


def span(delta: timedelta, lang: str) -> str:
    """A duration in words, to the minute once it is a minute or more: "1 hour 5 minutes",
    "1小时 5分钟"."""
    seconds = abs(delta.total_seconds())
    if seconds >= 60:
        seconds = round(seconds / 60) * 60
    left, parts = round(seconds), []
    zh = lang.startswith("zh")
    for size, chinese, one, other in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append((chinese if zh else one if count == 1 else other).format(count))
    return " ".join(parts) or ("0微秒" if zh else "0 microseconds")


def refusal(rejected: Rejected, t: Translator, zone: ZoneInfo) -> str:
    """Why a command was refused, in the console's language, times in the centre's zone."""
    params: dict[str, object] = {}
    for name, value in rejected.params.items():
        if isinstance(value, Milestone):
            params[name] = t.label(value.label)
        elif isinstance(value, datetime):  # to the minute, as the officer reads it
            params[name] = value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        else:
            params[name] = value
    return t(rejected.code, **params) if rejected.code in t.codes else str(rejected)


def limit_text(limit: Duration, t: Translator) -> str:
    """ "3个工作日" / "3 working days"; "30分钟" / "30 minutes"."""
    if limit.is_workdays:
        return f"{limit.amount}个工作日" if t.lang == "zh" else f"{limit.amount} working days"
    return span(limit.wall(), t.lang)


def role_label(role: str, t: Translator) -> str:
    label = ROLES.get(role)
    return t.label(label) if label else role


def anchor_label(anchor: str, plan: Plan, t: Translator) -> str:
    if anchor in {m.value for m in Milestone}:
        return t.label(Milestone(anchor).label)
    return plan.obligation(anchor).title.get(t.lang)


def obligation_json(status: Status, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    margin = status.margin(now)
    ob = status.obligation
    return {
        "id": ob.id,
        "title": ob.title.get("zh"),
        "title_en": ob.title.get("en"),
        "role": ob.role,
        "occurrence": status.occurrence,
        "after": ob.after,
        "limit": str(ob.limit(False)),
        "due_at": iso(status.due_at, zone),
        "warn_at": iso(status.warn_at, zone),
        "state": status.state.value,
        "met_at": iso(status.met_at, zone),
        "margin_seconds": margin.total_seconds() if margin is not None else None,
        "provisional": status.provisional,
    }


RECENT = 3  # occurrences of a recurring obligation listed unless all are asked for


def occurrences(statuses: list[Status], *, everything: bool) -> tuple[list[Status], dict[str, Tally]]:
    """The statuses to list, and a tally of each recurring obligation with more occurrences than
    RECENT: then only its latest RECENT are listed, unless `everything`."""
    runs: dict[str, list[Status]] = {}
    for status in statuses:
        if status.obligation.recurring:
            runs.setdefault(status.obligation.id, []).append(status)
    long = {ob: run for ob, run in runs.items() if len(run) > RECENT}
    if everything or not long:
        return statuses, {ob: tally(run) for ob, run in long.items()}
    hidden = {s.key for run in long.values() for s in run[:-RECENT]}
    return [s for s in statuses if s.key not in hidden], {ob: tally(run) for ob, run in long.items()}


def incident_json(
    incident: Incident,
    statuses: list[Status],
    zone: ZoneInfo,
    now: datetime,
    *,
    all_occurrences: bool = False,
) -> dict[str, Any]:
    listed, tallies = occurrences(statuses, everything=all_occurrences)
    return {
        "id": incident.id,
        "plan": incident.plan.id,
        "plan_title": incident.plan.title.get("zh"),
        "title": incident.title,
        "severity": incident.severity.id,
        "urgent": incident.urgent,
        "drill": incident.drill,
        "state": "closed" if incident.closed else "open",
        "phase": incident.phase.value,
        "source": incident.source,
        "location": incident.location,
        "description": incident.description,
        "opened_at": iso(incident.received_at, zone),
        "closed_at": iso(incident.milestones.get(Milestone.CLOSED), zone),
        "close_reason": incident.close_reason,
        "milestones": {k: iso(v, zone) for k, v in incident.milestones.items()},
        "obligations": [obligation_json(s, zone, now) for s in listed],
        "occurrences": {
            ob: {
                "total": n.total,
                "on_time": n.on_time,
                "late": n.late,
                "missed": n.missed,
                "waived": n.waived,
                "listed": sum(s.obligation.id == ob for s in listed),
            }
            for ob, n in tallies.items()
        },
    }


def event_json(item: Recorded, zone: ZoneInfo) -> dict[str, Any]:
    body = payload(item.event)
    body.pop("plan", None)  # the full plan text is in the log; the timeline names it only
    for name, value in body.items():
        if name.endswith("_at") and isinstance(value, str):
            body[name] = iso(datetime.fromisoformat(value), zone)
    return {
        "seq": item.seq,
        "at": iso(item.event.at, zone),
        "logged_at": iso(item.logged_at, zone),
        "kind": item.event.kind,
        "actor": item.event.actor,
        **body,
    }


MILESTONES = frozenset(m.value for m in Milestone)


def recorded_late(event: ObligationBreached, zone: ZoneInfo | None, t: Translator) -> str:
    """ "(recorded late, the engine was not running from … to …)", or "" for a breach recorded on
    time."""
    if event.idle_from is None or event.recorded_at is None:
        return ""

    def when(moment: datetime) -> str:
        return (moment.astimezone(zone) if zone else moment).strftime("%m-%d %H:%M")

    return t("recorded_late", start=when(event.idle_from), end=when(event.recorded_at))


# one line per event kind, exhaustive: one piece on purpose
def describe(event: Event, plan: Plan | None, t: Translator, zone: ZoneInfo | None = None) -> str:  # noqa: C901
    """One line saying what an event was, in the console's language (timelines, feeds)."""

    def title(obligation: str) -> str:
        try:
            return plan.obligation(obligation).title.get(t.lang) if plan else obligation
        except KeyError:
            return obligation

    match event:
        case IncidentOpened():
            plan_title = plan.title.get(t.lang) if plan else event.plan_id
            return f"{t('ev.opened')}: {event.title} ({plan_title}, {_source_label(event.source, t)})"
        case MilestoneReached(milestone=milestone, text=text):
            label = t.label(Milestone(milestone).label) if milestone in MILESTONES else milestone
            return f"{label}" + (f": {text}" if text else "")
        case ProgressUpdated():
            return (
                f"{t('form.measures')}: {event.measures} / {t('form.status')}: {event.status} / "
                f"{t('form.next')}: {event.next_steps}"
            )
        case ObligationMet(margin_seconds=margin) if margin is not None:
            word = "early" if margin >= 0 else "late"
            return t(
                "met",
                title=title(event.obligation),
                margin=t(word, span=span(timedelta(seconds=margin), t.lang)),
            )
        case ObligationWarned():
            return f"{t('ev.warned')}: {title(event.obligation)}"
        case ObligationBreached():
            late = recorded_late(event, zone, t)
            return f"{t('ev.breached')}: {title(event.obligation)}" + (f" {late}" if late else "")
        case BreachAcknowledged(channel=channel):
            return t("ev.acknowledged", title=title(event.obligation), channel=t(f"channel.{channel}"))
        case UrgencyChanged(urgent=True):
            return t("urgent") + (t("ev.because", reason=event.reason) if event.reason else "")
        case UrgencyChanged(reason=reason):
            return f"{t('ev.urgent_off')} ({t('ev.reason')}: {reason})"
        case MilestoneRetracted(milestone=milestone, reason=reason):
            label = t.label(Milestone(milestone).label) if milestone in MILESTONES else milestone
            return f"{t('ev.retracted')}: {label} ({t('ev.reason')}: {reason})"
        case IncidentCorrected(field=field, reason=reason):
            was, now = event.previous, event.value
            if field == "received_at":
                was, now = (datetime.fromisoformat(v).strftime("%Y-%m-%d %H:%M") for v in (was, now))
            what = f"{t('ev.corrected')} {t(f'field.{field}')}"
            return f"{what}: {was or '-'} → {now} ({t('ev.reason')}: {reason})"
        case SeverityChanged():
            because = t("ev.because", reason=event.reason) if event.reason else ""
            levels = (t.label(Severity[level.upper()].grade) for level in (event.previous, event.severity))
            return f"{t('h.severity')}: {' → '.join(levels)}{because}"
        case IncidentMerged(merged=merged, into=into):
            line = (
                t("ev.merged_into", into=into)
                if event.incident == merged
                else t("ev.merged_from", merged=merged)
            )
            return line + (f": {event.reason}" if event.reason else "")
        case IncidentLinked(linked=linked, to=to):
            other = to if event.incident == linked else linked
            return t("ev.linked", other=other) + (f": {event.reason}" if event.reason else "")
        case NoteAdded() | DutyLogged():
            return event.text
        case RosterOverridden(shift=shift):
            until = datetime.fromisoformat(shift["end"]).strftime("%m-%d %H:%M")
            return t("log.override", role=role_label(shift["role"], t), holder=shift["holder"], until=until)
        case AlarmObserved():
            state = t("alarm.cleared") if event.signal == "clear" else t("alarm.active")
            return f"{state} {alarm_kind_word(event.alarm_kind, t)} {event.source}/{event.device}"
        case AlarmChanged():
            return f"{t(f'alarm.{event.status}')} {event.key}"
        case DeviceChanged():
            return f"{t(f'availability.{event.availability}')} {event.device}"
        case DutyDone(ref=ref, abnormal=abnormal, note=note):
            what = t("ev.round_abnormal" if abnormal else "ev.round", ref=ref)
            return what + (f": {note}" if note else "") + (f" → {event.incident}" if event.incident else "")
        case EventScheduled() | EventMoved():
            local = zone or ZoneInfo("UTC")
            when = f"{iso(event.start, local)} – {iso(event.end, local)}"
            if isinstance(event, EventMoved):
                return t("ev.event_moved", event=event.event, when=when)
            return t("ev.event_scheduled", event=event.event, title=event.title, place=event.place, when=when)
    return event_word(event.kind, t)


def stamp(at: datetime, now: datetime, zone: ZoneInfo, *, seconds: bool = False) -> str:
    """A moment for a table cell, short when it is this year: "11-23 14:05", else with the year
    ("2025-11-23 14:05"), so that a time a year off never passes for today's."""
    local = at.astimezone(zone)
    day = "%m-%d" if local.year == now.astimezone(zone).year else "%Y-%m-%d"
    return local.strftime(f"{day} %H:%M:%S" if seconds else f"{day} %H:%M")


def alarm_line(alarm: Alarm, t: Translator) -> str:
    """An alarm as it stands: state, what, device and place."""
    place = " ".join(p for p in (alarm.building, alarm.floor) if p)
    flaps = f" ×{alarm.flaps}" if alarm.flaps else ""
    state = t(f"alarm.{alarm.status.value}")
    return f"{state}{flaps} {alarm_kind_word(alarm.kind, t)} {alarm.device_key} {place}".rstrip()


def due_text(status: Status, plan: Plan, now: datetime, zone: ZoneInfo, t: Translator) -> str:
    """When it is due and how it stands: "11-23 14:30 (12 minutes left)"."""
    ob = status.obligation
    if status.due_at is None:
        limit = limit_text(ob.limit(False), t)
        return t("waiting_for", anchor=anchor_label(ob.after, plan, t), limit=limit)
    due = stamp(status.due_at, now, zone)
    margin = status.margin(now)
    assert margin is not None
    if status.state is State.MET:
        note = t("early" if margin >= timedelta(0) else "late", span=span(margin, t.lang))
    elif status.state is State.WAIVED:
        note = t("state.waived")
    elif status.state is State.BREACHED and status.obligation.recurring:
        note = t("missed")  # the next period has started: this one stays missed, however long ago
    elif margin < timedelta(0):
        note = t("overdue", span=span(margin, t.lang))
    else:
        note = t("left", span=span(margin, t.lang))
    text = f"{due} ({note})"
    return text + t("provisional") if status.provisional else text


def incident_lines(
    incident: Incident,
    statuses: list[Status],
    now: datetime,
    zone: ZoneInfo,
    t: Translator,
    *,
    all_occurrences: bool = False,
) -> list[str]:
    flags = [t("urgent")] if incident.urgent else []
    if incident.drill:
        flags.append(t("drill"))
    state = t("incident.closed") if incident.closed else t("incident.open")
    lines = [
        f"{incident.id}  {incident.title}  [{state}{', ' + ', '.join(flags) if flags else ''}]",
        f"{t('h.plan')}: {incident.plan.title.get(t.lang)} ({incident.plan.id})",
        f"{t('h.severity')}: {t.label(incident.severity.grade)}  "
        f"{t('h.phase')}: {t.label(incident.phase.label)}",
        f"{t('h.received')}: {iso(incident.received_at, zone)}  "
        f"{t('h.source')}: {_source_label(incident.source, t)}",
    ]
    if incident.location:
        lines.append(f"{t('h.location')}: {incident.location}")
    listed, tallies = occurrences(statuses, everything=all_occurrences)
    lines += ["", f"{t('h.obligations')}:", obligation_table(listed, incident.plan, now, zone, t, tallies)]
    hidden = sum(n.total for n in tallies.values()) - sum(s.obligation.id in tallies for s in listed)
    if hidden:
        lines.append(t("occurrences.hint", hidden=hidden))
    return lines


def obligation_table(  # noqa: PLR0917 - the table's data, then how to say it
    statuses: list[Status],
    plan: Plan,
    now: datetime,
    zone: ZoneInfo,
    t: Translator,
    tallies: dict[str, Tally] | None = None,
) -> str:
    """One row per occurrence listed; a recurring obligation with a tally gets a summary row first."""
    rows = [[t("h.obligation"), t("h.role"), t("h.due"), t("h.state")]]
    summarised: set[str] = set()
    for status in statuses:
        ob = status.obligation
        title = ob.title.get(t.lang)
        counts = (tallies or {}).get(ob.id)
        if counts is not None and ob.id not in summarised:
            summarised.add(ob.id)
            summary = t(
                "occurrences.summary",
                total=counts.total,
                on_time=counts.on_time,
                late=counts.late,
                missed=counts.missed,
                waived=counts.waived,
            )
            rows.append([title, role_label(ob.role, t), summary, ""])
        if status.obligation.recurring:
            title += f" #{status.occurrence}"
        rows.append(
            [
                title,
                role_label(status.obligation.role, t),
                due_text(status, plan, now, zone, t),
                t(f"state.{status.state.value}"),
            ]
        )
    return table(rows)


def _source_label(source: str, t: Translator) -> str:
    try:
        return t.label(Source(source).label)
    except ValueError:
        return source


def alarm_json(alarm: Alarm, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "key": alarm.key,
        "source": alarm.source,
        "device": alarm.device,
        "point": alarm.point,
        "kind": alarm.kind,
        "status": alarm.status.value,
        "since": iso(alarm.since, zone),
        "raised_at": iso(alarm.raised_at, zone),
        "cleared_at": iso(alarm.cleared_at, zone),
        "severity": alarm.severity,
        "urgent": alarm.urgent,
        "vendor_code": alarm.vendor_code,
        "text": alarm.text,
        "site": alarm.site,
        "building": alarm.building,
        "floor": alarm.floor,
        "device_time": iso(alarm.device_time, zone),
        "clock": alarm.clock,
        "flaps": alarm.flaps,
        "replay": alarm.replay,
        "incident": alarm.incident,
    }


def device_json(
    key: str, device: Device | None, last_seen: datetime | None, zone: ZoneInfo
) -> dict[str, Any]:
    return {
        "device": key,
        # a device never logged as offline or stale is online once heard from
        "availability": device.availability.value
        if device
        else (Availability.ONLINE if last_seen else Availability.UNKNOWN).value,
        "since": iso(device.changed_at, zone) if device else None,
        "last_seen": iso(last_seen, zone),
        "site": device.site if device else None,
        "building": device.building if device else None,
        "floor": device.floor if device else None,
    }


def item_json(row: RegisterRow, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """A rectification item as `dutydesk rectify list --json` gives it."""
    status, item = row.status, row.status.item
    return {
        "id": item.id,
        "incident": item.incident,
        "incident_title": row.incident.title,
        "drill": item.drill,
        "content": item.content,
        "owner": item.owner,
        "workdays": item.workdays,
        "counted_from": iso(item.anchor_at, zone),
        "added_at": iso(item.added_at, zone),
        "due_at": iso(status.due_at, zone),
        "provisional": status.provisional,
        "state": status.state.value,
        "late": status.late,
        "margin_seconds": status.margin(now).total_seconds(),
        "reminders": [{"workdays_left": left, "at": iso(at, zone)} for left, at in status.reminders],
        "done_at": iso(item.done_at, zone),
        "evidence": item.evidence,
        "feedback": item.feedback,
        "feedback_at": iso(item.feedback_at, zone),
    }
