"""A console starting on a log with history (issue 12): opened from the snapshot the engine sealed
after a while and the short tail after it, its board shows what a full replay of the log shows,
and a closed incident, asleep in the snapshot, still opens with its whole story. Through Textual's
pilot on a real SQLite file and a manual clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable

from dutydesk.connectors.application import journal as journal_module
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.app import DutyApp
from dutydesk.console.screens.incident import IncidentScreen
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import PostUpdate, ReachMilestone
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Milestone
from tests.test_console import console, open_incident, until

HEAD = ("id", "countdown", "title", "severity", "next_due")


async def board(app: DutyApp) -> list[list[str]]:
    """The board's rows as the screen shows them, once it has painted."""
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#incidents", DataTable)
        return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_the_console_from_a_snapshot_shows_what_the_whole_log_says(
    tmp_path: Path,
    plans: dict[str, Plan],
    deadlines: Deadlines,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(journal_module, "SNAPSHOT_SOON", 3)
    path = tmp_path / "duty.db"
    stores = [await SqliteEventStore.open(path) for _ in range(3)]
    try:
        await _scene(stores, tmp_path, plans, deadlines, clock, monkeypatch)
    finally:
        for store in stores:
            await store.close()


async def _scene(
    stores: list[SqliteEventStore],
    tmp_path: Path,
    plans: dict[str, Plan],
    deadlines: Deadlines,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = await Journal.open(stores[0], plans=plans, deadlines=deadlines, clock=clock)
    closed = await open_incident(engine, title="地下车库积水")
    late = await open_incident(engine, plan="network-outage", title="办公网中断")
    say = ReachMilestone(actor="王值班", incident=closed, milestone=Milestone.STABILISED)
    close = ReachMilestone(actor="王值班", incident=closed, milestone=Milestone.CLOSED, text="误报")
    outcomes = await engine.submit(say, close)
    assert [o.rejected for o in outcomes] == [None, None]
    clock.advance(timedelta(minutes=31))  # more than SNAPSHOT_AGE, and past the report's 30 minutes
    assert timedelta(minutes=31) >= journal_module.SNAPSHOT_AGE
    await engine.fire()  # the report on the outage is late: warned and breached
    await engine.checkpoint_if_due()  # sealed by the engine as it runs: enough events, a while
    sealed = await engine.store.load_snapshot()
    assert sealed is not None and sealed[0] == engine.engine.seq
    # after the snapshot: a new incident, a report on the old one, a deadline passing
    fresh = await open_incident(engine, plan="fire-conflict", title="食堂后厨冒烟")
    await engine.submit(
        PostUpdate(actor="王值班", incident=late, measures="重启", status="恢复中", next_steps="观察")
    )
    clock.advance(timedelta(minutes=3))
    await engine.fire()
    assert engine.engine.seq > sealed[0]

    # a console starts: snapshot and tail; the truth: the whole log replayed without the snapshot
    started = await Journal.open(stores[1], plans=plans, deadlines=deadlines, clock=clock)
    monkeypatch.setattr(stores[2], "load_snapshot", _none)
    replayed = await Journal.open(stores[2], plans=plans, deadlines=deadlines, clock=clock)
    assert started.engine.projection.to_snapshot() == replayed.engine.projection.to_snapshot()

    shown = await board(console(started, tmp_path / "a"))
    assert shown == await board(console(replayed, tmp_path / "b"))
    assert sorted(row[0] for row in shown) == sorted([late, fresh])  # every open incident, no closed one
    rows = {row[0]: dict(zip(HEAD, row, strict=True)) for row in shown}
    assert rows[late]["countdown"].startswith("-")  # overdue, as the full replay has it

    # the closed incident sleeps in the snapshot; its screen still shows it from start to close
    app = console(started, tmp_path / "a")
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(IncidentScreen(closed))
        await pilot.pause()
        timeline = app.screen.query_one("#timeline", DataTable)
        await until(lambda: timeline.row_count >= 3, "the closed incident's timeline")
        assert started.engine.incident(closed).closed


async def _none() -> None:
    return None
