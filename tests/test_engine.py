"""The engine on a manual clock: deadlines arm, warn, breach and re-arm; actions meet them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import (
    AddNote,
    Command,
    CompleteObligation,
    MarkUrgent,
    OpenIncident,
    PostUpdate,
    ReachMilestone,
    Rejected,
    SetSeverity,
)
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.events import Event, ObligationBreached, ObligationMet, ObligationWarned
from dutydesk.playbooks.obligations import Deadlines, State
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Milestone, Severity
from tests.conftest import MONDAY, SHANGHAI

WHO = "duty-officer"


class Harness:
    """The engine as the journal drives it, minus the database: decide, then apply."""

    def __init__(self, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock) -> None:
        self.engine = Engine(plans=plans, deadlines=deadlines)
        self.clock = clock
        self.log: list[Event] = []

    def _store(self, events: list[Event]) -> list[Event]:
        for event in events:
            self.log.append(event)
            self.engine.apply(event, len(self.log))
        return events

    def do(self, command: Command) -> list[Event]:
        return self._store([k.event for k in self.engine.handle(command, self.clock.now())])

    def open(self, plan: str = "elevator-entrapment", **options: object) -> str:
        events = self.do(OpenIncident(actor=WHO, plan_id=plan, title="2号梯困人", **options))  # type: ignore[arg-type]
        incident = events[-1].incident
        assert incident is not None
        return incident

    def reach(self, incident: str, milestone: Milestone, **options: object) -> list[Event]:
        return self.do(ReachMilestone(actor=WHO, incident=incident, milestone=milestone, **options))  # type: ignore[arg-type]

    def advance(self, **delta: float) -> list[Event]:
        self.clock.advance(timedelta(**delta))
        return self._store([k.event for k in self.engine.tick(self.clock.now())])

    def state(self, incident: str, obligation: str, occurrence: int = 1) -> State:
        statuses = self.engine.status(self.engine.incident(incident), self.clock.now())
        (status,) = [s for s in statuses if s.key == (obligation, occurrence)]
        return status.state


@pytest.fixture
def h(plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock) -> Harness:
    return Harness(plans, deadlines, clock)


def kinds(events: list[Event]) -> list[tuple[str, str]]:
    return [(type(e).__name__, getattr(e, "obligation", "")) for e in events]


def test_open_arms_the_plan_with_due_times(h: Harness) -> None:
    incident = h.open()
    assert incident == "20261123-001"
    statuses = {s.key: s for s in h.engine.status(h.engine.incident(incident), h.clock.now())}
    assert statuses[("report-leader", 1)].due_at == MONDAY + timedelta(minutes=30)
    assert statuses[("team-on-site", 1)].due_at == MONDAY + timedelta(minutes=15)
    assert statuses[("progress-update", 1)].due_at == MONDAY + timedelta(hours=1)
    assert statuses[("investigation", 1)].due_at is None  # waits for "stabilised"
    # the first thing due: a warning at 80% of the 10 minutes allowed to call the contractor
    assert h.engine.next_wakeup() == MONDAY + timedelta(minutes=8)


def test_warning_then_breach_exactly_on_time(h: Harness) -> None:
    incident = h.open()
    assert h.advance(minutes=7, seconds=59) == []
    assert kinds(h.advance(seconds=1)) == [("ObligationWarned", "contractor-called")]
    assert h.advance(seconds=59) == []
    fired = h.advance(seconds=1)  # 60% of the 15 minutes allowed to reach the site
    assert kinds(fired) == [("ObligationWarned", "team-on-site")]
    assert isinstance(fired[0], ObligationWarned)
    assert fired[0].notify == ("duty_officer",)
    assert h.state(incident, "team-on-site") is State.WARNING
    assert kinds(h.advance(minutes=1)) == [("ObligationBreached", "contractor-called")]
    assert h.advance(minutes=4, seconds=59) == []
    fired = h.advance(seconds=1)
    assert kinds(fired) == [("ObligationBreached", "team-on-site")]
    breach = fired[0]
    assert isinstance(breach, ObligationBreached)
    assert breach.late_seconds == 0
    assert breach.notify == ("duty_officer", "leader_on_duty")
    assert h.advance(seconds=30) == []  # a breach is told once


def test_an_action_meets_its_obligation_with_the_margin(h: Harness) -> None:
    incident = h.open()
    h.clock.advance(timedelta(minutes=12))
    events = h.reach(incident, Milestone.ON_SITE)
    met = [e for e in events if isinstance(e, ObligationMet)]
    assert [(m.obligation, m.margin_seconds) for m in met] == [("team-on-site", 180.0)]
    assert h.state(incident, "team-on-site") is State.MET
    h.clock.advance(timedelta(minutes=30))
    late = h.reach(incident, Milestone.REPORTED, at=MONDAY + timedelta(minutes=35))
    (report,) = [e for e in late if isinstance(e, ObligationMet)]
    assert report.margin_seconds == -300.0


def test_hourly_updates_rearm_from_the_last_update(h: Harness) -> None:
    incident = h.open()
    h.clock.advance(timedelta(minutes=40))
    h.do(PostUpdate(actor=WHO, incident=incident, measures="断电", status="被困2人", next_steps="等待维保"))
    statuses = h.engine.status(h.engine.incident(incident), h.clock.now())
    second = next(s for s in statuses if s.key == ("progress-update", 2))
    assert second.due_at == MONDAY + timedelta(minutes=100)
    fired = h.advance(minutes=61)
    assert ("ObligationBreached", "progress-update") in kinds(fired)
    # the missed #2 started #3 at its due time; stabilising ends the hourly duty and waives #3
    h.reach(incident, Milestone.STABILISED)
    statuses = h.engine.status(h.engine.incident(incident), h.clock.now())
    assert [(s.occurrence, s.state) for s in statuses if s.obligation.id == "progress-update"] == [
        (1, State.MET),
        (2, State.BREACHED),
        (3, State.WAIVED),
    ]
    assert h.advance(hours=3) == []


def test_an_update_needs_all_three_parts(h: Harness) -> None:
    incident = h.open()
    with pytest.raises(Rejected) as caught:
        h.do(PostUpdate(actor=WHO, incident=incident, measures="x", status=" ", next_steps="y"))
    assert caught.value.code == "empty_part"
    assert caught.value.params == {"field": "status"}


def test_urgent_recomputes_the_on_site_deadline(h: Harness) -> None:
    incident = h.open()
    h.clock.advance(timedelta(minutes=6))
    h.do(MarkUrgent(actor=WHO, incident=incident))
    # 5 minutes from receipt have passed: the next tick reports the breach, one minute late
    fired = h.advance(seconds=0)
    (breach,) = [e for e in fired if isinstance(e, ObligationBreached)]
    assert (breach.obligation, breach.late_seconds) == ("team-on-site", 60.0)


def test_raising_severity_arms_the_party_committee_report(h: Harness) -> None:
    incident = h.open()
    ids = {s.obligation.id for s in h.engine.status(h.engine.incident(incident), h.clock.now())}
    assert "report-party-government" not in ids
    h.clock.advance(timedelta(minutes=10))
    h.do(SetSeverity(actor=WHO, incident=incident, severity=Severity.MAJOR))
    assert h.state(incident, "report-party-government") is State.PENDING
    fired = h.advance(minutes=50)
    breaches = [e for e in fired if isinstance(e, ObligationBreached)]
    party = next(b for b in breaches if b.obligation == "report-party-government")
    assert "party_government" in party.notify


def test_stabilised_starts_investigation_and_then_rectification_in_working_days(h: Harness) -> None:
    incident = h.open()
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI)
    h.clock.set(friday)
    h.reach(incident, Milestone.STABILISED)
    statuses = {s.key: s for s in h.engine.status(h.engine.incident(incident), h.clock.now())}
    # the start day is not counted: Mon 30, Tue 1, Wed 2 December
    assert statuses[("investigation", 1)].due_at == datetime(2026, 12, 2, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    h.clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))
    h.reach(incident, Milestone.INVESTIGATED)
    statuses = {s.key: s for s in h.engine.status(h.engine.incident(incident), h.clock.now())}
    assert statuses[("investigation", 1)].state is State.MET
    rect = statuses[("rectification", 1)]
    assert rect.due_at is not None and rect.due_at.date().isoformat() == "2026-12-22"
    assert rect.provisional is False


def test_a_rectification_running_into_an_unknown_year_is_provisional(h: Harness) -> None:
    incident = h.open()
    h.clock.set(datetime(2026, 12, 20, 10, 0, tzinfo=SHANGHAI))
    h.reach(incident, Milestone.STABILISED)
    h.reach(incident, Milestone.INVESTIGATED)
    statuses = {s.key: s for s in h.engine.status(h.engine.incident(incident), h.clock.now())}
    assert statuses[("rectification", 1)].provisional is True


def test_manual_obligations_are_ticked_off(h: Harness) -> None:
    incident = h.open("fire-conflict")
    h.clock.advance(timedelta(seconds=40))
    events = h.do(CompleteObligation(actor=WHO, incident=incident, obligation="security-start"))
    assert [(e.obligation, e.margin_seconds) for e in events if isinstance(e, ObligationMet)] == [
        ("security-start", 20.0)
    ]
    for obligation, code in [
        ("security-start", "already_met"),
        ("report-leader", "not_manual"),
        ("nonsense", "unknown_obligation"),
    ]:
        with pytest.raises(Rejected) as caught:
            h.do(CompleteObligation(actor=WHO, incident=incident, obligation=obligation))
        assert caught.value.code == code


@pytest.mark.parametrize(
    ("setup", "command", "code"),
    [
        ([Milestone.REPORTED], Milestone.REPORTED, "already"),
        ([], Milestone.INVESTIGATED, "requires"),
        ([Milestone.STABILISED], Milestone.RECTIFIED, "requires"),
        ([], Milestone.RECEIVED, "bad_milestone"),
    ],
)
def test_actions_that_make_no_sense_now(
    h: Harness, setup: list[Milestone], command: Milestone, code: str
) -> None:
    incident = h.open()
    for step in setup:
        h.reach(incident, step)
    before = len(h.log)
    with pytest.raises(Rejected) as caught:
        h.reach(incident, command)
    assert caught.value.code == code
    assert len(h.log) == before


def test_nothing_but_notes_on_a_closed_incident(h: Harness) -> None:
    incident = h.open("urgent-repair")
    h.do(CompleteObligation(actor=WHO, incident=incident, obligation="dispatch"))
    h.reach(incident, Milestone.CLOSED)
    with pytest.raises(Rejected) as caught:
        h.reach(incident, Milestone.ON_SITE)
    assert caught.value.code == "closed"
    h.do(AddNote(actor=WHO, incident=incident, text="回访：已修好"))
    assert h.engine.incident(incident).notes == 1
    assert h.engine.next_wakeup() is None or h.advance(hours=5) == []


def test_closing_with_outstanding_obligations_needs_a_reason(h: Harness) -> None:
    incident = h.open()
    with pytest.raises(Rejected) as caught:
        h.reach(incident, Milestone.CLOSED)
    assert caught.value.code == "close_outstanding"
    h.reach(incident, Milestone.CLOSED, text="误报：梯内无人")
    assert h.state(incident, "report-leader") is State.WAIVED
    assert h.advance(hours=2) == []  # a closed incident fires nothing


def test_times_in_the_future_or_before_receipt_are_refused(h: Harness) -> None:
    incident = h.open()
    for at, code in [
        (MONDAY + timedelta(minutes=5), "future"),
        (MONDAY - timedelta(minutes=1), "before_received"),
    ]:
        with pytest.raises(Rejected) as caught:
            h.reach(incident, Milestone.REPORTED, at=at)
        assert caught.value.code == code


def test_unknown_plan_and_incident(h: Harness) -> None:
    with pytest.raises(Rejected) as caught:
        h.open("no-such-plan")
    assert caught.value.code == "unknown_plan"
    with pytest.raises(Rejected) as caught:
        h.reach("20990101-001", Milestone.REPORTED)
    assert caught.value.code == "unknown_incident"


def test_drill_incidents_are_numbered_apart(h: Harness) -> None:
    assert h.open() == "20261123-001"
    assert h.open(drill=True) == "D20261123-001"
    assert h.open() == "20261123-002"


def test_tick_cost_follows_what_is_due_not_what_is_armed(h: Harness) -> None:
    for _ in range(300):
        h.open()
    h.clock.advance(timedelta(minutes=1))
    # nothing is due yet: the tick looks at the heap's head only
    assert h.engine.tick(h.clock.now()) == []
    assert len(h.engine._heap) == 300
