"""One event, one incident: grouping, inhibition, report links, rising severity and merging, on
the real engine with a manual clock (the flood through mosquitto is in test_correlation_e2e)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from dutydesk.connectors.application.factories import correlation
from dutydesk.connectors.settings import load_settings
from dutydesk.playbooks.alarms import Arrival, Decoded, Feed, Place, Reading, Signal
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import LinkIncidents, MergeIncident, OpenIncident, Rejected
from dutydesk.playbooks.correlation import DEFAULT_INHIBIT, Correlation, InhibitRule
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.events import (
    AlarmObserved,
    Event,
    IncidentMerged,
    IncidentOpened,
    SeverityChanged,
    UrgencyChanged,
)
from dutydesk.playbooks.obligations import Deadlines, State
from dutydesk.playbooks.plans import Plan, parse_plan
from dutydesk.playbooks.vocab import Severity, Source

B2, B3 = Place(site="机关大院", building="2号楼"), Place(site="机关大院", building="3号楼")
FEED = Feed(
    name="site", place=B2, places=dict.fromkeys(("pm-b3", "EGW-3/L1", "ups-b3", "cam-b3", "sw-b3"), B3)
)


def raise_(device: str, kind: str, **details: object) -> Reading:
    return Reading(device=device, kind=kind, signal=Signal.RAISE, **details)  # type: ignore[arg-type]


class Desk:
    """The engine as the journal drives it: decide, store (here: a list), apply."""

    def __init__(
        self, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock, **rules: object
    ) -> None:
        self.plans, self.deadlines, self.clock = plans, deadlines, clock
        self.correlation = Correlation(**rules)  # type: ignore[arg-type]
        self.engine = self._engine()
        self.log: list[Event] = []
        self.ids = itertools.count()

    def _engine(self) -> Engine:
        return Engine(
            plans=self.plans, deadlines=self.deadlines, feeds={FEED.name: FEED}, correlation=self.correlation
        )

    def store(self, events: list[Event]) -> list[Event]:
        for event in events:
            self.log.append(event)
            self.engine.apply(event, len(self.log))
        return events

    def send(self, *readings: Reading) -> list[Event]:
        arrival = Arrival(f"m{next(self.ids)}", "t", "{}", False, self.clock.now())
        return self.store([k.event for k in self.engine.ingest(FEED.name, Decoded(readings), arrival)])

    def act(self, command: object) -> list[Event]:
        return self.store([k.event for k in self.engine.handle(command, self.clock.now())])  # type: ignore[arg-type]

    def restart(self) -> None:
        self.engine = self._engine()
        self.engine.load(enumerate(self.log, 1))

    def opened(self) -> list[IncidentOpened]:
        return [e for e in self.log if isinstance(e, IncidentOpened)]


@pytest.fixture
def desk(plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock) -> Desk:
    return Desk(plans, deadlines, clock)


def outage(device: str) -> Reading:
    return raise_(device, "power.outage", point="ENERGY", text="0 V")


def test_alarms_of_one_plan_in_one_building_are_one_incident_with_the_count(desk: Desk) -> None:
    for n in range(50):
        desk.send(outage(f"pm-{n}"))
        desk.clock.advance(timedelta(seconds=1))
    (opened,) = desk.opened()
    assert desk.engine.correlator.held(opened.incident or "") == (50, 50)
    # another building is another place: its own incident
    desk.send(outage("pm-b3"))
    assert len(desk.opened()) == 2


def test_the_window_and_group_by_are_configurable(
    plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    desk = Desk(plans, deadlines, clock, window=timedelta(minutes=5))
    desk.send(outage("pm-1"))
    desk.clock.advance(timedelta(minutes=4))
    desk.send(outage("pm-2"))  # within 5 min of the last alarm: joins
    desk.send(*(dataclasses.replace(outage(d), signal=Signal.CLEAR) for d in ("pm-1", "pm-2")))
    desk.clock.advance(timedelta(minutes=5, seconds=1))
    desk.send(outage("pm-3"))  # all clear and silent for longer: a new one
    assert len(desk.opened()) == 2
    by_device = Desk(plans, deadlines, clock, group_by={"power-outage": "device"})
    by_device.send(outage("pm-1"), outage("pm-2"))
    assert len(by_device.opened()) == 2


def test_a_power_outage_absorbs_its_consequences_in_its_building(desk: Desk) -> None:
    desk.send(outage("pm-1"))
    (opened,) = desk.opened()
    follow_on = [
        raise_("sw-1", "network.link_down"),
        raise_("cam-1", "cctv.video_loss"),
        raise_("EGW-2/L1", "elevator.power_loss", severity=Severity.GENERAL),
        raise_("gw-9", "device.offline"),
    ]
    events = [e for e in desk.send(*follow_on) if isinstance(e, AlarmObserved)]
    assert [e.incident for e in events] == [opened.incident] * 4
    assert not any(isinstance(e, IncidentOpened | SeverityChanged) for e in events)
    assert desk.engine.correlator.held(opened.incident or "") == (5, 5)
    # in the other building nothing absorbs it: the network plan opens its own incident
    desk.send(raise_("sw-b3", "network.link_down"))
    assert [e.plan_id for e in desk.opened()] == ["power-outage", "network-outage"]


def test_inhibition_rules_are_configuration(
    plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    desk = Desk(
        plans,
        deadlines,
        clock,
        inhibit=(InhibitRule(source=("power-outage",), target=("cctv.*",), equal=("site",)),),
    )
    desk.send(outage("pm-1"))
    desk.send(raise_("cam-b3", "cctv.video_loss"))  # same site, other building: absorbed by this rule
    desk.send(raise_("sw-1", "network.link_down"))  # no longer a target
    assert [e.plan_id for e in desk.opened()] == ["power-outage", "network-outage"]


def test_ups_on_battery_then_low_battery_raises_one_incident(desk: Desk) -> None:
    desk.send(raise_("ups-b3", "power.on_battery", vendor_code="OB"))
    (opened,) = desk.opened()
    assert opened.severity == "large"  # the plan's level
    desk.clock.advance(timedelta(minutes=12))  # past the window, but its alarm is still on
    events = desk.send(raise_("ups-b3", "power.low_battery", severity=Severity.MAJOR, vendor_code="LB"))
    (raised,) = [e for e in events if isinstance(e, SeverityChanged)]
    assert (raised.incident, raised.previous, raised.severity) == (opened.incident, "large", "major")
    assert raised.reason == "power.low_battery · ups-b3"
    assert len(desk.opened()) == 1
    incident = desk.engine.incident(opened.incident or "")
    assert incident.severity is Severity.MAJOR
    # and with it the plan's extra targets for a major incident
    ob = incident.plan.obligations[0]
    assert incident.plan.targets(ob, "breach", Severity.MAJOR) == incident.plan.targets(
        ob, "breach", incident.severity
    )


def test_an_alarm_joins_the_incident_a_phone_call_opened_for_its_building(desk: Desk) -> None:
    call = OpenIncident(
        actor="值班员",
        plan_id="elevator-entrapment",
        title="3号楼电梯困人",
        source=Source.PHONE,
        location="机关大院 3号楼",
    )
    (phoned,) = [e for e in desk.act(call) if isinstance(e, IncidentOpened)]
    desk.clock.advance(timedelta(minutes=20))  # no window for a report: it is open, it is the same thing
    trapped = raise_(
        "EGW-3/L1",
        "elevator.entrapment_between_floors",
        severity=Severity.LARGE,
        urgent=True,
        text="非平层关人",
    )
    events = desk.send(trapped)
    assert len(desk.opened()) == 1
    assert events[-1].incident == phoned.incident
    (urgent,) = [e for e in events if isinstance(e, UrgencyChanged)]
    assert urgent.reason == "elevator.entrapment_between_floors · EGW-3/L1 · 非平层关人"
    # a lift in another building is not the one the caller meant
    desk.send(raise_("EGW-2/L4", "elevator.entrapment_at_level"))
    assert len(desk.opened()) == 2


def test_a_review_joins_the_incident_of_its_tracked_objects(desk: Desk) -> None:
    person = raise_("cam-1", "cctv.intrusion", point="person/1736948823.512346-k2x9qa", zones=("entrance",))
    desk.send(person)
    desk.clock.advance(timedelta(minutes=30))  # past the window: only the reference links them
    review = raise_(
        "cam-1", "cctv.alert", point="1736948824.312291-fqk5ka", related=("1736948823.512346-k2x9qa",)
    )
    events = desk.send(review)
    assert len(desk.opened()) == 1
    assert events[-1].incident == desk.opened()[0].incident
    alarm = desk.engine.projection.alarms.alarms[events[-1].key]  # type: ignore[attr-defined]
    assert alarm.related == ("1736948823.512346-k2x9qa",)


def test_grouping_survives_a_restart(desk: Desk) -> None:
    desk.send(outage("pm-1"))
    desk.restart()
    desk.clock.advance(timedelta(minutes=1))
    desk.send(outage("pm-2"), raise_("sw-1", "network.link_down"))
    (opened,) = desk.opened()
    assert desk.engine.correlator.held(opened.incident or "") == (3, 3)


def test_merging_by_hand_closes_one_into_the_other_on_both_timelines(desk: Desk) -> None:
    call = OpenIncident(
        actor="值班员", plan_id="power-outage", title="2号楼停电", source=Source.PHONE, location="东院"
    )
    phoned = desk.act(call)[-1].incident or ""
    desk.send(outage("pm-1"))  # the call named no building the alarm knows: a second incident
    alarmed = desk.opened()[-1].incident or ""
    assert alarmed != phoned
    with pytest.raises(Rejected, match="into itself"):
        desk.act(MergeIncident(actor="值班员", incident=alarmed, into=alarmed))
    events = desk.act(MergeIncident(actor="值班员", incident=alarmed, into=phoned, reason="同一次停电"))
    assert [(type(e), e.incident) for e in events] == [(IncidentMerged, alarmed), (IncidentMerged, phoned)]
    merged = desk.engine.incident(alarmed)
    assert merged.closed and merged.close_reason == f"merged into {phoned}"
    assert all(
        s.state is State.WAIVED for s in desk.engine.status(merged, desk.clock.now()) if s.met_at is None
    )
    assert not desk.engine.incident(phoned).closed
    # the survivor holds what the merged one held, and the building's next alarms
    assert desk.engine.correlator.held(phoned) == (1, 1)
    desk.send(outage("pm-2"))
    assert desk.log[-1].incident == phoned
    assert len(desk.opened()) == 2
    with pytest.raises(Rejected, match="closed"):
        desk.act(MergeIncident(actor="值班员", incident=phoned, into=alarmed))


def test_correlation_is_configured_under_alarms(tmp_path: Path) -> None:
    config = tmp_path / "custom.toml"
    config.write_text(
        '[alarms]\ngroup_window = 300\ngroup_by = { cctv-alarm = "zone" }\n'
        '[[alarms.inhibit]]\nsource = ["power-outage"]\ntarget = ["cctv.*"]\nequal = ["site"]\n',
        encoding="utf-8",
    )
    rules = correlation(load_settings(config, {"DUTYDESK_HOME": str(tmp_path)}))
    assert (rules.window, rules.level("cctv-alarm"), rules.level("power-outage")) == (
        timedelta(minutes=5),
        "zone",
        "building",
    )
    assert rules.inhibit == (InhibitRule(source=("power-outage",), target=("cctv.*",), equal=("site",)),)
    # without an inhibit table the defaults hold; a wrong level is named
    assert correlation(load_settings(None, {"DUTYDESK_HOME": str(tmp_path)})).inhibit == DEFAULT_INHIBIT
    config.write_text('[alarms]\ngroup_by = { cctv-alarm = "street" }\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"alarms\.group_by\.cctv-alarm"):
        load_settings(config, {"DUTYDESK_HOME": str(tmp_path)})


def test_an_outage_absorbs_what_the_same_message_reports_with_it(desk: Desk) -> None:
    # a gateway reporting both in one snapshot: the incident opened first takes the other
    events = desk.send(outage("pm-1"), raise_("sw-1", "network.link_down"))
    (opened,) = desk.opened()
    assert [e.incident for e in events if isinstance(e, AlarmObserved)] == [opened.incident] * 2


def test_a_plan_may_start_only_for_alarms_in_its_zones(
    plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    """Frigate's zones (`current_zones`, `entered_zones`) are usable in plan triggers: a perimeter
    plan starts for a person in the perimeter zone, the general CCTV plan for one elsewhere."""
    perimeter = parse_plan(
        """\
id: perimeter-intrusion
title: {zh: 周界入侵, en: Perimeter intrusion}
triggers: {alarms: ["cctv.person"], zones: ["perimeter*"]}
obligations:
  - {id: guards, title: 安保到场, role: security_team, due: 5m, met_by: on_site}
""",
        "perimeter.yaml",
    )
    desk = Desk({**plans, perimeter.id: perimeter}, deadlines, clock)
    desk.send(raise_("cam-gate", "cctv.person", zones=("perimeter_east",)))
    desk.send(raise_("cam-lobby", "cctv.person", zones=("lobby",)))
    started = {o.plan_id for o in desk.opened()}
    assert "perimeter-intrusion" in started
    assert len(started) == 2 and all(
        o.plan_id != "perimeter-intrusion" or "cam-gate" in (o.trigger or "") for o in desk.opened()
    )


def test_incidents_linked_by_hand_stay_open_and_both_timelines_show_it(desk: Desk) -> None:
    desk.act(OpenIncident(actor="王值班", plan_id="power-outage", title="2号楼停电", location="2号楼"))
    desk.act(
        OpenIncident(actor="王值班", plan_id="elevator-entrapment", title="2号楼电梯困人", location="2号楼")
    )
    power, lift = (o.incident or "" for o in desk.opened())
    events = desk.act(LinkIncidents(actor="王值班", incident=lift, to=power, reason="停电致困人"))
    assert [(e.incident, e.kind) for e in events] == [(lift, "incident.linked"), (power, "incident.linked")]
    assert not desk.engine.incident(power).closed and not desk.engine.incident(lift).closed
    with pytest.raises(Rejected, match="itself"):
        desk.act(LinkIncidents(actor="王值班", incident=lift, to=lift))
