"""Mistakes put right as events (issue 14): urgent taken back, a received time, place or title
corrected, a milestone retracted soon after; obligations follow the corrected facts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dutydesk.connectors.application.journal import Journal
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import (
    Command,
    CorrectIncident,
    MarkUrgent,
    ReachMilestone,
    RetractMilestone,
    UnmarkUrgent,
)
from dutydesk.playbooks.events import IncidentCorrected, MilestoneReached, MilestoneRetracted
from dutydesk.playbooks.obligations import State
from dutydesk.playbooks.vocab import Milestone
from tests.test_console import journal, open_incident

__all__ = ["journal"]


async def send(journal: Journal, command: Command) -> str | None:
    (outcome,) = await journal.submit(command)
    return outcome.rejected.code if outcome.rejected else None


def state(journal: Journal, incident: str, obligation: str, clock: ManualClock) -> State:
    (status,) = [
        s
        for s in journal.engine.status(journal.engine.incident(incident), clock.now())
        if s.obligation.id == obligation
    ]
    return status.state


async def test_urgent_taken_back_restores_the_longer_limit(journal: Journal, clock: ManualClock) -> None:
    incident = await open_incident(journal)
    assert await send(journal, UnmarkUrgent(actor="王值班", incident=incident, reason="误按")) == "not_urgent"
    await send(journal, MarkUrgent(actor="王值班", incident=incident))
    clock.advance(timedelta(minutes=6))
    assert state(journal, incident, "team-on-site", clock) is State.BREACHED  # 5 minutes when urgent
    assert await send(journal, UnmarkUrgent(actor="王值班", incident=incident, reason=" ")) == "empty"
    assert await send(journal, UnmarkUrgent(actor="王值班", incident=incident, reason="误按紧急")) is None
    assert not journal.engine.incident(incident).urgent
    assert state(journal, incident, "team-on-site", clock) is State.PENDING  # 15 minutes again


async def test_a_corrected_received_time_moves_the_deadlines(journal: Journal, clock: ManualClock) -> None:
    incident = await open_incident(journal)
    clock.advance(timedelta(minutes=20))
    earlier = (clock.now() - timedelta(minutes=45)).isoformat()
    command = CorrectIncident(
        actor="王值班", incident=incident, field="received_at", value=earlier, reason="来电记录为08:35"
    )
    assert await send(journal, command) is None
    assert state(journal, incident, "report-leader", clock) is State.BREACHED  # 30 minutes from 08:35
    corrected = journal.engine.incident(incident)
    assert corrected.received_at.isoformat() == earlier
    events = [r.event for r in await journal.store.read(0, incident=incident)]
    (fix,) = [e for e in events if isinstance(e, IncidentCorrected)]
    assert fix.previous != fix.value and fix.reason == "来电记录为08:35"
    future = (clock.now() + timedelta(hours=1)).isoformat()
    assert (
        await send(
            journal,
            CorrectIncident(actor="王值班", incident=incident, field="received_at", value=future, reason="x"),
        )
        == "future"
    )


async def test_place_and_title_are_corrected_with_a_reason(journal: Journal) -> None:
    incident = await open_incident(journal)
    for field, value in (("location", "5号楼"), ("title", "5号楼1号梯困人")):
        assert (
            await send(
                journal,
                CorrectIncident(
                    actor="王值班", incident=incident, field=field, value=value, reason="听错楼号"
                ),
            )
            is None
        )
    assert (journal.engine.incident(incident).location, journal.engine.incident(incident).title) == (
        "5号楼",
        "5号楼1号梯困人",
    )
    assert (
        await send(
            journal,
            CorrectIncident(actor="王值班", incident=incident, field="plan_id", value="x", reason="r"),
        )
        == "not_correctable"
    )


async def test_a_milestone_retracted_is_owed_again_within_the_window(
    journal: Journal, clock: ManualClock
) -> None:
    incident = await open_incident(journal)
    clock.advance(timedelta(minutes=2))
    await send(journal, ReachMilestone(actor="王值班", incident=incident, milestone=Milestone.REPORTED))
    assert state(journal, incident, "report-leader", clock) is State.MET
    clock.advance(timedelta(minutes=3))

    def retract() -> RetractMilestone:  # a new request each time: a repeat is answered from the log
        return RetractMilestone(
            actor="王值班", incident=incident, milestone=Milestone.REPORTED, reason="误按 r"
        )

    assert await send(journal, retract()) is None
    assert "reported" not in journal.engine.incident(incident).milestones
    assert state(journal, incident, "report-leader", clock) is State.PENDING
    events = [r.event for r in await journal.store.read(0, incident=incident)]
    assert [type(e) for e in events if isinstance(e, MilestoneReached | MilestoneRetracted)] == [
        MilestoneReached,
        MilestoneRetracted,
    ]
    assert await send(journal, retract()) == "not_reached"
    await send(journal, ReachMilestone(actor="王值班", incident=incident, milestone=Milestone.REPORTED))
    clock.advance(timedelta(minutes=31))
    assert await send(journal, retract()) == "retract_late"


@pytest.mark.parametrize("milestone", [Milestone.RECEIVED, Milestone.CLOSED])
async def test_received_and_closed_are_not_retracted(journal: Journal, milestone: Milestone) -> None:
    incident = await open_incident(journal)
    retract = RetractMilestone(actor="王值班", incident=incident, milestone=milestone, reason="r")
    assert await send(journal, retract) in ("not_retractable", "not_reached")


async def test_a_milestone_others_rest_on_is_retracted_last(journal: Journal, clock: ManualClock) -> None:
    incident = await open_incident(journal)
    for step in (Milestone.STABILISED, Milestone.INVESTIGATED):
        clock.advance(timedelta(minutes=1))
        await send(journal, ReachMilestone(actor="王值班", incident=incident, milestone=step))
    retract = RetractMilestone(
        actor="王值班", incident=incident, milestone=Milestone.STABILISED, reason="误按 t"
    )
    assert await send(journal, retract) == "retract_later_first"
