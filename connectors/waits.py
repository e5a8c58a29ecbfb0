"""Racing waits: run several awaitables, keep the first to finish, and end the others properly."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

__all__ = ["first_of"]


async def first_of(*waits: Awaitable[object]) -> None:
    """Wait until the first of `waits` finishes, then cancel the others AND wait for them to end,
    so that no task is left pending (or its exception unretrieved) when this returns.

    Raises:
        Whatever the first finished wait raised (e.g. a lost connection), once the others are over.
        CancelledError if the caller is cancelled; every wait is cancelled and awaited first.
    """
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        # gather, not one await per task: a task that raised must not leave the others unawaited
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if task in done and not task.cancelled() and (error := task.exception()) is not None:
            raise error
