"""The codecs' options for the formats integrators really send: field locations, wrapped events,
device names, outage thresholds and per-kind severities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dutydesk.connectors.codecs.base import CodecContext, Message
from dutydesk.connectors.codecs.registry import CODECS, build_codec
from dutydesk.playbooks.alarms import Decoded, Signal
from dutydesk.playbooks.vocab import Severity
from tests.conftest import SHANGHAI
from tests.test_codecs import OPTIONS, TOPICS, local, payload


def decode(name: str, topic: str, body: bytes, at: datetime, **options: object) -> Decoded:
    codec = build_codec(name, CodecContext(zone=SHANGHAI, options=OPTIONS[name] | options))
    return codec.decode(Message(topic, body, at))


# -- elevator: where a gateway puts things -------------------------------------------------------

VENDOR_FIELDS = {
    "gateway": "topic[1]",
    "elevator": "topic[2]",
    "faults": "$.data.alarmList",
    "code": "alarmCode",
    "name": "alarmName",
    "time": "$.data.reportTime",
}


def test_elevator_ids_from_the_topic_and_faults_under_a_nested_key() -> None:
    body = payload("elevator/nested_topic_ids.json")
    decoded = decode("elevator", "lift/EGW-77/L3/fault", body, local(22, 18, 13), fields=VENDOR_FIELDS)
    # the code book is the same: 8 and 9 (sent as "08", "09") are entrapment and power loss
    assert [(r.device, r.kind, r.point, r.severity) for r in decoded.readings] == [
        ("EGW-77/L3", "elevator.entrapment_between_floors", "8", Severity.GENERAL),
        ("EGW-77/L3", "elevator.power_loss", "9", Severity.GENERAL),
    ]
    assert decoded.readings[0].device_time == local(22, 18, 12)
    assert decoded.complete == (("EGW-77/L3", "elevator."),)
    # without a gateway the elevator's id alone names the device
    alone = decode(
        "elevator", "lift/EGW-77/L3/fault", body, local(22, 18, 13), fields=VENDOR_FIELDS | {"gateway": None}
    )
    assert alone.readings[0].device == "L3"


def test_elevator_bare_codes_and_location_refusals() -> None:
    body = b'{"lift":{"id":"B1-L2"},"codes":[8]}'
    fields = {"gateway": None, "elevator": "$.lift.id", "faults": "$.codes"}
    (reading,) = decode("elevator", "x", body, local(22, 0), fields=fields).readings
    assert (reading.device, reading.kind) == ("B1-L2", "elevator.entrapment_between_floors")
    with pytest.raises(ValueError, match=r"fields\.elevator: .*topic segment like topic\[2\]"):
        decode("elevator", "x", body, local(22, 0), fields={"elevator": "lift.id"})
    with pytest.raises(Exception, match=r"topic 'x' has no segment 3"):
        decode("elevator", "x", body, local(22, 0), fields=fields | {"elevator": "topic[3]"})


# -- Hikvision: an NVR's wrapped events, and the camera's name over a bridge --------------------


def test_hikvision_duration_event_is_the_event_it_wraps() -> None:
    body = payload("hikvision/duration_fielddetection.xml")
    (reading,) = decode("hikvision", "hikvision/perimeter_n/alert", body, local(21, 48, 21)).readings
    assert (reading.kind, reading.signal, reading.vendor_code) == ("cctv.intrusion", Signal.RAISE, "duration")
    assert reading.text == "duration alarm, Perimeter North"
    # without the related event it stays what it says
    bare = body.replace(b"<relationEvent>fielddetection</relationEvent>", b"")
    assert decode("hikvision", "hikvision/perimeter_n/alert", bare, local(21, 48, 21)).readings[0].kind == (
        "cctv.duration"
    )


def test_hikvision_device_is_the_mac_over_a_bridge_and_a_topic_segment_when_told() -> None:
    body = payload("hikvision/duration_fielddetection.xml")
    at = local(21, 48, 21)
    # a bridge publishing on one topic for every camera: the MAC names it, not the (DHCP) address
    assert decode("hikvision", "isapi/events", body, at).readings[0].device == "84:9a:40:b1:7c:ae"
    # a bridge that puts the serial or MAC elsewhere in the topic
    named = decode("hikvision", "nvr/DS-2CD2347G2/event", body, at, device_segment=1)
    assert named.readings[0].device == "DS-2CD2347G2"
    # the HTTP alertStream: the address dialled names it
    http = decode("hikvision", "http://10.20.3.31/ISAPI/Event/notification/alertStream", body, at)
    assert http.readings[0].device == "10.20.3.31"


# -- Shelly: an outage is not a sag --------------------------------------------------------------

SHELLY = "shellyplus1pm-a8032ab1c2d4"


def _voltage(volts: float) -> bytes:
    return (
        b'{"src":"%b","dst":"%b/events","method":"NotifyStatus","params":{"ts":1736949071.02,'
        b'"switch:0":{"id":0,"voltage":%b}}}' % (SHELLY.encode(), SHELLY.encode(), str(volts).encode())
    )


@pytest.mark.parametrize(
    ("volts", "options", "raised"),
    [
        (0.0, {}, "power.outage"),  # mains lost: the meter still reports, at 0 V
        (31.5, {}, "power.outage"),
        (187.4, {}, "power.undervoltage"),
        (187.4, {"outage_voltage": 190}, "power.outage"),
        (221.0, {}, None),
    ],
)
def test_shelly_outage_threshold(volts: float, options: dict[str, object], raised: str | None) -> None:
    decoded = decode("shelly", f"{SHELLY}/events/rpc", _voltage(volts), local(21, 51), **options)
    raises = [r.kind for r in decoded.readings if r.signal is Signal.RAISE]
    clears = [r.kind for r in decoded.readings if r.signal is Signal.CLEAR]
    assert raises == ([raised] if raised else [])
    # the outage clears on a measured voltage, never on a delta that says nothing of it
    assert clears == ([] if raised == "power.outage" else ["power.outage"])


# -- every codec: a per-kind severity mapping ----------------------------------------------------

# one fixture per codec that yields an alarm, and the kind it yields
ALARM_FIXTURES = {
    "frigate": ("frigate/events_new.json", "cctv.person"),
    "hikvision": ("hikvision/vmd_active.xml", "cctv.motion"),
    "tasmota": ("tasmota/tele_sensor_low_voltage.json", "power.undervoltage"),
    "shelly": ("shelly/events_rpc_notifystatus_voltage_delta.json", "power.undervoltage"),
    "nut": ("nut/json_low_battery.json", "power.low_battery"),
    "elevator": ("elevator/snapshot_faults_list.json", "elevator.entrapment_between_floors"),
    "generic": ("generic/switch_port_down_active.json", "network.port_down"),
}


@pytest.mark.parametrize("name", sorted(CODECS))
def test_every_codec_takes_a_per_kind_severity_mapping(name: str) -> None:
    fixture, kind = ALARM_FIXTURES[name]
    at = datetime(2025, 1, 15, 13, 50, tzinfo=UTC)
    body = payload(fixture)
    graded = decode(name, TOPICS[name], body, at, severities={kind: "I", "*": "一般"})
    plain = decode(name, TOPICS[name], body, at)
    chosen = {r.kind: r.severity for r in graded.readings}
    assert chosen[kind] is Severity.EXTRAORDINARY
    # the first matching pattern wins; the readings are otherwise what the codec read
    assert all(level is Severity.GENERAL for k, level in chosen.items() if k != kind)
    assert [(r.kind, r.signal, r.point) for r in graded.readings] == [
        (r.kind, r.signal, r.point) for r in plain.readings
    ]


def test_severity_mapping_refuses_an_unknown_level() -> None:
    with pytest.raises(
        ValueError, match=r"nut codec options: severities\.power\.low_battery: .*unknown severity"
    ):
        decode(
            "nut",
            "nut/ups-b1",
            payload("nut/json_low_battery.json"),
            local(22, 0),
            severities={"power.low_battery": "dire"},
        )
