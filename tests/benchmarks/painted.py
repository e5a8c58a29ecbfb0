"""The hook of the first-paint benchmark (`tests/benchmarks/firstpaint.py`), run as the process
being timed: `dutydesk console --attach` as a user starts it, but headless, until the first frame
of the board whose table holds every open incident; then one line on stdout and quit.

Run: `.venv/bin/python -m tests.benchmarks.painted HOME OPEN_INCIDENTS` (the benchmark does).
It imports only what the console imports itself, so that the time measured is the console's.
"""

from __future__ import annotations

import os
import sys
import time

from textual.widgets import DataTable

from dutydesk.console.app import DutyApp
from dutydesk.console.cli.main import main
from dutydesk.console.screens.board import BoardScreen

SIZE = (120, 40)


def run(home: str, expected: int) -> int:
    display = DutyApp._display
    run_async = DutyApp.run_async
    told = False

    def painted(self: DutyApp, screen: object, renderable: object) -> None:
        nonlocal told
        display(self, screen, renderable)  # type: ignore[arg-type]
        if told or renderable is None or not isinstance(screen, BoardScreen):
            return
        if screen.query_one("#incidents", DataTable).row_count == expected:
            told = True
            print(f"painted {time.process_time():.6f}", flush=True)  # CPU seconds of this process
            self.exit()

    async def headless(self: DutyApp, **_: object) -> None:
        await run_async(self, headless=True, size=SIZE)

    DutyApp._display = painted  # type: ignore[method-assign]
    DutyApp.run_async = headless  # type: ignore[method-assign,assignment]
    env = {**os.environ, "DUTYDESK_HOME": home}
    return main(["--operator", "bench", "--lang", "zh", "console", "--attach"], env=env)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], int(sys.argv[2])))
