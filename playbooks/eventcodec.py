"""How events are stored: the payload beside the header fields (`at`, `incident`, `actor`,
`drill`), and the typed event rebuilt from them. Every store adapter uses this one codec."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
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
    names, values, times, tuples = _shape(type(event))
    body = dict(zip(names, values(event), strict=True))
    for name in times:
        if (value := body[name]) is not None:
            body[name] = value.isoformat()
    for name in tuples:
        body[name] = list(body[name])
    return body


Shape = tuple[tuple[str, ...], Callable[[Event], tuple[Any, ...]], tuple[str, ...], tuple[str, ...]]
_SHAPES: dict[str, Shape] = {}


def _shape(cls: type[Event]) -> Shape:
    """How `payload` takes an event of this type apart (it runs for every event stored): its
    payload fields' names, a getter of all their values at once, and which are times or tuples."""
    shape = _SHAPES.get(cls.kind)
    if shape is None:
        fields = _payload_fields(cls)
        names = tuple(name for name, _ in fields)
        values: Callable[[Event], tuple[Any, ...]]
        if len(names) > 1:
            values = operator.attrgetter(*names)  # a tuple of them all, in one call
        else:

            def values(event: Event) -> tuple[Any, ...]:
                return tuple(getattr(event, name) for name in names)

        times = tuple(name for name, how in fields if how == "datetime")
        tuples = tuple(name for name, how in fields if how == "tuple")
        shape = _SHAPES[cls.kind] = (names, values, times, tuples)
    return shape


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
