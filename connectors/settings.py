"""Configuration: one TOML file, validated once here, with errors that name the file and the key.

Defaults live in the models below. The configuration file and the database live in dutydesk's
home: `$DUTYDESK_HOME` if set, else `$XDG_DATA_HOME/dutydesk` (usually ~/.local/share/dutydesk).
Relative paths in the file are relative to the file's own folder.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from dutydesk.playbooks.alarms import Debounce, Feed, Place
from dutydesk.playbooks.library import bundled_sources
from dutydesk.playbooks.notices import NoticePolicy, RetryPolicy
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan, PlanError, PlanSource, load_plans
from dutydesk.playbooks.vocab import ROLES
from dutydesk.playbooks.workdays import DayOverride, WorkCalendar

CONFIG_NAME = "dutydesk.toml"


class SettingsError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. Asia/Shanghai)") from None
    return name


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DutySection(_Section):
    operator: str | None = None  # who this console acts as; default: the OS user
    timezone: Annotated[str, AfterValidator(_zone)] = "Asia/Shanghai"
    locale: Literal["zh-CN", "en"] | None = None  # default: from LANG / LC_ALL
    close_of_business: time | None = None  # working-day limits end then, not at midnight
    bell: bool = True  # the console rings the terminal bell for a new incident, a breach, ...


class DatabaseSection(_Section):
    path: Path = Path("dutydesk.db")
    busy_timeout: float = Field(default=5.0, ge=0, description="seconds to wait for a lock")


class PlansSection(_Section):
    folder: Path = Path("plans")  # the centre's own plans, beside the bundled library
    roles: tuple[str, ...] = ()  # extra roles the centre's plans may name


class CalendarSection(_Section):
    overrides: Path = Path("calendar.toml")


class MqttSection(_Section):
    """The broker alarms come from. The session is persistent (fixed client id, QoS 1), so what
    is published while dutydesk is down arrives when it comes back."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str = "dutydesk"
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None  # set to use TLS
    tls_cert: Path | None = None
    tls_key: Path | None = None
    keepalive: int = Field(default=30, ge=5)


class PlaceSection(_Section):
    site: str | None = None
    building: str | None = None
    floor: str | None = None


class FeedSection(_Section):
    """One source of alarms: a topic filter read with one codec, from devices in one place."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    topic: str | tuple[str, ...] = ()  # one MQTT topic filter or several
    url: str | None = None  # or a camera's HTTP alertStream (codec "hikvision")
    username: str | None = None  # for the url (HTTP digest authentication)
    password: str | None = None
    codec: str
    site: str | None = None
    building: str | None = None
    floor: str | None = None
    devices: dict[str, PlaceSection] = {}  # per-device places, overriding the feed's
    stale_after: timedelta | None = None  # seconds of silence before a device is stale
    options: dict[str, Any] = {}  # codec options

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.topic,) if isinstance(self.topic, str) else self.topic

    @model_validator(mode="after")
    def _one_way_in(self) -> FeedSection:
        if bool(self.topics) == bool(self.url):
            raise ValueError("give either 'topic' (MQTT) or 'url' (a camera's alertStream)")
        return self


class AlarmsSection(_Section):
    """Per-kind flapping control, in seconds; keys may be patterns such as "cctv.*"."""

    raise_delay: dict[str, timedelta] = {}
    clear_hysteresis: dict[str, timedelta] = {}


Tag = Annotated[str, Field(pattern=r"^[^\s,;:|]+$")]  # apprise reads ':' in a tag as a priority


class NotifySection(_Section):
    """Notifications through apprise: its own YAML file holds the destinations, by tag."""

    apprise_config: Path = Path("apprise.yml")
    lang: Literal["zh", "en"] = "zh"  # the language of the messages
    templates: Path | None = None  # a folder of title.zh.j2, body.zh.j2, ... overriding the bundled ones
    digest_interval: timedelta = timedelta(seconds=60)  # at most one message per role per interval
    timeout: float = Field(default=10.0, gt=0)  # seconds one delivery attempt may take
    attempts: int = Field(default=3, ge=1)  # per destination, before the fallback
    backoff: timedelta = timedelta(seconds=5)  # before the second attempt; then times backoff_factor
    backoff_factor: float = Field(default=3.0, ge=1)
    backoff_max: timedelta = timedelta(minutes=5)
    fallback_tag: Tag = "fallback"  # where a message goes when its destinations fail or nobody is on
    drill_tag: Tag = "drill"  # drills go only to destinations with this tag

    @model_validator(mode="after")
    def _distinct_tags(self) -> NotifySection:
        if self.fallback_tag == self.drill_tag:
            raise ValueError(
                "fallback_tag and drill_tag must differ: a drill must never reach a real fallback"
            )
        return self


class EscalationSection(_Section):
    """An unacknowledged breach moves up `chain`; `delays[i]` (seconds) is the wait from chain[i]
    to chain[i+1], so there is one delay fewer than roles."""

    chain: tuple[str, ...] = ("duty_officer", "leader_on_duty", "centre_leadership")
    delays: tuple[timedelta, ...] = (timedelta(minutes=10), timedelta(minutes=20))

    @model_validator(mode="after")
    def _one_delay_per_step(self) -> EscalationSection:
        if len(self.delays) != max(len(self.chain) - 1, 0):
            raise ValueError(
                f"delays: {len(self.chain)} roles in the chain need {max(len(self.chain) - 1, 0)} delays, "
                f"not {len(self.delays)}"
            )
        return self


class RectificationSection(_Section):
    """The rectification register (整改台账): the rule's period and when to remind."""

    workdays: int = Field(default=15, ge=1)  # 15个工作日内完成整改, counted from the investigation
    reminders: tuple[Annotated[int, Field(ge=1)], ...] = (5, 2)  # working days left


class ReportsSection(_Section):
    font: Path | None = None  # a TrueType CJK font (TTF/TTC) for PDFs and charts


class SettingsFile(_Section):
    duty: DutySection = DutySection()
    database: DatabaseSection = DatabaseSection()
    plans: PlansSection = PlansSection()
    calendar: CalendarSection = CalendarSection()
    mqtt: MqttSection = MqttSection()
    feeds: tuple[FeedSection, ...] = ()
    alarms: AlarmsSection = AlarmsSection()
    notify: NotifySection = NotifySection()
    escalation: EscalationSection = EscalationSection()
    rectification: RectificationSection = RectificationSection()
    reports: ReportsSection = ReportsSection()

    @model_validator(mode="after")
    def _unique_feeds(self) -> SettingsFile:
        names = [feed.name for feed in self.feeds]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"feed name {name!r} is used twice")
        return self

    @model_validator(mode="after")
    def _known_chain(self) -> SettingsFile:
        known = (*ROLES, *self.plans.roles)
        for role in self.escalation.chain:
            if role not in known:
                raise ValueError(f"escalation.chain: unknown role {role!r}; known roles: {', '.join(known)}")
        return self


class _OverrideDay(_Section):
    date: date
    type: Literal["holiday", "workday"]
    name: str | None = None


class _OverrideFile(_Section):
    confirmed_years: tuple[int, ...] = ()
    days: tuple[_OverrideDay, ...] = ()


@dataclass(frozen=True, slots=True)
class Settings:
    file: SettingsFile
    source: Path | None  # the configuration file read, if any
    base: Path  # where relative paths start

    @property
    def database(self) -> Path:
        return self.resolve(self.file.database.path)

    @property
    def plan_folder(self) -> Path:
        return self.resolve(self.file.plans.folder)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.file.duty.timezone)

    @property
    def roles(self) -> tuple[str, ...]:
        return (*ROLES, *self.file.plans.roles)

    def operator(self, override: str | None = None) -> str:
        return override or self.file.duty.operator or getpass.getuser()

    def resolve(self, path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else self.base / path


def home(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("DUTYDESK_HOME"):
        return Path(env["DUTYDESK_HOME"]).expanduser()
    data = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "dutydesk"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: bad TOML: {exc}") from None


def _explain(path: Path, exc: ValidationError) -> SettingsError:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{path}: {key}: {message}" if key else f"{path}: {message}")
    return SettingsError("\n".join(lines))


def load_settings(config: Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read `config`, or the default file in dutydesk's home if there is one."""
    if config is None:
        candidate = home(env) / CONFIG_NAME
        if not candidate.exists():
            return Settings(SettingsFile(), None, home(env))
        config = candidate
    elif not config.exists():
        raise SettingsError(f"{config}: no such configuration file")
    try:
        parsed = SettingsFile.model_validate(_read_toml(config))
    except ValidationError as exc:
        raise _explain(config, exc) from None
    return Settings(parsed, config, config.resolve().parent)


def load_calendar(settings: Settings) -> WorkCalendar:
    """The working-day calendar with the centre's overrides, if it keeps a file of them."""
    path = settings.resolve(settings.file.calendar.overrides)
    if not path.exists():
        if "overrides" in settings.file.calendar.model_fields_set:
            raise SettingsError(f"{settings.source}: calendar.overrides: no file {path}")
        return WorkCalendar()
    try:
        data = _OverrideFile.model_validate(_read_toml(path))
    except ValidationError as exc:
        raise _explain(path, exc) from None
    return WorkCalendar(
        overrides=[DayOverride(d.date, d.type == "workday", d.name) for d in data.days],
        confirmed_years=data.confirmed_years,
    )


def feeds(settings: Settings) -> dict[str, Feed]:
    """The configured feeds as the engine sees them."""
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
    alarms = settings.file.alarms
    return Debounce(
        raise_delay=tuple(alarms.raise_delay.items()),
        clear_hysteresis=tuple(alarms.clear_hysteresis.items()),
    )


def deadlines(settings: Settings) -> Deadlines:
    return Deadlines(load_calendar(settings), settings.zone, settings.file.duty.close_of_business)


def notice_policy(settings: Settings) -> NoticePolicy:
    notify, escalation = settings.file.notify, settings.file.escalation
    return NoticePolicy(
        digest_interval=notify.digest_interval,
        chain=escalation.chain,
        delays=escalation.delays,
        fallback_tag=notify.fallback_tag,
        drill_tag=notify.drill_tag,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
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
    if "apprise_config" in settings.file.notify.model_fields_set:
        raise SettingsError(f"{settings.source}: notify.apprise_config: no file {path}")
    return None


def plan_sources(settings: Settings, paths: list[Path] | None = None) -> list[PlanSource]:
    """The bundled library and the centre's folder; or just the files and folders named."""
    if paths is None:
        sources = bundled_sources()
        paths = [settings.plan_folder] if settings.plan_folder.is_dir() else []
    else:
        sources = []
    for path in paths:
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")]) if path.is_dir() else [path]
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SettingsError(f"{file}: cannot read plan ({exc})") from None
            sources.append(PlanSource(str(file), text))
    return sources


def load_library(
    settings: Settings, paths: list[Path] | None = None
) -> tuple[dict[str, Plan], list[PlanError]]:
    return load_plans(plan_sources(settings, paths), roles=settings.roles)
