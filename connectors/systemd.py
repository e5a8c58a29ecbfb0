"""systemd: the unit files for 24/7 duty (`dutydesk install-systemd`), and the service
notifications (sd_notify) without a dependency: READY=1 once the engine runs, WATCHDOG=1 while it
lives, STOPPING=1 on the way out. A datagram to `$NOTIFY_SOCKET`; no socket set (not run by
systemd), nothing is sent."""

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


SERVICE = """\
[Unit]
Description=dutydesk duty engine: deadlines, alarm ingest, notifications
After=network-online.target mosquitto.service
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart={command} serve
Restart=always
RestartSec=2
# the engine says WATCHDOG=1 every second; silent this long, systemd restarts it
WatchdogSec=30
TimeoutStopSec=30
{environment}
[Install]
WantedBy={wanted_by}
"""

WATCHDOG_SERVICE = """\
[Unit]
Description=dutydesk watchdog: tell the fallback destinations when no engine runs

[Service]
Type=oneshot
ExecStart={command} watchdog
# 1: no engine running (told, or not yet due); the timer runs it again
SuccessExitStatus=1
{environment}"""

WATCHDOG_TIMER = """\
[Unit]
Description=Run the dutydesk watchdog every minute

[Timer]
OnBootSec=2min
OnUnitActiveSec=1min
AccuracySec=5s

[Install]
WantedBy=timers.target
"""

UNITS = ("dutydesk.service", "dutydesk-watchdog.service", "dutydesk-watchdog.timer")


def units(command: str, *, home: str | None, system: bool) -> dict[str, str]:
    """The unit files by name: `command` runs dutydesk (python -m ... --config FILE)."""
    environment = f"Environment=DUTYDESK_HOME={home}\n" if home else ""
    wanted_by = "multi-user.target" if system else "default.target"
    return {
        UNITS[0]: SERVICE.format(command=command, environment=environment, wanted_by=wanted_by),
        UNITS[1]: WATCHDOG_SERVICE.format(command=command, environment=environment),
        UNITS[2]: WATCHDOG_TIMER,
    }
