"""What every codec takes and gives, and the limits that keep hostile payloads harmless."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from dutydesk.playbooks.alarms import Decoded

MAX_PAYLOAD = 256 * 1024  # bytes; a bigger message is a dead letter, never parsed


@dataclass(frozen=True, slots=True)
class Message:
    """One message as it arrived."""

    topic: str
    payload: bytes
    received_at: datetime  # timezone-aware, from the injected clock
    retained: bool = False


@dataclass(frozen=True, slots=True)
class CodecContext:
    """What a codec knows about its feed besides the message."""

    zone: ZoneInfo  # how to read device times that carry no offset
    options: dict[str, object]  # the feed's codec options from the configuration


class DecodeError(Exception):
    """The message cannot be read; `reason` is shown beside it in the dead letters."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Codec(Protocol):
    """Reads one vendor format. May keep per-device state between messages (Shelly deltas)."""

    def decode(self, message: Message) -> Decoded:
        """The readings in `message`; raises DecodeError, and nothing else, for bad input."""
        ...
