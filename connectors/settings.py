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
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dutydesk.playbooks.typeddata import Check, ProblemsError, Secret, dotted, model, read
from dutydesk.playbooks.vocab import ROLES

CONFIG_NAME = "dutydesk.toml"


class SettingsError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. Asia/Shanghai)") from None
    return name


# Each section is a data model read by `playbooks/typeddata.py`; the docstring under each field is
# its documentation (a test checks that every field has one).


@model
class DutySection:
    """Who works at this desk, and in which zone and language."""

    operator: str | None = None
    """Who this console acts as in the log; default: the operating system's user."""
    timezone: Annotated[str, Check(valid=_zone)] = "Asia/Shanghai"
    """The centre's time zone (IANA name): days, working days and times on screen are in it."""
    locale: Literal["zh-CN", "en"] | None = None
    """The language of the console and the command line; default: from LANG / LC_ALL."""
    close_of_business: time | None = None
    """When a working day ends for deadlines in working days (e.g. 17:30); default: midnight."""
    bell: bool = True
    """The console rings the terminal bell for a new incident or a deadline missed."""
    retract_within: timedelta = timedelta(minutes=30)
    """How long after it was recorded a milestone pressed by mistake may be retracted (with a reason)."""


@model
class DatabaseSection:
    """The event log."""

    path: Path = Path("dutydesk.db")
    """The SQLite file, relative to the configuration file's folder."""
    busy_timeout: Annotated[float, Check(ge=0)] = 5.0
    """Seconds to wait for another process's write lock before giving up with an error."""
    url: Annotated[str, Check(pattern=r"^postgres(ql)?://")] | None = None
    """A PostgreSQL database (postgresql://user@host:port/name) instead of the SQLite file, for
    several engine nodes and consoles on one log. Keep the password out of this file: libpq
    reads it from ~/.pgpass or PGPASSWORD."""
    free_space_reserve_mb: Annotated[int, Check(ge=0)] = 256
    """Free space (MiB) on the database's disk below which the engine raises the system alarm
    `system.disk_low` (feed `dutydesk`, device `storage`), before writes fail; 0: no check."""


@model
class AuditSection:
    """Anchoring the log: its chain head written outside the database (`dutydesk audit anchor`)."""

    anchor_file: Path | None = None
    """An append-only file for the chain's head, relative to the configuration file's folder; put
    it on another disk. When set, the running engine anchors at every handover and daily."""


@model
class WatchdogSection:
    """`dutydesk watchdog`, run by a timer outside the engine (`dutydesk install-systemd`)."""

    notify_after: Annotated[int, Check(ge=0)] = 120
    """Seconds without a running engine before the fallback destinations are told (once per
    outage)."""


@model
class PlansSection:
    """The centre's own contingency plans, beside the bundled library."""

    folder: Path = Path("plans")
    """A folder of plan files (*.yaml, *.yml), relative to the configuration file's folder."""
    roles: tuple[str, ...] = ()
    """Roles the centre's plans may name besides the built-in ones (duty_officer, ...)."""


@model
class CalendarSection:
    """The working-day calendar: the official holidays, and the centre's corrections."""

    overrides: Path = Path("calendar.toml")
    """A TOML file of days that differ from the official calendar, and the years confirmed."""


@model
class MqttSection:
    """The broker alarms come from. The session is persistent (fixed client id, QoS 1), so what
    is published while dutydesk is down arrives when it comes back."""

    host: str = "127.0.0.1"
    """The broker's host name or address."""
    port: Annotated[int, Check(ge=1, le=65535)] = 1883
    """The broker's port (8883 is usual with TLS)."""
    client_id: str = "dutydesk"
    """The persistent session's client id: one per engine node, unchanged across restarts."""
    share_group: Annotated[str, Check(pattern=r"^[^/+#\s]+$")] | None = None
    """Subscribe as `$share/<share_group>/<topic>`, so that the broker spreads the feeds' messages
    over several engine nodes (each with its own `client_id`) instead of giving each all."""
    username: str | None = None
    """The broker account, if it asks for one."""
    password: Secret | None = None
    """The broker account's password (never shown in messages or logs)."""
    tls_ca: Path | None = None
    """The CA certificate to verify the broker with; setting it turns TLS on."""
    tls_cert: Path | None = None
    """A client certificate, when the broker asks for one."""
    tls_key: Path | None = None
    """The client certificate's key."""
    keepalive: Annotated[int, Check(ge=5)] = 30
    """Seconds between keep-alive pings to the broker."""
    status_topic: str = "dutydesk/engine/status"
    """Where the engine publishes its state (retained JSON: running, degraded, stopped; "gone" by
    its last will when it dies), for monitoring beyond this machine."""


@model
class PlaceSection:
    """Where a device is."""

    site: str | None = None
    """The campus or site (园区)."""
    building: str | None = None
    """The building (楼栋)."""
    floor: str | None = None
    """The floor (楼层)."""


@model
class FeedSection:
    """One source of alarms: a topic filter read with one codec, from devices in one place."""

    name: Annotated[str, Check(pattern=r"^[A-Za-z0-9_.-]+$")]
    """The feed's name, unique: devices are known as "feed/device"."""
    topic: str | tuple[str, ...] = ()
    """One MQTT topic filter or several (give this or `url`)."""
    url: str | None = None
    """A camera's HTTP alertStream (codec "hikvision"; give this or `topic`)."""
    username: str | None = None
    """The camera account for `url` (HTTP digest authentication)."""
    password: Secret | None = None
    """The camera account's password (never shown in messages or logs)."""
    codec: str
    """How the messages are read: a bundled codec's name (`dutydesk codecs` lists them)."""
    site: str | None = None
    """Where the feed's devices are, unless `devices` says otherwise."""
    building: str | None = None
    """The building of the feed's devices."""
    floor: str | None = None
    """The floor of the feed's devices."""
    devices: dict[str, PlaceSection] = field(default_factory=dict)
    """Per-device places, overriding the feed's."""
    stale_after: timedelta | None = None
    """Seconds of silence after which a device is shown as stale; default: never."""
    options: dict[str, Any] = field(default_factory=dict)
    """The codec's own options (e.g. a `codebook` file for vendor codes)."""

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.topic,) if isinstance(self.topic, str) else self.topic

    def __post_init__(self) -> None:
        if bool(self.topics) == bool(self.url):
            raise ValueError("give either 'topic' (MQTT) or 'url' (a camera's alertStream)")


@model
class InhibitSection:
    """An open incident of a `source` plan absorbs `target` alarm kinds at the same place."""

    source: Annotated[tuple[str, ...], Check(min_length=1)]
    """Plan ids (patterns allowed) whose open incident absorbs."""
    target: Annotated[tuple[str, ...], Check(min_length=1)]
    """Alarm kinds (patterns allowed) that it absorbs."""
    equal: tuple[Literal["site", "building", "floor", "device"], ...] = ("site", "building")
    """The parts of the place the incident and the alarm must share."""


@model
class AlarmsSection:
    """Per-kind flapping control, in seconds; keys may be patterns such as "cctv.*". And how
    alarms group into incidents (see `playbooks/correlation.py`)."""

    raise_delay: dict[str, timedelta] = field(default_factory=dict)
    """How long a raised alarm must stay raised before it counts, by alarm kind."""
    clear_hysteresis: dict[str, timedelta] = field(default_factory=dict)
    """How long a cleared alarm must stay clear before it counts, by alarm kind."""
    group_window: timedelta = timedelta(minutes=10)
    """Seconds after an incident's latest alarm during which a related alarm joins it."""
    group_by: dict[str, Literal["site", "building", "zone", "device"]] = field(default_factory=dict)
    """Per plan id, the place alarms must share to group: building by default."""
    inhibit: tuple[InhibitSection, ...] | None = None
    """Inhibition rules; left out, the defaults (`DEFAULT_INHIBIT`); an empty list, none at all."""


Tag = Annotated[str, Check(pattern=r"^[^\s,;:|]+$")]  # apprise reads ':' in a tag as a priority


@model
class NotifySection:
    """Notifications through apprise: its own YAML file holds the destinations, by tag."""

    apprise_config: Path = Path("apprise.yml")
    """The apprise configuration; without it notifications are decided and logged, not sent."""
    lang: Literal["zh", "en"] = "zh"
    """The language of the messages."""
    templates: Path | None = None
    """A folder of title.zh.j2, body.zh.j2, ... overriding the bundled message templates."""
    digest_interval: timedelta = timedelta(seconds=60)
    """At most one message per role per interval (seconds); the rest wait in a digest."""
    timeout: Annotated[float, Check(gt=0)] = 10.0
    """Seconds one delivery attempt may take."""
    attempts: Annotated[int, Check(ge=1)] = 3
    """Delivery attempts per destination before the fallback is tried."""
    backoff: timedelta = timedelta(seconds=5)
    """The wait before the second attempt (seconds); each later wait is `backoff_factor` times longer."""
    backoff_factor: Annotated[float, Check(ge=1)] = 3.0
    """How much longer each wait between attempts is than the one before."""
    backoff_max: timedelta = timedelta(minutes=5)
    """The longest wait between attempts (seconds)."""
    fallback_tag: Tag = "fallback"
    """Where a message goes when its destinations fail or nobody is on duty for its role."""
    drill_tag: Tag = "drill"
    """Drills go only to destinations with this tag, never to real ones."""

    def __post_init__(self) -> None:
        if self.fallback_tag == self.drill_tag:
            raise ValueError(
                "fallback_tag and drill_tag must differ: a drill must never reach a real fallback"
            )


@model
class EscalationSection:
    """An unacknowledged breach moves up `chain`; `delays[i]` (seconds) is the wait from chain[i]
    to chain[i+1], so there is one delay fewer than roles."""

    chain: tuple[str, ...] = ("duty_officer", "leader_on_duty", "centre_leadership")
    """The roles a breach goes to in turn while nobody acknowledges it."""
    delays: tuple[timedelta, ...] = (timedelta(minutes=10), timedelta(minutes=20))
    """The waits between the steps of `chain`, in seconds."""

    def __post_init__(self) -> None:
        if len(self.delays) != max(len(self.chain) - 1, 0):
            raise ValueError(
                f"delays: {len(self.chain)} roles in the chain need {max(len(self.chain) - 1, 0)} delays, "
                f"not {len(self.delays)}"
            )


@model
class AckSection:
    """Acknowledging from a phone: signed links served by `dutydesk serve`, and SMS replies."""

    enabled: bool = False
    """Serve the acknowledgement page and put a signed link in every deadline message."""
    listen: Annotated[str, Check(pattern=r"^[^\s:]+:\d{1,5}$")] = "127.0.0.1:8640"
    """host:port the page is served on (port 0: any free port, for tests)."""
    base_url: Annotated[str, Check(pattern=r"^https?://[^\s]+$")] | None = None
    """The address the phones reach it by (the reverse proxy's); default: http://<listen>."""
    key_file: Path = Path("ack.key")
    """The HMAC key signing the links; made on first use, readable by its owner only. Never in
    the database, so a copy of the log cannot forge a link."""
    expiry: timedelta = timedelta(hours=24)
    """How long a link stays valid (seconds)."""
    rate: Annotated[float, Check(gt=0)] = 2.0
    """Requests per second one client may make on average; more are refused (HTTP 429)."""
    burst: Annotated[int, Check(ge=1)] = 20
    """Requests one client may make at once before `rate` applies."""


@model
class RectificationSection:
    """The rectification register (整改台账): the rule's period and when to remind."""

    workdays: Annotated[int, Check(ge=1)] = 15
    """Working days to complete a rectification (15个工作日内完成整改), from the investigation."""
    reminders: tuple[Annotated[int, Check(ge=1)], ...] = (5, 2)
    """Remind when this many working days are left."""


@model
class ReportsSection:
    """The TrueType faces (TTF/TTC) the PDF embeds; none given: the Debian defaults that
    `scripts/setup` installs (see console/reports/fonts.py)."""

    font: Path | None = None
    """黑体-style face: level-1 headings, table heads, charts, characters missing from the others."""
    title_font: Path | None = None
    """小标宋-style face: the title and the issuing unit."""
    body_font: Path | None = None
    """仿宋-style face: the body text."""
    kai_font: Path | None = None
    """楷体-style face: level-2 headings."""
    copy_to: tuple[str, ...] = ()
    """抄送 in the 版记 of filed documents."""


@model
class CentreSection:
    """The issuing unit, as its documents name it."""

    name: str = "机关事务服务中心"
    """The issuing unit (发文机关) in the 版头, the 落款 and the 版记."""
    doc_prefix: str = "机事"
    """The prefix of document numbers (发文字号): 机事〔2026〕12号."""


@model
class SettingsFile:
    duty: DutySection = DutySection()
    database: DatabaseSection = DatabaseSection()
    audit: AuditSection = AuditSection()
    watchdog: WatchdogSection = WatchdogSection()
    plans: PlansSection = PlansSection()
    calendar: CalendarSection = CalendarSection()
    mqtt: MqttSection = MqttSection()
    feeds: tuple[FeedSection, ...] = ()
    alarms: AlarmsSection = AlarmsSection()
    notify: NotifySection = NotifySection()
    escalation: EscalationSection = EscalationSection()
    ack: AckSection = AckSection()
    rectification: RectificationSection = RectificationSection()
    reports: ReportsSection = ReportsSection()
    centre: CentreSection = CentreSection()

    def __post_init__(self) -> None:
        names = [feed.name for feed in self.feeds]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"feed name {name!r} is used twice")
        known = (*ROLES, *self.plans.roles)
        for role in self.escalation.chain:
            if role not in known:
                raise ValueError(f"escalation.chain: unknown role {role!r}; known roles: {', '.join(known)}")


@model
class OverrideDay:
    """A day that differs from the official calendar."""

    date: date
    """The day."""
    type: Literal["holiday", "workday"]
    """What it is instead: a day off, or a working day (调休上班)."""
    name: str | None = None
    """Why, as shown in the calendar (e.g. 国庆节)."""


@model
class CalendarOverrides:
    """The calendar file (`[calendar] overrides`): the centre's corrections to the official days."""

    confirmed_years: tuple[int, ...] = ()
    """Years whose official holidays the centre has checked; other years carry a warning."""
    days: tuple[OverrideDay, ...] = ()
    """The days that differ."""


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


M = TypeVar("M")


def load_toml(path: Path, model: type[M]) -> M:
    """Read and validate one TOML file; errors name the file and the key."""
    try:
        return read(model, _read_toml(path))
    except ProblemsError as exc:
        lines = (f"{path}: {dotted(loc)}: {why}" if loc else f"{path}: {why}" for loc, why in exc.problems)
        raise SettingsError("\n".join(lines)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: not UTF-8: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: bad TOML: {exc}") from None


def load_settings(config: Path | None = None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read `config`, or the default file in dutydesk's home if there is one."""
    if config is None:
        candidate = home(env) / CONFIG_NAME
        if not candidate.exists():
            return Settings(SettingsFile(), None, home(env))
        config = candidate
    elif not config.exists():
        raise SettingsError(f"{config}: no such configuration file")
    return Settings(load_toml(config, SettingsFile), config, config.resolve().parent)
