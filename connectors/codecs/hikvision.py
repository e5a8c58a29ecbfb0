"""Hikvision ISAPI `EventNotificationAlert` XML, from an MQTT bridge or the camera's HTTP alertStream."""

from __future__ import annotations

from email.message import Message as MimeHeaders
from enum import Enum, auto
from xml.etree.ElementTree import ParseError

from defusedxml.ElementTree import DefusedXMLParser

from dutydesk.connectors.codecs.base import MAX_PAYLOAD, CodecContext, DecodeError, Message
from dutydesk.connectors.codecs.common import TextCodec, TimedOptions, preview
from dutydesk.playbooks.alarms import Decoded, Reading, Signal

_KINDS = {
    "vmd": "cctv.motion",
    "linedetection": "cctv.line_crossing",
    "fielddetection": "cctv.intrusion",
    "shelteralarm": "cctv.tamper",
    "tamperdetection": "cctv.tamper",
    "videoloss": "cctv.video_loss",
}
_STATES = {"active": Signal.RAISE, "inactive": Signal.CLEAR}
# Real alerts nest six levels at most; the caps keep a hostile document cheap to refuse.
_MAX_DEPTH = 32
_MAX_ELEMENTS = 5000


class HikvisionOptions(TimedOptions):
    device: str | None = None  # one camera per feed: its name
    # the topic segment naming the camera (0 first, -1 last); default: `<camera>` of the bridge's
    # `…/<camera>/alert`, else the camera's MAC (its IP only on the HTTP alertStream)
    device_segment: int | None = None


# Elements below the root's children whose text the codec needs: an NVR's `duration` event names
# the real one in DurationList/Duration/relationEvent.
_NESTED = frozenset({"relationEvent"})


class _AlertFields:
    """Parser target keeping the text of the root's children (and of `_NESTED` elements at any
    depth) by local name; builds no tree."""

    def __init__(self) -> None:
        self.root = ""
        self.fields: dict[str, str] = {}
        self._depth = 0
        self._elements = 0
        self._child = ""
        self._nested = ""
        self._text: list[str] = []

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self._depth += 1
        self._elements += 1
        if self._depth > _MAX_DEPTH:
            raise DecodeError(f"XML nested deeper than {_MAX_DEPTH} levels")
        if self._elements > _MAX_ELEMENTS:
            raise DecodeError(f"XML of over {_MAX_ELEMENTS} elements")
        name = tag.rpartition("}")[2]  # namespaces vary by firmware and vendor: match local names
        if self._depth == 1:
            self.root = name
        elif self._depth == 2:
            self._child, self._text = name, []
        elif name in _NESTED and name not in self.fields:
            self._nested, self._text = name, []

    def data(self, text: str) -> None:
        if self._depth == 2 or self._nested:
            self._text.append(text)

    def end(self, tag: str) -> None:
        if self._nested and tag.rpartition("}")[2] == self._nested:
            self.fields[self._nested] = "".join(self._text).strip()
            self._nested = ""
        elif self._depth == 2:
            self.fields.setdefault(self._child, "".join(self._text).strip())
        self._depth -= 1

    def close(self) -> None:
        """Called by the parser at the end; the fields are already in place."""


def parse_alert(text: str) -> dict[str, str]:
    """The fields of an EventNotificationAlert; DTDs (entity bombs, external entities) are refused."""
    target = _AlertFields()
    parser = DefusedXMLParser(target=target, forbid_dtd=True)
    try:
        parser.feed(text)
        parser.close()
    except ParseError as exc:
        raise DecodeError(f"malformed XML: {exc}") from None
    except ValueError as exc:  # defusedxml's refusals: DTDForbidden, EntitiesForbidden, ...
        raise DecodeError(f"refused XML ({type(exc).__name__}): DTDs and entities are not accepted") from None
    if target.root != "EventNotificationAlert":
        raise DecodeError(f"expected an EventNotificationAlert, got {preview(target.root)}")
    return target.fields


class HikvisionCodec(TextCodec):
    """One alert per message; `videoloss` + `inactive` is the camera's keep-alive, not a clear."""

    def __init__(self, context: CodecContext) -> None:
        options = HikvisionOptions.read(context, "hikvision")
        self._device = options.device
        self._segment = options.device_segment
        self._clock = options.clock(context)
        self.severities = options.graded()

    def read(self, message: Message, text: str) -> Decoded:
        fields = parse_alert(text)
        event = fields.get("eventType", "")
        state = fields.get("eventState", "")
        if not event:
            raise DecodeError("eventType: missing")
        if event.lower() == "duration":  # an NVR's wrapper: the real event is the related one
            event = fields.get("relationEvent") or event
        if state not in _STATES:
            raise DecodeError(f"eventState: expected active or inactive, got {preview(state)}")
        keepalive = event.lower() == "videoloss" and state == "inactive"
        stamp = self._clock.read(fields.get("dateTime") or None, message.received_at)
        description = [fields.get(name, "") for name in ("eventDescription", "channelName")]
        return Decoded(
            (
                Reading(
                    device=self._device_of(message.topic, fields),
                    kind=_KINDS.get(event.lower(), f"cctv.{event.lower()}"),
                    signal=Signal.HEARTBEAT if keepalive else _STATES[state],
                    point=fields.get("channelID") or fields.get("dynChannelID") or "",
                    vendor_code=fields["eventType"],  # "duration" when an NVR wrapped it
                    device_time=stamp.at,
                    clock=stamp.clock,
                    text=", ".join(part for part in description if part) or None,
                ),
            )
        )

    def _device_of(self, topic: str, fields: dict[str, str]) -> str:
        segments = topic.split("/")
        if self._segment is not None:
            named = segments[self._segment] if -len(segments) <= self._segment < len(segments) else ""
        else:  # the bridge's `hikvision/<camera>/alert`
            named = segments[-2] if len(segments) >= 3 and segments[-1] == "alert" else ""
        # An address changes with DHCP and an NVR's cameras share it; the MAC stays with the
        # camera. On the HTTP alertStream the address is the one dialled, so it names it there.
        addresses = (
            ("ipAddress", "macAddress")
            if topic.startswith(("http://", "https://"))
            else ("macAddress", "ipAddress")
        )
        device = self._device or named or next((fields[a] for a in addresses if fields.get(a)), "")
        if not device:
            raise DecodeError("cannot tell the camera: no device option, topic segment or address")
        return device


# -- the HTTP alertStream ------------------------------------------------------------------------


def stream_boundary(content_type: str) -> bytes:
    """The part boundary from the alertStream's Content-Type header."""
    headers = MimeHeaders()
    headers["Content-Type"] = content_type
    boundary = headers.get_boundary()
    if headers.get_content_maintype() != "multipart" or not boundary:
        raise DecodeError(f"not a multipart stream: Content-Type {preview(content_type)}")
    return boundary.encode("latin-1")


class _Step(Enum):
    SEEK = auto()  # looking for the next `--boundary`
    HEADERS = auto()  # reading a part's headers
    BODY = auto()  # reading a part's body


_MAX_HEADERS = 8 * 1024  # a part's header block; beyond this it is garbage, not headers


class AlertStreamSplitter:
    """Splits an alertStream body (multipart/mixed that never ends) into XML part bodies.

    Feed it the bytes as they arrive; each call returns the XML parts completed so far. Picture
    parts are skipped without being kept. Parts end by their Content-Length, so a part is handed
    on the moment its last byte arrives, not when the next boundary does; a part without one ends
    at the next boundary. An XML part over MAX_PAYLOAD is handed on cut to MAX_PAYLOAD + 1 bytes,
    so that decoding refuses it as too large while memory stays bounded.
    """

    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"--" + boundary
        self._buffer = bytearray()
        self._step = _Step.SEEK
        self._remaining: int | None = None  # body bytes still to come; None: up to the boundary
        self._keep = False  # an XML part (kept) or a picture (skipped)
        self._body = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buffer += chunk
        parts: list[bytes] = []
        while self._advance(parts):
            pass
        return parts

    def _advance(self, parts: list[bytes]) -> bool:
        """One step of the state machine; False when it needs more bytes."""
        match self._step:
            case _Step.SEEK:
                return self._seek()
            case _Step.HEADERS:
                return self._headers()
            case _Step.BODY:
                return self._read_body(parts)

    def _seek(self) -> bool:
        found = self._buffer.find(self._delimiter)
        if found < 0:  # keep only what may be the start of a delimiter
            del self._buffer[: max(0, len(self._buffer) - len(self._delimiter) + 1)]
            return False
        del self._buffer[: found + len(self._delimiter)]
        self._step = _Step.HEADERS
        return True

    def _headers(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEADERS:
                self._step = _Step.SEEK
                return True
            return False
        headers: dict[str, str] = {}
        for line in self._buffer[:end].decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        del self._buffer[: end + 4]
        length = headers.get("content-length", "")
        self._remaining = int(length) if length.isascii() and length.isdigit() else None
        self._keep = "xml" in headers.get("content-type", "").lower()
        self._body = bytearray()
        self._step = _Step.BODY
        return True

    def _read_body(self, parts: list[bytes]) -> bool:
        if self._remaining is None:
            found = self._buffer.find(b"\r\n" + self._delimiter)
            done = found >= 0
            # without the boundary in sight, hold back what may be its start
            take = found if done else max(0, len(self._buffer) - len(self._delimiter) - 1)
        else:
            take = min(self._remaining, len(self._buffer))
            self._remaining -= take
            done = self._remaining == 0
        if self._keep:
            self._body += self._buffer[: min(take, MAX_PAYLOAD + 1 - len(self._body))]
        del self._buffer[:take]
        if not done:
            return False
        if self._keep:
            parts.append(bytes(self._body))
        self._step = _Step.SEEK
        return True
