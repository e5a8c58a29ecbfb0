"""The composition root of the command line: where the settings are read and the concrete pieces
— the event store, the journal and its engine, the wall clock, the running service, the
console, apprise — are chosen and put together. Commands ask the context for what they need and
never build these themselves.

A command pays only for what it asks for: each piece is imported where it is first built, so
`calendar is-workday` never loads the engine, nor `incidents list` apprise or Textual.
"""

# ruff: noqa: PLC0415 - the imports inside functions are the point: each loads when first needed

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import asyncio
    import subprocess
    from collections.abc import Mapping

    from dutydesk.connectors.application.journal import Journal, Outcome
    from dutydesk.connectors.deliverers import AppriseDeliverer
    from dutydesk.connectors.messages import Messages
    from dutydesk.connectors.settings import Settings
    from dutydesk.connectors.store import EventStore
    from dutydesk.console.i18n import Translator
    from dutydesk.playbooks.clock import Clock
    from dutydesk.playbooks.obligations import Deadlines
    from dutydesk.playbooks.plans import Plan
    from dutydesk.playbooks.vocab import Severity
    from dutydesk.playbooks.workdays import WorkCalendar


class CliError(Exception):
    """A mistake on the command line that argparse cannot see (a bad date, an unknown plan)."""


class Context:
    """What every command works with: the settings, the language, who acts, the clock, where to
    write; and the pieces it may ask for, built from the settings the same way for every command."""

    def __init__(
        self,
        settings: Settings,
        t: Translator,
        operator: str,
        *,
        out: TextIO,
        err: TextIO,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.t = t
        self.operator = operator
        self.out = out
        self.err = err
        self._clock = clock

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            from dutydesk.connectors.clock import WallClock

            self._clock = WallClock()
        return self._clock

    def say(self, *lines: str) -> None:
        """Lines written at once, while the command is still running (`serve`)."""
        from dutydesk.playbooks.text import visible

        for line in lines:
            print(visible(line, multiline=True), file=self.out)
        self.out.flush()

    def warn(self, line: str) -> None:
        from dutydesk.playbooks.text import visible

        print(visible(line, multiline=True), file=self.err)

    # -- reading arguments ---------------------------------------------------------------------

    def when(self, text: str) -> datetime:
        """An ISO 8601 time; without an offset it is read in the configured time zone."""
        import pendulum

        try:
            parsed = pendulum.parse(text, tz=self.settings.zone)
        except (ValueError, pendulum.parsing.exceptions.ParserError):
            raise CliError(f"cannot read time {text!r}; use ISO 8601, e.g. 2026-11-23T14:05") from None
        if not isinstance(parsed, pendulum.DateTime):
            raise CliError(f"{text!r} is not a date and time")
        return parsed

    def when_or_none(self, text: str | None) -> datetime | None:
        return self.when(text) if text else None

    @staticmethod
    def day(text: str) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise CliError(f"cannot read date {text!r}; use YYYY-MM-DD") from None

    @staticmethod
    def severity(text: str) -> Severity:
        from dutydesk.playbooks.vocab import Severity

        try:
            return Severity.parse(text)
        except ValueError as exc:
            raise CliError(str(exc)) from None

    # -- what the settings make ----------------------------------------------------------------

    def library(self, paths: list[Path] | None = None) -> dict[str, Plan]:
        """The plans; broken ones are left out, and the user told."""
        plans, errors = self.check_library(paths)
        if errors:
            self.warn(
                f"dutydesk: {len(errors)} plan error(s); these plans are left out "
                "(see `dutydesk plans check`):"
            )
            for error in errors:
                self.warn(f"  {error}")
        return plans

    def check_library(self, paths: list[Path] | None = None) -> tuple[dict[str, Plan], list[str]]:
        from dutydesk.connectors.application.factories import load_library

        plans, errors = load_library(self.settings, paths)
        return plans, [str(error) for error in errors]

    def calendar(self) -> WorkCalendar:
        from dutydesk.connectors.application.factories import load_calendar

        return load_calendar(self.settings)

    def deadlines(self) -> Deadlines:
        from dutydesk.connectors.application.factories import deadlines

        return deadlines(self.settings)

    @contextlib.asynccontextmanager
    async def store(self) -> AsyncIterator[EventStore]:
        """The event log alone, for commands that read it without the engine: the SQLite file,
        or PostgreSQL when `[database] url` names it."""
        from dutydesk.connectors.application.factories import open_store
        from dutydesk.connectors.store import StoreError

        try:
            store = await open_store(self.settings)
        except StoreError as exc:
            raise CliError(str(exc)) from None
        try:
            yield store
        except StoreError as exc:  # the log refused (locked too long, tampered with): say why
            raise CliError(str(exc)) from None
        finally:
            await store.close()

    @contextlib.asynccontextmanager
    async def journal(self, *, plans: bool = False, notices: bool = False) -> AsyncIterator[Journal]:
        """The engine bound to the event log, caught up. `plans`: with the plan library, for
        commands that open incidents; `notices`: deciding notifications, for the engine itself."""
        from dutydesk.connectors.application.factories import correlation, debounce, feeds, notice_policy
        from dutydesk.connectors.application.journal import Journal

        settings = self.settings
        library = self.library() if plans else {}
        duties: dict[str, Any] = {}
        if plans:  # the routines name the plans an abnormal round opens
            from dutydesk.console.cli.routines import duty_library

            duties = duty_library(self, library)
        async with self.store() as store:
            yield await Journal.open(
                store,
                plans=library,
                deadlines=self.deadlines(),
                clock=self.clock,
                feeds=feeds(settings),
                debounce=debounce(settings),
                correlation=correlation(settings),
                notices=notice_policy(settings) if notices else None,
                **duties,
                retract_within=settings.file.duty.retract_within,
            )

    def refused(self, outcome: Outcome) -> None:
        """Say why a command was refused, in the console's language, times in the centre's zone."""
        if outcome.rejected is not None:
            from dutydesk.console import render

            raise CliError(render.refusal(outcome.rejected, self.t, self.settings.zone))

    # -- running dutydesk ----------------------------------------------------------------------

    async def serve(self, stop: asyncio.Event) -> None:
        """The engine with every configured source and the notifier, until `stop`."""
        from dutydesk.connectors.application.factories import anchor_path, apprise_path
        from dutydesk.connectors.application.liveness import status_path
        from dutydesk.connectors.application.service import DiskReserve, EngineRunning, Service
        from dutydesk.connectors.application.sources import camera_streams, mqtt_ingest
        from dutydesk.connectors.notify import notifier_from_settings
        from dutydesk.connectors.phone import phone_from_settings

        settings = self.settings
        if apprise_path(settings) is None:
            self.warn(self.t("notify_off", path=settings.resolve(settings.file.notify.apprise_config)))
        async with self.journal(plans=True, notices=True) as journal:
            phone = phone_from_settings(journal, settings)
            # the phone page answers on every node: any of them can record an acknowledgement
            sources = [*mqtt_ingest(journal, settings), *([phone.endpoint] if phone.endpoint else [])]
            reserve = settings.file.database.free_space_reserve_mb * 2**20
            if reserve and settings.file.database.url is None:
                sources.append(DiskReserve(journal=journal, folder=settings.database.parent, reserve=reserve))
            # tells of deadlines falling due while the log cannot be written (`storage.py`)
            alerter = notifier_from_settings(journal, settings, phone.addresser)
            service = Service(
                journal,
                sources=sources,
                # a fresh set each time this node comes to lead
                leader_sources=lambda: [
                    *camera_streams(journal, settings),
                    notifier_from_settings(journal, settings, phone.addresser),
                ],
                # a server log takes several engine nodes; a SQLite file one engine
                several=settings.file.database.url is not None,
                alert=alerter.tell_unrecorded,
                anchors=anchor_path(settings),
                status=status_path(settings.database),
                notifications=alerter.deliverer is not None,
            )
            self.say(self.t("serving", db=journal.store.path))
            try:
                await service.run(stop)
            except EngineRunning as exc:
                raise CliError(str(exc)) from None

    async def console(self, *, attach: bool, config: Path | None) -> None:
        """The duty console, with the engine in a process of its own (`dutydesk serve`), started
        here unless one runs on this database already, so the screen stays fluid under load."""
        from dutydesk.connectors.application.liveness import (
            ENGINE_LEASE,
            engine_liveness,
            holder_alive,
            stop_holder,
        )
        from dutydesk.connectors.clock import WallClock
        from dutydesk.console.app import DutyApp

        async with self.journal(plans=True) as journal:
            store, database, wall = journal.store, self.settings.database, WallClock()  # real processes
            if not attach and await store.holder(ENGINE_LEASE, wall.now(), alive=holder_alive) is None:
                self._start_engine(config)

            async def stop_engine() -> bool:
                return await stop_holder(store, wall.now())

            app = DutyApp(
                journal=journal,
                settings=self.settings,
                t=self.t,
                operator=self.operator,
                liveness=lambda: engine_liveness(store, database, wall.now()),
                stop_engine=stop_engine,
            )
            await app.run_async()
            # closing the console never stops deadline handling: the engine is left running
            holder = await store.holder(ENGINE_LEASE, wall.now(), alive=holder_alive)
            if holder is not None:
                self.say(self.t("engine.left_running", holder=holder))

    def _start_engine(self, config: Path | None) -> subprocess.Popen[bytes]:
        import subprocess
        import sys

        log = self.settings.database.with_suffix(".engine.log")
        command = [sys.executable, "-m", "dutydesk.console.cli", "--operator", self.operator]
        if config is not None:
            command += ["--config", str(config)]
        with log.open("ab") as output:  # the child keeps its own handle
            # a session of its own: the engine outlives the console and the terminal it ran in
            return subprocess.Popen([*command, "serve"], stdout=output, stderr=output, start_new_session=True)

    def deliverer(self) -> tuple[AppriseDeliverer, Messages]:
        """apprise with the configured destinations, and the message templates."""
        from dutydesk.connectors.application.factories import apprise_path
        from dutydesk.connectors.deliverers import AppriseDeliverer, load_destinations
        from dutydesk.connectors.messages import Messages

        settings, notify = self.settings, self.settings.file.notify
        path = apprise_path(settings)
        if path is None:
            raise CliError(self.t("no_apprise", path=settings.resolve(notify.apprise_config)))
        deliverer = AppriseDeliverer(load_destinations(path, notify.drill_tag), timeout=notify.timeout)
        return deliverer, Messages(lang=notify.lang, zone=settings.zone)


def open_context(
    *,
    config: Path | None,
    operator: str | None,
    lang: str | None,
    env: Mapping[str, str],
    out: TextIO,
    err: TextIO,
    clock: Clock | None,
) -> Context:
    """Read the settings once and make the context every command runs in."""
    from dutydesk.connectors.settings import load_settings
    from dutydesk.console.i18n import Translator, detect

    settings = load_settings(config, env)
    t = Translator(lang or detect(settings.file.duty.locale, env))
    return Context(settings, t, settings.operator(operator), out=out, err=err, clock=clock)
