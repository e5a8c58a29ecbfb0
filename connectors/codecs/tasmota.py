"""Tasmota over MQTT with the default FullTopic `%prefix%/%topic%/`: last will, relays, energy, margins."""

from __future__ import annotations

import re

from dutydesk.connectors.codecs.base import CodecContext, DecodeError, Message
from dutydesk.connectors.codecs.common import (
    JsonObject,
    Stamp,
    TextCodec,
    TimedOptions,
    availability,
    heartbeat,
    json_object,
    number_of,
    preview,
)
from dutydesk.playbooks.alarms import Decoded, Reading, Signal

# Tasmota's own margin alarms (USE_ENERGY_MARGIN_DETECTION), set by `VoltageLow <V>` and friends
_MARGINS = {
    "VoltageLow": "power.undervoltage",
    "VoltageHigh": "power.overvoltage",
    "PowerLow": "power.underpower",
    "PowerHigh": "power.overpower",
    "CurrentLow": "power.undercurrent",
    "CurrentHigh": "power.overcurrent",
}
_SWITCH = {"ON": Signal.RAISE, "OFF": Signal.CLEAR}
_RELAY = re.compile(r"POWER\d*")  # POWER, POWER1, POWER2 … on multi-relay devices


class TasmotaOptions(TimedOptions):
    outage_voltage: float = 50  # volts; below this the supply has failed
    low_voltage: float = 198  # volts; below this it sags (220 V - 10 %)


class TasmotaCodec(TextCodec):
    """Topics `tele/<dev>/…` and `stat/<dev>/…`; anything else a device says there is a heartbeat."""

    def __init__(self, context: CodecContext) -> None:
        self._options = TasmotaOptions.read(context, "tasmota")
        self._clock = self._options.clock(context)
        self.severities = self._options.graded()

    def read(self, message: Message, text: str) -> Decoded:
        prefix, _, rest = message.topic.partition("/")
        device, _, command = rest.rpartition("/")
        if prefix not in ("tele", "stat") or not device:
            raise DecodeError(
                f"not a Tasmota tele/<device>/… or stat/<device>/… topic: {preview(message.topic)}"
            )
        if command == "LWT":
            return availability(device, text, online="Online", offline="Offline")
        if _RELAY.fullmatch(command):  # a relay switched: state, not an alarm by itself
            if text not in _SWITCH:
                raise DecodeError(f"{command}: expected ON or OFF, got {preview(text)}")
            return Decoded((heartbeat(device, text=f"{command} {text}"),))
        if command not in ("STATE", "SENSOR", "MARGINS", "RESULT"):
            return Decoded((heartbeat(device),))  # other telemetry (INFO1, STATUS…): alive
        payload = json_object(text)
        # `Time` is local time without a zone (unless SetOption52); MARGINS has none
        stamp = self._clock.read(payload.get("Time"), message.received_at)
        if command == "MARGINS":
            return Decoded(self._margins(device, payload.child("MARGINS"), stamp))
        energy = payload.child("ENERGY") if payload.get("ENERGY") is not None else None
        if command == "SENSOR" and energy is not None and energy.get("Voltage") is not None:
            return Decoded(self._supply(device, energy, stamp))
        return Decoded((heartbeat(device, stamp),))

    def _supply(self, device: str, energy: JsonObject, stamp: Stamp) -> tuple[Reading, ...]:
        """Outage or undervoltage from the measured voltage; a normal voltage clears both."""
        value = energy.get("Voltage")
        phases = value if isinstance(value, list) else [value]  # three-phase meters send a list
        if not phases:
            raise DecodeError(f"{energy.at('Voltage')}: no phases")
        volts = min(number_of(phase, energy.at("Voltage")) for phase in phases)
        if volts < self._options.outage_voltage:
            present = "power.outage"
        elif volts < self._options.low_voltage:
            present = "power.undervoltage"
        else:
            present = ""
        # Explicit clears on their own point, not a complete scope: a scope over "power." would
        # also clear the device's own MARGINS alarms, which this message says nothing about.
        return tuple(
            Reading(
                device=device,
                kind=kind,
                signal=Signal.RAISE if kind == present else Signal.CLEAR,
                point="ENERGY",
                device_time=stamp.at,
                clock=stamp.clock,
                text=f"{volts:g} V",
            )
            for kind in ("power.outage", "power.undervoltage")
        )

    def _margins(self, device: str, margins: JsonObject, stamp: Stamp) -> tuple[Reading, ...]:
        readings = []
        for name, state in margins.data.items():
            if name not in _MARGINS or not isinstance(state, str) or state not in _SWITCH:
                raise DecodeError(f"{margins.at(name)}: expected a known margin set ON or OFF")
            readings.append(
                Reading(
                    device=device,
                    kind=_MARGINS[name],
                    signal=_SWITCH[state],
                    point="MARGINS",
                    vendor_code=name,
                    device_time=stamp.at,
                    clock=stamp.clock,
                )
            )
        return tuple(readings)
