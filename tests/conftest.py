"""Shared fixtures: a manual clock, the centre's time zone, the bundled plans, a private home, a
real broker and a real PostgreSQL cluster."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dutydesk.console.cli import main
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.library import bundled_sources
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan, load_plans
from dutydesk.playbooks.workdays import WorkCalendar
from tests.broker import Mosquitto
from tests.pgcluster import Cluster, binaries

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday morning in a week with no holidays.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY)


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    loaded, errors = load_plans(bundled_sources())
    assert not errors
    return loaded


@pytest.fixture(scope="session")
def deadlines() -> Deadlines:
    return Deadlines(WorkCalendar(), SHANGHAI)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private dutydesk home, so no test touches the user's data."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("DUTYDESK_HOME", str(path))
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


CliRunner = Callable[..., Run]


@pytest.fixture
def cli(home: Path, clock: ManualClock) -> CliRunner:
    """Run the real command line in-process, on the manual clock."""

    def run(*argv: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main(["--operator", "tester", *argv], clock=clock, out=out, err=err)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real broker on an ephemeral loopback port, stopped after the test."""
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the session (each test takes a fresh database)."""
    found = binaries()
    if found is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup installs it)")
    cluster = Cluster(found)
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """A new, empty database on the session's cluster, as dutydesk's `[database] url`."""
    return pg_cluster.database()
