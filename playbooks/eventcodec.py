"""How events are stored: the payload beside the header fields (`at`, `incident`, `actor`,
`drill`), and the typed event rebuilt from them. Every store adapter uses this one codec."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, get_type_hints

from dutydesk.playbooks.events import EVENT_TYPES, Event

HEADER = frozenset(f.name for f in dataclasses.fields(Event))
_PAYLOAD: dict[str, tuple[tuple[str, str], ...]] = {}


def _payload_fields(cls: type[Event]) -> tuple[tuple[str, str], ...]:
    """(name, how to convert) for each payload field; computed once per type."""
    cached = _PAYLOAD.get(cls.kind)
    if cached is None:
        hints = get_type_hints(cls)
        cached = tuple(
            (
                f.name,
                "datetime"
                if "datetime" in str(hints[f.name])
                else "tuple"
                if str(hints[f.name]).startswith("tuple")
                else "plain",
            )
            for f in dataclasses.fields(cls)
            if f.name not in HEADER
        )
        _PAYLOAD[cls.kind] = cached
    return cached


def payload(event: Event) -> dict[str, Any]:
    """The JSON-ready body of an event, without the header fields stored beside it."""
    body: dict[str, Any] = {}
    for name, how in _payload_fields(type(event)):
        value = getattr(event, name)
        if how == "datetime" and value is not None:
            value = value.isoformat()
        elif how == "tuple":
            value = list(value)
        body[name] = value
    return body


def build(
    kind: str, body: dict[str, Any], *, at: datetime, incident: str | None, actor: str, drill: bool
) -> Event:
    """The inverse of `payload`: rebuild a typed event from its stored parts."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    values: dict[str, Any] = {}
    for name, how in _payload_fields(cls):
        value = body.get(name)
        if how == "datetime" and value is not None:
            value = datetime.fromisoformat(value)
        elif how == "tuple":
            value = tuple(value or ())
        values[name] = value
    return cls(at=at, incident=incident, actor=actor, drill=drill, **values)
