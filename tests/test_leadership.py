"""Leadership among engine nodes on one log: one leads, the others wait, a silent leader is
replaced once its lease runs out, and a dead one on this machine at once."""

from __future__ import annotations

from datetime import timedelta

from dutydesk.connectors.application.leadership import Leadership
from dutydesk.connectors.store import MemoryEventStore, MemoryLog
from dutydesk.playbooks.clock import ManualClock

TTL = timedelta(seconds=6)


def node(log: MemoryLog, name: str, clock: ManualClock, dead: set[str]) -> Leadership:
    return Leadership(
        MemoryEventStore(log), name, clock=clock, ttl=TTL, alive=lambda holder: holder not in dead
    )


async def test_one_leads_and_a_silent_leader_is_replaced_when_its_lease_runs_out(clock: ManualClock) -> None:
    log, dead = MemoryLog(), set[str]()
    one, two = node(log, "one", clock, dead), node(log, "two", clock, dead)
    assert await one.take() is None and one.leading.is_set()
    assert await two.take() == "one" and not two.leading.is_set()
    clock.advance(TTL / 2)
    assert await one.take() is None  # renewed
    clock.advance(TTL - timedelta(seconds=1))
    assert await two.take() == "one"  # still within the renewed lease
    clock.advance(timedelta(seconds=2))  # one has been silent past its lease
    assert await two.take() is None and two.leading.is_set()
    term = one.term
    assert await one.take() == "two"  # one wakes up: its term is over
    assert not one.leading.is_set() and term.is_set()


async def test_a_dead_leader_is_replaced_at_once(clock: ManualClock) -> None:
    log, dead = MemoryLog(), set[str]()
    one, two = node(log, "one", clock, dead), node(log, "two", clock, dead)
    await one.take()
    dead.add("one")  # its process is gone (kill -9 on this machine)
    assert await two.take() is None and two.leading.is_set()
    await two.release()
    assert await one.take() is None  # a released lease is free
