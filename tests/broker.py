"""The test broker: a real mosquitto on an ephemeral loopback port, with publishing helpers."""

from __future__ import annotations

import subprocess

from dutydesk.connectors.broker import Mosquitto as _Mosquitto


class Mosquitto(_Mosquitto):
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
