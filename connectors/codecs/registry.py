"""The device codecs by the name a feed's configuration gives."""

from __future__ import annotations

from collections.abc import Callable

from dutydesk.connectors.codecs.base import Codec, CodecContext
from dutydesk.connectors.codecs.elevator import ElevatorCodec
from dutydesk.connectors.codecs.frigate import FrigateCodec
from dutydesk.connectors.codecs.generic import GenericCodec
from dutydesk.connectors.codecs.hikvision import HikvisionCodec
from dutydesk.connectors.codecs.nut import NutCodec
from dutydesk.connectors.codecs.shelly import ShellyCodec
from dutydesk.connectors.codecs.tasmota import TasmotaCodec

CODECS: dict[str, Callable[[CodecContext], Codec]] = {
    "frigate": FrigateCodec,
    "hikvision": HikvisionCodec,
    "tasmota": TasmotaCodec,
    "shelly": ShellyCodec,
    "nut": NutCodec,
    "elevator": ElevatorCodec,
    "generic": GenericCodec,
}


def build_codec(name: str, context: CodecContext) -> Codec:
    """A new codec (with its own per-device state); bad options are a ValueError naming the key."""
    if name not in CODECS:
        raise ValueError(f"unknown codec {name!r}; expected one of {', '.join(CODECS)}")
    return CODECS[name](context)
