"""systemd's service notifications (sd_notify) without a dependency: READY=1 once the engine
runs, WATCHDOG=1 while it lives, STOPPING=1 on the way out. A datagram to `$NOTIFY_SOCKET`; no
socket set (not run by systemd), nothing is sent."""

from __future__ import annotations

import os
import socket


def notify(message: str, environ: dict[str, str] | None = None) -> bool:
    """Tell systemd `message`; True when there was a socket to tell."""
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            return False  # systemd went away: nothing to tell
    return True
