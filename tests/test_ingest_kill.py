"""Kill -9 the engine in the middle of a stream of alarms; after a restart every alarm is in the
log exactly once (commit, then acknowledge)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.broker import Mosquitto
from tests.test_ingest import config, observed_keys, stream

PATIENCE = 60.0


def serve(config_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dutydesk.console.cli", "--config", str(config_path), "serve"],
        env={**os.environ, "LANG": "en_US.UTF-8"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        bufsize=0,
    )


def connected(engine: subprocess.Popen[bytes]) -> None:
    """Wait until the engine has subscribed: before that the broker has no session to queue into."""
    stderr = engine.stderr
    assert stderr is not None
    for line in stderr:
        if b"connected to" in line:
            # keep draining, so the engine never blocks on a full pipe
            threading.Thread(target=stderr.read, daemon=True).start()
            return
    raise AssertionError("the engine exited before connecting to the broker")


def wait_for(path: Path, count: int) -> int:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if path.exists():
            try:
                found = len(observed_keys(path))
            except Exception:  # the database may be mid-creation
                found = 0
            if found >= count:
                return found
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} alarms logged within {PATIENCE}s")


@pytest.mark.broker
def test_kill_minus_nine_mid_stream_loses_and_doubles_nothing(tmp_path: Path, mosquitto: Mosquitto) -> None:
    path = config(tmp_path, mosquitto)
    database = tmp_path / "duty.db"
    engine = serve(path)
    try:
        connected(engine)
        publisher = subprocess.Popen(
            [
                "bash",
                "-c",
                f"(cat; sleep 1) | mosquitto_pub -h 127.0.0.1 -p {mosquitto.port} "
                "-q 1 -t netmon/feed/alarm -l",
            ],
            stdin=subprocess.PIPE,
        )
        assert publisher.stdin is not None
        publisher.stdin.write(("\n".join(stream(3000)) + "\n").encode())
        publisher.stdin.close()
        wait_for(database, 300)
        engine.kill()  # SIGKILL, in the middle of the stream
        engine.communicate(timeout=10)
        publisher.wait(timeout=60)
        killed_at = len(observed_keys(database))
        assert killed_at < 3000, "the stream had already been read in full: nothing was tested"
        engine = serve(path)
        wait_for(database, 3000)
    finally:
        engine.terminate()
        engine.communicate(timeout=20)
    keys = observed_keys(database)
    assert len(keys) == 3000
    assert len(set(keys)) == 3000
    audit = subprocess.run(
        [sys.executable, "-m", "dutydesk.console.cli", "--config", str(path), "audit", "verify"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
