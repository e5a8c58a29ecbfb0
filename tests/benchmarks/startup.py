"""How long a command takes to answer, as a ratio to `python -c pass` (issue 12).

Each command is timed against the bare interpreter interleaved — pass, command, pass, command … —
so that both see the same machine load; printed are the medians of each and the median of the
ratios of the pairs. CPU time (user + system, from the children's rusage) is the measure:
on a shared machine it moves less than wall time; wall time is printed beside it.

`incidents list` runs on a small database (a few open incidents, one overdue) made first in a
private home; the others run in that home too.

Run: `.venv/bin/python -m tests.benchmarks.startup [--runs N]`. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
DUTYDESK = str(Path(PYTHON).with_name("dutydesk"))
BASELINE = (PYTHON, "-c", "pass")

# (what, arguments, target as a multiple of `python -c pass`)
COMMANDS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("dutydesk --help", ("--help",), 5.0),
    ("dutydesk calendar is-workday D", ("calendar", "is-workday", "2026-10-01"), 6.0),
    ("dutydesk incidents list (small database)", ("incidents", "list"), 10.0),
)


@dataclass(frozen=True, slots=True)
class Timing:
    cpu: float  # seconds of user + system time
    wall: float


def timed(argv: Sequence[str], env: Mapping[str, str]) -> Timing:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(cpu, wall)


@dataclass(frozen=True, slots=True)
class Result:
    what: str
    target: float
    command: list[Timing]
    baseline: list[Timing]

    def median(self, which: str, field: str) -> float:
        return statistics.median(getattr(t, field) for t in getattr(self, which))

    def ratio(self, field: str = "cpu") -> float:
        """The median of the ratios of each pair (a command and the interpreter timed beside it)."""
        return statistics.median(
            getattr(c, field) / getattr(b, field) for c, b in zip(self.command, self.baseline, strict=True)
        )


def measure(argv: Sequence[str], env: Mapping[str, str], runs: int) -> tuple[list[Timing], list[Timing]]:
    """`runs` timings of the command and of `python -c pass`, taken alternately."""
    timed(argv, env)  # warm the file cache and the bytecode
    timed(BASELINE, env)
    command, baseline = [], []
    for _ in range(runs):
        baseline.append(timed(BASELINE, env))
        command.append(timed(argv, env))
    return command, baseline


def small_database(env: Mapping[str, str]) -> None:
    """Three open incidents, one of them overdue, and one closed."""

    def run(*argv: str) -> str:
        done = subprocess.run(
            [DUTYDESK, "--operator", "bench", *argv], env=env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    run("incident", "open", "--plan", "elevator-entrapment", "--title", "3号楼2号梯困人")
    run("incident", "open", "--plan", "fire-conflict", "--title", "食堂冒烟", "--at", "2026-11-23T09:00")
    run("incident", "open", "--plan", "network-outage", "--title", "机房断网")
    closed = run("incident", "open", "--plan", "cctv-alarm", "--title", "周界越界")
    run("incident", closed, "close", "--reason", "误报")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="timings of each (default: 21)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {platform.platform()}")
    with tempfile.TemporaryDirectory() as folder:
        # as a user runs it: with the bytecode cached (the first run of each writes it)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env |= {"DUTYDESK_HOME": folder, "LANG": "en_US.UTF-8"}
        small_database(env)
        results = []
        for what, argv, target in COMMANDS:
            command, baseline = measure([DUTYDESK, *argv], env, args.runs)
            results.append(Result(what, target, command, baseline))
    print(f"startup: {args.runs} runs each, interleaved with `python -c pass`; medians")
    width = max(len(r.what) for r in results)
    for r in results:
        verdict = "ok" if r.ratio() <= r.target else "OVER"
        print(
            f"  {r.what:<{width}}  cpu {r.median('command', 'cpu') * 1000:6.1f} ms"
            f" vs {r.median('baseline', 'cpu') * 1000:5.1f} ms = {r.ratio():4.1f}x"
            f" (target <= {r.target:g}x, {verdict});"
            f" wall {r.median('command', 'wall') * 1000:6.1f} ms = {r.ratio('wall'):4.1f}x"
        )


if __name__ == "__main__":
    main()
