"""A real mosquitto broker on an ephemeral loopback port, for the tests that need one."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

STARTUP = 10.0  # seconds to wait for the broker to accept connections


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mosquitto:
    """mosquitto with a persistent store, limits raised so that bursts are queued, not dropped."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise RuntimeError("mosquitto is not installed; run scripts/setup (apt-get install mosquitto)")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
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
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)])
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish one message at QoS 1 with mosquitto_pub."""
        command = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1", "-t", topic, "-s"]
        if retain:
            command.append("-r")
        subprocess.run(command, input=payload, check=True, timeout=10)

    def publish_lines(self, topic: str, lines: list[str]) -> None:
        """Publish many messages, one per line, with `mosquitto_pub -l` (stdin held open until
        its queue has drained: mosquitto_pub 2.0 exits at EOF with messages still queued)."""
        body = "\n".join(lines) + "\n"
        command = f"(cat; sleep 1) | mosquitto_pub -h 127.0.0.1 -p {self.port} -q 1 -t '{topic}' -l"
        subprocess.run(["bash", "-c", command], input=body.encode(), check=True, timeout=120)
