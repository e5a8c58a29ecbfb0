"""Elevator IoT gateway snapshots: one elevator's active faults by code, read through a code book."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BeforeValidator, Field, ValidationError

from dutydesk.connectors.codecs.base import CodecContext, DecodeError, Message
from dutydesk.connectors.codecs.common import (
    JsonObject,
    JsonPath,
    SeverityName,
    StrictModel,
    TextCodec,
    TimedOptions,
    explain,
    find,
    json_object,
    path_name,
    preview,
    scalar_text,
)
from dutydesk.playbooks.alarms import Decoded, Reading, Signal

DEFAULT_CODEBOOK = "elevator_codebook.yaml"  # beside this module; vendors number faults differently


class Fault(StrictModel):
    kind: str = Field(pattern=r"^[a-z0-9_]+$")  # the alarm kind is `elevator.<kind>`
    zh: str
    en: str
    severity: SeverityName
    urgent: bool = False
    entrapment: bool = False


class Bitmask(StrictModel):
    bit_of_code: Literal["code - 1"] = "code - 1"  # the one layout gateways use
    max_code: int = Field(default=64, ge=1, le=64)


class Codebook(StrictModel):
    codebook: str
    version: int
    bitmask: Bitmask = Bitmask()
    codes: dict[int, Fault]
    unknown_code: Fault  # a code not in the book still raises an alarm, never dropped


def load_codebook(path: Path | None = None) -> Codebook:
    """The code book at `path`, or the default one; a mistake is a ValueError naming the file."""
    name = str(path) if path else f"default code book {DEFAULT_CODEBOOK}"
    try:
        if path is None:
            text = files("dutydesk.connectors.codecs").joinpath(DEFAULT_CODEBOOK).read_text(encoding="utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        return Codebook.model_validate(yaml.safe_load(text))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"elevator code book {name}: cannot read: {exc}") from None
    except ValidationError as exc:
        raise ValueError(f"elevator code book {name}: {explain(exc)}") from None


_SEGMENT = re.compile(r"topic\[(-?\d+)\]")


@dataclass(frozen=True, slots=True)
class Location:
    """Where an id is: a path into the payload, or a segment of the topic (0 first, -1 last)."""

    path: tuple[str, ...] = ()
    segment: int | None = None

    def read(self, payload: JsonObject, topic: str) -> str:
        if self.segment is None:
            return scalar_text(payload, self.path)
        segments = topic.split("/")
        if not -len(segments) <= self.segment < len(segments) or not segments[self.segment]:
            raise DecodeError(f"topic {preview(topic)} has no segment {self.segment}")
        return segments[self.segment]


def _location(value: object) -> object:
    """`$.a.b` or `topic[N]`."""
    if isinstance(value, str) and (match := _SEGMENT.fullmatch(value)):
        return Location(segment=int(match[1]))
    if isinstance(value, str) and value.startswith("$"):
        return Location(path=tuple(value.split(".")[1:]))
    raise ValueError(
        f"expected a JSON path like $.elevatorId or a topic segment like topic[2], got {value!r}"
    )


Place = Annotated[Location, BeforeValidator(_location)]


class Fields(StrictModel):
    """Where a gateway puts things; the defaults are the reference gateway's format."""

    gateway: Place | None = Location(path=("gatewayId",))  # none: the elevator id alone names it
    elevator: Place = Location(path=("elevatorId",))
    faults: JsonPath = ("faults",)  # a list of fault objects (or of bare codes)
    code: str = "code"  # the code's key in each fault object
    name: str = "name"  # the gateway's own name for the fault, if it gives one
    fault_mask: JsonPath = ("faultMask",)  # or a bitmask: bit (code - 1) set while code is active
    time: JsonPath | None = ("time",)


class ElevatorOptions(TimedOptions):
    codebook: Path | None = None  # a YAML code book of the default's shape
    fields: Fields = Fields()


def _code(value: object, path: str) -> int:
    """A positive code; gateways send numbers or digit strings ("08")."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DecodeError(f"{path}: expected a fault code (a positive integer)")
    return value


class ElevatorCodec(TextCodec):
    """A snapshot lists every active fault (a list, or bits of a mask): a missing one has cleared."""

    def __init__(self, context: CodecContext) -> None:
        options = ElevatorOptions.read(context, "elevator")
        self._book = load_codebook(options.codebook)
        self._fields = options.fields
        self._clock = options.clock(context)
        self.severities = options.graded()

    def read(self, message: Message, text: str) -> Decoded:
        snapshot = json_object(text)
        fields = self._fields
        elevator = fields.elevator.read(snapshot, message.topic)
        device = (
            elevator
            if fields.gateway is None
            else f"{fields.gateway.read(snapshot, message.topic)}/{elevator}"
        )
        stamp = self._clock.read(find(snapshot, fields.time), message.received_at)  # local, no zone
        readings = []
        for code, name in sorted(self._active(snapshot).items()):
            known = self._book.codes.get(code)
            fault = known or self._book.unknown_code
            readings.append(
                Reading(
                    device=device,
                    kind=f"elevator.{fault.kind}",
                    signal=Signal.RAISE,
                    point=str(code),
                    severity=fault.severity,
                    urgent=fault.urgent,
                    vendor_code=str(code),
                    device_time=stamp.at,
                    clock=stamp.clock,
                    text=fault.zh if known or not name else f"{fault.zh} ({name})",
                )
            )
        return Decoded(tuple(readings), complete=((device, "elevator."),))

    def _active(self, snapshot: JsonObject) -> dict[int, str]:
        """The active codes, each with the gateway's own name for it if it gave one."""
        fields = self._fields
        faults = find(snapshot, fields.faults)
        if faults is not None:
            where = path_name(fields.faults)
            if not isinstance(faults, list):
                raise DecodeError(f"{where}: expected an array")
            active = {}
            for index, item in enumerate(faults):
                if not isinstance(item, dict):  # a bare code
                    active[_code(item, f"{where}[{index}]")] = ""
                    continue
                fault = JsonObject.of(item, f"{where}[{index}]")
                name = fault.get(fields.name)
                active[_code(fault.get(fields.code), fault.at(fields.code))] = (
                    name if isinstance(name, str) else ""
                )
            return active
        mask = find(snapshot, fields.fault_mask)
        if mask is not None:
            limit = self._book.bitmask.max_code
            if isinstance(mask, bool) or not isinstance(mask, int) or not 0 <= mask < 1 << limit:
                raise DecodeError(
                    f"{path_name(fields.fault_mask)}: expected an integer of at most {limit} bits"
                )
            return {bit + 1: "" for bit in range(limit) if mask >> bit & 1}  # bit = code - 1
        where = f"{path_name(fields.faults)} or a mask at {path_name(fields.fault_mask)}"
        raise DecodeError(f"$: expected a faults list at {where}")
