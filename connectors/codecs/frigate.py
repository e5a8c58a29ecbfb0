"""Frigate NVR over MQTT: tracked objects (`events`), review items (`reviews`) and `available`."""

from __future__ import annotations

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


def _review_kind(review: JsonObject) -> str:
    severity = review.text("severity")
    if severity not in _REVIEW_KINDS:
        raise DecodeError(f"{review.at('severity')}: unknown severity {preview(severity)}")
    return _REVIEW_KINDS[severity]


class FrigateCodec(TextCodec):
    """Topics `<prefix>/events`, `<prefix>/reviews` and `<prefix>/available`."""

    def __init__(self, context: CodecContext) -> None:
        self._clock = TimedOptions.read(context, "frigate").clock(context)

    def read(self, message: Message, text: str) -> Decoded:
        prefix, _, last = message.topic.rpartition("/")
        if last == "available":
            return availability(prefix or "frigate", text, online="online", offline="offline")
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

        def reading(kind: str, point: str, signal: Signal = signal) -> Reading:
            return Reading(
                device=after.text("camera"),
                kind=kind,
                signal=signal,
                point=point,
                device_time=stamp.at,
                clock=stamp.clock,
            )

        if last == "events":
            label = after.text("label")
            kind = "cctv.person" if label == "person" else f"cctv.{label}"
            return Decoded((reading(kind, f"{label}/{after.text('id')}"),))
        kind = _review_kind(after)
        review = after.text("id")
        before = payload.get("before")
        earlier = kind if before is None else _review_kind(JsonObject.of(before, "$.before"))
        if earlier == kind:
            return Decoded((reading(kind, review),))
        # A severity upgrade changes the kind within one review id: clear the old kind, or it
        # would stay active for ever.
        return Decoded((reading(kind, review), reading(earlier, review, Signal.CLEAR)))
