"""What the device codecs share: payload limits, strict JSON with shape checks, device times, options."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from dutydesk.connectors.codecs.base import MAX_PAYLOAD, CodecContext, DecodeError, Message
from dutydesk.playbooks.alarms import OFFLINE_KIND, ClockNote, Decoded, Reading, Signal
from dutydesk.playbooks.durations import Duration
from dutydesk.playbooks.vocab import Severity

STATUS_KIND = "device.status"  # the kind of a HEARTBEAT: the device is alive, nothing more
_CLOCK_NEVER_SET = datetime(2000, 1, 1, tzinfo=UTC)  # devices count up from 1970 until NTP syncs


def preview(text: str, limit: int = 40) -> str:
    """A short quotation of untrusted text for an error message."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


# -- payloads ------------------------------------------------------------------------------------


def payload_text(payload: bytes) -> str:
    """The payload as text; refuses one over MAX_PAYLOAD before looking at it, and invalid UTF-8."""
    if len(payload) > MAX_PAYLOAD:
        raise DecodeError(f"payload larger than {MAX_PAYLOAD} bytes ({len(payload)} bytes received)")
    try:
        # utf-8-sig drops a leading byte order mark: RFC 8259 lets a parser ignore it, and a feed
        # that sends one would otherwise never be read.
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 at byte {exc.start}: {exc.reason}") from None


class TextCodec(ABC):
    """The steps every codec takes before reading its format, and the feed's severities after."""

    # (kind pattern, severity) from the feed's `severities` option; the first match wins
    severities: tuple[tuple[str, Severity], ...] = ()

    def decode(self, message: Message) -> Decoded:
        """The readings in `message`; raises DecodeError, and nothing else, for bad input."""
        text = payload_text(message.payload)
        if not message.payload:
            return Decoded()  # how a retained message is deleted: a state reset, not an alarm
        decoded = self.read(message, text)
        if not self.severities:
            return decoded
        return dataclasses.replace(decoded, readings=tuple(map(self._graded, decoded.readings)))

    def _graded(self, reading: Reading) -> Reading:
        """The feed's severity for the reading's kind overrides the codec's own (or none)."""
        for pattern, severity in self.severities:
            if fnmatch.fnmatchcase(reading.kind, pattern):
                return dataclasses.replace(reading, severity=severity)
        return reading

    @abstractmethod
    def read(self, message: Message, text: str) -> Decoded:
        """The readings in a non-empty payload of at most MAX_PAYLOAD bytes of UTF-8."""


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number (RFC 8259)")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):  # 1e400 parses as infinity
        raise ValueError(f"number {preview(text)} is out of range")
    return number


# one decoder for every message: json.loads with hooks would build a new one each time
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite)


def parse_json(text: str) -> object:
    """Strict JSON: NaN and Infinity (which Python's own json.dumps writes) are refused."""
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise DecodeError("malformed JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, our refusals, integers over Python's digit limit
        raise DecodeError(f"malformed JSON: {exc}") from None


def _json_type(value: object) -> str:
    match value:
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case "":
            return "an empty string"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
    return "null"


def number_of(value: object, path: str) -> float:
    """A JSON number as a float; booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DecodeError(f"{path}: expected a number, got {_json_type(value)}")
    try:
        return float(value)
    except OverflowError:  # a huge integer
        raise DecodeError(f"{path}: number out of range") from None


@dataclass(frozen=True, slots=True)
class JsonObject:
    """A JSON object read with shape checks: every miss is a DecodeError naming the path."""

    data: Mapping[str, object]
    path: str = "$"

    @classmethod
    def of(cls, value: object, path: str = "$") -> JsonObject:
        if not isinstance(value, dict):
            raise DecodeError(f"{path}: expected an object, got {_json_type(value)}")
        return cls(value, path)

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str) -> object:
        return self.data.get(key)

    def has(self, key: str) -> bool:
        return key in self.data

    def _got(self, key: str) -> str:
        return _json_type(self.data[key]) if key in self.data else "nothing"

    def child(self, key: str) -> JsonObject:
        if key not in self.data:
            raise DecodeError(f"{self.at(key)}: expected an object, got nothing")
        return JsonObject.of(self.data[key], self.at(key))

    def text(self, key: str) -> str:
        """A non-empty string."""
        value = self.data.get(key)
        if not isinstance(value, str) or not value:
            raise DecodeError(f"{self.at(key)}: expected a non-empty string, got {self._got(key)}")
        return value

    def number(self, key: str) -> float:
        if key not in self.data:
            raise DecodeError(f"{self.at(key)}: expected a number, got nothing")
        return number_of(self.data[key], self.at(key))

    def array(self, key: str) -> list[object]:
        value = self.data.get(key)
        if not isinstance(value, list):
            raise DecodeError(f"{self.at(key)}: expected an array, got {self._got(key)}")
        return value


def json_object(text: str) -> JsonObject:
    """A payload that must be one JSON object."""
    return JsonObject.of(parse_json(text))


# -- paths into a payload -----------------------------------------------------------------------

_PATH = re.compile(r"\$(\.[^.\[\]\s]+)+")


def _path(value: object) -> object:
    """`$.a.b` as the keys ("a", "b"); only member access, no indexes or filters."""
    if not isinstance(value, str) or not _PATH.fullmatch(value):
        raise ValueError(f"expected a JSON path like $.device or $.detail.port, got {value!r}")
    return tuple(value.split(".")[1:])


JsonPath = Annotated[tuple[str, ...], BeforeValidator(_path)]


def path_name(path: tuple[str, ...] | None) -> str:
    return "$." + ".".join(path or ())


def find(payload: JsonObject, path: tuple[str, ...] | None) -> object:
    """The value at `path`; None where it is missing, and for no path at all."""
    if path is None:
        return None
    value: object = payload.data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def scalar_text(payload: JsonObject, path: tuple[str, ...] | None) -> str:
    """A scalar at `path` as text: states and ids are often numbers or booleans."""
    value = find(payload, path)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) or (isinstance(value, str) and value):
        return str(value)
    raise DecodeError(f"{path_name(path)}: expected a string, a whole number or a boolean")


# -- device times --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stamp:
    """A device's own time for a reading, and why it should not be trusted, if it should not."""

    at: datetime | None = None
    clock: ClockNote | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceClock:
    """Reads device times: epoch seconds (UTC) or ISO 8601 text, naive text in the feed's zone."""

    zone: ZoneInfo
    max_skew: timedelta

    def read(self, value: object, received_at: datetime) -> Stamp:
        """No time (None) gives an empty stamp; a malformed one is noted, never an error."""
        if value is None:
            return Stamp()
        try:
            at, note = self._parse(value)
        except (TypeError, ValueError, OverflowError, OSError):
            return Stamp(clock=ClockNote.UNREADABLE)
        if at < _CLOCK_NEVER_SET or abs(at - received_at) > self.max_skew:
            note = ClockNote.SKEWED
        return Stamp(at, note)

    def _parse(self, value: object) -> tuple[datetime, ClockNote | None]:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC), None
        if not isinstance(value, str):
            raise TypeError(f"not a time: {_json_type(value)}")
        at = datetime.fromisoformat(value.strip())
        if at.tzinfo is None:
            return at.replace(tzinfo=self.zone), ClockNote.NO_ZONE
        return at, None


# -- readings everyone makes ---------------------------------------------------------------------


def heartbeat(device: str, stamp: Stamp = Stamp(), text: str | None = None) -> Reading:
    """The device is alive: it talked, but said nothing about any alarm."""
    return Reading(
        device=device,
        kind=STATUS_KIND,
        signal=Signal.HEARTBEAT,
        device_time=stamp.at,
        clock=stamp.clock,
        text=text,
    )


def availability(device: str, text: str, *, online: str, offline: str) -> Decoded:
    """A last-will style message: offline is an alarm of its own, online clears it."""
    signals = {offline: Signal.RAISE, online: Signal.CLEAR}
    if text not in signals:
        raise DecodeError(f"expected {online!r} or {offline!r}, got {preview(text)}")
    return Decoded((Reading(device=device, kind=OFFLINE_KIND, signal=signals[text]),))


# -- options -------------------------------------------------------------------------------------


def _duration(value: object) -> object:
    """Text as plans write limits (`5m`, `1h`); a number is seconds."""
    return Duration.parse(value).wall() if isinstance(value, str) else value


def explain(exc: ValidationError) -> str:
    """Each problem as `key: what was expected`, the way configuration errors are shown."""
    return "; ".join(
        f"{'.'.join(map(str, err['loc'])) or '(top)'}: "
        + ("unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, "))
        for err in exc.errors()
    )


def _severity(value: object) -> object:
    return Severity.parse(value) if isinstance(value, str) else value


SeverityName = Annotated[Severity, BeforeValidator(_severity)]  # `IV`, `一般`, `general` …


class StrictModel(BaseModel):
    """Configuration read once: frozen, and unknown keys are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CodecOptions(StrictModel):
    """A codec's options, validated when the codec is built."""

    # kind pattern -> severity, e.g. {"power.low_battery": "II", "cctv.*": "IV"}; first match wins
    severities: dict[str, SeverityName] = Field(default_factory=dict)

    def graded(self) -> tuple[tuple[str, Severity], ...]:
        return tuple(self.severities.items())

    @classmethod
    def read(cls, context: CodecContext, codec: str) -> Self:
        """The options from `context`; a mistake is a ValueError naming the codec and the key."""
        try:
            return cls.model_validate(context.options)
        except ValidationError as exc:
            raise ValueError(f"{codec} codec options: {explain(exc)}") from None


class TimedOptions(CodecOptions):
    """Options of a codec that reads device times."""

    # a device time further than this from the receive time is noted SKEWED
    max_skew: Annotated[timedelta, BeforeValidator(_duration), Field(gt=timedelta(0))] = timedelta(minutes=5)

    def clock(self, context: CodecContext) -> DeviceClock:
        return DeviceClock(zone=context.zone, max_skew=self.max_skew)
