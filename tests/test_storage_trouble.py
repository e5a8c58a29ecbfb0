"""Storage trouble is a state, not a crash: a real `dutydesk serve` rides out another process
holding the write lock, and a file-size limit standing in for a full disk, in the middle of a
stream of QoS-1 alarms from a real mosquitto; deadlines falling due meanwhile are told to a real
loopback endpoint, and afterwards every alarm is in the log exactly once."""

from __future__ import annotations

import asyncio
import resource
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.application.service import DISK_LOW, DiskReserve, MemorySource, Service
from dutydesk.connectors.application.storage import Health
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.store import MemoryEventStore
from dutydesk.playbooks.alarms import Arrival, Decoded, Reading, Signal
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import OpenIncident
from dutydesk.playbooks.events import Event, ObligationBreached
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from tests.broker import Mosquitto
from tests.endpoints import Endpoint, endpoint
from tests.test_ingest import config, observed_keys, stream
from tests.test_ingest_kill import serve
from tests.test_notify import apprise_yaml, eventually

PATIENCE = 90.0  # seconds to wait for another process, never for a deadline
ALARMS = 5000
LOCK_HELD = 30.0  # seconds the other process holds the write lock (the scenario)
UNRECORDED = "NOT IN THE LOG YET"


def until(condition: Callable[[], object], what: str, patience: float = PATIENCE) -> None:
    end = time.monotonic() + patience
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {patience}s: {what}")


def count(database: Path, kind: str) -> int:
    db = sqlite3.connect(database)
    try:
        return int(db.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0])
    finally:
        db.close()


def connected(engine: subprocess.Popen[bytes]) -> list[str]:
    """Wait until the engine has subscribed; the lines it logs keep coming into the list."""
    stderr, lines = engine.stderr, []
    assert stderr is not None
    for line in stderr:
        lines.append(line.decode())
        if b"connected to" in line:
            threading.Thread(target=lambda: lines.extend(map(bytes.decode, stderr)), daemon=True).start()
            return lines
    raise AssertionError(f"the engine exited before connecting to the broker: {lines}")


def cli(config_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dutydesk.console.cli", "--config", str(config_path), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def setup(tmp_path: Path, broker: Mosquitto, fallback: Endpoint) -> Path:
    (tmp_path / "apprise.yml").write_text(apprise_yaml({fallback.url("fallback"): "fallback"}), "utf-8")
    return config(tmp_path, broker, '[notify]\nlang = "en"\n')


def open_incident_due_in(config_path: Path, seconds: int) -> None:
    """A fire reported so long ago that its 1-minute security start falls due in `seconds`."""
    at = WallClock().now() - timedelta(seconds=60 - seconds)
    run = cli(
        config_path,
        "incident",
        "open",
        "--plan",
        "fire-conflict",
        "--title",
        "配电间冒烟",
        "--at",
        at.isoformat(),
    )
    assert run.returncode == 0, run.stderr


def publish(broker: Mosquitto, lines: list[str], *, more: bool = False) -> subprocess.Popen[bytes]:
    """`mosquitto_pub` sending `lines`; with `more`, it waits for the rest (`send_rest`)."""
    publisher = subprocess.Popen(
        [
            "bash",
            "-c",
            f"(cat; sleep 1) | mosquitto_pub -h 127.0.0.1 -p {broker.port} -q 1 -t netmon/feed/alarm -l",
        ],
        stdin=subprocess.PIPE,
    )
    if more:
        _send(publisher, lines)
    else:
        send_rest(publisher, lines)
    return publisher


def _send(publisher: subprocess.Popen[bytes], lines: list[str]) -> None:
    assert publisher.stdin is not None
    publisher.stdin.write(("\n".join(lines) + "\n").encode())
    publisher.stdin.flush()


def send_rest(publisher: subprocess.Popen[bytes], lines: list[str]) -> None:
    _send(publisher, lines)
    assert publisher.stdin is not None
    publisher.stdin.close()


def finish(engine: subprocess.Popen[bytes], config_path: Path, database: Path) -> None:
    engine.terminate()
    engine.communicate(timeout=30)
    keys = observed_keys(database)
    assert len(keys) == len(set(keys)) == ALARMS
    assert count(database, "obligation.breached") == 1  # told late, recorded once
    audit = cli(config_path, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr


@pytest.mark.broker
def test_serve_rides_out_a_write_lock_held_by_another_process(tmp_path: Path, mosquitto: Mosquitto) -> None:
    database = tmp_path / "duty.db"
    with endpoint() as fallback:
        path = setup(tmp_path, mosquitto, fallback)
        open_incident_due_in(path, 15)
        engine = serve(path)
        holder: subprocess.Popen[bytes] | None = None
        try:
            connected(engine)
            until(lambda: count(database, "obligation.warned"), "the warning recorded before the lock")
            # the stream's first part, then the lock, then the rest: the lock falls mid-stream
            alarms = stream(ALARMS)
            publisher = publish(mosquitto, alarms[:200], more=True)
            until(lambda: len(observed_keys(database)) >= 200, "the stream under way")
            holder = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "import sqlite3, sys; db = sqlite3.connect(sys.argv[1], isolation_level=None); "
                    "db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()",
                    str(database),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            assert holder.stdout is not None and holder.stdin is not None
            assert holder.stdout.readline() == b"locked\n"
            locked_at, kept_at_lock = time.monotonic(), len(observed_keys(database))
            assert kept_at_lock < ALARMS, "the stream was in before the lock: nothing was tested"
            send_rest(publisher, alarms[200:])
            told = lambda: any(UNRECORDED in b["title"] for b in fallback.bodies("fallback"))  # noqa: E731
            until(told, "the breach falling due told while the log is locked")
            publisher.wait(timeout=PATIENCE)
            while time.monotonic() - locked_at < LOCK_HELD:  # the scenario: a 30 s lock
                assert engine.poll() is None, "serve died while the database was locked"
                time.sleep(0.5)
            assert count(database, "obligation.breached") == 0
            assert len(observed_keys(database)) == kept_at_lock  # nothing written, nothing lost
            holder.stdin.close()
            holder.wait(timeout=10)
            holder.stdout.close()
            until(lambda: len(observed_keys(database)) >= ALARMS, "every alarm written after the lock")
            until(lambda: count(database, "obligation.breached"), "the breach recorded after the lock")
            assert engine.poll() is None
        finally:
            if holder is not None and holder.poll() is None:  # a failure above: let the lock go
                holder.kill()
                holder.communicate(timeout=10)
            finish(engine, path, database)
        print(
            f"lock: sent {ALARMS}, {kept_at_lock} kept before the lock, {len(observed_keys(database))} after"
        )


@pytest.mark.broker
def test_serve_rides_out_a_full_disk_and_resumes_when_space_returns(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    database = tmp_path / "duty.db"
    with endpoint() as fallback:
        path = setup(tmp_path, mosquitto, fallback)
        engine = serve(path)
        try:
            logged = connected(engine)
            # a file-size limit on the engine stands in for a full disk (no root, no tmpfs needed):
            # writing past it fails as a full disk does, and lifting it is space returning
            sizes = [f.stat().st_size for f in tmp_path.glob("duty.db*")]
            resource.prlimit(
                engine.pid, resource.RLIMIT_FSIZE, (max(sizes) + 64 * 1024, resource.RLIM_INFINITY)
            )
            publisher = publish(mosquitto, stream(ALARMS))
            publisher.wait(timeout=PATIENCE)
            until(lambda: any("cannot be written" in line for line in logged), "the full disk noticed")
            kept = len(observed_keys(database))
            assert kept < ALARMS, "the stream fitted under the limit: nothing was tested"
            assert engine.poll() is None, "serve died on a full disk"
            resource.prlimit(
                engine.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
            )
            until(lambda: len(observed_keys(database)) >= ALARMS, "every alarm written once space returned")
        finally:
            engine.terminate()
            engine.communicate(timeout=30)
        keys = observed_keys(database)
        assert len(keys) == len(set(keys)) == ALARMS
        print(f"disk full: sent {ALARMS}, kept {len(keys)} ({kept} before space returned)")


def test_health_tells_its_listeners_when_trouble_begins_and_ends() -> None:
    heard: list[str | None] = []
    health = Health()
    health.listeners.append(lambda h: heard.append(h.storage))
    health.trouble("locked")
    health.trouble("locked")
    health.recovered()
    assert heard == ["locked", None] and health.troubles == 1 and not health.degraded


async def test_while_the_log_is_unwritable_deadlines_are_told_then_recorded_once(
    plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    store = MemoryEventStore()
    journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
    start = clock.now()
    (opened,) = await journal.submit(
        OpenIncident(actor="tester", plan_id="elevator-entrapment", title="困人")
    )
    told: list[Event] = []

    async def alert(due: Sequence[Event]) -> None:
        told.extend(due)

    free = {"bytes": 10 * 2**30}
    disk = DiskReserve(
        journal=journal, folder=Path("."), reserve=2**30, free=lambda _: free["bytes"], interval=0.01
    )
    source = MemorySource(journal)
    stop = asyncio.Event()
    service = Service(journal, sources=[source, disk], alert=alert)
    task = asyncio.create_task(service.run(stop))
    try:
        await eventually(lambda: store.log.commits >= 2, "the service started")
        store.log.unwritable = "database or disk is full"
        clock.set(start + timedelta(minutes=11))  # the contractor call (10 min) breaches
        await eventually(lambda: any(isinstance(e, ObligationBreached) for e in told), "the breach told")
        assert journal.health.degraded
        source.offer(*[heartbeat(n) for n in range(3)])
        await eventually(lambda: journal.health.troubles >= 1 and source.waiting, "the alarms waiting")
        assert not source.acknowledged and not recorded(store, "obligation.breached")
        store.log.unwritable = None
        await eventually(lambda: not source.waiting and recorded(store, "obligation.breached"), "caught up")
        assert not journal.health.degraded
        free["bytes"] = 2**20  # below the reserve: the system alarm, while writes still work
        await eventually(lambda: recorded(store, "alarm.observed", DISK_LOW), "the disk-low alarm")
        free["bytes"] = 10 * 2**30
        await eventually(lambda: len(recorded(store, "alarm.observed", DISK_LOW)) == 2, "the disk-low clear")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    breaches = recorded(store, "obligation.breached")
    assert len(breaches) == len(set(breaches)) and len(source.acknowledged) == 3  # none doubled
    assert opened.recorded


def heartbeat(n: int) -> Incoming:
    arrival = Arrival(f"hb-{n}", "t", "", False, datetime(2026, 11, 23, 9, tzinfo=UTC))
    reading = Reading(device=f"d{n}", kind="x.y", signal=Signal.HEARTBEAT)
    return Incoming("pumps", arrival, b"", decoded=Decoded((reading,)))


def recorded(store: MemoryEventStore, kind: str, contains: str = "") -> list[str]:
    """The payloads of the events of `kind` (with `contains` in them) in the log."""
    return [row[8] for row in store.log.rows if row[2] == kind and contains in row[8]]
