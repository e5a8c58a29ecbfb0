"""The header every event carries (see `playbooks/events.py`, where the events are listed): its
own module so that event classes kept elsewhere (`playbooks/amendments.py`) can extend it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: ClassVar[str] = ""
    at: datetime
    incident: str | None
    actor: str
    drill: bool = False
