"""A broker for drills and the demo: mosquitto when the machine has it, else an embedded one.

mosquitto runs as a child process on an ephemeral loopback port with a generated configuration
(queues unbounded, a wide in-flight window, persistence in the given folder). Without mosquitto,
amqtt runs inside the process: enough for a live demo, though it does not redeliver unacknowledged
messages as mosquitto does, so durability is shown and tested with mosquitto only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STARTUP = 10.0  # seconds for mosquitto to accept connections


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SBIN = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")  # where Debian puts it, off a user's PATH


def mosquitto_binary(env: Mapping[str, str] = os.environ) -> str | None:
    """The mosquitto to run: `DUTYDESK_MOSQUITTO` (a path, or `none` for the embedded broker),
    else `mosquitto` on PATH, else Debian's /usr/sbin, which is not on an ordinary user's PATH."""
    chosen = env.get("DUTYDESK_MOSQUITTO", "").strip()
    if chosen.casefold() == "none":
        return None
    if chosen:
        if not os.access(chosen, os.X_OK):
            raise RuntimeError(f"DUTYDESK_MOSQUITTO: {chosen} is not an executable file")
        return chosen
    found = shutil.which("mosquitto", path=env.get("PATH"))
    return found or next((path for path in SBIN if os.access(path, os.X_OK)), None)


class Mosquitto:
    """mosquitto with a persistent store, limits raised so that bursts are queued, not dropped."""

    def __init__(self, folder: Path) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (Debian: apt-get install mosquitto)")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {folder}/",
            "autosave_interval 1",
            "max_queued_messages 0",
            "max_inflight_messages 1000",
            f"log_dest file {folder / 'mosquitto.log'}",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to user mosquitto and cannot save here
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@dataclass(slots=True)
class LocalBroker:
    """A running broker on 127.0.0.1: which kind, where, and how to stop it."""

    kind: str  # "mosquitto" or "embedded"
    port: int
    _mosquitto: Mosquitto | None = None
    _embedded: Any = None

    async def stop(self) -> None:
        if self._mosquitto is not None:
            self._mosquitto.stop()
        if self._embedded is not None:
            await self._embedded.shutdown()


async def start_broker(folder: Path, *, prefer_installed: bool = True) -> LocalBroker:
    if prefer_installed and mosquitto_binary() is not None:
        mosquitto = Mosquitto(folder)
        mosquitto.start()
        return LocalBroker("mosquitto", mosquitto.port, _mosquitto=mosquitto)
    from amqtt.broker import Broker  # noqa: PLC0415 - only when there is no mosquitto

    port = free_port()
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        # explicit plugins: the defaults include one that warns on every start
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    broker = Broker(config)
    await broker.start()
    return LocalBroker("embedded", port, _embedded=broker)
