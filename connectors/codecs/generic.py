"""Any other JSON alarm feed, read through a field mapping from the configuration."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

from dutydesk.connectors.codecs.base import CodecContext, DecodeError, Message
from dutydesk.connectors.codecs.common import (
    JsonObject,
    JsonPath,
    SeverityName,
    StrictModel,
    TextCodec,
    TimedOptions,
    find,
    json_object,
    path_name,
    preview,
    scalar_text,
)
from dutydesk.playbooks.alarms import Decoded, Reading, Signal
from dutydesk.playbooks.vocab import Severity


class Fields(StrictModel):
    device: JsonPath
    kind: JsonPath
    state: JsonPath
    time: JsonPath | None = None  # ISO 8601 (without an offset: the feed's zone) or epoch seconds
    severity: JsonPath | None = None
    point: JsonPath | None = None  # a sub-point, e.g. a switch port


class States(StrictModel):
    active: tuple[str, ...] = Field(min_length=1)
    cleared: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        both = {word.casefold() for word in self.active} & {word.casefold() for word in self.cleared}
        if both:
            raise ValueError(f"words both active and cleared: {', '.join(sorted(both))}")
        return self


class GenericOptions(TimedOptions):
    fields: Fields
    states: States
    severity_map: dict[str, SeverityName] = Field(default_factory=dict)  # the feed's own words
    kind_prefix: str = ""  # e.g. "network." so that `port_down` becomes `network.port_down`


class GenericCodec(TextCodec):
    """One alarm per message; a state word that is neither active nor cleared is refused."""

    def __init__(self, context: CodecContext) -> None:
        self._options = GenericOptions.read(context, "generic")
        self._clock = self._options.clock(context)
        self.severities = self._options.graded()
        states = self._options.states
        self._signals = {word.casefold(): Signal.RAISE for word in states.active}
        self._signals |= {word.casefold(): Signal.CLEAR for word in states.cleared}
        self._words = {word.casefold(): level for word, level in self._options.severity_map.items()}

    def read(self, message: Message, text: str) -> Decoded:
        payload = json_object(text)
        fields = self._options.fields
        state = scalar_text(payload, fields.state)
        signal = self._signals.get(state.casefold())
        if signal is None:
            raise DecodeError(f"unknown state {preview(state)} at {path_name(fields.state)}")
        stamp = self._clock.read(find(payload, fields.time), message.received_at)
        return Decoded(
            (
                Reading(
                    device=scalar_text(payload, fields.device),
                    kind=self._options.kind_prefix + scalar_text(payload, fields.kind),
                    signal=signal,
                    point=_optional_text(payload, fields.point) or "",
                    severity=self._severity(payload, fields.severity),
                    device_time=stamp.at,
                    clock=stamp.clock,
                ),
            )
        )

    def _severity(self, payload: JsonObject, path: tuple[str, ...] | None) -> Severity | None:
        """The feed's word through the map, else read as a severity; one not understood is left out."""
        word = _optional_text(payload, path)
        if word is None:
            return None
        try:
            return self._words.get(word.casefold()) or Severity.parse(word)
        except ValueError:
            return None


def _optional_text(payload: JsonObject, path: tuple[str, ...] | None) -> str | None:
    return None if find(payload, path) is None else scalar_text(payload, path)
