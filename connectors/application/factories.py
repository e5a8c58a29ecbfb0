"""Domain objects built from the settings: the event store, the calendar, deadlines, feeds,
debounce, notice and retry policies, the plan library and where apprise's configuration is.

`connectors/settings.py` declares and validates the settings; this turns them into what the
engine and the services are made of. A file the settings name but that is missing is an error
here, naming the key; one left at its default may be absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dutydesk.connectors.settings import CalendarOverrides, Settings, SettingsError, load_toml
from dutydesk.playbooks.typeddata import given
from dutydesk.playbooks.workdays import DayOverride, WorkCalendar

# The engine's models load only when a command builds them: `calendar is-workday` and `--help`
# must start without the plan models, the event types and YAML (tests/test_startup.py).
if TYPE_CHECKING:
    from dutydesk.connectors.store import EventStore
    from dutydesk.playbooks.alarms import Debounce, Feed
    from dutydesk.playbooks.correlation import Correlation
    from dutydesk.playbooks.notices import NoticePolicy, RetryPolicy
    from dutydesk.playbooks.obligations import Deadlines
    from dutydesk.playbooks.plans import Plan, PlanError, PlanSource


async def open_store(settings: Settings) -> EventStore:
    """The event log the settings name: PostgreSQL when `[database] url` is set, else the
    SQLite file at `[database] path`. Every command and the console open it here.

    Raises:
        StoreError: the log cannot be opened (unreachable, not a dutydesk database, too new).
    """
    database = settings.file.database
    if database.url is not None:
        from dutydesk.connectors.store.postgres import PostgresEventStore  # noqa: PLC0415 - only for it

        return await PostgresEventStore.open(database.url)
    from dutydesk.connectors.store.sqlite import SqliteEventStore  # noqa: PLC0415 - see TYPE_CHECKING

    return await SqliteEventStore.open(settings.database, busy_timeout=database.busy_timeout)


def load_calendar(settings: Settings) -> WorkCalendar:
    """The working-day calendar with the centre's overrides, if it keeps a file of them."""
    path = settings.resolve(settings.file.calendar.overrides)
    if not path.exists():
        if "overrides" in given(settings.file.calendar):
            raise SettingsError(f"{settings.source}: calendar.overrides: no file {path}")
        return WorkCalendar()
    data = load_toml(path, CalendarOverrides)
    return WorkCalendar(
        overrides=[DayOverride(d.date, d.type == "workday", d.name) for d in data.days],
        confirmed_years=data.confirmed_years,
    )


def feeds(settings: Settings) -> dict[str, Feed]:
    """The configured feeds as the engine sees them."""
    from dutydesk.playbooks.alarms import Feed, Place  # noqa: PLC0415

    return {
        f.name: Feed(
            name=f.name,
            place=Place(site=f.site, building=f.building, floor=f.floor),
            places={
                device: Place(
                    site=p.site or f.site, building=p.building or f.building, floor=p.floor or f.floor
                )
                for device, p in f.devices.items()
            },
            stale_after=f.stale_after,
        )
        for f in settings.file.feeds
    }


def debounce(settings: Settings) -> Debounce:
    """Flapping control per alarm kind."""
    from dutydesk.playbooks.alarms import Debounce  # noqa: PLC0415

    alarms = settings.file.alarms
    return Debounce(
        raise_delay=tuple(alarms.raise_delay.items()),
        clear_hysteresis=tuple(alarms.clear_hysteresis.items()),
    )


def correlation(settings: Settings) -> Correlation:
    """How alarms group into incidents: the window, the place per plan, the inhibition rules."""
    from dutydesk.playbooks.correlation import DEFAULT_INHIBIT, Correlation, InhibitRule  # noqa: PLC0415

    alarms = settings.file.alarms
    inhibit = DEFAULT_INHIBIT
    if alarms.inhibit is not None:
        inhibit = tuple(InhibitRule(source=r.source, target=r.target, equal=r.equal) for r in alarms.inhibit)
    return Correlation(window=alarms.group_window, group_by=dict(alarms.group_by), inhibit=inhibit)


def deadlines(settings: Settings) -> Deadlines:
    """How due times are computed: the calendar, the centre's zone and its close of business."""
    from dutydesk.playbooks.obligations import Deadlines  # noqa: PLC0415

    return Deadlines(load_calendar(settings), settings.zone, settings.file.duty.close_of_business)


def notice_policy(settings: Settings) -> NoticePolicy:
    """Who is told of what, when: digests, the escalation chain, the fallback and drill tags."""
    from dutydesk.playbooks.notices import NoticePolicy  # noqa: PLC0415

    notify, escalation = settings.file.notify, settings.file.escalation
    return NoticePolicy(
        digest_interval=notify.digest_interval,
        chain=escalation.chain,
        delays=escalation.delays,
        fallback_tag=notify.fallback_tag,
        drill_tag=notify.drill_tag,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    """How often and how patiently a delivery is retried."""
    from dutydesk.playbooks.notices import RetryPolicy  # noqa: PLC0415

    notify = settings.file.notify
    return RetryPolicy(
        attempts=notify.attempts,
        backoff=notify.backoff,
        factor=notify.backoff_factor,
        ceiling=notify.backoff_max,
    )


def apprise_path(settings: Settings) -> Path | None:
    """The apprise configuration, or None when there is none at the default place (notifications
    are then decided and logged, but not delivered)."""
    path = settings.resolve(settings.file.notify.apprise_config)
    if path.exists():
        return path
    if "apprise_config" in given(settings.file.notify):
        raise SettingsError(f"{settings.source}: notify.apprise_config: no file {path}")
    return None


NOT_UTF8 = "not UTF-8: save it as UTF-8"


def yaml_files(path: Path) -> Iterator[tuple[Path, str, str | None]]:
    """Each YAML file of a folder (or the one file named), in name order: (file, text, why it
    could not be read). One unreadable file is said and left out; the others load."""
    files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
    for file in files:
        try:
            yield file, file.read_text(encoding="utf-8"), None
        except UnicodeDecodeError:
            yield file, "", NOT_UTF8
        except OSError as exc:
            yield file, "", f"cannot read ({exc.strerror or exc})"


def plan_sources(settings: Settings, paths: list[Path] | None = None) -> list[PlanSource]:
    """The bundled library and the centre's folder; or just the files and folders named."""
    from dutydesk.playbooks.library import bundled_sources  # noqa: PLC0415
    from dutydesk.playbooks.plans import PlanSource  # noqa: PLC0415

    if paths is None:
        sources = bundled_sources()
        paths = [settings.plan_folder] if settings.plan_folder.is_dir() else []
    else:
        sources = []
    for path in paths:
        # one unreadable plan is left out like a broken one; the others load
        sources += [PlanSource(str(file), text, problem) for file, text, problem in yaml_files(path)]
    return sources


def load_library(
    settings: Settings, paths: list[Path] | None = None
) -> tuple[dict[str, Plan], list[PlanError]]:
    """The plans of `plan_sources`, with the problems that kept any of them out."""
    from dutydesk.playbooks.plans import load_plans  # noqa: PLC0415

    return load_plans(plan_sources(settings, paths), roles=settings.roles)


def anchor_path(settings: Settings) -> Path | None:
    """Where the chain's head is anchored (`audit.anchor_file`), if anywhere."""
    anchor = settings.file.audit.anchor_file
    return settings.resolve(anchor) if anchor is not None else None
