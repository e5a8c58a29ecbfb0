"""The rectification register and cause analysis in the engine, on a manual clock: items, working-day
limits, reminders, overdue notices, and the milestones the register reaches."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import (
    AddRectification,
    CompleteRectification,
    GiveRectificationFeedback,
    RecordCause,
    Rejected,
)
from dutydesk.playbooks.events import (
    CauseRecorded,
    MilestoneReached,
    ObligationMet,
    RectificationAdded,
    RectificationOverdue,
    RectificationReminder,
)
from dutydesk.playbooks.incidents import Projection
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.rectification import ItemState, assess, register_rows
from dutydesk.playbooks.vocab import Cause, Milestone
from dutydesk.playbooks.workdays import WorkCalendar
from tests.conftest import SHANGHAI
from tests.test_engine import WHO, Harness


@pytest.fixture
def h(plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock) -> Harness:
    return Harness(plans, deadlines, clock)


# Tuesday 2026-11-24, 10:00: the investigation of an entrapment on Monday is done
INVESTIGATED = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


def investigated(h: Harness) -> str:
    incident = h.open()
    h.reach(incident, Milestone.REPORTED)
    h.reach(incident, Milestone.ON_SITE)
    h.reach(incident, Milestone.STABILISED)
    h.clock.set(INVESTIGATED)
    h.reach(incident, Milestone.INVESTIGATED)
    return incident


def add(h: Harness, incident: str, content: str = "更换制动器", workdays: int | None = None) -> str:
    command = AddRectification(
        actor=WHO,
        incident=incident,
        content=content,
        owner="张工",
        workdays=workdays or 15,
        from_investigation=workdays is None,
        reminders=(5, 2),
    )
    (event,) = h.do(command)
    assert isinstance(event, RectificationAdded)
    return event.item


def test_an_item_counts_15_working_days_from_the_investigation(h: Harness) -> None:
    incident = investigated(h)
    h.clock.advance(timedelta(days=1))  # added on Wednesday: still counted from Tuesday
    item = add(h, incident)
    assert item == f"{incident}-R1"
    status = assess(h.engine.projection.register.get(item), h.engine.deadlines, h.clock.now())
    # 15 working days after Tuesday 24 November: Tuesday 15 December, end of day
    assert status.due_at == datetime(2026, 12, 15, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert (status.state, status.provisional) == (ItemState.OPEN, False)
    assert [(left, at.date().isoformat()) for left, at in status.reminders] == [
        (5, "2026-12-08"),
        (2, "2026-12-11"),
    ]


def test_a_limit_from_today_and_the_provisional_flag(plans: dict[str, Plan], clock: ManualClock) -> None:
    # a calendar without the official schedule: every date is provisional
    h = Harness(plans, Deadlines(WorkCalendar(official=False), SHANGHAI), clock)
    incident = investigated(h)
    h.clock.advance(timedelta(days=2))  # Thursday 26 November
    item = add(h, incident, workdays=3)
    status = assess(h.engine.projection.register.get(item), h.engine.deadlines, h.clock.now())
    assert status.due_at.date().isoformat() == "2026-12-01"  # Fri, Mon, Tue
    assert status.provisional
    assert status.reminders == ((2, datetime(2026, 11, 27, 23, 59, 59, 999999, tzinfo=SHANGHAI)),)


def test_reminders_then_overdue_through_the_notification_chain(h: Harness) -> None:
    incident = investigated(h)
    item = add(h, incident)
    fired = []
    for _ in range(30):
        fired += [e for e in h.advance(days=1) if isinstance(e, RectificationReminder | RectificationOverdue)]
    assert [(type(e).__name__, getattr(e, "workdays_left", None)) for e in fired] == [
        ("RectificationReminder", 5),
        ("RectificationReminder", 2),
        ("RectificationOverdue", None),
    ]
    reminder, _, overdue = fired
    assert isinstance(reminder, RectificationReminder) and isinstance(overdue, RectificationOverdue)
    assert (reminder.item, reminder.owner) == (item, "张工")
    # the plan makes the competent department responsible; a breach goes up to the leader on duty
    assert reminder.notify == ("competent_department", "duty_officer")
    assert overdue.notify == ("competent_department", "duty_officer", "leader_on_duty")
    assert overdue.late_seconds < 86400
    row = register_rows(
        h.engine.projection.register, h.engine.projection.incidents, h.engine.deadlines, h.clock.now()
    )
    assert [r.status.state for r in row] == [ItemState.OVERDUE]


def test_after_a_gap_only_the_nearest_reminder_is_sent(h: Harness) -> None:
    incident = investigated(h)
    add(h, incident)
    # nothing ran until Monday 14 December, one working day before the limit
    h.clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=SHANGHAI))
    fired = [e for e in h.advance(seconds=1) if isinstance(e, RectificationReminder)]
    assert [e.workdays_left for e in fired] == [2]
    assert not [e for e in h.advance(hours=1) if isinstance(e, RectificationReminder)]


def test_completing_the_last_item_reaches_rectified_and_meets_the_obligation(h: Harness) -> None:
    incident = investigated(h)
    first, second = add(h, incident), add(h, incident, "修订巡检制度")
    with pytest.raises(Rejected) as refused:
        h.reach(incident, Milestone.RECTIFIED)
    assert refused.value.code == "items_open"
    h.clock.advance(timedelta(days=2))
    done = h.do(CompleteRectification(actor=WHO, item=first, evidence="工单 WX-118"))
    assert [type(e).__name__ for e in done] == ["RectificationCompleted"]
    h.clock.advance(timedelta(hours=3))
    done = h.do(CompleteRectification(actor=WHO, item=second, evidence="第12号制度"))
    milestone = next(e for e in done if isinstance(e, MilestoneReached))
    met = next(e for e in done if isinstance(e, ObligationMet))
    assert (milestone.milestone, milestone.at) == (Milestone.RECTIFIED, h.clock.now())
    assert met.obligation == "rectification"
    due = datetime(2026, 12, 15, 23, 59, 59, 999999, tzinfo=SHANGHAI)
    assert met.margin_seconds == (due - h.clock.now()).total_seconds()
    # no reminders for done items
    assert not [e for e in h.advance(days=30) if isinstance(e, RectificationReminder | RectificationOverdue)]


def test_the_last_feedback_reaches_the_feedback_milestone(h: Harness) -> None:
    incident = investigated(h)
    first, second = add(h, incident), add(h, incident, "培训")
    with pytest.raises(Rejected) as refused:
        h.do(GiveRectificationFeedback(actor=WHO, item=first, text="已通报"))
    assert refused.value.code == "item_not_done"
    for item in (first, second):
        h.do(CompleteRectification(actor=WHO, item=item, evidence="完成"))
    assert not [
        e
        for e in h.do(GiveRectificationFeedback(actor=WHO, item=first, text="已通报"))
        if isinstance(e, MilestoneReached)
    ]
    last = h.do(GiveRectificationFeedback(actor=WHO, item=second, text="已发文"))
    milestone = next(e for e in last if isinstance(e, MilestoneReached))
    assert milestone.milestone == Milestone.FEEDBACK
    assert milestone.text == f"{first}: 已通报\n{second}: 已发文"
    assert any(isinstance(e, ObligationMet) and e.obligation == "feedback" for e in last)
    with pytest.raises(Rejected) as again:
        h.do(GiveRectificationFeedback(actor=WHO, item=second, text="again"))
    assert again.value.code == "item_fed_back"


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("not_investigated", "not_investigated"),
        ("rectified", "already"),
        ("empty_content", "empty"),
        ("zero_workdays", "bad_workdays"),
        ("period_over", "period_over"),
        ("unknown_item", "unknown_item"),
        ("closed", "closed"),
    ],
)
def test_refusals(h: Harness, setup: str, code: str) -> None:
    incident = h.open()
    if setup != "not_investigated":
        h.reach(incident, Milestone.STABILISED)
        h.reach(incident, Milestone.INVESTIGATED)
    command = AddRectification(
        actor=WHO,
        incident=incident,
        content="更换",
        owner="张工",
        workdays=15,
        from_investigation=True,
        reminders=(),
    )
    if setup == "rectified":
        h.reach(incident, Milestone.RECTIFIED)
    elif setup == "empty_content":
        command = AddRectification(
            actor=WHO,
            incident=incident,
            content=" ",
            owner="张工",
            workdays=15,
            from_investigation=True,
            reminders=(),
        )
    elif setup == "zero_workdays":
        command = AddRectification(
            actor=WHO,
            incident=incident,
            content="x",
            owner="张工",
            workdays=0,
            from_investigation=False,
            reminders=(),
        )
    elif setup == "period_over":
        h.clock.advance(timedelta(days=40))
    elif setup == "closed":
        h.reach(incident, Milestone.CLOSED, text="转入专项整改")
    if setup == "unknown_item":
        command = CompleteRectification(actor=WHO, item="20261123-001-R9", evidence="x")
    with pytest.raises(Rejected) as refused:
        h.do(command)
    assert refused.value.code == code


def test_closing_waives_open_items_and_stops_reminders(h: Harness) -> None:
    incident = investigated(h)
    item = add(h, incident)
    with pytest.raises(Rejected) as refused:
        h.reach(incident, Milestone.CLOSED)
    assert refused.value.code == "close_outstanding" and item in str(refused.value.params["items"])
    h.reach(incident, Milestone.CLOSED, text="并入年度改造项目")
    assert not [e for e in h.advance(days=40) if isinstance(e, RectificationReminder | RectificationOverdue)]
    rows = register_rows(
        h.engine.projection.register, h.engine.projection.incidents, h.engine.deadlines, h.clock.now()
    )
    assert [r.status.state for r in rows] == [ItemState.WAIVED]


def test_causes_are_recorded_by_category(h: Harness) -> None:
    incident = investigated(h)
    (event,) = h.do(
        RecordCause(actor=WHO, incident=incident, category=Cause.OPERATOR_ERROR, text="未按规程断电")
    )
    assert isinstance(event, CauseRecorded)
    assert (event.category, event.text) == ("operator-error", "未按规程断电")
    with pytest.raises(Rejected):
        h.do(RecordCause(actor=WHO, incident=incident, category=Cause.OTHER, text="  "))


def test_the_register_survives_a_snapshot_and_rearms(h: Harness) -> None:
    incident = investigated(h)
    item = add(h, incident)
    h.advance(days=15)  # Wednesday 9 December: the 5-days-left reminder has gone out
    snapshot = h.engine.projection.to_snapshot()
    restored = Projection.from_snapshot(snapshot)
    assert restored.register.get(item).reminded == 5
    h2 = Harness(h.engine.plans, h.engine.deadlines, h.clock)
    h2.engine = type(h.engine)(plans=h.engine.plans, deadlines=h.engine.deadlines, projection=restored)
    fired = []
    for _ in range(10):
        fired += [
            e for e in h2.advance(days=1) if isinstance(e, RectificationReminder | RectificationOverdue)
        ]
    assert [(type(e).__name__, getattr(e, "workdays_left", None)) for e in fired] == [
        ("RectificationReminder", 2),
        ("RectificationOverdue", None),
    ]
