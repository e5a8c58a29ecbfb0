"""Recurring obligations as incidents age (issue 12): every whole period without an update is a
further breach; breaches are dated at their due time, also when recorded after a restart; the
engine, `incidents show`, the KPIs and the investigation report count them alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.reporting import read_kpi
from dutydesk.connectors.store import Recorded, SqliteEventStore
from dutydesk.console import render
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.document import Paragraph
from dutydesk.console.reports.incident import investigation_report
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import MarkUrgent, OpenIncident, PostUpdate, ReachMilestone
from dutydesk.playbooks.events import (
    Event,
    IncidentOpened,
    NotificationQueued,
    ObligationBreached,
    ObligationMet,
    payload,
)
from dutydesk.playbooks.kpi import INCIDENT_FACTS, KpiBuilder, Period
from dutydesk.playbooks.notices import NoticePolicy
from dutydesk.playbooks.obligations import Deadlines, State, Status, evaluate, tally
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Milestone
from tests.conftest import SHANGHAI
from tests.test_engine import WHO, Harness

HOURLY = "progress-update"
TWO_PM = datetime(2026, 11, 24, 14, 0, tzinfo=SHANGHAI)  # a Tuesday
HOUR = timedelta(hours=1)


def update(incident: str, **more: object) -> PostUpdate:
    return PostUpdate(
        actor=WHO, incident=incident, measures="切换备用链路", status="部分恢复", next_steps="排查", **more
    )  # type: ignore[arg-type]


def run_until(h: Harness, when: datetime) -> list[Event]:
    """Let the engine run up to `when`, firing each deadline at its moment, as `serve` does."""
    fired: list[Event] = []
    while (wake := h.engine.next_wakeup()) is not None and wake <= when:
        h.clock.set(max(h.clock.now(), wake))
        fired += h.advance(seconds=0)
    h.clock.set(when)
    return fired + h.advance(seconds=0)


def hourly(statuses: list[Status]) -> list[Status]:
    return [s for s in statuses if s.obligation.id == HOURLY]


def test_a_missed_hour_counts_every_hour(plans: dict[str, Plan], deadlines: Deadlines) -> None:
    h = Harness(plans, deadlines, ManualClock(TWO_PM))
    incident = h.open("network-outage")
    fired = run_until(h, TWO_PM + 2.5 * HOUR)
    breaches = [e for e in fired if isinstance(e, ObligationBreached) and e.obligation == HOURLY]
    assert [(b.occurrence, b.at, b.due_at) for b in breaches] == [
        (1, TWO_PM + HOUR, TWO_PM + HOUR),
        (2, TWO_PM + 2 * HOUR, TWO_PM + 2 * HOUR),
    ]
    statuses = hourly(h.engine.status(h.engine.incident(incident), h.clock.now()))
    assert [(s.occurrence, s.state, s.due_at) for s in statuses] == [
        (1, State.BREACHED, TWO_PM + HOUR),
        (2, State.BREACHED, TWO_PM + 2 * HOUR),
        (3, State.PENDING, TWO_PM + 3 * HOUR),  # next due 17:00
    ]
    # an update starts the next period; the missed ones stay missed
    events = h.do(update(incident))
    (met,) = [e for e in events if isinstance(e, ObligationMet)]
    assert (met.occurrence, met.margin_seconds) == (3, 1800.0)
    statuses = hourly(h.engine.status(h.engine.incident(incident), h.clock.now()))
    assert statuses[-1].due_at == TWO_PM + 3.5 * HOUR
    assert tally(statuses).missed == 2


def test_deciding_costs_the_same_however_many_updates_came_before(
    plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    h = Harness(plans, deadlines, ManualClock(TWO_PM))
    incident = h.open("network-outage")
    for _ in range(30):
        h.clock.advance(50 * timedelta(minutes=1))
        h.do(update(incident))
    current = hourly(evaluate(h.engine.incident(incident), deadlines, h.clock.now()))
    # only the latest occurrence met and the one running: not the thirty before
    assert [(s.occurrence, s.state) for s in current] == [(30, State.MET), (31, State.PENDING)]
    everything = hourly(h.engine.status(h.engine.incident(incident), h.clock.now()))
    assert len(everything) == 31
    assert current == everything[-2:]


def expected_missed(received: datetime, updates: list[datetime], now: datetime) -> int:
    """The rule, written out independently of the engine."""
    missed, start = 0, received
    for at in updates:
        while start + HOUR <= at:  # a whole period without an update
            missed, start = missed + 1, start + HOUR
        start = at  # each update starts the next period
    while start + HOUR <= now:
        missed, start = missed + 1, start + HOUR
    return missed


def kpi_late(h: Harness, deadlines: Deadlines, now: datetime) -> int:
    """The KPI report's late count, folding the same facts the store keeps beside the log."""
    builder = KpiBuilder(Period.month(2026, 11, SHANGHAI), deadlines, now)
    for event in h.log:
        if isinstance(event, IncidentOpened):
            builder.plan(event.plan_fingerprint, h.engine.plans[event.plan_id])
    rows = []
    for event in h.log:
        fields = INCIDENT_FACTS.get(event.kind)
        if fields is not None:
            body = payload(event)
            values = [body[name] for name in fields] + [None] * (5 - len(fields))
            rows.append((event.kind, round(event.at.timestamp() * 1e6), event.incident, event.drill, *values))
    builder.incidents(rows)
    return sum(t.late for t in builder.result().real.timeliness if t.obligation == HOURLY)


def report_summary(h: Harness, incident: str, lang: str = "en") -> str:
    statuses = h.engine.status(h.engine.incident(incident), h.clock.now())
    timeline = [
        Recorded(n + 1, str(n), h.clock.now(), e) for n, e in enumerate(h.log) if e.incident == incident
    ]
    document = investigation_report(
        h.engine.incident(incident), statuses, timeline, [], now=h.clock.now(), zone=SHANGHAI, lang=lang
    )
    return next(b.text for b in document.blocks if isinstance(b, Paragraph) and "met in time" in b.text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    gaps=st.lists(st.integers(min_value=1, max_value=200), min_size=0, max_size=8), tail=st.integers(0, 300)
)
def test_breaches_are_the_whole_periods_without_an_update(
    plans: dict[str, Plan], deadlines: Deadlines, gaps: list[int], tail: int
) -> None:
    __tracebackhide__ = True
    h = Harness(plans, deadlines, ManualClock(TWO_PM))
    incident = h.open("network-outage")
    updates = []
    for gap in gaps:
        run_until(h, h.clock.now() + timedelta(minutes=gap))
        h.do(update(incident))
        updates.append(h.clock.now())
    end = h.clock.now() + timedelta(minutes=tail)
    run_until(h, end)
    missed = expected_missed(TWO_PM, updates, end)
    breached = {
        (e.occurrence, e.due_at)
        for e in h.log
        if isinstance(e, ObligationBreached) and e.obligation == HOURLY
    }
    assert len(breached) == missed  # the engine, each breach once
    assert all(e.at == e.due_at for e in h.log if isinstance(e, ObligationBreached))
    counts = tally(hourly(h.engine.status(h.engine.incident(incident), end)))
    assert (counts.missed, counts.late, counts.on_time) == (missed, 0, len(updates))  # incidents show
    assert kpi_late(h, deadlines, end) == missed  # the KPI report
    # the investigation report: every late obligation, the hourly ones among them
    others = tally(s for s in h.engine.status(h.engine.incident(incident), end) if s.obligation.id != HOURLY)
    assert f"{others.late + others.missed + missed} late" in report_summary(h, incident)
    # incidents show, listed briefly: a tally with the same counts
    data = render.incident_json(
        h.engine.incident(incident), h.engine.status(h.engine.incident(incident), end), SHANGHAI, end
    )
    if HOURLY in data["occurrences"]:
        assert data["occurrences"][HOURLY]["missed"] == missed
        assert data["occurrences"][HOURLY]["listed"] == render.RECENT


def test_a_back_dated_stabilise_waives_the_report_for_show_and_kpi_alike(
    plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    """Issue 19 item 10: the breach of 15:00 was recorded, then the incident was stabilised as of 14:50."""
    h = Harness(plans, deadlines, ManualClock(TWO_PM))
    incident = h.open("network-outage")
    run_until(h, TWO_PM + 1.5 * HOUR)
    h.do(
        ReachMilestone(
            actor=WHO,
            incident=incident,
            milestone=Milestone.STABILISED,
            at=TWO_PM + 50 * timedelta(minutes=1),
        )
    )
    (first,) = hourly(h.engine.status(h.engine.incident(incident), h.clock.now()))
    assert first.state is State.WAIVED
    assert kpi_late(h, deadlines, h.clock.now()) == 0


def test_urgent_later_keeps_the_margin_an_obligation_was_met_with(
    plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    """Issue 19 item 11: on site 10 minutes after receipt (5 early), then marked urgent (5 minutes
    allowed): the table and the timeline both say 5 minutes early."""
    h = Harness(plans, deadlines, ManualClock(TWO_PM))
    incident = h.open()
    h.clock.advance(timedelta(minutes=10))
    h.do(ReachMilestone(actor=WHO, incident=incident, milestone=Milestone.ON_SITE))
    h.do(MarkUrgent(actor=WHO, incident=incident))
    (on_site,) = [
        s
        for s in h.engine.status(h.engine.incident(incident), h.clock.now())
        if s.obligation.id == "team-on-site"
    ]
    (met,) = [e for e in h.log if isinstance(e, ObligationMet) and e.obligation == "team-on-site"]
    assert on_site.margin(h.clock.now()) == timedelta(seconds=met.margin_seconds or 0) == timedelta(minutes=5)
    t = Translator("en")
    table = render.due_text(on_site, h.engine.incident(incident).plan, h.clock.now(), SHANGHAI, t)
    assert "5 minutes early" in table
    assert "5 minutes early" in render.describe(met, h.engine.incident(incident).plan, t)


async def test_breaches_missed_while_stopped_are_dated_at_their_due_time_and_told_once(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    clock = ManualClock(TWO_PM)
    policy = NoticePolicy()
    path = tmp_path / "log.db"
    async with await SqliteEventStore.open(path) as store:
        journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock, notices=policy)
        (outcome,) = await journal.submit(
            OpenIncident(actor=WHO, plan_id="network-outage", title="办公网中断")
        )
        incident = outcome.recorded[-1].event.incident
        assert incident is not None
        clock.advance(timedelta(minutes=10))
        await journal.submit(update(incident))
    # nothing runs from 14:10 to 17:30; then serve starts again
    clock.set(TWO_PM + 3.5 * HOUR)
    for _ in range(2):  # and once more: nothing is recorded or told twice
        async with await SqliteEventStore.open(path) as store:
            journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock, notices=policy)
            for _ in range(5):
                await journal.fire()
                clock.advance(timedelta(minutes=1))
            log = [r.event for r in await store.read(0, incident=incident)]
            everything = [r.event for r in await store.read(0)]
    breaches = [e for e in log if isinstance(e, ObligationBreached) and e.obligation == HOURLY]
    restart = TWO_PM + 3.5 * HOUR
    assert [(b.occurrence, b.at) for b in breaches] == [
        (2, TWO_PM + 70 * timedelta(minutes=1)),
        (3, TWO_PM + 130 * timedelta(minutes=1)),
        (4, TWO_PM + 190 * timedelta(minutes=1)),
    ]
    for breach in breaches:
        assert breach.recorded_at == restart
        assert breach.idle_from == TWO_PM + timedelta(minutes=10)
    told = [
        (e.role, item["ref"])
        for e in everything
        if isinstance(e, NotificationQueued)
        for item in e.items
        if item["stage"] == "breach" and item["obligation"] == HOURLY
    ]
    # each breach told once to each of the three roles the plan names
    assert len(told) == len(set(told)) == 3 * 3
    for lang, words in (
        ("en", "recorded late, the engine was not running from 11-24 14:10 to 11-24 17:30"),
        ("zh", "补记"),
    ):
        line = render.describe(breaches[0], plans["network-outage"], Translator(lang), SHANGHAI)
        assert words in line


@pytest.mark.parametrize("everything", [False, True])
def test_show_lists_the_last_few_occurrences_unless_asked(
    plans: dict[str, Plan], deadlines: Deadlines, everything: bool
) -> None:
    h = Harness(plans, deadlines, ManualClock(TWO_PM))
    incident = h.open("network-outage")
    for _ in range(6):
        h.clock.advance(timedelta(minutes=30))
        h.do(update(incident))
    run_until(h, h.clock.now() + 2.5 * HOUR)
    statuses = h.engine.status(h.engine.incident(incident), h.clock.now())
    t = Translator("en")
    text = "\n".join(
        render.incident_lines(
            h.engine.incident(incident), statuses, h.clock.now(), SHANGHAI, t, all_occurrences=everything
        )
    )
    assert "9 in all: 6 on time, 0 late, 2 missed, 0 waived" in text
    listed = [n for n in range(1, 10) if f"Hourly progress report to the competent department #{n} " in text]
    assert listed == (list(range(1, 10)) if everything else [7, 8, 9])
    assert ("6 earlier occurrences not listed" in text) is not everything
    (missed,) = [line for line in text.splitlines() if "department #7 " in line]
    assert "(missed)" in missed and "breached" in missed


async def test_kpi_from_the_log_and_show_agree_on_a_back_dated_stabilise(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    """Issue 19 item 10 through the real store: `report kpi` reads the facts kept beside the log."""
    clock = ManualClock(TWO_PM)
    async with await SqliteEventStore.open(tmp_path / "log.db") as store:
        journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
        (outcome,) = await journal.submit(
            OpenIncident(actor=WHO, plan_id="network-outage", title="办公网中断")
        )
        incident = outcome.recorded[-1].event.incident
        assert incident is not None
        for minutes in (61, 121, 150):  # serve records the breaches of 15:00 and 16:00
            clock.set(TWO_PM + timedelta(minutes=minutes))
            await journal.fire()
        late = await read_kpi(store, Period.month(2026, 11, SHANGHAI), deadlines, clock.now())
        assert {t.obligation: t.late for t in late.real.timeliness}[HOURLY] == 2
        stabilised = TWO_PM + timedelta(minutes=90)  # entered now, as of 15:30
        await journal.submit(
            ReachMilestone(actor=WHO, incident=incident, milestone=Milestone.STABILISED, at=stabilised)
        )
        shown = hourly(journal.engine.status(journal.engine.incident(incident), clock.now()))
        kpi = await read_kpi(store, Period.month(2026, 11, SHANGHAI), deadlines, clock.now())
    assert [s.state for s in shown] == [State.BREACHED, State.WAIVED]
    assert {t.obligation: t.late for t in kpi.real.timeliness}[HOURLY] == tally(shown).missed == 1


def test_a_neglected_incident_is_decided_on_without_walking_its_recorded_breaches(
    plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    h = Harness(plans, deadlines, ManualClock(TWO_PM))
    incident = h.open("network-outage")
    run_until(h, TWO_PM + 10.5 * HOUR)
    current = hourly(h.engine.current(h.engine.incident(incident), h.clock.now()))
    # the last period missed (closing still needs a reason) and the one running
    assert [(s.occurrence, s.state) for s in current] == [(10, State.BREACHED), (11, State.PENDING)]
    assert len(hourly(h.engine.status(h.engine.incident(incident), h.clock.now()))) == 11
    # an update back-dated into a recorded period still meets it
    events = h.do(update(incident, at=TWO_PM + 9.5 * HOUR))
    assert [(e.occurrence, e.margin_seconds) for e in events if isinstance(e, ObligationMet)] == [
        (10, 1800.0)
    ]
