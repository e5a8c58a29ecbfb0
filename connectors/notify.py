"""Notifications through apprise: the destinations file, the message templates, and the worker
that delivers what the dispatcher queued, retrying with backoff and then falling back.

Delivery acts after commit: the worker hears of a `NotificationQueued` once it is in the log,
sends it in a thread of its own pool (apprise blocks) under a timeout, and stores every attempt
as an event. Nothing here holds the journal while sending, so a slow or hanging destination never
delays the engine's deadlines. A drill is sent through an apprise object that holds only the
destinations tagged for drills: whatever the roster or the fallback says, a drill cannot reach
anything else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import apprise
import pendulum
import yaml
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from dutydesk.connectors.application.factories import apprise_path, retry_policy
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.service import first_of
from dutydesk.connectors.settings import Settings, SettingsError
from dutydesk.connectors.store import Recorded, StoreError
from dutydesk.playbooks.dispatch import NOTIFIER_ACTOR
from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.events import NotificationAttempted, NotificationFailed, NotificationQueued
from dutydesk.playbooks.notices import RetryPolicy
from dutydesk.playbooks.vocab import ROLES, SEVERITY_LABELS, Severity

log = logging.getLogger("dutydesk.notify")

BUNDLED_TEMPLATES = Path(__file__).parent / "templates"
LISTED = 20  # items spelt out in one digest; the rest are counted
DRILL_MARK = {"zh": "【演练】", "en": "[DRILL] "}
STAGES = {
    "warning": ("预警", "warning"),
    "breach": ("超时", "overdue"),
    "escalation": ("升级", "escalated"),
    "reminder": ("整改提醒", "rectification reminder"),
    "rectification_overdue": ("整改逾期", "rectification overdue"),
}
URGENT_STAGES = frozenset({"breach", "escalation", "rectification_overdue"})
WORKERS = 16  # threads for apprise; a hanging destination holds one until apprise's own timeout
WRITE_RETRY = 1.0  # seconds before trying again to store delivery outcomes


# -- destinations -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Destinations:
    """The apprise destinations, and the drill-tagged subset that drills are confined to."""

    real: apprise.Apprise
    drill: apprise.Apprise
    count: int


class _Problems(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __bool__(self) -> bool:
        return bool(self.lines)


def load_destinations(path: Path, drill_tag: str) -> Destinations:
    """Read apprise's YAML configuration; every problem is reported with the file's name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read the apprise configuration ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise SettingsError(f"{where}: bad YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("urls"), list):
        raise SettingsError(f"{path}: expected apprise's YAML format: a mapping with a list 'urls'")
    if "include" in data:
        # apprise would fetch included files or URLs at run time; keep every destination here
        raise SettingsError(f"{path}: include: not allowed; list every destination in this file")
    if not data["urls"]:
        raise SettingsError(f"{path}: urls: no destinations")
    asset = apprise.AppriseAsset(storage_mode="memory")
    config = apprise.AppriseConfig(asset=asset)
    config.add_config(text, format="yaml")
    problems = _Problems()
    logger = logging.getLogger("apprise")  # apprise reports what it cannot read only in its log
    logger.addHandler(problems)
    try:
        services = list(config.services())
    finally:
        logger.removeHandler(problems)
    if problems or not services:
        raise SettingsError(
            "\n".join(f"{path}: {line}" for line in problems.lines or ["urls: no destinations"])
        )
    real, drill = apprise.Apprise(asset=asset), apprise.Apprise(asset=asset)
    real.add(services)
    drill.add([service for service in services if drill_tag in service.tags])
    return Destinations(real, drill, len(services))


# -- messages -----------------------------------------------------------------------------------


class Messages:
    """Titles and bodies from sandboxed Jinja2 templates (`title.zh.j2`, `body.en.j2`, ...): the
    bundled ones, or files of the same names in the configured folder."""

    def __init__(self, *, lang: str, zone: ZoneInfo, folder: Path | None = None) -> None:
        self.lang, self.zone = lang, zone
        folders = [str(folder)] if folder else []
        env = SandboxedEnvironment(
            loader=FileSystemLoader([*folders, str(BUNDLED_TEMPLATES)]),
            undefined=StrictUndefined,
            autoescape=False,  # plain text for chat, e-mail and SMS, never HTML
            trim_blocks=True,
            lstrip_blocks=True,
        )
        try:
            self._title = env.get_template(f"title.{lang}.j2")
            self._body = env.get_template(f"body.{lang}.j2")
            sample = self._context(role="duty_officer", items=[], recipients=[], unstaffed=False, at=None)
            self._title.render(sample)
            self._body.render(sample)
        except TemplateError as exc:
            where = getattr(exc, "filename", None) or getattr(exc, "name", None) or "template"
            raise SettingsError(f"{where}: {exc}") from None

    def render(self, queued: NotificationQueued) -> tuple[str, str]:
        return self.compose(
            role=queued.role,
            items=list(queued.items),
            recipients=list(queued.recipients),
            drill=queued.drill,
            unstaffed=queued.unstaffed,
            at=queued.at,
        )

    def compose(
        self,
        *,
        role: str,
        items: list[dict[str, Any]],
        recipients: list[str],
        drill: bool,
        unstaffed: bool,
        at: datetime | None,
    ) -> tuple[str, str]:
        """(title, body); a drill is marked outside the templates, so no template can drop it."""
        context = self._context(role=role, items=items, recipients=recipients, unstaffed=unstaffed, at=at)
        try:
            title, body = self._title.render(context).strip(), self._body.render(context).strip()
        except TemplateError:
            # a broken override must not cost a message: say it plainly instead
            log.exception("notification template failed; sending plain text")
            title = f"dutydesk: {context['role']} ({context['count']})"
            body = "\n".join(
                f"{i['incident']} {i['obligation']} {i['stage']} {i['due']}" for i in context["items"]
            )
        mark = DRILL_MARK[self.lang] if drill else ""
        return mark + title, mark + body

    def _context(
        self,
        *,
        role: str,
        items: list[dict[str, Any]],
        recipients: list[str],
        unstaffed: bool,
        at: datetime | None,
    ) -> dict[str, Any]:
        zh = self.lang == "zh"
        label = ROLES.get(role)
        listed = [self._item(item, at) for item in items[:LISTED]]
        return {
            "role": (label.zh if zh else label.en) if label else role,
            "recipients": recipients,
            "unstaffed": unstaffed,
            "test": not items,
            "count": len(items),
            "items": listed,
            "more": max(len(items) - LISTED, 0),
            "overdue": any(item["stage"] in URGENT_STAGES for item in items),
            "at": at.astimezone(self.zone).strftime("%m-%d %H:%M") if at else "",
        }

    def _item(self, item: dict[str, Any], at: datetime | None) -> dict[str, Any]:
        zh = self.lang == "zh"
        due = datetime.fromisoformat(item["due_at"])
        now = at or due
        title = item.get("obligation_title") or {}
        severity = item.get("severity")
        stage = STAGES.get(item["stage"], (item["stage"], item["stage"]))[0 if zh else 1]
        if item["stage"] == "escalation":
            stage += f"（第{item['level']}级）" if zh else f" (level {item['level']})"
        return {
            "incident": item["incident"],
            "title": item.get("title") or "",
            "location": item.get("location") or "",
            "severity": SEVERITY_LABELS[Severity[severity.upper()]].get(self.lang) if severity else "",
            "obligation": title.get(self.lang) or item["obligation"],
            "stage": stage,
            "due": due.astimezone(self.zone).strftime("%m-%d %H:%M"),
            "late": self._span(now - due) if now >= due else "",
            "left": self._span(due - now) if now < due else "",
        }

    def _span(self, delta: timedelta) -> str:
        seconds = round(abs(delta.total_seconds()) / 60) * 60 or round(abs(delta.total_seconds()))
        return pendulum.duration(seconds=seconds).in_words(locale=self.lang) or "0"


# -- delivery -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """What one attempt came to."""

    ok: bool
    error: str | None = None
    elapsed: float = 0.0
    permanent: bool = False  # retrying cannot help: no destination carries the tag


class Deliverer(Protocol):
    """Sends one message to the destinations carrying one tag."""

    async def send(self, title: str, body: str, tag: str, *, drill: bool) -> Sent: ...

    def close(self) -> None: ...


class AppriseDeliverer:
    def __init__(self, destinations: Destinations, *, timeout: float, workers: int = WORKERS) -> None:
        self.destinations = destinations
        self.timeout = timeout
        # a pool of its own: hanging sends must never starve the loop's default executor
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apprise")

    async def send(self, title: str, body: str, tag: str, *, drill: bool) -> Sent:
        future = asyncio.get_running_loop().run_in_executor(self._pool, self._notify, title, body, tag, drill)
        try:
            # apprise stops waiting at `timeout` itself; this guards against a call that does not
            return await asyncio.wait_for(future, self.timeout + 1.0)
        except TimeoutError:
            return Sent(False, f"no answer within {self.timeout:g} s", self.timeout)

    def _notify(self, title: str, body: str, tag: str, drill: bool) -> Sent:
        app = self.destinations.drill if drill else self.destinations.real
        started = time.perf_counter()
        try:
            with app.notify(body=body, title=title, tag=tag, timeout=self.timeout) as result:
                elapsed = time.perf_counter() - started
                if result:
                    return Sent(True, elapsed=elapsed)
                if result.status == apprise.AppriseResultStatus.NOMATCH:
                    kind = "drill destination" if drill else "destination"
                    return Sent(False, f"no {kind} has the tag {tag!r}", elapsed, permanent=True)
                if result.status == apprise.AppriseResultStatus.TIMEOUT:
                    return Sent(False, f"no answer within {self.timeout:g} s", elapsed)
                messages = [e.message for e in result.logs() if e.level in ("ERROR", "WARNING")]
                return Sent(False, "; ".join(dict.fromkeys(messages)) or result.status.name.lower(), elapsed)
        except Exception as exc:  # apprise raising is one more failed attempt, never a crash
            return Sent(False, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(slots=True)
class _Job:
    """One notification to one target: which attempt comes next, and to the fallback or not."""

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
    """Delivers queued notifications, each target in a task of its own: failed attempts are
    retried with backoff on the injected clock, then the message goes to the fallback tag. Every
    attempt and every give-up is stored; a restart resumes what was not finished."""

    def __init__(
        self,
        journal: Journal,
        deliverer: Deliverer | None,
        messages: Messages,
        *,
        retry: RetryPolicy,
        fallback_tag: str,
        concurrency: int = WORKERS,
    ) -> None:
        self.journal = journal
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
            if self.deliverer is not None:
                self.deliverer.close()

    async def _stop_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._jobs.put_nowait(None)

    async def _deliver(self, job: _Job, stop: asyncio.Event) -> None:
        if self.deliverer is None:
            self._fail(job, "notifications are off: no apprise configuration (notify.apprise_config)", None)
            return
        queued = job.queued or await self._read(job.seq)
        title, body = self.messages.render(queued)
        while True:
            async with self._slots:
                sent = await self.deliverer.send(title, body, job.target, drill=job.drill)
            now = self.journal.clock.now()
            attempt = NotificationAttempted(
                at=now,
                incident=job.incident,
                actor=NOTIFIER_ACTOR,
                drill=job.drill,
                notification=job.notification,
                role=job.role,
                target=job.target,
                attempt=job.attempt,
                ok=sent.ok,
                error=sent.error,
                fallback=job.fallback,
                elapsed=round(sent.elapsed, 3),
            )
            self._results.put_nowait(Keyed(f"attempt:{self._where(job)}:{job.attempt}", attempt))
            if sent.ok:
                return
            delay = None if sent.permanent else self.retry.delay(job.attempt)
            if delay is None:
                fallback = self.fallback_tag if not job.fallback and job.target != self.fallback_tag else None
                self._fail(job, sent.error or "failed", fallback)
                if fallback is None:
                    return
                job = dataclasses.replace(job, target=fallback, fallback=True, attempt=1)
                continue
            job.attempt += 1
            await first_of(self.journal.clock.sleep_until(now + delay), stop.wait())
            if stop.is_set():
                return

    def _fail(self, job: _Job, error: str, fallback: str | None) -> None:
        log.warning(
            "notification %s to %s (%s) failed after %d attempt(s): %s%s",
            job.notification,
            job.target,
            job.role,
            job.attempt,
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
            attempts=job.attempt,
            error=error,
            fallback=job.fallback,
            next_target=fallback,
        )
        self._results.put_nowait(Keyed(f"failed:{self._where(job)}", failed))

    @staticmethod
    def _where(job: _Job) -> str:
        return f"{job.notification}:{'fallback' if job.fallback else 'to'}:{job.target}"

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


def notifier_from_settings(journal: Journal, settings: Settings) -> Notifier:
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
    )
