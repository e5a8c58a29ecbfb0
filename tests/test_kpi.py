"""KPIs from a real event log made by the engine on a manual clock, checked against the events."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.application.reporting import read_kpi
from dutydesk.connectors.store import FACTS_V4, SqliteEventStore
from dutydesk.playbooks.alarms import Arrival, Decoded, Reading, Signal
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import (
    AddRectification,
    Command,
    CompleteObligation,
    CompleteRectification,
    MergeIncident,
    OpenIncident,
    PostUpdate,
    ReachMilestone,
    SetSeverity,
)
from dutydesk.playbooks.events import ObligationBreached, ObligationMet, PlanRegistered
from dutydesk.playbooks.kpi import INCIDENT_FACTS, Kpi, Period
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Milestone, Severity
from tests.conftest import SHANGHAI

NOVEMBER = Period.month(2026, 11, SHANGHAI)
START = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday


class Story:
    """Drives a journal the way the command line does, and lets deadlines fire as `serve` would."""

    def __init__(self, journal: Journal, clock: ManualClock) -> None:
        self.journal, self.clock = journal, clock
        self.messages = itertools.count()

    async def at(self, when: datetime, *commands: Command) -> list[str]:
        """Move the clock to `when` (firing what falls due on the way), then submit."""
        while (wake := self.journal.engine.next_wakeup()) is not None and wake <= when:
            self.clock.set(max(self.clock.now(), wake))
            await self.journal.fire()
        self.clock.set(max(self.clock.now(), when))
        await self.journal.fire()
        outcomes = await self.journal.submit(*commands)
        for outcome in outcomes:
            assert outcome.rejected is None, outcome.rejected
        return [str(o.recorded[-1].event.incident) for o in outcomes if o.recorded]

    def reach(self, incident: str, milestone: Milestone, **more: object) -> ReachMilestone:
        return ReachMilestone(actor="王值班", incident=incident, milestone=milestone, **more)  # type: ignore[arg-type]

    async def alarm(
        self, when: datetime, device: str, signal: Signal = Signal.RAISE, *, drill: bool = False
    ) -> None:
        self.clock.set(max(self.clock.now(), when))
        reading = Reading(device=device, kind="hvac.fault", signal=signal)
        arrival = Arrival(f"m{next(self.messages)}", f"hvac/{device}", "{}", False, when)
        await self.journal.ingest([Incoming("hvac", arrival, b"{}", Decoded((reading,)))])


@pytest.fixture
async def log(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines
) -> AsyncIterator[tuple[SqliteEventStore, ManualClock]]:
    """November 2026: three real incidents, one drill, one from October; alarms with chatter and a
    flood. What each should count is said beside it."""
    clock = ManualClock(datetime(2026, 10, 30, 9, 0, tzinfo=SHANGHAI))
    store = await SqliteEventStore.open(tmp_path / "log.db")
    journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
    s = Story(journal, clock)
    minute = timedelta(minutes=1)

    # October: not in November's figures
    (october,) = await s.at(
        clock.now(), OpenIncident(actor="王值班", plan_id="elevator-entrapment", title="十月困人")
    )
    await s.at(clock.now() + 5 * minute, s.reach(october, Milestone.REPORTED))

    # A: elevator, handled in time, investigated, two items (one done in time, one overdue)
    (a,) = await s.at(
        START,
        OpenIncident(actor="王值班", plan_id="elevator-entrapment", title="2号梯困人", location="3号楼"),
    )
    await s.at(
        START + 5 * minute, CompleteObligation(actor="王值班", incident=a, obligation="contractor-called")
    )
    await s.at(START + 10 * minute, s.reach(a, Milestone.REPORTED))  # acknowledge: 10 min
    await s.at(START + 12 * minute, s.reach(a, Milestone.ON_SITE))
    await s.at(
        START + 50 * minute,
        PostUpdate(actor="王值班", incident=a, measures="断电", status="稳定", next_steps="等维保"),
    )
    await s.at(START + 90 * minute, s.reach(a, Milestone.STABILISED))  # stabilise: 90 min
    tuesday = START + timedelta(days=1)
    await s.at(tuesday, s.reach(a, Milestone.INVESTIGATED))
    add = {"actor": "调查组", "incident": a, "owner": "张工", "reminders": (5, 2)}
    await s.at(
        tuesday,
        AddRectification(**add, content="更换制动器", workdays=15, from_investigation=True),  # type: ignore[arg-type]
        AddRectification(**add, content="修订巡检制度", workdays=2, from_investigation=False),  # type: ignore[arg-type]
    )

    # B: power outage, reported late (breach fired first, then met late), team never on site
    (b,) = await s.at(
        tuesday + 60 * minute,
        OpenIncident(actor="王值班", plan_id="power-outage", title="配电房跳闸", location="1号楼"),
    )
    await s.at(tuesday + 105 * minute, s.reach(b, Milestone.REPORTED))  # acknowledge: 45 min
    await s.at(tuesday + 110 * minute, SetSeverity(actor="王值班", incident=b, severity=Severity.MAJOR))

    # C: a normal repair with no place given, dispatched in time
    wednesday = START + timedelta(days=2)
    (c,) = await s.at(wednesday, OpenIncident(actor="王值班", plan_id="normal-repair", title="门锁损坏"))
    await s.at(
        wednesday + 180 * minute, CompleteObligation(actor="王值班", incident=c, obligation="dispatch")
    )

    # A's first item done on Thursday, in time; the second (due Thursday night) never
    thursday = START + timedelta(days=3)
    await s.at(thursday, CompleteRectification(actor="张工", item=f"{a}-R1", evidence="工单"))

    # a drill: counted apart, late report
    (drill,) = await s.at(
        thursday + 60 * minute,
        OpenIncident(actor="王值班", plan_id="elevator-entrapment", title="演练：困人", drill=True),
    )
    await s.at(thursday + 100 * minute, s.reach(drill, Milestone.REPORTED))

    # alarms: one device chatters (raised three times within a minute), then a flood of twelve
    chatter = START + timedelta(days=8, hours=2)
    for n, signal in enumerate([Signal.RAISE, Signal.CLEAR, Signal.RAISE, Signal.CLEAR, Signal.RAISE]):
        await s.alarm(chatter + timedelta(seconds=10 * n), "AHU-3", signal)
    flood = datetime(2026, 11, 10, 14, 1, tzinfo=SHANGHAI)
    for n in range(12):
        await s.alarm(flood + timedelta(seconds=30 * n), f"FCU-{n:02d}")

    # the end of November, with every deadline due by then fired
    await s.at(datetime(2026, 11, 30, 18, 0, tzinfo=SHANGHAI))
    yield store, clock
    await store.close()


async def kpi_of(
    log: tuple[SqliteEventStore, ManualClock], deadlines: Deadlines, period: Period = NOVEMBER
) -> Kpi:
    store, clock = log
    return await read_kpi(store, period, deadlines, clock.now())


async def test_timeliness_per_obligation_matches_the_events(
    log: tuple[SqliteEventStore, ManualClock], deadlines: Deadlines
) -> None:
    kpi = await kpi_of(log, deadlines)
    rates = {t.obligation: (t.on_time, t.late) for t in kpi.real.timeliness}
    assert rates == {
        "report-leader": (1, 1),  # A in 10 min; B in 45 (breached, then met late: counted once)
        "team-on-site": (1, 1),  # A in 12 min; B never (breached)
        "contractor-called": (1, 0),
        "standby-power": (0, 1),
        # A's first report in time, its second waived by stabilising; B none, from Tuesday 10:00
        # to the 30th at 18:00: every hour a further missed report (27 days and 8 hours)
        "progress-update": (1, 27 * 24 + 8),
        "report-party-government": (0, 1),  # B, once raised to major
        "dispatch": (1, 0),
        "investigation": (1, 0),
        "rectification": (0, 1),  # A's second item is still open past the 15 working days
        "feedback": (0, 1),
    }
    # the same figures, counted straight from the log
    store, _ = log
    november = {i for i in {r.event.incident for r in await store.read()} if i and i.startswith("202611")}
    settled: dict[tuple[str, str, int], bool] = {}
    for recorded in await store.read():
        event = recorded.event
        if event.incident not in november:
            continue
        if isinstance(event, ObligationBreached):
            settled.setdefault((event.incident, event.obligation, event.occurrence), False)
        elif isinstance(event, ObligationMet) and event.margin_seconds is not None:
            settled[(event.incident, event.obligation, event.occurrence)] = event.margin_seconds >= 0
    assert sum(t.on_time for t in kpi.real.timeliness) == sum(settled.values())
    assert sum(t.late for t in kpi.real.timeliness) == sum(not v for v in settled.values())
    report = next(t for t in kpi.real.timeliness if t.obligation == "report-leader")
    assert report.rate == 0.5
    assert report.title.zh == "30分钟内报告带班领导"


async def test_times_counts_and_the_register(
    log: tuple[SqliteEventStore, ManualClock], deadlines: Deadlines
) -> None:
    kpi = await kpi_of(log, deadlines)
    real = kpi.real
    assert (real.incidents, real.closed) == (3, 0)
    assert {plan: n for plan, _, n in real.by_plan} == {
        "elevator-entrapment": 1,
        "power-outage": 1,
        "normal-repair": 1,
    }
    assert dict(real.by_location) == {"3号楼": 1, "1号楼": 1, None: 1}
    assert dict(real.by_severity) == {
        Severity.LARGE: 1,
        Severity.MAJOR: 1,
        Severity.GENERAL: 1,
    }  # B raised to major
    assert real.acknowledge.count == 2
    assert real.acknowledge.median == timedelta(minutes=27.5)
    assert real.acknowledge.p90 == timedelta(minutes=41.5)
    assert (real.stabilise.count, real.stabilise.median) == (1, timedelta(minutes=90))
    items = real.rectification
    assert (items.total, items.on_time, items.done_late, items.overdue, items.open) == (2, 1, 0, 1, 0)
    (late,) = items.late_items
    assert (late.content, late.owner, late.done_at) == ("修订巡检制度", "张工", None)
    assert items.rate == 0.5
    # the drill is counted apart
    assert kpi.drills.incidents == 1
    assert {t.obligation: (t.on_time, t.late) for t in kpi.drills.timeliness}["report-leader"] == (0, 1)


async def test_alarm_load_in_the_isa_manner(
    log: tuple[SqliteEventStore, ManualClock], deadlines: Deadlines
) -> None:
    kpi = await kpi_of(log, deadlines)
    load = kpi.real.alarms
    assert load.total == 3 + 12  # AHU-3 raised three times, twelve FCUs once each
    assert load.peak == 12
    assert load.peak_at == datetime(2026, 11, 10, 14, 0, tzinfo=SHANGHAI)
    (flood,) = load.floods
    assert (flood.start, flood.end, flood.alarms) == (load.peak_at, load.peak_at + timedelta(minutes=10), 12)
    assert load.flooded == 1
    # 30 days of 10-minute intervals, up to the report time (November 30, 18:00)
    assert load.intervals == (29 * 24 + 18) * 6
    assert load.average == pytest.approx(15 / load.intervals)
    top = load.devices[0]
    assert (top.device, top.alarms, top.chatter) == ("hvac/AHU-3", 3, 2)
    assert kpi.drills.alarms.total == 0


async def test_a_year_and_an_empty_month(
    log: tuple[SqliteEventStore, ManualClock], deadlines: Deadlines
) -> None:
    year = await kpi_of(log, deadlines, Period.year(2026, SHANGHAI))
    assert year.real.incidents == 4  # October's too
    october = await kpi_of(log, deadlines, Period.month(2026, 10, SHANGHAI))
    assert october.real.incidents == 1
    assert october.real.alarms.total == 0
    september = await kpi_of(log, deadlines, Period.month(2026, 9, SHANGHAI))
    assert (september.real.incidents, september.real.timeliness, september.real.rectification.total) == (
        0,
        (),
        0,
    )


def test_incident_ids_bound_the_period() -> None:
    december = Period.month(2026, 12, SHANGHAI)
    assert december.incident_ids(drill=False) == ("20261201", "20270101")
    assert december.incident_ids(drill=True) == ("D20261201", "D20270101")
    assert Period.year(2026, SHANGHAI).label == "2026"


async def test_alarm_load_reads_through_its_index(tmp_path: Path) -> None:
    """The partial index serves the alarm query, so a month costs what its alarms cost."""
    async with await SqliteEventStore.open(tmp_path / "log.db"):
        pass
    db = sqlite3.connect(tmp_path / "log.db")
    query = "SELECT at FROM events WHERE kind IN ('alarm.observed', 'alarm.changed') AND at >= 0 AND at < 1 ORDER BY seq"
    plan = db.execute(f"EXPLAIN QUERY PLAN {query}").fetchall()
    db.close()
    assert "events_alarms_by_time" in str(plan)


def test_the_facts_kept_beside_the_log_are_the_facts_the_kpis_read() -> None:
    """A change to what the KPIs read needs a migration that changes what the store keeps."""
    kept = {kind: fields for kind, fields in FACTS_V4.items() if kind != PlanRegistered.kind}
    assert kept == INCIDENT_FACTS


async def test_an_older_log_gets_its_facts_on_migration(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    path = tmp_path / "old.db"
    async with await SqliteEventStore.open(path) as store:
        journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
        await journal.submit(OpenIncident(actor="王值班", plan_id="power-outage", title="配电房跳闸"))
    # back to schema 3, as a log written before the KPIs were
    db = sqlite3.connect(path)
    db.executescript(
        "DROP TABLE incident_index; DROP TABLE indexed; CREATE INDEX events_by_incident ON events(incident, seq);"
        "DROP TABLE facts; DROP INDEX events_alarms_by_time; ALTER TABLE snapshots DROP COLUMN seal;"
        "PRAGMA user_version = 3;"
    )
    db.close()
    async with await SqliteEventStore.open(path) as store:
        rows = [row async for batch in store.facts("20261123", "20261124") for row in batch]
    assert [(row[0], row[2], row[5]) for row in rows] == [("incident.opened", "20261123-001", "large")]


async def test_a_merged_incident_counts_once(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    clock = ManualClock(START)
    store = await SqliteEventStore.open(tmp_path / "merged.db")
    journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
    s = Story(journal, clock)
    call = OpenIncident(
        actor="王值班", plan_id="elevator-entrapment", title="2号梯困人（电话）", location="3号楼"
    )
    oa = OpenIncident(
        actor="王值班", plan_id="elevator-entrapment", title="2号梯困人（OA）", location="3号楼"
    )
    kept, merged = await s.at(START, call, oa)
    await s.at(START + timedelta(minutes=40), MergeIncident(actor="王值班", incident=merged, into=kept))
    kpi = await read_kpi(store, Period.month(2026, 11, SHANGHAI), deadlines, START + timedelta(days=1))
    await store.close()
    assert kpi.real.incidents == 1
    assert kpi.real.by_plan[0][2] == 1
    # the merged one's report to the leader had already breached: that stays on the record
    late = {t.obligation: t.late for t in kpi.real.timeliness}
    assert late["report-leader"] == 2
