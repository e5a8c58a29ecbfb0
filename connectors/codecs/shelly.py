"""Shelly Gen2+ over MQTT: `online`, RPC notifications (full status and partial deltas), switch status."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

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

# The errors a Switch documents; each clears explicitly once a full status no longer lists it.
_SWITCH_ERRORS = ("overpower", "overtemp", "overvoltage", "undervoltage")


class ShellyOptions(TimedOptions):
    outage_voltage: float = 50  # volts; below this a switch's supply has failed (power.outage)
    low_voltage: float = 198  # volts; below this it sags (power.undervoltage)


class ShellyCodec(TextCodec):
    """Topics `<prefix>/online`, `<prefix>/events/rpc` and `<prefix>/status/<component>`.

    NotifyStatus carries only what changed, so the codec keeps each component's last known
    status per device and reads the alarms from the merged status."""

    def __init__(self, context: CodecContext) -> None:
        options = ShellyOptions.read(context, "shelly")
        self._outage_voltage = options.outage_voltage
        self._low_voltage = options.low_voltage
        self._clock = options.clock(context)
        self.severities = options.graded()
        self._status: dict[tuple[str, str], Mapping[str, object]] = {}  # (device, component)

    def read(self, message: Message, text: str) -> Decoded:
        head, _, last = message.topic.rpartition("/")
        device, _, middle = head.rpartition("/")
        if last == "online" and head:
            return availability(head, text, online="true", offline="false")
        if (middle, last) == ("events", "rpc") and device:
            return self._notification(device, json_object(text), message.received_at)
        if middle == "status" and device and last:
            return self._update(device, {last: json_object(text)}, full=True, stamp=Stamp())
        raise DecodeError(f"not a Shelly online, events/rpc or status topic: {preview(message.topic)}")

    def _notification(self, device: str, rpc: JsonObject, received_at: datetime) -> Decoded:
        method = rpc.text("method")
        if method not in ("NotifyStatus", "NotifyFullStatus"):
            return Decoded((heartbeat(device),))  # NotifyEvent: a button, a script …
        params = rpc.child("params")
        stamp = self._clock.read(params.get("ts"), received_at)
        components = {name: params.child(name) for name in params.data if name != "ts"}
        return self._update(device, components, full=method == "NotifyFullStatus", stamp=stamp)

    def _update(self, device: str, components: dict[str, JsonObject], *, full: bool, stamp: Stamp) -> Decoded:
        for change in components.values():  # all checked before any is kept
            _check(change)
        readings: list[Reading] = []
        for name, change in components.items():
            before = self._status.get((device, name), {})
            # A full status is a baseline in which a missing `errors` means none; a delta is laid
            # over the last known status, a missing key meaning "unchanged".
            after = {"errors": [], **change.data} if full else {**before, **change.data}
            self._status[device, name] = after
            if name.startswith("switch:"):
                readings += self._switch(device, name, before, after, stamp)
        return Decoded(tuple(readings) or (heartbeat(device, stamp),))

    def _switch(
        self, device: str, point: str, before: Mapping[str, object], after: Mapping[str, object], stamp: Stamp
    ) -> list[Reading]:
        present = {f"power.{error}" for error in _errors(after)}
        voltage = after.get("voltage")
        candidates: set[str] = set()
        if voltage is not None:
            volts = number_of(voltage, "voltage")
            if volts < self._outage_voltage:
                present.add("power.outage")
            elif volts < self._low_voltage:
                present.add("power.undervoltage")
            # no firmware error names an outage: the measured voltage is what clears it
            candidates.add("power.outage")
        if "errors" in after:  # the errors are known: absent ones have cleared
            candidates |= {f"power.{error}" for error in (*_SWITCH_ERRORS, *_errors(before))}
        cleared = candidates - present
        signals = [(kind, Signal.RAISE) for kind in sorted(present)]
        signals += [(kind, Signal.CLEAR) for kind in sorted(cleared)]
        return [
            Reading(
                device=device,
                kind=kind,
                signal=signal,
                point=point,
                device_time=stamp.at,
                clock=stamp.clock,
            )
            for kind, signal in signals
        ]


def _check(change: JsonObject) -> None:
    """The keys the alarms are read from must have the right shape before they are kept."""
    if change.has("errors"):
        for index, error in enumerate(change.array("errors")):
            if not isinstance(error, str) or not error:
                raise DecodeError(f"{change.at('errors')}[{index}]: expected an error name")
    if change.get("voltage") is not None:
        change.number("voltage")


def _errors(status: Mapping[str, object]) -> list[str]:
    errors = status.get("errors")
    return [str(error) for error in errors] if isinstance(errors, list) else []
