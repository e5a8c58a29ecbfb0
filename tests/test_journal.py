"""The engine bound to a real SQLite log: restarts re-arm every deadline, several processes share
one log without losing or doubling anything."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dutydesk.connectors.application import journal as journal_module
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import MemoryEventStore, MemoryLog, SqliteEventStore
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import OpenIncident, ReachMilestone
from dutydesk.playbooks.events import ObligationBreached
from dutydesk.playbooks.obligations import Deadlines, State
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Milestone


async def open_journal(
    path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> Journal:
    store = await SqliteEventStore.open(path)
    return await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)


def opening(title: str = "配电房跳闸") -> OpenIncident:
    return OpenIncident(actor="tester", plan_id="power-outage", title=title)


async def test_restart_rearms_and_reports_a_deadline_missed_while_down(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    path = tmp_path / "log.db"
    journal = await open_journal(path, plans, deadlines, clock)
    (outcome,) = await journal.submit(opening())
    incident = outcome.recorded[-1].event.incident
    assert incident is not None
    await journal.store.close()

    clock.advance(timedelta(hours=2))  # nothing runs for two hours
    journal = await open_journal(path, plans, deadlines, clock)
    statuses = journal.engine.status(journal.engine.incident(incident), clock.now())
    report = next(s for s in statuses if s.obligation.id == "report-leader")
    assert report.state is State.BREACHED  # shown as breached before anything fires
    fired = await journal.fire()
    breaches = {r.event.obligation: r.event for r in fired if isinstance(r.event, ObligationBreached)}
    assert breaches["report-leader"].late_seconds == 90 * 60  # due at 30 min, seen at 120
    assert await journal.fire() == []  # told once
    await journal.store.close()


async def test_two_processes_share_one_log(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    path = tmp_path / "log.db"
    console = await open_journal(path, plans, deadlines, clock)
    engine = await open_journal(path, plans, deadlines, clock)
    (outcome,) = await console.submit(opening())
    incident = outcome.recorded[-1].event.incident
    assert incident is not None
    seen = await engine.catch_up()
    assert [r.event.kind for r in seen] == ["plan.registered", "incident.opened"]

    # both fire the same breach; the second finds it already stored and adds nothing
    clock.advance(timedelta(minutes=31))
    first = await engine.fire()
    second = await console.fire()
    assert any(isinstance(r.event, ObligationBreached) for r in first)
    assert second == []
    # an action through one is refused by the other when it no longer makes sense
    await console.submit(ReachMilestone(actor="a", incident=incident, milestone=Milestone.REPORTED))
    (again,) = await engine.submit(ReachMilestone(actor="b", incident=incident, milestone=Milestone.REPORTED))
    assert again.rejected is not None and again.rejected.code == "already"
    assert (await engine.store.verify()).ok
    for j in (console, engine):
        await j.store.close()


async def test_a_repeated_request_is_stored_once(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    journal = await open_journal(tmp_path / "log.db", plans, deadlines, clock)
    command = opening()
    (first,) = await journal.submit(command)
    (second,) = await journal.submit(command)
    assert first.recorded and second.repeated
    assert len(journal.engine.projection.incidents) == 1
    await journal.store.close()


async def test_snapshot_and_full_replay_agree(
    tmp_path: Path,
    plans: dict[str, Plan],
    deadlines: Deadlines,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "log.db"
    journal = await open_journal(path, plans, deadlines, clock)
    for n in range(5):
        (outcome,) = await journal.submit(opening(f"停电 {n}"))
    incident = outcome.recorded[-1].event.incident
    assert incident is not None
    await journal.submit(ReachMilestone(actor="a", incident=incident, milestone=Milestone.REPORTED))
    await journal.checkpoint()
    clock.advance(timedelta(minutes=40))
    await journal.fire()  # events after the snapshot
    expected = journal.engine.projection.to_snapshot()
    await journal.store.close()

    from_snapshot = await open_journal(path, plans, deadlines, clock)
    assert from_snapshot.engine.projection.to_snapshot() == expected
    await from_snapshot.store.close()

    # a damaged snapshot is ignored: the log is replayed in full
    monkeypatch.setattr(journal_module.Projection, "from_snapshot", _broken)
    replayed = await open_journal(path, plans, deadlines, clock)
    assert replayed.engine.projection.to_snapshot() == expected
    assert replayed.engine.next_wakeup() == from_snapshot.engine.next_wakeup()
    await replayed.store.close()


def _broken(data: object) -> object:
    raise ValueError("damaged")


async def test_a_failed_write_leaves_the_engine_as_the_log_says(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    journal = await open_journal(tmp_path / "log.db", plans, deadlines, clock)
    await journal.submit(opening())
    original = journal.store.transaction

    def failing(**kwargs: object) -> object:
        manager = original(**kwargs)  # type: ignore[arg-type]

        class Failing:
            async def __aenter__(self) -> object:
                return await manager.__aenter__()

            async def __aexit__(self, *exc: object) -> None:
                await manager.__aexit__(RuntimeError, RuntimeError("disk full"), None)
                raise RuntimeError("disk full")

        return Failing()

    journal.store.transaction = failing  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="disk full"):
        await journal.submit(opening("第二起"))
    journal.store.transaction = original  # type: ignore[method-assign]
    await journal.catch_up()  # the next use reloads the engine from the log
    assert [i.title for i in journal.engine.projection.incidents.values()] == ["配电房跳闸"]
    assert await journal.store.head() == 2
    await journal.store.close()


async def test_the_journal_runs_on_the_in_memory_store(
    plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    """The fake is a store like the file: two journals share its log, a restart replays it."""
    log = MemoryLog()
    console = await Journal.open(MemoryEventStore(log), plans=plans, deadlines=deadlines, clock=clock)
    engine = await Journal.open(MemoryEventStore(log), plans=plans, deadlines=deadlines, clock=clock)
    command = opening()
    (first,) = await console.submit(command)
    (second,) = await engine.submit(command)  # sees the console's commit inside its transaction
    assert first.recorded and second.repeated
    clock.advance(timedelta(minutes=31))
    assert any(isinstance(r.event, ObligationBreached) for r in await engine.fire())
    assert await console.fire() == []
    await console.checkpoint()
    restarted = await Journal.open(MemoryEventStore(log), plans=plans, deadlines=deadlines, clock=clock)
    assert restarted.engine.projection.to_snapshot() == engine.engine.projection.to_snapshot()
    assert (await restarted.store.verify()).events == await restarted.store.head()


async def test_a_slowly_growing_log_is_snapshotted_after_a_while(
    tmp_path: Path,
    plans: dict[str, Plan],
    deadlines: Deadlines,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not only every 20,000 events: once enough have gathered and the last snapshot is old, so
    that whoever opens the log next (a console at the start of a shift) replays a short tail."""
    monkeypatch.setattr(journal_module, "SNAPSHOT_SOON", 4)
    journal = await open_journal(tmp_path / "log.db", plans, deadlines, clock)
    await journal.submit(*(opening(f"#{n}") for n in range(3)))
    assert journal.engine.seq >= 4
    await journal.checkpoint_if_due()
    assert await journal.store.load_snapshot() is None  # enough events, but only just opened
    clock.advance(journal_module.SNAPSHOT_AGE)
    await journal.checkpoint_if_due()
    sealed = await journal.store.load_snapshot()
    assert sealed is not None and sealed[0] == journal.engine.seq
    await journal.submit(opening("#3"))  # fewer than SNAPSHOT_SOON since, however long ago
    clock.advance(journal_module.SNAPSHOT_AGE * 3)
    await journal.checkpoint_if_due()
    assert (await journal.store.load_snapshot()) == sealed
    await journal.store.close()
