"""The alarm book and the engine on a manual clock: real-feed behaviour without any I/O."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from dutydesk.playbooks.alarmbook import Status
from dutydesk.playbooks.alarms import (
    OFFLINE_KIND,
    Arrival,
    Availability,
    Debounce,
    Decoded,
    Feed,
    Place,
    Reading,
    Signal,
)
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.events import (
    AlarmChanged,
    AlarmObserved,
    DeviceChanged,
    Event,
    IncidentOpened,
)
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.vocab import Milestone, Severity

FEED = Feed(
    name="lifts",
    place=Place(site="机关大院", building="3号楼"),
    places={"EGW-1/L2": Place(site="机关大院", building="3号楼", floor="B1")},
    stale_after=timedelta(minutes=10),
)
LIFT = "EGW-1/L2"


def trapped(signal: Signal = Signal.RAISE, *, device: str = LIFT, at: datetime | None = None) -> Reading:
    return Reading(
        device=device,
        kind="elevator.entrapment_between_floors",
        point="8",
        signal=signal,
        severity=Severity.LARGE,
        urgent=True,
        vendor_code="8",
        text="非平层关人",
        device_time=at,
    )


class Rig:
    """An engine fed readings the way the journal feeds it: decide, then apply."""

    def __init__(
        self, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock, debounce: Debounce
    ) -> None:
        self.engine = Engine(plans=plans, deadlines=deadlines, feeds={FEED.name: FEED}, debounce=debounce)
        self.engine.started(clock.now())
        self.clock = clock
        self.ids = itertools.count()
        self.log: list[Event] = []

    def _store(self, events: list[Event]) -> list[Event]:
        for event in events:
            self.log.append(event)
            self.engine.apply(event, len(self.log))
        return events

    def send(
        self,
        *readings: Reading,
        complete: tuple[tuple[str, str], ...] = (),
        retained: bool = False,
        relay: bool = False,
    ) -> list[Event]:
        arrival = Arrival(f"m{next(self.ids)}", "elevator/x/status", "{}", retained, self.clock.now())
        keyed = self.engine.ingest(FEED.name, Decoded(readings, complete, relay), arrival)
        return self._store([k.event for k in keyed])

    def advance(self, **delta: float) -> list[Event]:
        self.clock.advance(timedelta(**delta))
        return self._store([k.event for k in self.engine.tick(self.clock.now())])

    def alarm(self) -> Status:
        return self.engine.projection.alarms.alarms[
            f"lifts/{LIFT}/8/elevator.entrapment_between_floors"
        ].status


@pytest.fixture
def rig(plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock) -> Rig:
    return Rig(plans, deadlines, clock, Debounce())


def names(events: list[Event]) -> list[str]:
    return [type(e).__name__ + (f":{e.status}" if isinstance(e, AlarmChanged) else "") for e in events]


def test_a_raise_opens_an_incident_with_the_alarms_severity_and_place(rig: Rig) -> None:
    events = rig.send(trapped())
    # one event for the alarm, taking effect at once (no raise delay), attached to the incident
    assert names(events) == ["PlanRegistered", "IncidentOpened", "AlarmObserved"]
    opened = next(e for e in events if isinstance(e, IncidentOpened))
    assert (opened.plan_id, opened.severity, opened.urgent, opened.source) == (
        "elevator-entrapment",
        "large",
        True,
        "alarm",
    )
    assert opened.location == "机关大院 3号楼 B1"
    assert opened.trigger == f"lifts/{LIFT}#elevator.entrapment_between_floors"
    assert events[-1].incident == opened.incident
    incident = rig.engine.incident(opened.incident or "")
    statuses = {s.obligation.id: s for s in rig.engine.status(incident, rig.clock.now())}
    assert statuses["team-on-site"].due_at == rig.clock.now() + timedelta(minutes=5)  # urgent


def test_repeats_coalesce_and_further_alarms_attach(rig: Rig) -> None:
    first = rig.send(trapped())
    incident = first[-1].incident
    assert rig.send(trapped()) == []  # the same "active" again
    rig.advance(seconds=5)
    cleared = rig.send(trapped(Signal.CLEAR))
    assert names(cleared) == ["AlarmObserved"]
    assert rig.alarm() is Status.CLEARED
    assert cleared[-1].incident == incident  # the clear is recorded on the incident ...
    assert not rig.engine.incident(incident or "").closed  # ... which stays open
    again = rig.send(trapped())
    assert names(again) == ["AlarmObserved"]
    assert again[-1].incident == incident  # one incident per device and kind while open


def test_a_closed_incident_lets_the_next_alarm_open_a_new_one(rig: Rig) -> None:
    from dutydesk.playbooks.commands import ReachMilestone

    first = rig.send(trapped())[-1].incident or ""
    close = ReachMilestone(actor="t", incident=first, milestone=Milestone.CLOSED, text="误报")
    rig._store([k.event for k in rig.engine.handle(close, rig.clock.now())])
    rig.send(trapped(Signal.CLEAR))
    later = rig.send(trapped())
    assert later[-1].incident not in (None, first)


def test_clears_by_disappearance(rig: Rig) -> None:
    rig.send(trapped(), complete=((LIFT, "elevator."),))
    events = rig.send(complete=((LIFT, "elevator."),))  # a snapshot with no faults
    assert names(events) == ["AlarmObserved"]
    assert rig.alarm() is Status.CLEARED
    observed = events[0]
    assert isinstance(observed, AlarmObserved)
    assert observed.cause == "disappeared"


def test_offline_makes_alarms_unknown_not_cleared(rig: Rig) -> None:
    rig.send(trapped())
    events = rig.send(Reading(device=LIFT, kind=OFFLINE_KIND, signal=Signal.RAISE))
    assert [e.availability for e in events if isinstance(e, DeviceChanged)] == ["offline"]
    assert [e.status for e in events if isinstance(e, AlarmChanged) and e.key.endswith("between_floors")] == [
        "unknown"
    ]
    assert rig.alarm() is Status.UNKNOWN
    back = rig.send(Reading(device=LIFT, kind=OFFLINE_KIND, signal=Signal.CLEAR))
    assert [e.availability for e in back if isinstance(e, DeviceChanged)] == ["online"]
    assert rig.alarm() is Status.UNKNOWN  # still unknown until the device says otherwise


def test_a_relay_going_offline_makes_every_device_behind_it_unknown(rig: Rig) -> None:
    # a Frigate server (`frigate/available`) relays its cameras: offline, nobody knows what they see
    rig.send(trapped())
    other = Reading(device="EGW-1/L3", kind="elevator.entrapment_at_level", signal=Signal.RAISE)
    rig.send(other)
    gone = rig.send(Reading(device="frigate", kind=OFFLINE_KIND, signal=Signal.RAISE), relay=True)
    unknown = sorted(e.key for e in gone if isinstance(e, AlarmChanged) and e.status == "unknown")
    assert unknown == [
        "lifts/EGW-1/L2/8/elevator.entrapment_between_floors",
        "lifts/EGW-1/L3//elevator.entrapment_at_level",
    ]
    assert rig.alarm() is Status.UNKNOWN
    # a device that is no relay takes only its own alarms with it
    rig.send(trapped(Signal.CLEAR))
    rig.send(trapped())
    alone = rig.send(Reading(device=LIFT, kind=OFFLINE_KIND, signal=Signal.RAISE))
    assert [e.key for e in alone if isinstance(e, AlarmChanged)] == [
        "lifts/EGW-1/L2/8/elevator.entrapment_between_floors"
    ]


def test_heartbeats_refresh_liveness_only_and_silence_makes_stale(rig: Rig) -> None:
    beat = Reading(device=LIFT, kind="elevator.status", signal=Signal.HEARTBEAT)
    assert rig.send(beat) == []  # heard from: online by its liveness, nothing to log
    assert rig.engine.projection.alarms.last_seen[f"lifts/{LIFT}"] == rig.clock.now()
    assert rig.advance(minutes=9) == []
    rig.send(beat)
    stale = rig.advance(minutes=10, seconds=11)
    assert [(e.device, e.availability) for e in stale if isinstance(e, DeviceChanged)] == [
        (f"lifts/{LIFT}", "stale")
    ]
    assert [e.availability for e in rig.send(beat) if isinstance(e, DeviceChanged)] == ["online"]


def test_out_of_order_messages_never_reopen_a_closed_alarm(rig: Rig, clock: ManualClock) -> None:
    t0 = clock.now()
    rig.send(trapped(at=t0))
    rig.send(trapped(Signal.CLEAR, at=t0 + timedelta(seconds=30)))
    assert rig.send(trapped(at=t0 + timedelta(seconds=10))) == []  # late news
    assert rig.alarm() is Status.CLEARED


def test_retained_messages_are_state_marked_as_replay(rig: Rig) -> None:
    events = rig.send(trapped(), retained=True)
    assert all(e.replay for e in events if isinstance(e, AlarmObserved | AlarmChanged))
    assert rig.send(trapped(), retained=True) == []


def test_flapping_is_held_back_and_counted(
    plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    rig = Rig(
        plans,
        deadlines,
        clock,
        Debounce(
            raise_delay=(("elevator.*", timedelta(seconds=10)),),
            clear_hysteresis=(("elevator.*", timedelta(seconds=30)),),
        ),
    )
    assert names(rig.send(trapped())) == ["AlarmObserved"]  # pending
    rig.advance(seconds=3)
    rig.send(trapped(Signal.CLEAR))  # gone before it counted: a flap, no incident
    assert rig.alarm() is Status.CLEARED
    assert rig.advance(seconds=20) == []
    rig.send(trapped())
    confirmed = rig.advance(seconds=10)
    assert "AlarmChanged:active" in names(confirmed)
    assert any(isinstance(e, IncidentOpened) for e in confirmed)
    rig.send(trapped(Signal.CLEAR))
    rig.advance(seconds=5)
    rig.send(trapped())  # back within the hysteresis: stays active, one more flap
    assert rig.alarm() is Status.ACTIVE
    assert rig.advance(seconds=60) == []
    alarm = rig.engine.projection.alarms.alarms[f"lifts/{LIFT}/8/elevator.entrapment_between_floors"]
    assert alarm.flaps == 2
    rig.send(trapped(Signal.CLEAR))
    assert rig.advance(seconds=29) == []
    assert names(rig.advance(seconds=1)) == ["AlarmChanged:cleared"]


def test_an_alarm_no_plan_triggers_is_kept_without_an_incident(rig: Rig) -> None:
    events = rig.send(Reading(device=LIFT, kind="elevator.landing_button_stuck", signal=Signal.RAISE))
    assert names(events) == ["AlarmObserved"]
    assert events[-1].incident is None
    assert rig.engine.projection.alarms.alarms[events[-1].key].status is Status.ACTIVE  # type: ignore[attr-defined]


def test_two_new_incidents_in_one_message_get_distinct_ids(rig: Rig) -> None:
    # (two lifts trapped in one building are one incident now: see test_correlation; two plans
    # started by one message are two)
    other = Reading(device="EGW-1/L3", kind="power.outage", signal=Signal.RAISE)
    events = rig.send(trapped(), other)
    opened = [e.incident for e in events if isinstance(e, IncidentOpened)]
    assert len(opened) == 2 and len(set(opened)) == 2


def test_alarm_state_survives_a_snapshot(rig: Rig) -> None:
    from dutydesk.playbooks.incidents import Projection

    rig.send(trapped())
    rig.send(Reading(device=LIFT, kind=OFFLINE_KIND, signal=Signal.RAISE))
    restored = Projection.from_snapshot(rig.engine.projection.to_snapshot())
    assert restored.alarms.to_snapshot() == rig.engine.projection.alarms.to_snapshot()
    assert restored.by_trigger == rig.engine.projection.by_trigger
    device = restored.alarms.devices[f"lifts/{LIFT}"]
    assert device.availability is Availability.OFFLINE
