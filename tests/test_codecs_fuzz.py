"""Property-based fuzzing of every codec: whatever arrives, decoding gives readings or a DecodeError."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dutydesk.connectors.codecs.base import MAX_PAYLOAD, Codec, DecodeError, Message
from dutydesk.connectors.codecs.hikvision import AlertStreamSplitter
from dutydesk.connectors.codecs.registry import CODECS
from dutydesk.playbooks.alarms import Decoded
from tests.test_codecs import FIXTURES, TOPICS, codec
from tests.test_codecs_options import VENDOR_FIELDS

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Topics each codec really meets, beside the arbitrary ones.
REAL_TOPICS = {
    "frigate": ["frigate/events", "frigate/reviews", "frigate/available"],
    "hikvision": ["hikvision/lobby_1f/alert", "http://10.20.3.21/ISAPI/Event/notification/alertStream"],
    "tasmota": [
        f"{p}/tasmota_5A9AE8/{c}"
        for p in ("tele", "stat")
        for c in ("LWT", "POWER", "RESULT", "STATE", "SENSOR", "MARGINS")
    ],
    "shelly": [f"shellyplus1pm-a8032ab1c2d4/{t}" for t in ("online", "events/rpc", "status/switch:0")],
    "nut": ["nut/ups-b1", "home/ups/ups/status"],
    "elevator": ["elevator/EGW-0B17/B1-L2/status", "lift/EGW-77/L3/fault"],
    "generic": ["netmon/core-sw-01/alarm"],
}
# Where each codec's fixtures live; the hostile ones go to everyone.
FOLDERS = {name: [name] for name in CODECS} | {"generic": ["generic", "nut"]}
# Keys the codecs look for, so that random objects reach past the first shape check.
KEYS = sorted(
    {"type", "after", "before", "camera", "label", "id", "severity", "start_time", "end_time"}
    | {"Time", "ENERGY", "Voltage", "MARGINS", "VoltageLow", "POWER"}
    | {"method", "params", "ts", "switch:0", "errors", "voltage", "output"}
    | {"ups.status", "gatewayId", "elevatorId", "time", "faults", "faultMask", "code", "name"}
    | {"device", "alarm", "state", "detail", "port"}
    | {"current_zones", "entered_zones", "data", "detections", "zones"}
    | {"alarmList", "alarmCode", "alarmName", "reportTime"}
)
# Each codec with its default options, and with the options of the formats integrators send.
CONFIGS = [(name, {}) for name in CODECS] + [
    ("elevator", {"fields": VENDOR_FIELDS, "severities": {"elevator.*": "III"}}),
    ("hikvision", {"device_segment": 1, "severities": {"cctv.intrusion": "II"}}),
    ("shelly", {"outage_voltage": 120, "severities": {"power.outage": "II"}}),
    ("nut", {"severities": {"power.*": "I"}}),
]


def _fixtures(name: str) -> list[bytes]:
    files = [f for folder in [*FOLDERS[name], "malformed"] for f in sorted((FIXTURES / folder).iterdir())]
    return [f.read_bytes() for f in files if f.suffix in (".json", ".txt", ".xml", ".bin")]


def _documents(bodies: list[bytes]) -> list[object]:
    documents = []
    for body in bodies:
        try:
            documents.append(json.loads(body))
        except ValueError:
            continue
    return documents


STREAM = (FIXTURES / "hikvision" / "alertstream_multipart.txt").read_bytes()
BODIES = {name: _fixtures(name) for name in CODECS}
DOCUMENTS = {name: _documents(BODIES[name]) for name in CODECS}

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["active", "inactive", "new", "end", "alert", "ON", "OFF", "OB LB", "2025-01-15 21:58:12"]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=24,
)
topics = st.lists(
    st.text(max_size=8) | st.sampled_from(["tele", "stat", "status", "events", "rpc", "ups"]), max_size=5
).map("/".join)
received = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
)


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    """A fixture with a few bytes flipped, cut away or inserted."""
    body = bytearray(draw(st.sampled_from(BODIES[name])))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(body)))
        match draw(st.sampled_from(["flip", "truncate", "insert", "delete"])):
            case "flip" if at < len(body):
                body[at] ^= 1 << draw(st.integers(min_value=0, max_value=7))
            case "truncate":
                del body[at:]
            case "insert":
                body[at:at] = draw(st.binary(min_size=1, max_size=8))
            case "delete":
                del body[at : at + draw(st.integers(min_value=1, max_value=8))]
    return bytes(body)


def _deeper(draw: st.DrawFn) -> bool:
    return draw(st.integers(min_value=0, max_value=3)) > 0  # mostly: the interesting shapes are inside


def _replace_somewhere(draw: st.DrawFn, value: object) -> object:
    """`value` with one value somewhere inside replaced by an arbitrary one, or a key removed."""
    if isinstance(value, dict) and value and _deeper(draw):
        key = draw(st.sampled_from(sorted(value)))
        changed = dict(value)
        if draw(st.booleans()):
            del changed[key]
        else:
            changed[key] = _replace_somewhere(draw, value[key])
        return changed
    if isinstance(value, list) and value and _deeper(draw):
        index = draw(st.integers(min_value=0, max_value=len(value) - 1))
        return [*value[:index], _replace_somewhere(draw, value[index]), *value[index + 1 :]]
    return draw(json_values)


@st.composite
def reshaped(draw: st.DrawFn, name: str) -> bytes:
    """A JSON fixture of the codec's own, reshaped somewhere inside."""
    documents = DOCUMENTS[name] or [None]  # the Hikvision fixtures hold no JSON
    return json.dumps(_replace_somewhere(draw, draw(st.sampled_from(documents)))).encode()


ALERT_FIELDS = ["ipAddress", "macAddress", "channelID", "dynChannelID", "dateTime", "eventType", "eventState"]
ALERT_WORDS = [
    "VMD",
    "videoloss",
    "linedetection",
    "active",
    "inactive",
    "1",
    "",
    "2025-01-15T21:47:05+08:00",
    "duration",
    "fielddetection",
]


@st.composite
def alerts(draw: st.DrawFn) -> bytes:
    """Well-formed EventNotificationAlerts with odd fields, so that decoding gets past the parser."""
    namespace = draw(st.sampled_from(["", ' xmlns="http://www.isapi.org/ver20/XMLSchema"']))
    # text an XML document may hold (no control characters), else the parser refuses it first
    values = st.sampled_from(ALERT_WORDS) | st.text(
        st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), max_size=25
    )
    fields = [
        ("eventType", draw(values)),
        ("eventState", draw(st.sampled_from(["active", "inactive"]) | values)),
    ]
    fields += draw(st.lists(st.tuples(st.sampled_from(ALERT_FIELDS), values)))
    body = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in fields)
    if draw(st.booleans()):  # an NVR's wrapper, naming the real event further down
        related = escape(draw(values))
        body += f"<DurationList><Duration><relationEvent>{related}</relationEvent></Duration></DurationList>"
    return f"<EventNotificationAlert{namespace}>{body}</EventNotificationAlert>".encode()


def payloads(name: str) -> st.SearchStrategy[bytes]:
    return (
        st.binary(max_size=300)
        | json_values.map(lambda value: json.dumps(value).encode())
        | mutated(name)
        | reshaped(name)
        | (alerts() if name == "hikvision" else st.nothing())
    )


def survives(codec: Codec, message: Message) -> None:
    """Decoded readings that make sense, or a DecodeError with a reason; never anything else."""
    outcome: Decoded | str
    try:
        outcome = codec.decode(message)
    except DecodeError as exc:
        outcome = exc.reason
    if isinstance(outcome, str):
        assert outcome  # the reason shown beside the dead letter
        return
    for reading in outcome.readings:
        assert reading.device
        assert reading.kind
        assert reading.device_time is None or reading.device_time.tzinfo is not None


@pytest.mark.parametrize(("name", "options"), CONFIGS)
@FUZZ
@given(data=st.data())
def test_every_codec_survives_anything(name: str, options: dict[str, object], data: st.DataObject) -> None:
    # several messages to one codec: Shelly keeps state between them
    instance = codec(name, **options)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        topic = data.draw(st.sampled_from([TOPICS[name], *REAL_TOPICS[name]]) | topics)
        body = data.draw(payloads(name))
        survives(instance, Message(topic, body, data.draw(received), data.draw(st.booleans())))


@FUZZ
@given(
    body=st.binary(max_size=2000) | mutated("hikvision").map(lambda part: b"--boundary\r\n" + part),
    cuts=st.lists(st.integers(min_value=1, max_value=300), max_size=10),
)
def test_the_alert_stream_splitter_survives_anything(body: bytes, cuts: list[int]) -> None:
    stream = STREAM + body
    splitter = AlertStreamSplitter(b"boundary")
    start = 0
    for size in [*cuts, len(stream)]:
        for part in splitter.feed(stream[start : start + size]):
            assert len(part) <= MAX_PAYLOAD + 1
        start += size
