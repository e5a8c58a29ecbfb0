"""What the KPI report reads from the event log: a period's facts, streamed into the pure builder.

Incidents received in the period are found by their ids (which begin with the day received), in
incident order through the log's incident index; alarms by time through a partial index on
confirmed alarm changes. Only the few payload fields each fact needs are extracted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from dutydesk.connectors.store import SqliteEventStore
from dutydesk.playbooks.events import (
    AlarmChanged,
    IncidentOpened,
    MilestoneReached,
    ObligationBreached,
    ObligationMet,
    PlanRegistered,
    RectificationAdded,
    RectificationCompleted,
    SeverityChanged,
)
from dutydesk.playbooks.kpi import Kpi, KpiBuilder, Period
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan

Progress = Callable[[str, float], None]  # (stage, fraction done)

INCIDENT_FACTS = {
    IncidentOpened.kind: ("plan_fingerprint", "severity", "location"),
    SeverityChanged.kind: ("severity",),
    MilestoneReached.kind: ("milestone",),
    ObligationMet.kind: ("obligation", "occurrence", "margin_seconds"),
    ObligationBreached.kind: ("obligation", "occurrence"),
    RectificationAdded.kind: ("item", "anchor_at", "workdays", "content", "owner"),
    RectificationCompleted.kind: ("item",),
}
ALARM_FACTS = {AlarmChanged.kind: ("key", "status", "replay")}


def _time(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, UTC)


def _quiet(stage: str, fraction: float) -> None:
    """No one is watching."""


async def read_kpi(
    store: SqliteEventStore,
    period: Period,
    deadlines: Deadlines,
    now: datetime,
    progress: Progress = _quiet,
) -> Kpi:
    builder = KpiBuilder(period, deadlines, now)
    for recorded in await store.read_kind(PlanRegistered.kind):
        event = recorded.event
        assert isinstance(event, PlanRegistered)
        builder.plan(event.fingerprint, Plan.model_validate(event.plan))
    first = period.start.date()
    days = (period.end.date() - first).days
    for drill in (False, True):
        stage = "drills" if drill else "incidents"
        async for rows in store.fields(INCIDENT_FACTS, incidents=period.incident_ids(drill=drill)):
            _incident_facts(builder, rows)
            day = rows[-1][2].removeprefix("D")[:8]
            progress(stage, (date(int(day[:4]), int(day[4:6]), int(day[6:8])) - first).days / days)
        progress(stage, 1.0)
    span = (min(now, period.end) - period.start).total_seconds() or 1.0
    async for rows in store.fields(ALARM_FACTS, between=(period.start, min(now, period.end))):
        for _, at, _, drill, key, status, replay in rows:
            builder.alarm(_time(at), drill=bool(drill), key=key, status=status, replay=bool(replay))
        progress("alarms", (_time(rows[-1][1]) - period.start).total_seconds() / span)
    progress("alarms", 1.0)
    return builder.result()


def _incident_facts(builder: KpiBuilder, rows: list[tuple[Any, ...]]) -> None:
    """One call per fact; the most frequent kinds first."""
    met, milestone = ObligationMet.kind, MilestoneReached.kind
    for kind, at, incident, drill, a, b, c, d, e in rows:
        if kind == met:
            builder.met(incident, a, b, c)
        elif kind == milestone:
            builder.milestone(incident, a, _time(at))
        elif kind == ObligationBreached.kind:
            builder.breached(incident, a, b)
        elif kind == IncidentOpened.kind:
            builder.opened(
                incident,
                _time(at),
                drill=bool(drill),
                plan=a,
                severity=b,
                location=c,
            )
        elif kind == SeverityChanged.kind:
            builder.severity(incident, a)
        elif kind == RectificationAdded.kind:
            builder.item_added(
                incident,
                a,
                anchor_at=datetime.fromisoformat(b),
                workdays=c,
                content=d,
                owner=e,
            )
        elif kind == RectificationCompleted.kind:
            builder.item_done(a, _time(at))
