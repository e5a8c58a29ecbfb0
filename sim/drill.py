"""A drill: a scenario played through the whole pipeline — broker, codecs, engine, event log —
with scripted responders, then scored against the plans.

Everything the drill writes is marked as a drill. On virtual time the clock jumps from one
scheduled moment to the next once the pipeline has caught up; on a scaled clock it runs freely.
Either way responders act at their scheduled moments, so the outcome does not depend on speed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.service import Service, Source
from dutydesk.connectors.codecs.base import CodecContext
from dutydesk.connectors.codecs.registry import build_codec
from dutydesk.connectors.mqtt import Broker, MqttIngest, Subscription
from dutydesk.connectors.store import Recorded
from dutydesk.connectors.waits import first_of
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import (
    Command,
    CompleteObligation,
    MarkUrgent,
    OpenIncident,
    PostUpdate,
    ReachMilestone,
)
from dutydesk.playbooks.events import IncidentOpened
from dutydesk.playbooks.vocab import Milestone
from dutydesk.sim.clocks import ScaledClock
from dutydesk.sim.scenario import Injection, Response, Scenario

RESPONDER = "drill-responder"
SETTLE_LIMIT = 30.0  # real seconds the pipeline may take to catch up before the drill gives up

_MILESTONES = {
    "report": Milestone.REPORTED,
    "arrive": Milestone.ON_SITE,
    "stabilise": Milestone.STABILISED,
    "investigated": Milestone.INVESTIGATED,
    "close": Milestone.CLOSED,
}


class DrillError(Exception):
    """The drill could not run to its end (the pipeline stalled, the broker went away)."""


@dataclass(order=True, frozen=True, slots=True)
class _Step:
    at: datetime
    order: int
    injection: Injection | None = field(compare=False, default=None)
    repetition: int = field(compare=False, default=0)
    response: Response | None = field(compare=False, default=None)
    incident: str | None = field(compare=False, default=None)


@dataclass(slots=True)
class DrillLog:
    """What happened besides the events: responders refused, messages published."""

    published: int = 0
    refusals: list[str] = field(default_factory=list)


class Drill:
    def __init__(
        self,
        scenario: Scenario,
        journal: Journal,
        *,
        port: int,
        virtual: bool,
        zone: ZoneInfo,
        sources: Sequence[Source] = (),
    ) -> None:
        """`sources`: what else runs beside the drill's own ingest (the notifier)."""
        self.scenario = scenario
        self.sources = sources
        self.journal = journal
        self.port = port
        self.virtual = virtual
        self.start = journal.clock.now()
        self.end = self.start + scenario.duration
        self.log = DrillLog()
        self._steps: list[_Step] = []
        self._scheduled = asyncio.Event()  # a step was added: a sleeping scaled clock looks again
        self._order = itertools.count()
        self._zone = zone
        for injection in scenario.injections:
            for offset, n in injection.times():
                self._push(_Step(self.start + offset, next(self._order), injection=injection, repetition=n))
        self.ingest = MqttIngest(
            journal,
            Broker(host="127.0.0.1", port=port, client_id=f"dutydesk-drill-{scenario.id}"),
            self._subscriptions(),
            drill=True,
        )
        journal.subscribe(self._on_events)

    def _subscriptions(self) -> list[Subscription]:
        subscriptions = []
        for feed in self.scenario.feeds:
            codec = build_codec(feed.codec, CodecContext(zone=self._zone, options=feed.options))
            topics = (feed.topic,) if isinstance(feed.topic, str) else feed.topic
            subscriptions += [Subscription(feed.name, topic, codec) for topic in topics]
        return subscriptions

    def _push(self, step: _Step) -> None:
        heapq.heappush(self._steps, step)
        self._scheduled.set()

    def _on_events(self, recorded: Sequence[Recorded]) -> None:
        """Responders go to work on every drill incident their plan names."""
        for item in recorded:
            event = item.event
            if not (isinstance(event, IncidentOpened) and event.drill):
                continue
            for response in self.scenario.responders:
                if response.plan not in ("*", event.plan_id):
                    continue
                first = event.at + response.after
                last = event.at + response.until if response.until else first
                when = first
                while when <= min(last, self.end):
                    self._push(_Step(when, next(self._order), response=response, incident=event.incident))
                    if response.every is None:
                        break
                    when += response.every

    async def run(self) -> None:
        """Play the scenario to its end."""
        stop = asyncio.Event()
        # on virtual time the drill fires deadlines itself, step by step; on a scaled clock the
        # service does, as it would on duty
        sources = [self.ingest, *self.sources]
        task = asyncio.create_task(
            _together(*(s.run(stop) for s in sources))
            if self.virtual
            else Service(self.journal, sources=sources).run(stop)
        )
        try:
            await self._wait(lambda: self.ingest.state.connected or task.done(), "the broker")
            if task.done():
                await task  # re-raise why it stopped
            async with aiomqtt.Client(
                "127.0.0.1", self.port, identifier=f"dutydesk-sim-{self.scenario.id}"
            ) as client:
                await self._play(client)
        finally:
            stop.set()
            await asyncio.wait_for(task, SETTLE_LIMIT)

    async def _play(self, client: aiomqtt.Client) -> None:
        """Until the end: move time to the next step (or the end), do what is due, let the
        pipeline catch up. Steps appear as incidents open (responders), so look again each time."""
        clock = self.journal.clock
        while True:
            upcoming = self._steps[0].at if self._steps else self.end
            moment = min(upcoming, self.end)
            await self._advance(moment)
            if isinstance(clock, ScaledClock):  # hold time while the pipeline catches up
                clock.hold(min(clock.now(), moment))
            while self._steps and self._steps[0].at <= min(clock.now(), self.end):
                await self._do(heapq.heappop(self._steps), client)
            await self._settle()
            if isinstance(clock, ScaledClock):
                clock.release()
            pending = bool(self._steps) and self._steps[0].at <= self.end
            if clock.now() >= self.end and not pending:
                return

    async def _advance(self, moment: datetime) -> None:
        """Bring the clock to `moment`, firing every deadline on the way in order. On a scaled
        clock, wake early when a responder is scheduled meanwhile."""
        clock = self.journal.clock
        if not isinstance(clock, ManualClock):
            self._scheduled.clear()
            await first_of(clock.sleep_until(moment), self._scheduled.wait())
            return
        while (wake := self.journal.engine.next_wakeup()) is not None and wake < moment:
            clock.set(max(wake, clock.now()))
            await self.journal.fire()
        clock.set(max(moment, clock.now()))
        await self.journal.fire()

    async def _do(self, step: _Step, client: aiomqtt.Client) -> None:
        if step.injection is not None and step.injection.publish is not None:
            publication = step.injection.publish
            topic = publication.topic.replace("{n}", str(step.repetition))
            await client.publish(topic, publication.body(step.repetition), qos=1, retain=publication.retain)
            self.log.published += 1
        elif step.injection is not None and step.injection.report is not None:
            report = step.injection.report
            await self._submit(
                OpenIncident(
                    actor=RESPONDER,
                    at=step.at,
                    plan_id=report.plan,
                    title=report.title,
                    source=report.source,
                    location=report.location,
                    urgent=report.urgent,
                    severity=report.severity,
                    drill=True,
                )
            )
        elif step.response is not None and step.incident is not None:
            await self._submit(self._command(step.response, step.incident, step.at))

    def _command(self, response: Response, incident: str, at: datetime) -> Command:
        match response.do:
            case "update":
                return PostUpdate(
                    actor=RESPONDER,
                    at=at,
                    incident=incident,
                    measures="按预案处置（演练）",
                    status="处置中（演练）",
                    next_steps="继续按预案处置（演练）",
                )
            case "done":
                assert response.obligation is not None
                return CompleteObligation(
                    actor=RESPONDER, at=at, incident=incident, obligation=response.obligation
                )
            case "urgent":
                return MarkUrgent(actor=RESPONDER, at=at, incident=incident)
            case _:
                text = "演练结束" if response.do == "close" else None
                return ReachMilestone(
                    actor=RESPONDER, at=at, incident=incident, milestone=_MILESTONES[response.do], text=text
                )

    async def _submit(self, command: Command) -> None:
        (outcome,) = await self.journal.submit(command)
        if outcome.rejected is not None:
            self.log.refusals.append(f"{type(command).__name__}: {outcome.rejected}")

    async def _settle(self) -> None:
        """Wait until everything published has been read and committed (time is held meanwhile)."""
        await self._wait(lambda: self.ingest.state.received >= self.log.published, "the pipeline")

    async def _wait(self, condition: Callable[[], bool], what: str) -> None:
        async def poll() -> None:
            while not condition():  # noqa: ASYNC110 - other tasks make it true; nothing to wait on
                await asyncio.sleep(0.002)

        try:
            await asyncio.wait_for(poll(), SETTLE_LIMIT)
        except TimeoutError:
            raise DrillError(f"{what} did not catch up within {SETTLE_LIMIT:.0f} s") from None


async def _together(*runs: Coroutine[Any, Any, None]) -> None:
    async with asyncio.TaskGroup() as group:
        for run in runs:
            group.create_task(run)


def drill_start(now: datetime) -> datetime:
    """Drills start on a whole minute, so their timelines read cleanly."""
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)
