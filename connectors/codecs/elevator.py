"""Elevator IoT gateway snapshots: one elevator's active faults by code, read through a code book."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError

from dutydesk.connectors.codecs.base import CodecContext, DecodeError, Message
from dutydesk.connectors.codecs.common import (
    JsonObject,
    SeverityName,
    StrictModel,
    TextCodec,
    TimedOptions,
    explain,
    json_object,
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


class ElevatorOptions(TimedOptions):
    codebook: Path | None = None  # a YAML code book of the default's shape


def _code(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DecodeError(f"{path}: expected a fault code (a positive integer)")
    return value


class ElevatorCodec(TextCodec):
    """A snapshot lists every active fault (`faults`, or bits of `faultMask`): a missing one has cleared."""

    def __init__(self, context: CodecContext) -> None:
        options = ElevatorOptions.read(context, "elevator")
        self._book = load_codebook(options.codebook)
        self._clock = options.clock(context)

    def read(self, message: Message, text: str) -> Decoded:
        snapshot = json_object(text)
        device = f"{snapshot.text('gatewayId')}/{snapshot.text('elevatorId')}"
        stamp = self._clock.read(snapshot.get("time"), message.received_at)  # local, no zone
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
        if snapshot.get("faults") is not None:
            active = {}
            for index, item in enumerate(snapshot.array("faults")):
                fault = JsonObject.of(item, f"$.faults[{index}]")
                name = fault.get("name")
                active[_code(fault.get("code"), fault.at("code"))] = name if isinstance(name, str) else ""
            return active
        if snapshot.get("faultMask") is not None:
            mask = snapshot.get("faultMask")
            limit = self._book.bitmask.max_code
            if isinstance(mask, bool) or not isinstance(mask, int) or not 0 <= mask < 1 << limit:
                raise DecodeError(f"$.faultMask: expected an integer of at most {limit} bits")
            return {bit + 1: "" for bit in range(limit) if mask >> bit & 1}  # bit = code - 1
        raise DecodeError("$: expected a faults list or a faultMask")
