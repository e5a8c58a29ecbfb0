"""Deciding who is told what, in the engine on a manual clock: roles resolved through the roster,
escalation up the chain until acknowledged, one digest per role per interval, drills confined."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from dutydesk.playbooks.commands import AcknowledgeBreach, ImportRoster, OpenIncident, Rejected, SetSeverity
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.events import (
    BreachEscalated,
    Event,
    NotificationQueued,
    ObligationBreached,
    ObligationWarned,
)
from dutydesk.playbooks.incidents import Projection
from dutydesk.playbooks.notices import NoticePolicy, RetryPolicy
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.roster import parse_roster_csv
from dutydesk.playbooks.vocab import Severity
from tests.conftest import MONDAY, SHANGHAI

ROTA = """role,holder,tags,start,end
duty_officer,王值班,wang,2026-11-23 08:00,2026-11-23 20:00
duty_officer,赵值班,zhao,2026-11-23 20:00,2026-11-24 08:00
leader_on_duty,李主任,li,,
centre_leadership,张主任,zhang,,
party_government,区委办公室,district,,
"""
POLICY = NoticePolicy(
    digest_interval=timedelta(minutes=1),
    chain=("duty_officer", "leader_on_duty", "centre_leadership"),
    delays=(timedelta(minutes=5), timedelta(minutes=10)),
)


class Desk:
    """The engine with an in-memory log: what the journal does, without SQLite."""

    def __init__(self, plans: dict[str, Plan], deadlines: Deadlines, policy: NoticePolicy = POLICY) -> None:
        self.engine = Engine(plans=plans, deadlines=deadlines, notices=policy)
        self.log: list[Event] = []
        self.now = MONDAY
        shifts = parse_roster_csv(ROTA, "rota.csv", zone=SHANGHAI)
        self.command(ImportRoster(actor="tester", source="rota.csv", shifts=tuple(shifts)))

    def store(self, events: list[Event]) -> None:
        for event in events:
            self.log.append(event)
            self.engine.apply(event, len(self.log))

    def command(self, command: object) -> list[Event]:
        events = [k.event for k in self.engine.handle(command, self.now)]  # type: ignore[arg-type]
        self.store(events)
        return events

    def open(self, plan: str = "elevator-entrapment", *, drill: bool = False, title: str = "困人") -> str:
        events = self.command(OpenIncident(actor="tester", plan_id=plan, title=title, drill=drill))
        incident = events[-1].incident
        assert incident is not None
        return incident

    def until(self, when: datetime) -> list[Event]:
        """Run the timer loop up to `when`, waking exactly when the engine asks."""
        fired: list[Event] = []
        while (wake := self.engine.next_wakeup()) is not None and wake <= when:
            self.now = max(self.now, wake)
            events = [k.event for k in self.engine.tick(self.now)]
            self.store(events)
            fired += events
        self.now = when
        return fired


def queued(events: list[Event]) -> list[NotificationQueued]:
    return [e for e in events if isinstance(e, NotificationQueued)]


@pytest.fixture
def desk(plans: dict[str, Plan], deadlines: Deadlines) -> Desk:
    return Desk(plans, deadlines)


def test_warning_and_breach_reach_the_holders_on_shift(desk: Desk) -> None:
    desk.open()
    fired = desk.until(MONDAY + timedelta(minutes=8, seconds=1))  # call the contractor: warns at 80 %
    (warning,) = queued(fired)
    assert (warning.role, warning.recipients, warning.targets) == ("duty_officer", ("王值班",), ("wang",))
    assert warning.items[0]["stage"] == "warning" and warning.items[0]["title"] == "困人"
    assert warning.items[0]["obligation_title"]["zh"] == "联系电梯维保单位"
    fired = desk.until(MONDAY + timedelta(minutes=15, seconds=30))
    breach = {n.role: n for n in queued(fired)}
    assert set(breach) == {"duty_officer", "leader_on_duty"}
    assert breach["leader_on_duty"].targets == ("li",)
    stages = {(item["obligation"], item["stage"]) for n in queued(fired) for item in n.items}
    assert {("contractor-called", "breach"), ("team-on-site", "breach")} <= stages


def test_an_unacknowledged_breach_climbs_the_chain_and_stops_when_acknowledged(desk: Desk) -> None:
    first, second = desk.open(title="一号"), desk.open(title="二号")
    desk.until(MONDAY + timedelta(minutes=15, seconds=30))  # contractor call (10 min), team on site (15)
    fired = desk.until(MONDAY + timedelta(minutes=20, seconds=30))
    levels = {(e.incident, e.level, e.notify) for e in fired if isinstance(e, BreachEscalated)}
    assert (first, 1, ("duty_officer", "leader_on_duty")) in levels
    desk.command(AcknowledgeBreach(actor="李主任", incident=first))
    with pytest.raises(Rejected) as refused:
        desk.command(AcknowledgeBreach(actor="李主任", incident=first))
    assert refused.value.code == "nothing_to_ack"
    fired = desk.until(MONDAY + timedelta(minutes=31))
    top = [e for e in fired if isinstance(e, BreachEscalated) and e.level == 2]
    assert {e.incident for e in top} == {second}  # the acknowledged one stopped climbing
    assert all(e.notify == ("duty_officer", "leader_on_duty", "centre_leadership") for e in top)
    leadership = [n for n in queued(fired) if n.role == "centre_leadership"]
    assert {item["incident"] for n in leadership for item in n.items} == {second}
    assert {n.targets for n in leadership} == {("zhang",)}


def test_major_incidents_also_escalate_to_the_party_committee_and_government(desk: Desk) -> None:
    incident = desk.open()
    desk.command(SetSeverity(actor="tester", incident=incident, severity=Severity.MAJOR))
    fired = desk.until(MONDAY + timedelta(minutes=15, seconds=30))
    breach = next(e for e in fired if isinstance(e, ObligationBreached) and e.obligation == "team-on-site")
    assert "party_government" in breach.notify
    fired = desk.until(MONDAY + timedelta(minutes=21))
    escalation = next(e for e in fired if isinstance(e, BreachEscalated))
    assert escalation.notify[-1] == "party_government"
    assert any(n.role == "party_government" and n.targets == ("district",) for n in queued(fired))


def test_fifty_warnings_at_once_give_one_digest_per_role_per_interval(desk: Desk) -> None:
    for n in range(50):
        desk.open(title=f"停电告警 {n}")
    fired = desk.until(MONDAY + timedelta(minutes=8, seconds=1))
    assert len([e for e in fired if isinstance(e, ObligationWarned)]) == 50
    (digest,) = queued(fired)
    assert (digest.role, len(digest.items), digest.incident) == ("duty_officer", 50, None)
    desk.until(MONDAY + timedelta(minutes=40))
    sent: dict[str, list[NotificationQueued]] = {}
    for notification in queued(desk.log):
        sent.setdefault(notification.role, []).append(notification)
    for role, messages in sent.items():
        times = [n.at for n in messages]
        assert all(b - a >= POLICY.digest_interval for a, b in pairwise(times)), role
        # nothing dropped: every warning, breach and escalation naming the role is in one message
        told = [e for e in desk.log if isinstance(e, ObligationWarned | ObligationBreached | BreachEscalated)]
        assert sum(len(n.items) for n in messages) == len([e for e in told if role in e.notify]), role
    assert len(sent["duty_officer"]) < 10 < len([e for e in desk.log if isinstance(e, ObligationBreached)])


def test_a_drill_only_ever_targets_the_drill_tag(desk: Desk) -> None:
    desk.open(drill=True)
    fired = desk.until(MONDAY + timedelta(minutes=16))
    assert queued(fired)
    for notification in queued(fired):
        assert notification.drill and notification.targets == (POLICY.drill_tag,)
    assert {n.recipients for n in queued(fired)} >= {("王值班",), ("李主任",)}  # named, not reached


def test_a_role_nobody_holds_goes_to_the_fallback(desk: Desk) -> None:
    desk.now = MONDAY.replace(hour=7)  # before the first duty officer's shift
    desk.open()
    fired = desk.until(desk.now + timedelta(minutes=8, seconds=1))
    (warning,) = queued(fired)
    assert warning.unstaffed and warning.targets == (POLICY.fallback_tag,) and warning.recipients == ()


def test_the_book_survives_a_snapshot(desk: Desk) -> None:
    desk.open()
    desk.until(MONDAY + timedelta(minutes=16))
    book = desk.engine.projection.notices
    assert book.breaches and book.deliveries
    restored = Projection.from_snapshot(desk.engine.projection.to_snapshot()).notices
    assert restored.to_snapshot() == book.to_snapshot()


def test_retry_policy_backs_off_then_gives_up() -> None:
    policy = RetryPolicy(attempts=4, backoff=timedelta(seconds=5), factor=3, ceiling=timedelta(seconds=30))
    assert [policy.delay(n) for n in range(1, 5)] == [
        timedelta(seconds=5),
        timedelta(seconds=15),
        timedelta(seconds=30),
        None,
    ]


def test_the_chain_needs_one_delay_per_step() -> None:
    with pytest.raises(ValueError, match="needs 2 delays"):
        NoticePolicy(chain=("duty_officer", "leader_on_duty", "centre_leadership"), delays=())


def test_register_reminders_and_overdue_notices_are_told_like_deadlines(
    plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    from dutydesk.playbooks.commands import AddRectification, ReachMilestone
    from dutydesk.playbooks.events import RectificationOverdue, RectificationReminder
    from dutydesk.playbooks.vocab import Milestone

    desk = Desk(plans, deadlines)
    incident = desk.open()
    for step in (Milestone.STABILISED, Milestone.INVESTIGATED):
        desk.command(ReachMilestone(actor="tester", incident=incident, milestone=step))
    desk.command(
        AddRectification(
            actor="tester",
            incident=incident,
            content="更换感应器",
            owner="维保单位",
            workdays=3,
            from_investigation=False,
            reminders=(2,),
        )
    )
    fired = desk.until(MONDAY + timedelta(days=10))
    assert any(isinstance(e, RectificationReminder) for e in fired)
    assert any(isinstance(e, RectificationOverdue) for e in fired)
    stages = [item["stage"] for message in queued(fired) for item in message.items]
    assert "reminder" in stages and "rectification_overdue" in stages
    told = next(item for message in queued(fired) for item in message.items if item["stage"] == "reminder")
    assert "维保单位" in told["obligation_title"]["zh"]
