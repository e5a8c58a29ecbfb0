"""Device codecs on the real-format fixtures: the exact readings each message yields, and refusals."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dutydesk.connectors.codecs.base import MAX_PAYLOAD, Codec, CodecContext, DecodeError, Message
from dutydesk.connectors.codecs.elevator import DEFAULT_CODEBOOK
from dutydesk.connectors.codecs.hikvision import AlertStreamSplitter, stream_boundary
from dutydesk.connectors.codecs.registry import CODECS, build_codec
from dutydesk.playbooks.alarms import OFFLINE_KIND, ClockNote, Decoded, Reading, Signal
from dutydesk.playbooks.vocab import Severity
from tests.conftest import SHANGHAI

FIXTURES = Path(__file__).parent / "fixtures" / "alarms"
RAISE, UPDATE, CLEAR, HEARTBEAT = Signal.RAISE, Signal.UPDATE, Signal.CLEAR, Signal.HEARTBEAT


def local(hour: int, minute: int, second: int = 0) -> datetime:
    """A time on the fixtures' evening, 2025-01-15 in Shanghai."""
    return datetime(2025, 1, 15, hour, minute, second, tzinfo=SHANGHAI)


def epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def payload(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# The generic mapping of the fixtures' example; `topic` and `retained` say what to subscribe to,
# which is the feed's business, not the codec's.
MAPPING = {
    key: value
    for key, value in yaml.safe_load(payload("generic/mapping_example.yaml")).items()
    if key not in ("topic", "retained")
} | {"kind_prefix": "network."}

# For each codec: its options in these tests and a topic of its own on which the fixtures arrive.
OPTIONS: dict[str, dict[str, object]] = {name: {} for name in CODECS} | {"generic": MAPPING}
TOPICS = {
    "frigate": "frigate/events",
    "hikvision": "hikvision/lobby_1f/alert",
    "tasmota": "tele/tasmota_5A9AE8/SENSOR",
    "shelly": "shellyplus1pm-a8032ab1c2d4/events/rpc",
    "nut": "nut/ups-b1",
    "elevator": "elevator/EGW-0B17/B1-L2/status",
    "generic": "netmon/core-sw-01/alarm",
}
JSON_CODECS = [name for name in CODECS if name != "hikvision"]


def codec(name: str, **options: object) -> Codec:
    return build_codec(name, CodecContext(zone=SHANGHAI, options=OPTIONS[name] | options))


def decode(
    name: str, topic: str, body: bytes, at: datetime, *, retained: bool = False, **options: object
) -> Decoded:
    return codec(name, **options).decode(Message(topic, body, at, retained))


def refusal(name: str, body: bytes, topic: str | None = None) -> str:
    with pytest.raises(DecodeError) as caught:
        decode(name, topic or TOPICS[name], body, local(21, 50))
    return caught.value.reason


# -- Frigate -------------------------------------------------------------------------------------

EVENT = "person/1736948823.512346-k2x9qa"
REVIEW = "1736948824.312291-fqk5ka"


DETECTION = "1736948823.512346-k2x9qa"


def frigate(
    kind: str,
    signal: Signal,
    point: str,
    at: float,
    zones: tuple[str, ...] = (),
    related: tuple[str, ...] = (),
) -> Reading:
    return Reading(
        device="lobby_1f",
        kind=kind,
        signal=signal,
        point=point,
        device_time=epoch(at),
        zones=zones,
        related=related,
    )


HALL = ("entrance", "lobby")


@pytest.mark.parametrize(
    ("topic", "name", "readings"),
    [
        # the zones the object is in or has entered are where it happened
        (
            "frigate/events",
            "events_new.json",
            [frigate("cctv.person", RAISE, EVENT, 1736948823.512346, ("entrance",))],
        ),
        (
            "frigate/events",
            "events_update.json",
            [frigate("cctv.person", UPDATE, EVENT, 1736948823.512346, HALL)],
        ),
        # the end is dated by its end time
        ("frigate/events", "events_end.json", [frigate("cctv.person", CLEAR, EVENT, 1736948871.90441, HALL)]),
        (
            # a review names the tracked objects it is about, so that it can join their incident
            "frigate/reviews",
            "reviews_new_detection.json",
            [frigate("cctv.detection", RAISE, REVIEW, 1736948824.312291, related=(DETECTION,))],
        ),
        (
            # an upgrade keeps the review id; the detection it was is cleared, never left behind
            "frigate/reviews",
            "reviews_update_alert.json",
            [
                frigate("cctv.alert", UPDATE, REVIEW, 1736948824.312291, ("entrance",), (DETECTION,)),
                frigate("cctv.detection", CLEAR, REVIEW, 1736948824.312291),
            ],
        ),
        (
            "frigate/reviews",
            "reviews_end.json",
            [frigate("cctv.alert", CLEAR, REVIEW, 1736948871.90441, HALL, (DETECTION,))],
        ),
    ],
)
def test_frigate_events_and_reviews(topic: str, name: str, readings: list[Reading]) -> None:
    at = readings[0].device_time
    assert at is not None
    assert decode("frigate", topic, payload(f"frigate/{name}"), at + timedelta(seconds=1)) == Decoded(
        tuple(readings)
    )


@pytest.mark.parametrize(
    ("name", "signal"), [("available_offline.txt", RAISE), ("available_online.txt", CLEAR)]
)
def test_frigate_availability_is_the_nvrs_offline_alarm(name: str, signal: Signal) -> None:
    body = payload(f"frigate/{name}")
    # the server relays its cameras: what they saw becomes unknown with it
    expected = Decoded((Reading(device="frigate", kind=OFFLINE_KIND, signal=signal),), relay=True)
    assert decode("frigate", "frigate/available", body, local(21, 50), retained=True) == expected
    other = decode("frigate", "site-b/nvr/available", body, local(21, 50))
    assert other.readings[0].device == "site-b/nvr"  # the device is the topic prefix


def test_frigate_other_labels_and_refusals() -> None:
    car = payload("frigate/events_new.json").replace(b'"label": "person"', b'"label": "car"')
    (reading,) = decode("frigate", "frigate/events", car, local(21, 47, 4)).readings
    assert (reading.kind, reading.point) == ("cctv.car", "car/1736948823.512346-k2x9qa")
    assert "unknown change 'gone'" in refusal("frigate", b'{"type": "gone", "after": {}}')
    assert "$.after: expected an object, got nothing" in refusal("frigate", b'{"type": "new"}')
    assert "$.after.camera" in refusal("frigate", b'{"type": "new", "after": {"label": "person", "id": "x"}}')
    assert "not a Frigate" in refusal("frigate", b"1", topic="frigate/stats")
    assert "expected 'online' or 'offline'" in refusal("frigate", b"maybe", topic="frigate/available")


# -- Hikvision -----------------------------------------------------------------------------------


def camera(
    device: str, kind: str, signal: Signal, code: str, at: datetime, text: str, point: str = "1"
) -> Reading:
    return Reading(
        device=device, kind=kind, signal=signal, point=point, vendor_code=code, device_time=at, text=text
    )


@pytest.mark.parametrize(
    ("topic", "name", "reading"),
    [
        (
            "hikvision/lobby_1f/alert",
            "vmd_active.xml",
            camera("lobby_1f", "cctv.motion", RAISE, "VMD", local(21, 47, 5), "Motion alarm, Lobby 1F"),
        ),
        (
            "hikvision/gate_east/alert",
            "linedetection_active.xml",
            camera(
                "gate_east",
                "cctv.line_crossing",
                RAISE,
                "linedetection",
                local(21, 47, 6),
                "linedetection alarm, Gate East",
            ),
        ),
        (
            "hikvision/carpark_b1/alert",
            "fielddetection_active_ver10.xml",
            camera(
                "carpark_b1",
                "cctv.intrusion",
                RAISE,
                "fielddetection",
                local(21, 48, 11),
                "fielddetection alarm, Car Park B1",
            ),
        ),
        (
            # the keep-alive: says the camera is there, and nothing about video loss
            "hikvision/lobby_1f/alert",
            "videoloss_inactive_heartbeat.xml",
            camera(
                "lobby_1f", "cctv.video_loss", HEARTBEAT, "videoloss", local(21, 47, 13), "videoloss alarm"
            ),
        ),
        (
            "hikvision/stair_3f/alert",
            "shelteralarm_active.xml",
            camera(
                "stair_3f",
                "cctv.tamper",
                RAISE,
                "shelteralarm",
                local(22, 3, 40),
                "shelteralarm alarm, Stairwell 3F",
            ),
        ),
        (
            "hikvision/nvr_b1/alert",
            "nvr_vmd_dynchannel.xml",
            camera("nvr_b1", "cctv.motion", RAISE, "VMD", local(21, 49, 30), "Motion alarm", point="5"),
        ),
        (
            "hikvision/nvr_b1/alert",
            "nvr_heartbeat_isapi_org.xml",
            camera(
                "nvr_b1",
                "cctv.video_loss",
                HEARTBEAT,
                "videoloss",
                local(21, 47, 2),
                "videoloss alarm",
                point="",
            ),
        ),
    ],
)
def test_hikvision_alerts(topic: str, name: str, reading: Reading) -> None:
    assert reading.device_time is not None
    at = reading.device_time + timedelta(seconds=1)
    assert decode("hikvision", topic, payload(f"hikvision/{name}"), at) == Decoded((reading,))


def test_hikvision_times_without_zone_or_unreadable() -> None:
    (tamper,) = decode(
        "hikvision",
        "hikvision/archive/alert",
        payload("hikvision/tamperdetection_active_no_tz.xml"),
        local(22, 5, 3),
    ).readings
    assert (tamper.kind, tamper.signal, tamper.clock) == ("cctv.tamper", RAISE, ClockNote.NO_ZONE)
    assert tamper.device_time == local(22, 5, 2)
    assert tamper.device_time is not None and tamper.device_time.tzinfo is SHANGHAI
    (oem,) = decode(
        "hikvision", "hikvision/oem_cam/alert", payload("hikvision/oem_bad_datetime.xml"), local(21, 50, 31)
    ).readings
    unreadable = camera(
        "oem_cam", "cctv.video_loss", HEARTBEAT, "videoloss", local(21, 50, 31), "videoloss alarm"
    )
    assert oem == replace(unreadable, point="0", device_time=None, clock=ClockNote.UNREADABLE)


def test_hikvision_device_from_option_topic_or_address() -> None:
    body = payload("hikvision/vmd_active.xml")
    at = local(21, 47, 6)
    assert (
        decode("hikvision", "hikvision/lobby_1f/alert", body, at, device="cam-7").readings[0].device
        == "cam-7"
    )
    # the HTTP alertStream has no bridge topic: the camera's address names it
    assert (
        decode("hikvision", "http://10.20.3.21/ISAPI/Event/notification/alertStream", body, at)
        .readings[0]
        .device
        == "10.20.3.21"
    )
    no_ip = body.replace(b"<ipAddress>10.20.3.21</ipAddress>", b"")
    assert decode("hikvision", "cams", no_ip, at).readings[0].device == "c0:56:e3:4a:7b:12"


def test_hikvision_other_events_states_and_skew() -> None:
    body = payload("hikvision/vmd_active.xml")
    at = local(21, 47, 5)
    io = body.replace(b"<eventType>VMD</eventType>", b"<eventType>IO</eventType>")
    assert decode("hikvision", TOPICS["hikvision"], io, at).readings[0].kind == "cctv.io"
    ended = body.replace(b"<eventState>active</eventState>", b"<eventState>inactive</eventState>")
    assert decode("hikvision", TOPICS["hikvision"], ended, at).readings[0].signal is CLEAR
    late = decode("hikvision", TOPICS["hikvision"], body, at + timedelta(minutes=6)).readings[0]
    assert (late.device_time, late.clock) == (at, ClockNote.SKEWED)
    tolerant = decode("hikvision", TOPICS["hikvision"], body, at + timedelta(minutes=6), max_skew="10m")
    assert tolerant.readings[0].clock is None
    assert "eventState: expected active or inactive, got 'paused'" in refusal(
        "hikvision", body.replace(b">active<", b">paused<")
    )
    assert "eventType: missing" in refusal("hikvision", body.replace(b"<eventType>VMD</eventType>", b""))
    assert "expected an EventNotificationAlert, got 'ResponseStatus'" in refusal(
        "hikvision", b"<ResponseStatus><statusCode>4</statusCode></ResponseStatus>"
    )


def test_hikvision_deep_xml_is_refused() -> None:
    deep = b"<EventNotificationAlert>" + b"<a>" * 30_000 + b"</a>" * 30_000 + b"</EventNotificationAlert>"
    assert "XML nested deeper than 32 levels" in refusal("hikvision", deep)
    wide = b"<EventNotificationAlert>" + b"<a/>" * 20_000 + b"</EventNotificationAlert>"
    assert "XML of over 5000 elements" in refusal("hikvision", wide)


# -- the HTTP alertStream ------------------------------------------------------------------------


def alert_stream() -> tuple[bytes, bytes]:
    """The recorded response's boundary (from its Content-Type header) and its body."""
    head, _, body = payload("hikvision/alertstream_multipart.txt").partition(b"\r\n\r\n")
    (content_type,) = [
        line.partition(b":")[2].decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-type:")
    ]
    return stream_boundary(content_type), body


def xml_part(body: bytes, content_type: bytes = b'application/xml; charset="UTF-8"') -> bytes:
    return (
        b"--boundary\r\nContent-Type: "
        + content_type
        + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
        + b"\r\n"
    )


def test_alert_stream_boundary() -> None:
    assert stream_boundary("multipart/mixed; boundary=boundary") == b"boundary"
    assert stream_boundary('multipart/mixed; boundary="MIME_boundary"') == b"MIME_boundary"
    with pytest.raises(DecodeError, match="not a multipart stream"):
        stream_boundary("application/xml")


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=600), max_size=20))
def test_alert_stream_splits_whatever_the_chunks(cuts: list[int]) -> None:
    boundary, body = alert_stream()
    splitter = AlertStreamSplitter(boundary)
    parts: list[bytes] = []
    start = 0
    for size in [*cuts, len(body)]:
        parts += splitter.feed(body[start : start + size])
        start += size
    # each part is handed on as soon as its Content-Length is complete: none waits for the next
    # boundary, which on a camera may be ten seconds away
    readings = [
        decode("hikvision", "hikvision/lobby_1f/alert", part, local(21, 47, 8)).readings[0] for part in parts
    ]
    assert [(r.kind, r.signal) for r in readings] == [
        ("cctv.video_loss", HEARTBEAT),
        ("cctv.motion", RAISE),
        ("cctv.motion", RAISE),
        ("cctv.motion", RAISE),
        ("cctv.video_loss", HEARTBEAT),
    ]
    assert [r.device_time for r in readings[:4]] == [local(21, 47, s) for s in (3, 5, 6, 7)]


def test_alert_stream_skips_pictures_and_survives_odd_parts() -> None:
    xml = payload("hikvision/vmd_active.xml")
    picture = b"\xff\xd8\xff\xe0" + b"--boundary\r\n" * 3 + bytes(range(256)) * 40 + b"\xff\xd9"
    no_length = b"--boundary\r\nContent-Type: application/xml\r\n\r\n" + xml + b"\r\n"
    stream = (
        b"preamble\r\n"
        + xml_part(xml)
        + xml_part(picture, b"image/jpeg")
        + no_length  # ended by the next boundary instead
        + xml_part(b"<not xml", b"text/plain")
        + xml_part(xml)
    )
    splitter = AlertStreamSplitter(b"boundary")
    assert [part for i in range(0, len(stream), 7) for part in splitter.feed(stream[i : i + 7])] == [xml] * 3


def test_alert_stream_cuts_an_oversized_part_so_that_decoding_refuses_it() -> None:
    huge = b"<EventNotificationAlert>" + b" " * MAX_PAYLOAD + b"</EventNotificationAlert>"
    stream = xml_part(huge)
    splitter = AlertStreamSplitter(b"boundary")
    parts = [part for i in range(0, len(stream), 65536) for part in splitter.feed(stream[i : i + 65536])]
    assert [len(part) for part in parts] == [MAX_PAYLOAD + 1]
    assert "larger than" in refusal("hikvision", parts[0])
    assert splitter.feed(xml_part(b"<a/>")) == [b"<a/>"]  # and the stream goes on


# -- Tasmota -------------------------------------------------------------------------------------

PLUG = "tasmota_5A9AE8"


def supply(
    outage: Signal, low: Signal, volts: str, at: datetime, clock: ClockNote = ClockNote.NO_ZONE
) -> Decoded:
    return Decoded(
        tuple(
            Reading(
                device=PLUG,
                kind=kind,
                signal=signal,
                point="ENERGY",
                device_time=at,
                clock=clock,
                text=f"{volts} V",
            )
            for kind, signal in (("power.outage", outage), ("power.undervoltage", low))
        )
    )


def beat(
    device: str, at: datetime | None = None, clock: ClockNote | None = None, text: str | None = None
) -> Reading:
    return Reading(
        device=device, kind="device.status", signal=HEARTBEAT, device_time=at, clock=clock, text=text
    )


@pytest.mark.parametrize(
    ("topic", "name", "expected"),
    [
        (
            "tele/{}/LWT",
            "tele_lwt_online.txt",
            Decoded((Reading(device=PLUG, kind=OFFLINE_KIND, signal=CLEAR),)),
        ),
        (
            "tele/{}/LWT",
            "tele_lwt_offline.txt",
            Decoded((Reading(device=PLUG, kind=OFFLINE_KIND, signal=RAISE),)),
        ),
        # a relay's state is not an alarm by itself
        ("stat/{}/POWER", "stat_power_on.txt", Decoded((beat(PLUG, text="POWER ON"),))),
        ("stat/{}/POWER", "stat_power_off.txt", Decoded((beat(PLUG, text="POWER OFF"),))),
        ("stat/{}/RESULT", "stat_result_power_off.json", Decoded((beat(PLUG),))),
        ("tele/{}/STATE", "tele_state.json", Decoded((beat(PLUG, local(21, 50), ClockNote.NO_ZONE),))),
        ("tele/{}/SENSOR", "tele_sensor_energy.json", supply(CLEAR, CLEAR, "221", local(21, 50))),
        ("tele/{}/SENSOR", "tele_sensor_low_voltage.json", supply(CLEAR, RAISE, "176", local(21, 55))),
        (
            # before NTP the clock counts up from 1970: kept, but noted as not to be trusted
            "tele/{}/SENSOR",
            "tele_sensor_clock_unsynced.json",
            supply(CLEAR, CLEAR, "219", datetime(1970, 1, 1, 0, 33, 28, tzinfo=SHANGHAI), ClockNote.SKEWED),
        ),
        (
            "tele/{}/MARGINS",
            "tele_margins_voltagelow_on.json",
            Decoded(
                (
                    Reading(
                        device=PLUG,
                        kind="power.undervoltage",
                        signal=RAISE,
                        point="MARGINS",
                        vendor_code="VoltageLow",
                    ),
                )
            ),
        ),
        (
            "tele/{}/MARGINS",
            "tele_margins_voltagelow_off.json",
            Decoded(
                (
                    Reading(
                        device=PLUG,
                        kind="power.undervoltage",
                        signal=CLEAR,
                        point="MARGINS",
                        vendor_code="VoltageLow",
                    ),
                )
            ),
        ),
    ],
)
def test_tasmota(topic: str, name: str, expected: Decoded) -> None:
    retained = "LWT" in topic
    body = payload(f"tasmota/{name}")
    # the fixtures span the evening: allow for it, so that only the unsynced clock is skewed
    received = local(21, 55, 1)
    assert decode("tasmota", topic.format(PLUG), body, received, retained=retained, max_skew="1h") == expected


def test_tasmota_outage_thresholds_and_three_phases() -> None:
    def sensor(voltage: str) -> bytes:
        return b'{"Time":"2025-01-15T21:56:00","ENERGY":{"Voltage":%s}}' % voltage.encode()

    topic, at = "tele/tasmota_5A9AE8/SENSOR", local(21, 56)
    assert decode("tasmota", topic, sensor("0"), at) == supply(RAISE, CLEAR, "0", at)
    assert decode("tasmota", topic, sensor("80"), at, outage_voltage=100) == supply(RAISE, CLEAR, "80", at)
    assert decode("tasmota", topic, sensor("205.5"), at, low_voltage=210) == supply(CLEAR, RAISE, "205.5", at)
    assert decode("tasmota", topic, sensor("[230, 0, 229]"), at) == supply(RAISE, CLEAR, "0", at)
    no_energy = b'{"Time":"2025-01-15T21:56:00","DS18B20":{"Temperature":21.5}}'
    assert decode("tasmota", topic, no_energy, at) == Decoded((beat(PLUG, at, ClockNote.NO_ZONE),))


def test_tasmota_other_telemetry_and_refusals() -> None:
    assert decode("tasmota", "tele/plug/INFO1", b'{"Info1":{}}', local(21, 50)) == Decoded((beat("plug"),))
    assert "not a Tasmota" in refusal("tasmota", b"ON", topic="cmnd/plug/POWER")
    assert "not a Tasmota" in refusal("tasmota", b"ON", topic="tele/POWER")
    assert "POWER2: expected ON or OFF, got 'TOGGLE'" in refusal(
        "tasmota", b"TOGGLE", topic="stat/plug/POWER2"
    )
    assert "expected 'Online' or 'Offline'" in refusal("tasmota", b"online", topic="tele/plug/LWT")
    assert "$.ENERGY.Voltage: expected a number, got a string" in refusal(
        "tasmota", b'{"ENERGY":{"Voltage":"230"}}'
    )
    assert "$.MARGINS.VoltageLow" in refusal(
        "tasmota", b'{"MARGINS":{"VoltageLow":"MAYBE"}}', "tele/plug/MARGINS"
    )


def test_a_byte_order_mark_before_json_is_tolerated() -> None:
    # RFC 8259 lets a parser ignore a BOM; refusing it would lose every message of such a device
    body = payload("malformed/json_utf8_bom.json")
    assert decode("tasmota", "stat/tasmota_5A9AE8/RESULT", body, local(21, 50)) == Decoded((beat(PLUG),))


# -- Shelly --------------------------------------------------------------------------------------

SHELLY = "shellyplus1pm-a8032ab1c2d4"


def switch(*signals: tuple[str, Signal], at: datetime | None) -> Decoded:
    return Decoded(
        tuple(
            Reading(device=SHELLY, kind=f"power.{kind}", signal=signal, point="switch:0", device_time=at)
            for kind, signal in signals
        )
    )


def test_shelly_online() -> None:
    for name, signal in (("online_true.txt", CLEAR), ("online_false.txt", RAISE)):
        for retained in (False, True):  # whether Gen2 retains `online` is not documented
            decoded = decode(
                "shelly", f"{SHELLY}/online", payload(f"shelly/{name}"), local(21, 50), retained=retained
            )
            assert decoded == Decoded((Reading(device=SHELLY, kind=OFFLINE_KIND, signal=signal),))


def test_shelly_deltas_are_laid_over_the_last_full_status() -> None:
    shelly = codec("shelly", max_skew="1h")  # the messages span 21:45 to 21:52

    def send(name: str, topic: str = "events/rpc") -> Decoded:
        return shelly.decode(Message(f"{SHELLY}/{topic}", payload(f"shelly/{name}"), local(21, 58)))

    clear_all = [(kind, CLEAR) for kind in ("overpower", "overtemp", "overvoltage", "undervoltage")]
    # a measured voltage also tells that the supply has not failed
    clear_measured = [("outage", CLEAR), *clear_all]
    # before any full status, a delta without errors tells nothing about them
    assert send("events_rpc_notifystatus_output_off.json") == Decoded((beat(SHELLY, epoch(1736949012.47)),))
    assert send("events_rpc_notifyfullstatus.json") == switch(*clear_measured, at=epoch(1736948701.93))
    assert send("events_rpc_notifystatus_output_off.json") == switch(*clear_measured, at=epoch(1736949012.47))
    assert send("events_rpc_notifystatus_voltage_delta.json") == switch(
        ("undervoltage", RAISE),
        ("outage", CLEAR),
        ("overpower", CLEAR),
        ("overtemp", CLEAR),
        ("overvoltage", CLEAR),
        at=epoch(1736949071.02),
    )
    # the voltage of the earlier delta still holds: undervoltage stays raised beside overtemp
    assert send("events_rpc_notifystatus_errors_overtemp.json") == switch(
        ("overtemp", RAISE),
        ("undervoltage", RAISE),
        ("outage", CLEAR),
        ("overpower", CLEAR),
        ("overvoltage", CLEAR),
        at=epoch(1736949133.66),
    )
    # a full status without `errors` clears them all
    assert send("status_switch0_normal.json", "status/switch:0") == switch(*clear_measured, at=None)
    assert send("status_switch0_undervoltage.json", "status/switch:0") == switch(
        ("undervoltage", RAISE),
        ("outage", CLEAR),
        ("overpower", CLEAR),
        ("overtemp", CLEAR),
        ("overvoltage", CLEAR),
        at=None,
    )


def test_shelly_delta_alone_raises_but_never_clears_errors() -> None:
    at = epoch(1736949071.02)
    body = payload("shelly/events_rpc_notifystatus_voltage_delta.json")
    assert decode("shelly", f"{SHELLY}/events/rpc", body, local(21, 51)) == switch(
        ("undervoltage", RAISE), ("outage", CLEAR), at=at
    )
    assert decode("shelly", f"{SHELLY}/events/rpc", body, local(21, 51), low_voltage=180) == switch(
        ("outage", CLEAR), at=at
    )
    other = b'{"method":"NotifyStatus","params":{"ts":1736949071.02,"switch:0":{"errors":["overcurrent"]}}}'
    assert decode("shelly", f"{SHELLY}/events/rpc", other, local(21, 51)).readings[0] == Reading(
        device=SHELLY, kind="power.overcurrent", signal=RAISE, point="switch:0", device_time=at
    )


def test_shelly_keeps_status_per_device_and_refuses_bad_shapes() -> None:
    shelly = codec("shelly")
    full = payload("shelly/status_switch0_undervoltage.json")
    shelly.decode(Message("a/status/switch:0", full, local(21, 50)))
    delta = b'{"method":"NotifyStatus","params":{"switch:0":{"output":true}}}'
    assert (
        shelly.decode(Message("a/events/rpc", delta, local(21, 50))).readings[0].kind == "power.undervoltage"
    )
    assert shelly.decode(Message("b/events/rpc", delta, local(21, 50))) == Decoded((beat("b"),))
    bad = b'{"method":"NotifyStatus","params":{"switch:0":{"errors":[1]}}}'
    with pytest.raises(DecodeError, match=r"errors\[0\]: expected an error name"):
        shelly.decode(Message("a/events/rpc", bad, local(21, 50)))
    # a refused message changes nothing
    assert (
        shelly.decode(Message("a/events/rpc", delta, local(21, 50))).readings[0].kind == "power.undervoltage"
    )
    assert "not a Shelly" in refusal("shelly", b"{}", topic="shellyplus1pm/command")


def test_shelly_unsynced_clock() -> None:
    body = payload("shelly/events_rpc_notifystatus_unsynced_ts.json")
    (reading,) = decode("shelly", f"{SHELLY}/events/rpc", body, local(21, 50)).readings
    assert reading == beat(SHELLY, epoch(1.61), ClockNote.SKEWED)


# -- Network UPS Tools ---------------------------------------------------------------------------


def ups(device: str, status: str, *kinds: str) -> Decoded:
    tokens = {"power.on_battery": "OB", "power.low_battery": "LB"}
    # low battery is more severe than on battery (whose level the plan gives)
    severities = {"power.low_battery": Severity.MAJOR}
    return Decoded(
        tuple(
            Reading(
                device=device,
                kind=kind,
                signal=RAISE,
                severity=severities.get(kind),
                vendor_code=tokens[kind],
                text=f"ups.status {status}",
            )
            for kind in kinds
        ),
        complete=((device, "power."),),
    )


@pytest.mark.parametrize(
    ("topic", "name", "expected"),
    [
        ("nut/ups-b1", "json_online_charging.json", ups("ups-b1", "OL CHRG")),
        ("nut/ups-b1", "json_on_battery.json", ups("ups-b1", "OB DISCHRG", "power.on_battery")),
        (
            "nut/ups-b1",
            "json_low_battery.json",
            ups("ups-b1", "OB DISCHRG LB", "power.on_battery", "power.low_battery"),
        ),
        (
            "home/ups/ups/status",
            "per_var_ups_status_ob_dischrg.txt",
            ups("ups", "OB DISCHRG", "power.on_battery"),
        ),
    ],
)
def test_nut(topic: str, name: str, expected: Decoded) -> None:
    assert (
        decode("nut", topic, payload(f"nut/{name}"), local(22, 0), retained=topic.endswith("status"))
        == expected
    )


FLAGS = {
    "on_battery": "power.on_battery",
    "low_battery": "power.low_battery",
    "replace_battery": "power.replace_battery",
    "bypass": "power.bypass",
    "overload": "power.overload",
    "forced_shutdown": "power.shutdown",
    "output_off": "power.ups_off",
}


@pytest.mark.parametrize("vector", yaml.safe_load(payload("nut/ups_status_vectors.yaml"))["vectors"])
def test_nut_status_vectors(vector: dict[str, object]) -> None:
    expect = vector["expect"]
    assert isinstance(expect, dict)
    status = str(vector["status"]).encode()
    decoded = decode("nut", "nut/ups-b1/ups/status", status, local(22, 0))
    kinds = {reading.kind for reading in decoded.readings}
    for flag, kind in FLAGS.items():
        assert (kind in kinds) is bool(expect.get(flag)), flag
    if "alarm" in expect:
        assert bool(kinds) is expect["alarm"]
    # an empty status says nothing: it must not clear anything
    assert decoded.complete == ((("ups-b1", "power."),) if status.strip() else ())


def test_nut_device_option_and_refusals() -> None:
    assert decode(
        "nut", "nut/ups-b1", payload("nut/json_on_battery.json"), local(22, 0), device="UPS-1"
    ).complete == (("UPS-1", "power."),)
    assert "$.ups.status: expected a non-empty string, got nothing" in refusal("nut", b'{"ups.load":"40"}')
    assert "not a ups.status value" in refusal("nut", b"OB {x}", topic="nut/ups-b1/ups/status")


# -- elevator gateways ---------------------------------------------------------------------------

LIFT = "EGW-0B17/B1-L2"


def fault(device: str, code: int, kind: str, text: str, *, urgent: bool, at: datetime) -> Reading:
    return Reading(
        device=device,
        kind=f"elevator.{kind}",
        signal=RAISE,
        point=str(code),
        severity=Severity.GENERAL,
        urgent=urgent,
        vendor_code=str(code),
        device_time=at,
        clock=ClockNote.NO_ZONE,
        text=text,
    )


TRAPPED = Decoded(
    (
        fault(LIFT, 6, "stopped_outside_door_zone", "门区外停梯", urgent=True, at=local(21, 58, 12)),
        fault(LIFT, 8, "entrapment_between_floors", "非平层关人", urgent=True, at=local(21, 58, 12)),
        fault(LIFT, 9, "power_loss", "停电", urgent=False, at=local(21, 58, 12)),
    ),
    complete=((LIFT, "elevator."),),
)


@pytest.mark.parametrize(
    ("name", "at", "expected"),
    [
        ("snapshot_faults_list.json", local(21, 58, 13), TRAPPED),
        ("snapshot_faults_bitmask.json", local(21, 58, 13), TRAPPED),  # 416 = bits 5, 7, 8
        # cleared by disappearance: an empty list is the whole truth
        ("snapshot_faults_cleared.json", local(22, 31, 41), Decoded((), complete=((LIFT, "elevator."),))),
        (
            "snapshot_unknown_code.json",
            local(22, 2, 6),
            Decoded(
                (
                    fault(
                        "EGW-0B17/B1-L3",
                        11,
                        "door_open_failure",
                        "开门故障",
                        urgent=False,
                        at=local(22, 2, 5),
                    ),
                    fault(
                        "EGW-0B17/B1-L3",
                        41,
                        "elevator_fault_unknown",
                        "未知故障 (主动开关断电)",
                        urgent=False,
                        at=local(22, 2, 5),
                    ),
                ),
                complete=(("EGW-0B17/B1-L3", "elevator."),),
            ),
        ),
    ],
)
def test_elevator_snapshots(name: str, at: datetime, expected: Decoded) -> None:
    assert decode("elevator", "elevator/status", payload(f"elevator/{name}"), at) == expected


def test_elevator_codebook_default_is_the_fixtures_and_can_be_replaced(tmp_path: Path) -> None:
    package = Path(__file__).parents[1] / "connectors" / "codecs" / DEFAULT_CODEBOOK
    assert package.read_bytes() == payload("elevator/codebook_default.yaml")
    book = yaml.safe_load(payload("elevator/codebook_default.yaml"))
    book["codes"][41] = {
        "kind": "main_switch_off",
        "zh": "主动开关断电",
        "en": "Main switch off",
        "severity": "III",
    }
    (tmp_path / "vendor.yaml").write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    decoded = decode(
        "elevator",
        "e",
        payload("elevator/snapshot_unknown_code.json"),
        local(22, 2, 6),
        codebook=tmp_path / "vendor.yaml",
    )
    assert decoded.readings[1] == replace(
        decoded.readings[1],
        kind="elevator.main_switch_off",
        severity=Severity.LARGE,
        urgent=False,
        text="主动开关断电",
    )
    book["codes"][41]["severity"] = "V"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.yaml: codes\.41\.severity: .*unknown severity 'V'"):
        codec("elevator", codebook=tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match=r"missing\.yaml: cannot read"):
        codec("elevator", codebook=tmp_path / "missing.yaml")


def test_elevator_refusals() -> None:
    base = b'{"gatewayId":"G","elevatorId":"E","time":"2025-01-15 21:58:12",'
    assert "expected a faults list at $.faults or a mask at $.faultMask" in refusal(
        "elevator", base[:-1] + b"}"
    )
    assert "$.faults[0].code: expected a fault code" in refusal(
        "elevator", base + b'"faults":[{"code":"six"}]}'
    )
    assert "$.faultMask: expected an integer of at most 64 bits" in refusal(
        "elevator", base + b'"faultMask":-1}'
    )
    assert "$.faultMask" in refusal("elevator", base + b'"faultMask":%d}' % (1 << 64))
    assert "$.elevatorId" in refusal("elevator", b'{"gatewayId":"G","faults":[]}')


# -- generic JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "signal", "at"),
    [
        ("switch_port_down_active.json", RAISE, local(21, 55, 2)),
        ("switch_port_down_cleared.json", CLEAR, local(22, 7, 41)),
    ],
)
def test_generic_mapping(name: str, signal: Signal, at: datetime) -> None:
    decoded = decode(
        "generic", "netmon/core-sw-01/alarm", payload(f"generic/{name}"), at + timedelta(seconds=2)
    )
    expected = Reading(
        device="core-sw-01", kind="network.port_down", signal=signal, severity=Severity.LARGE, device_time=at
    )
    assert decoded == Decoded((expected,))


def test_generic_states_severities_points_and_refusals() -> None:
    at = local(21, 55)
    mapping = MAPPING | {"fields": MAPPING["fields"] | {"point": "$.detail.port"}}
    body = b'{"device":"sw","alarm":"link","state":true,"severity":"II","detail":{"port":"Gi1/0/24"}}'
    (reading,) = codec("generic", **mapping).decode(Message("t", body, at)).readings
    assert (reading.signal, reading.severity, reading.point, reading.device_time) == (
        RAISE,
        Severity.MAJOR,
        "Gi1/0/24",
        None,
    )
    odd = b'{"device":"sw","alarm":"link","state":"OK","severity":"whatever"}'
    (reading,) = decode("generic", "t", odd, at).readings
    assert (reading.signal, reading.severity) == (CLEAR, None)
    assert "unknown state 'flapping' at $.state" in refusal(
        "generic", b'{"device":"sw","alarm":"link","state":"flapping"}'
    )
    assert "$.device: expected a string" in refusal("generic", b'{"device":{},"alarm":"link","state":"ok"}')


def test_generic_options_are_checked_once() -> None:
    with pytest.raises(ValueError, match=r"generic codec options: fields\.device: .*expected a JSON path"):
        codec("generic", fields=MAPPING["fields"] | {"device": "device"})
    with pytest.raises(ValueError, match="words both active and cleared: on"):
        codec("generic", states={"active": ["on"], "cleared": ["ON"]})
    with pytest.raises(ValueError, match="fields: Field required"):
        build_codec("generic", CodecContext(zone=SHANGHAI, options={"states": MAPPING["states"]}))


# -- every codec ---------------------------------------------------------------------------------


def test_registry() -> None:
    assert set(CODECS) == {"frigate", "hikvision", "tasmota", "shelly", "nut", "elevator", "generic"}
    with pytest.raises(ValueError, match="unknown codec 'zigbee'; expected one of frigate, hikvision"):
        build_codec("zigbee", CodecContext(zone=SHANGHAI, options={}))
    with pytest.raises(ValueError, match="tasmota codec options: low_volts: unknown key"):
        codec("tasmota", low_volts=190)
    with pytest.raises(ValueError, match=r"max_skew: .*cannot read duration"):
        codec("frigate", max_skew="soon")
    with pytest.raises(ValueError, match=r"max_skew: Input should be greater than"):
        codec("frigate", max_skew=0)


@pytest.mark.parametrize("name", list(CODECS))
def test_an_empty_payload_deletes_a_retained_message_and_says_nothing(name: str) -> None:
    body = payload("malformed/empty_payload.bin")
    assert decode(name, TOPICS[name], body, local(21, 50), retained=True) == Decoded()


@pytest.mark.parametrize("name", list(CODECS))
def test_oversized_payloads_are_refused_before_parsing(name: str) -> None:
    assert f"payload larger than {MAX_PAYLOAD} bytes ({MAX_PAYLOAD + 1} bytes received)" in refusal(
        name, b"{" * (MAX_PAYLOAD + 1)
    )


def test_a_payload_of_exactly_the_limit_is_read() -> None:
    event = payload("frigate/events_new.json")
    padded = event[:-1] + b" " * (MAX_PAYLOAD - len(event)) + b"}"
    assert len(padded) == MAX_PAYLOAD
    assert decode("frigate", "frigate/events", padded, local(21, 47, 4)).readings[0].kind == "cctv.person"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("json_truncated.json", "malformed JSON: Unterminated string"),
        ("json_nan_literal.json", "malformed JSON: NaN is not a JSON number"),
        ("invalid_utf8_sequences.bin", "invalid UTF-8 at byte 48"),
    ],
)
@pytest.mark.parametrize("codec_name", JSON_CODECS)
def test_malformed_json_is_refused_by_every_json_codec(codec_name: str, name: str, reason: str) -> None:
    assert reason in refusal(codec_name, payload(f"malformed/{name}"))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"a": 1e400}', "out of range"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"a": ' + b"9" * 5000 + b"}", "malformed JSON: Exceeds the limit"),
        (b"\xff", "invalid UTF-8 at byte 0"),
    ],
)
@pytest.mark.parametrize("codec_name", JSON_CODECS)
def test_hostile_json_is_refused(codec_name: str, body: bytes, reason: str) -> None:
    assert reason in refusal(codec_name, body)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("xml_truncated.xml", "malformed XML: unclosed token"),
        ("xml_billion_laughs.xml", "refused XML (DTDForbidden)"),
        ("xml_external_entity.xml", "refused XML (DTDForbidden)"),
        ("hikvision_gbk_channelname.bin", "invalid UTF-8 at byte 497"),
        ("json_truncated.json", "malformed XML"),
        ("invalid_utf8_sequences.bin", "invalid UTF-8"),
    ],
)
def test_malformed_xml_is_refused(name: str, reason: str) -> None:
    started = time.perf_counter()
    assert reason in refusal("hikvision", payload(f"malformed/{name}"))
    assert time.perf_counter() - started < 0.5  # refused up front, never expanded


def test_external_entities_are_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    body = payload("malformed/xml_external_entity.xml").replace(
        b"file:///etc/passwd", secret.as_uri().encode()
    )
    assert "TOP-SECRET" not in refusal("hikvision", body)
    parameter = b'<!DOCTYPE a [<!ENTITY % p SYSTEM "' + secret.as_uri().encode() + b'"> %p;]><a/>'
    assert "refused XML" in refusal("hikvision", parameter)
