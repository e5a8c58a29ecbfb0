"""Notifications: the worker that delivers what the dispatcher queued to each destination,
retrying with backoff and then falling back, and the `notify test` send. Messages are composed
by `connectors/messages.py`.

Delivery acts after commit: the worker hears of a `NotificationQueued` once it is in the log,
sends it through the deliverer (`connectors/deliverers.py`) to every destination of each target,
each on its own, and stores every attempt as an event. Nothing here holds the journal while
sending, so a slow or hanging destination never delays the engine's deadlines. A drill is only
ever sent to destinations tagged for drills: whatever the roster or the fallback says, a drill
cannot reach anything else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dutydesk.connectors.application.factories import apprise_path, retry_policy
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.deliverers import (
    WORKERS,
    AppriseDeliverer,
    Button,
    Deliverer,
    Sent,
    load_destinations,
)
from dutydesk.connectors.messages import Addressed, Messages
from dutydesk.connectors.settings import Settings, SettingsError
from dutydesk.connectors.store import Recorded, StoreError
from dutydesk.connectors.waits import first_of
from dutydesk.playbooks.dispatch import NOTIFIER_ACTOR
from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.events import (
    Event,
    NotificationAttempted,
    NotificationFailed,
    NotificationQueued,
    ObligationBreached,
    ObligationWarned,
)
from dutydesk.playbooks.notices import RetryPolicy

log = logging.getLogger("dutydesk.notify")

WRITE_RETRY = 1.0  # seconds before trying again to store delivery outcomes
UNRECORDED = {"zh": "【日志暂不可写，未入日志】", "en": "[NOT IN THE LOG YET] "}


def _item(event: ObligationWarned | ObligationBreached) -> dict[str, Any]:
    """A deadline as a message item, the shape `NoticeBook` queues."""
    stage = "warning" if isinstance(event, ObligationWarned) else "breach"
    return {
        "ref": f"{event.incident}/{event.obligation}#{event.occurrence}/{stage}",
        "stage": stage,
        "incident": event.incident,
        "obligation": event.obligation,
        "occurrence": event.occurrence,
        "level": 0,
        "at": event.at.isoformat(),
        "due_at": event.due_at.isoformat(),
    }


# -- delivery -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Target:
    """How the destinations of one target are doing: how many still try, and whether any got it."""

    trying: int
    reached: bool = False


@dataclass(slots=True)
class _Job:
    """One notification to one target: the attempt its destinations begin with, and whether it
    goes to the fallback."""

    notification: str
    role: str
    target: str
    incident: str | None
    drill: bool
    seq: int  # where the queued notification is in the log
    queued: NotificationQueued | None = None  # None after a restart: read it from the log
    fallback: bool = False
    attempt: int = 1


class Notifier:
    """Delivers queued notifications, each destination of each target in a task of its own: a
    failed destination is retried alone, with backoff on the injected clock, so a working one gets
    the message once; when no destination of a target got it, the message goes to the fallback
    tag. Every attempt and every give-up is stored; a restart resumes what was not finished."""

    def __init__(
        self,
        journal: Journal,
        deliverer: Deliverer | None,
        messages: Messages,
        *,
        retry: RetryPolicy,
        fallback_tag: str,
        concurrency: int = WORKERS,
        address: Callable[[NotificationQueued, str], Addressed | None] | None = None,
    ) -> None:
        self.journal = journal
        # who a copy to a target goes to, with their signed links (`connectors/phone`); None: nobody
        self.address = address
        self.deliverer = deliverer  # None: no apprise configuration, nothing can be delivered
        self.messages = messages
        self.retry = retry
        self.fallback_tag = fallback_tag
        self._slots = asyncio.Semaphore(concurrency)
        self._jobs: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._results: asyncio.Queue[Keyed | None] = asyncio.Queue()

    def _heard(self, recorded: Sequence[Recorded]) -> None:
        for item in recorded:
            event = item.event
            if isinstance(event, NotificationQueued):
                for target in event.targets:
                    self._jobs.put_nowait(
                        _Job(
                            event.notification,
                            event.role,
                            target,
                            event.incident,
                            event.drill,
                            item.seq,
                            event,
                        )
                    )

    async def run(self, stop: asyncio.Event) -> None:
        self.journal.subscribe(self._heard)
        for (notification, target, fallback), d in self.journal.engine.projection.notices.deliveries.items():
            job = _Job(
                notification, d.role, target, d.incident, d.drill, d.seq, None, fallback, d.attempts + 1
            )
            self._jobs.put_nowait(job)
        running: set[asyncio.Task[None]] = set()
        try:
            async with asyncio.TaskGroup() as group:
                writer = group.create_task(self._writer())
                group.create_task(self._stop_on(stop))
                while (next_job := await self._jobs.get()) is not None:
                    task = group.create_task(self._deliver(next_job, stop))
                    running.add(task)
                    task.add_done_callback(running.discard)
                # deliveries cut short here are resumed on the next start
                for task in running:
                    task.cancel()
                if running:
                    await asyncio.wait(running)
                self._results.put_nowait(None)
                await writer
        finally:
            self.journal.unsubscribe(self._heard)
            if self.deliverer is not None:
                self.deliverer.close()

    async def _stop_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._jobs.put_nowait(None)

    async def _deliver(self, job: _Job, stop: asyncio.Event) -> None:
        """Deliver to every destination of the target, each on its own; when none of them got it,
        go on to the fallback tag."""
        deliverer = self.deliverer
        if deliverer is None:
            self._fail(
                job, None, 0, "notifications are off: no apprise configuration (notify.apprise_config)"
            )
            return
        queued = job.queued or await self._read(job.seq)
        while True:
            to = self.address(queued, job.target) if self.address and not job.fallback else None
            title, body = self.messages.render(queued, to)
            buttons = self.messages.buttons(to)
            destinations = deliverer.destinations(job.target, drill=job.drill)
            if not destinations:
                kind = "drill destination" if job.drill else "destination"
                self._fail(
                    job, None, 0, f"no {kind} has the tag {job.target!r}", fallback=self._fallback(job)
                )
            else:
                target = _Target(trying=len(destinations))
                async with asyncio.TaskGroup() as group:
                    for destination in destinations:
                        group.create_task(
                            self._to_destination(
                                deliverer,
                                job,
                                destination=destination,
                                target=target,
                                message=(title, body),
                                buttons=buttons,
                                stop=stop,
                            )
                        )
                if target.reached or stop.is_set():
                    return
            fallback = self._fallback(job)
            if fallback is None:
                return
            job = dataclasses.replace(job, target=fallback, fallback=True, attempt=1)

    async def _to_destination(
        self,
        deliverer: Deliverer,
        job: _Job,
        *,
        destination: str,
        target: _Target,
        message: tuple[str, str],
        buttons: Sequence[Button],
        stop: asyncio.Event,
    ) -> None:
        """Try one destination, retrying it alone with backoff, until it takes the message or its
        attempts are spent."""
        attempt = job.attempt
        while True:
            async with self._slots:
                sent = await deliverer.send(*message, destination, drill=job.drill, buttons=buttons)
            now = self.journal.clock.now()
            attempted = NotificationAttempted(
                at=now,
                incident=job.incident,
                actor=NOTIFIER_ACTOR,
                drill=job.drill,
                notification=job.notification,
                role=job.role,
                target=job.target,
                attempt=attempt,
                ok=sent.ok,
                error=sent.error,
                fallback=job.fallback,
                elapsed=round(sent.elapsed, 3),
                destination=destination,
            )
            self._results.put_nowait(Keyed(f"attempt:{self._where(job, destination)}:{attempt}", attempted))
            if sent.ok:
                target.trying, target.reached = target.trying - 1, True
                return
            delay = None if sent.permanent else self.retry.delay(attempt)
            if delay is None:
                target.trying -= 1
                settled = not target.trying and not target.reached
                fallback = self._fallback(job) if settled else None
                error = sent.error or "failed"
                self._fail(job, destination, attempt, error, settled=settled, fallback=fallback)
                return
            attempt += 1
            await first_of(self.journal.clock.sleep_until(now + delay), stop.wait())
            if stop.is_set():
                return

    async def tell_unrecorded(self, due: Sequence[Event]) -> None:
        """The `Alert` of `connectors/application/storage.py`: warnings and breaches that fell due
        while the log could not be written, sent once to the fallback destinations, unrecorded
        (they are recorded and notified as usual once the log takes writes again)."""
        items = [_item(event) for event in due if isinstance(event, ObligationWarned | ObligationBreached)]
        if self.deliverer is None or not items:
            return
        title, body = self.messages.compose(
            role=self.fallback_tag, items=items, recipients=[], drill=False, unstaffed=False, at=None
        )
        title = UNRECORDED[self.messages.lang] + title
        for destination in self.deliverer.destinations(self.fallback_tag, drill=False):
            async with self._slots:
                sent = await self.deliverer.send(title, body, destination, drill=False)
            if not sent.ok:
                log.warning("could not tell %s of deadlines due: %s", destination, sent.error)

    def _fallback(self, job: _Job) -> str | None:
        return self.fallback_tag if not job.fallback and job.target != self.fallback_tag else None

    def _fail(
        self,
        job: _Job,
        destination: str | None,
        attempts: int,
        error: str,
        *,
        settled: bool = True,
        fallback: str | None = None,
    ) -> None:
        """Store a give-up; only the one that settles the target names the fallback (if any)."""
        log.warning(
            "notification %s to %s%s (%s) failed after %d attempt(s): %s%s",
            job.notification,
            job.target,
            f" ({destination})" if destination else "",
            job.role,
            attempts,
            error,
            f"; falling back to {fallback}" if fallback else "",
        )
        failed = NotificationFailed(
            at=self.journal.clock.now(),
            incident=job.incident,
            actor=NOTIFIER_ACTOR,
            drill=job.drill,
            notification=job.notification,
            role=job.role,
            target=job.target,
            attempts=attempts,
            error=error,
            fallback=job.fallback,
            next_target=fallback,
            destination=destination,
            settled=settled,
        )
        self._results.put_nowait(Keyed(f"failed:{self._where(job, destination)}", failed))

    @staticmethod
    def _where(job: _Job, destination: str | None) -> str:
        return f"{job.notification}:{'fallback' if job.fallback else 'to'}:{job.target}:{destination or '-'}"

    async def _read(self, seq: int) -> NotificationQueued:
        (recorded,) = await self.journal.store.read(seq - 1, limit=1)
        assert isinstance(recorded.event, NotificationQueued)
        return recorded.event

    async def _writer(self) -> None:
        """Store outcomes in batches (one transaction for all that came in meanwhile)."""
        batch: list[Keyed] = []
        done = False
        while not done:
            item = await self._results.get()
            items = [item]
            while not self._results.empty():
                items.append(self._results.get_nowait())
            done = None in items
            batch += [i for i in items if i is not None]
            while batch:
                try:
                    await self.journal.record(batch)
                    batch = []
                except (StoreError, sqlite3.Error):
                    log.exception("cannot store %d delivery outcome(s); trying again", len(batch))
                    if done:
                        return
                    await asyncio.sleep(WRITE_RETRY)


def notifier_from_settings(
    journal: Journal,
    settings: Settings,
    address: Callable[[NotificationQueued, str], Addressed | None] | None = None,
) -> Notifier:
    """The notifier as configured; a missing apprise file leaves it unable to deliver (and says so
    in the log of every notification), a broken one is an error."""
    notify = settings.file.notify
    path = apprise_path(settings)
    folder = settings.resolve(notify.templates) if notify.templates else None
    if folder is not None and not folder.is_dir():
        raise SettingsError(f"{settings.source}: notify.templates: no folder {folder}")
    deliverer = (
        AppriseDeliverer(load_destinations(path, notify.drill_tag), timeout=notify.timeout) if path else None
    )
    return Notifier(
        journal,
        deliverer,
        Messages(lang=notify.lang, zone=settings.zone, folder=folder),
        retry=retry_policy(settings),
        fallback_tag=notify.fallback_tag,
        address=address,
    )


@dataclass(frozen=True, slots=True)
class Tried:
    """What a test message came to at one destination of one target (destination None: the
    target has no destination)."""

    target: str
    destination: str | None
    sent: Sent


async def send_test(deliverer: Deliverer, title: str, body: str, targets: Sequence[str]) -> list[Tried]:
    """Send a test message once to every destination of each target (`dutydesk notify test`)."""
    tried: list[Tried] = []
    for target in dict.fromkeys(targets):
        destinations = deliverer.destinations(target, drill=False)
        if not destinations:
            tried.append(
                Tried(target, None, Sent(False, f"no destination has the tag {target!r}", permanent=True))
            )
        for destination in destinations:
            tried.append(
                Tried(target, destination, await deliverer.send(title, body, destination, drill=False))
            )
    return tried


def records_of_test(
    tried: Sequence[Tried], *, notification: str, role: str, actor: str, at: datetime
) -> list[Keyed]:
    """The delivery log of a test: an attempt per destination, and a give-up for each that failed
    (a test is tried once and never falls back, so none is left "retrying")."""
    records: list[Keyed] = []
    for one in tried:
        where = f"{notification}:to:{one.target}:{one.destination or '-'}"
        if one.destination is not None:
            attempt = NotificationAttempted(
                at=at,
                incident=None,
                actor=actor,
                notification=notification,
                role=role,
                target=one.target,
                attempt=1,
                ok=one.sent.ok,
                error=one.sent.error,
                elapsed=round(one.sent.elapsed, 3),
                destination=one.destination,
            )
            records.append(Keyed(f"attempt:{where}:1", attempt))
        if not one.sent.ok:
            reached = any(o.sent.ok for o in tried if o.target == one.target)
            failed = NotificationFailed(
                at=at,
                incident=None,
                actor=actor,
                notification=notification,
                role=role,
                target=one.target,
                attempts=1 if one.destination else 0,
                error=one.sent.error or "failed",
                destination=one.destination,
                settled=not reached,
            )
            records.append(Keyed(f"failed:{where}", failed))
    return records
