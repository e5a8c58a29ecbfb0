"""The race helper: the first wait to finish wins, the others are cancelled and awaited."""

from __future__ import annotations

import asyncio

import pytest

from dutydesk.connectors.waits import first_of


async def test_the_losers_are_cancelled_and_awaited() -> None:
    stop = asyncio.Event()
    ended: list[str] = []

    async def loser() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # cleanup that takes a turn of the loop: it must still finish
            ended.append("loser")

    async def winner() -> None:
        await stop.wait()

    stop.set()
    before = asyncio.all_tasks()
    await first_of(loser(), winner())
    assert ended == ["loser"]
    assert asyncio.all_tasks() == before  # nothing left pending behind the helper


async def test_the_winners_error_is_raised_after_the_losers_ended() -> None:
    ended: list[str] = []

    async def loser() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.append("loser")

    async def broken() -> None:
        raise ConnectionError("lost")

    with pytest.raises(ConnectionError, match="lost"):
        await first_of(loser(), broken())
    assert ended == ["loser"]


async def test_cancelling_the_caller_ends_every_wait() -> None:
    ended: list[str] = []
    started = asyncio.Event()

    async def wait(name: str) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(name)

    racer = asyncio.create_task(first_of(wait("a"), wait("b")))
    await started.wait()
    racer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await racer
    assert sorted(ended) == ["a", "b"]
