"""What the KPI report reads from the event log: a period's facts, streamed into the pure builder.

Incidents received in the period are found by their ids (which begin with the day received) in
the facts the store keeps beside the log; alarms by time through a partial index on confirmed
alarm changes, extracting only the few payload fields each needs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from dutydesk.connectors.store import EventStore
from dutydesk.playbooks.duty_kpi import DUTY_FACTS, DutyKpi, duty_kpi
from dutydesk.playbooks.events import PlanRegistered
from dutydesk.playbooks.kpi import ALARM_FACTS, MERGED_FACTS, Kpi, KpiBuilder, Period
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.typeddata import read

EARLY = timedelta(days=1)  # how long before its deadline a round or task may be met and count
Progress = Callable[[str, float], None]  # (stage, fraction done)


def _quiet(stage: str, fraction: float) -> None:
    """No one is watching."""


async def read_kpi(
    store: EventStore,
    period: Period,
    deadlines: Deadlines,
    now: datetime,
    progress: Progress = _quiet,
) -> Kpi:
    builder = KpiBuilder(period, deadlines, now)
    for recorded in await store.registered_plans():
        event = recorded.event
        assert isinstance(event, PlanRegistered)
        builder.plan(event.fingerprint, read(Plan, event.plan))
    first = period.start.date()
    days = (period.end.date() - first).days
    for drill in (False, True):
        stage = "drills" if drill else "incidents"
        async for rows in store.facts(*period.incident_ids(drill=drill)):
            builder.incidents(rows)
            day = rows[-1][2].removeprefix("D")[:8]  # the day the last incident was received
            progress(stage, (date(int(day[:4]), int(day[4:6]), int(day[6:8])) - first).days / days)
        progress(stage, 1.0)
    until = min(now, period.end)
    async for rows in store.fields(MERGED_FACTS, between=(period.start, now)):
        builder.merged(rows)
    span = (until - period.start).total_seconds() or 1.0
    async for rows in store.fields(ALARM_FACTS, between=(period.start, until)):
        builder.alarms(rows)
        last = datetime.fromtimestamp(rows[-1][1] / 1_000_000, UTC)
        progress("alarms", (last - period.start).total_seconds() / span)
    progress("alarms", 1.0)
    return builder.result()


async def read_duty_kpi(store: EventStore, period: Period, now: datetime) -> DutyKpi:
    """Rounds and planned events of the period, read by time (a breach is dated at its due time;
    a round met early is found up to a day before the period starts)."""
    rows = [
        row
        async for batch in store.fields(DUTY_FACTS, between=(period.start - EARLY, min(now, period.end)))
        for row in batch
    ]
    return duty_kpi(rows, period)
