"""Frigate NVR over MQTT: tracked objects (`events`), review items (`reviews`) and `available`."""

from __future__ import annotations

import dataclasses

from dutydesk.connectors.codecs.base import CodecContext, DecodeError, Message
from dutydesk.connectors.codecs.common import (
    JsonObject,
    TextCodec,
    TimedOptions,
    availability,
    json_object,
    preview,
)
from dutydesk.playbooks.alarms import Decoded, Reading, Signal

_SIGNALS = {"new": Signal.RAISE, "update": Signal.UPDATE, "end": Signal.CLEAR}
_REVIEW_KINDS = {"alert": "cctv.alert", "detection": "cctv.detection"}


def _names(item: JsonObject, *keys: str) -> tuple[str, ...]:
    """The strings of the arrays at `keys`, in order, once each; a missing array is empty."""
    names: list[str] = []
    for key in keys:
        if item.get(key) is None:
            continue
        for index, name in enumerate(item.array(key)):
            if not isinstance(name, str) or not name:
                raise DecodeError(f"{item.at(key)}[{index}]: expected a name")
            names.append(name)
    return tuple(dict.fromkeys(names))


def _review_kind(review: JsonObject) -> str:
    severity = review.text("severity")
    if severity not in _REVIEW_KINDS:
        raise DecodeError(f"{review.at('severity')}: unknown severity {preview(severity)}")
    return _REVIEW_KINDS[severity]


class FrigateCodec(TextCodec):
    """Topics `<prefix>/events`, `<prefix>/reviews` and `<prefix>/available`."""

    def __init__(self, context: CodecContext) -> None:
        options = TimedOptions.read(context, "frigate")
        self._clock = options.clock(context)
        self.severities = options.graded()

    def read(self, message: Message, text: str) -> Decoded:
        prefix, _, last = message.topic.rpartition("/")
        if last == "available":
            # the server relays its cameras: offline, nobody knows what they see
            server = availability(prefix or "frigate", text, online="online", offline="offline")
            return dataclasses.replace(server, relay=True)
        if last not in ("events", "reviews"):
            raise DecodeError(f"not a Frigate events, reviews or available topic: {preview(message.topic)}")
        payload = json_object(text)
        change = payload.text("type")
        if change not in _SIGNALS:
            raise DecodeError(f"$.type: unknown change {preview(change)}; expected new, update or end")
        signal = _SIGNALS[change]
        after = payload.child("after")
        # the start time dates a raise or an update, the end time dates the clear
        stamp = self._clock.read(
            after.get("end_time" if signal is Signal.CLEAR else "start_time"), message.received_at
        )

        def reading(
            kind: str,
            point: str,
            signal: Signal = signal,
            zones: tuple[str, ...] = (),
            related: tuple[str, ...] = (),
        ) -> Reading:
            return Reading(
                device=after.text("camera"),
                kind=kind,
                signal=signal,
                point=point,
                device_time=stamp.at,
                clock=stamp.clock,
                zones=zones,
                related=related,
            )

        if last == "events":
            label = after.text("label")
            kind = "cctv.person" if label == "person" else f"cctv.{label}"
            zones = _names(after, "current_zones", "entered_zones")
            return Decoded((reading(kind, f"{label}/{after.text('id')}", zones=zones),))
        kind = _review_kind(after)
        # a review names the tracked objects (the `events` ids) it is about: it belongs with them
        data = after.child("data") if after.get("data") is not None else JsonObject({}, after.at("data"))
        zones, detections = _names(data, "zones"), _names(data, "detections")
        review = after.text("id")
        before = payload.get("before")
        earlier = kind if before is None else _review_kind(JsonObject.of(before, "$.before"))
        current = reading(kind, review, zones=zones, related=detections)
        if earlier == kind:
            return Decoded((current,))
        # A severity upgrade changes the kind within one review id: clear the old kind, or it
        # would stay active for ever.
        return Decoded((current, reading(earlier, review, Signal.CLEAR)))
