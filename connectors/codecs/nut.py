"""Network UPS Tools `ups.status` over MQTT: flat JSON (ups-json-publisher) or one topic per variable."""

from __future__ import annotations

import re

from dutydesk.connectors.codecs.base import CodecContext, DecodeError, Message
from dutydesk.connectors.codecs.common import CodecOptions, TextCodec, json_object, preview
from dutydesk.playbooks.alarms import Decoded, Reading, Signal
from dutydesk.playbooks.vocab import Severity

# The status tokens that are alarms (NUT docs/new-drivers.txt); OL, CHRG, DISCHRG, TRIM, BOOST,
# CAL … are not, and raise nothing.
_ALARMS = {
    "OB": "power.on_battery",
    "LB": "power.low_battery",
    "RB": "power.replace_battery",
    "OVER": "power.overload",
    "BYPASS": "power.bypass",
    "FSD": "power.shutdown",
    "OFF": "power.ups_off",
    "ALARM": "power.ups_alarm",
}
# Low battery means minutes left before the load drops: more severe than on battery, whose level
# the plan gives. A feed's `severities` option overrides these.
_SEVERITIES = {"LB": Severity.MAJOR, "FSD": Severity.MAJOR}
_TOKEN = re.compile(r"[A-Z]+")  # every status token is a capitalised word


class NutOptions(CodecOptions):
    device: str | None = None  # default: the UPS's name from the topic


class NutCodec(TextCodec):
    """`<topic>/<ups>` with the JSON of `upsc <ups>`, or `<base>/ups/status` with the plain value.

    The status is the whole truth about the UPS's power alarms: a token that is gone has cleared."""

    def __init__(self, context: CodecContext) -> None:
        options = NutOptions.read(context, "nut")
        self._device = options.device
        self.severities = options.graded()

    def read(self, message: Message, text: str) -> Decoded:
        segments = message.topic.split("/")
        if segments[-1] == "status":  # ups-mqtt publishes the variable ups.status as `<base>/ups/status`
            segments = segments[:-2] if segments[-2:] == ["ups", "status"] else segments[:-1]
            status = text
        else:
            status = json_object(text).text("ups.status")
        device = self._device or (segments[-1] if segments else "")
        if not device:
            raise DecodeError(
                f"cannot tell the UPS from topic {preview(message.topic)}; set the device option"
            )
        tokens = set(status.split())
        if not tokens:  # an empty status says nothing, least of all "all clear"
            return Decoded()
        if not all(_TOKEN.fullmatch(token) for token in tokens):
            raise DecodeError(f"not a ups.status value: {preview(status)}")
        readings = tuple(
            Reading(
                device=device,
                kind=kind,
                signal=Signal.RAISE,
                severity=_SEVERITIES.get(token),
                vendor_code=token,
                text=f"ups.status {' '.join(status.split())}",
            )
            for token, kind in _ALARMS.items()
            if token in tokens
        )
        return Decoded(readings, complete=((device, "power."),))
