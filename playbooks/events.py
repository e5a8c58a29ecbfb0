"""The one typed event boundary: everything that happens to an incident, as frozen dataclasses.

The event log stores these, the projection folds them into state, and the console renders them.
Each carries when it happened (`at`), who did it, the incident and whether it belongs to a drill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

# every event is imported from here: `X as X` re-exports them (mypy --strict)
from dutydesk.playbooks.amendments import IncidentCorrected as IncidentCorrected  # noqa: PLC0414
from dutydesk.playbooks.amendments import MilestoneRetracted as MilestoneRetracted  # noqa: PLC0414
from dutydesk.playbooks.amendments import RosterOverridden as RosterOverridden  # noqa: PLC0414
from dutydesk.playbooks.eventbase import Event as Event  # noqa: PLC0414


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRegistered(Event):
    """The exact plan an incident runs on, kept in the log so that later edits never rewrite history."""

    kind: ClassVar[str] = "plan.registered"
    fingerprint: str
    plan: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentOpened(Event):
    kind: ClassVar[str] = "incident.opened"
    plan_id: str
    plan_fingerprint: str
    title: str
    severity: str
    urgent: bool
    source: str
    location: str | None = None
    description: str | None = None
    trigger: str | None = None  # the alarm key or report type that started it


@dataclass(frozen=True, slots=True, kw_only=True)
class MilestoneReached(Event):
    """A lifecycle step: reported to leader, on site, stabilised, investigated, rectified, ..."""

    kind: ClassVar[str] = "incident.milestone"
    milestone: str
    text: str | None = None  # feedback given, or why an incident was closed early


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressUpdated(Event):
    """The hourly report: 已采取措施 / 当前状态 / 下一步计划."""

    kind: ClassVar[str] = "incident.update"
    measures: str
    status: str
    next_steps: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UrgencyChanged(Event):
    kind: ClassVar[str] = "incident.urgency"
    urgent: bool
    # why: an alarm that joined the incident raised it, or (urgent taken back) the officer's reason
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SeverityChanged(Event):
    kind: ClassVar[str] = "incident.severity"
    severity: str
    previous: str
    reason: str | None = None  # set when an alarm that joined the incident raised it


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentMerged(Event):
    """`merged` was merged into `into` by hand; stored on both incidents, so both timelines show
    it. The merged one is closed by it, its obligations waived."""

    kind: ClassVar[str] = "incident.merged"
    merged: str
    into: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentLinked(Event):
    """`linked` and `to` concern one another (the same power cut, two plans) but stay apart;
    stored on both incidents, so both timelines show it."""

    kind: ClassVar[str] = "incident.linked"
    linked: str
    to: str
    reason: str | None = None


MERGED_INTO = "merged into"  # how a merged incident's close reason begins: "merged into <id>"


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteAdded(Event):
    kind: ClassVar[str] = "incident.note"
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ObligationMet(Event):
    kind: ClassVar[str] = "obligation.met"
    obligation: str
    occurrence: int
    due_at: datetime | None
    margin_seconds: float | None  # positive: early; negative: late
    by: str  # the action that met it


@dataclass(frozen=True, slots=True, kw_only=True)
class ObligationWarned(Event):
    kind: ClassVar[str] = "obligation.warned"
    obligation: str
    occurrence: int
    due_at: datetime
    notify: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ObligationBreached(Event):
    """A deadline passed unmet. Dated at the due time (`at`); `recorded_at` is when the engine
    recorded it, and `late_seconds` the gap between. When the deadline passed while the engine
    was not running, `idle_from` is the last activity the log showed before it started again."""

    kind: ClassVar[str] = "obligation.breached"
    obligation: str
    occurrence: int
    due_at: datetime
    late_seconds: float
    notify: tuple[str, ...]
    recorded_at: datetime | None = None  # None in logs written before breaches were back-dated
    idle_from: datetime | None = None

    @property
    def noticed_at(self) -> datetime:
        """When the engine noticed: what escalation delays count from."""
        return self.recorded_at or self.at


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmObserved(Event):
    """A change a device reported: an alarm point raised, updated or cleared (repeats are not
    logged). `confirmed` when it took effect at once (no raise delay or hysteresis for its kind);
    then `incident` names the incident it opened or attached to. Otherwise an AlarmChanged
    follows once the change has lasted long enough."""

    kind: ClassVar[str] = "alarm.observed"
    key: str
    source: str
    device: str
    point: str
    alarm_kind: str
    signal: str  # raise / update / clear
    confirmed: bool = False
    cause: str | None = None  # for clears: "explicit" or "disappeared"
    severity: str | None = None
    urgent: bool = False
    vendor_code: str | None = None
    text: str | None = None
    device_time: datetime | None = None
    clock: str | None = None  # why the device time is not to be trusted
    replay: bool = False  # a retained message: state, never a new notification
    site: str | None = None
    building: str | None = None
    floor: str | None = None
    topic: str = ""
    raw: str = ""  # the payload as received (cut at RAW_LIMIT)
    zones: tuple[str, ...] = ()  # named zones in the device's view where it happened
    related: tuple[str, ...] = ()  # the device's other points this one belongs with


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmChanged(Event):
    """The alarm's confirmed state after raise delays and clear hysteresis; attached to an incident."""

    kind: ClassVar[str] = "alarm.changed"
    key: str
    status: str  # active / cleared / unknown
    reason: str  # raised, cleared, disappeared, device-offline, ...
    flaps: int = 0
    replay: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceChanged(Event):
    kind: ClassVar[str] = "device.changed"
    device: str  # source/device
    availability: str  # online / offline / stale
    site: str | None = None
    building: str | None = None
    floor: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter(Event):
    """A message that could not be read, kept with the reason; never dropped, never a crash."""

    kind: ClassVar[str] = "alarm.dead_letter"
    source: str
    topic: str
    reason: str
    payload: str  # as text when it is UTF-8, else base64 (see `encoding`); cut at RAW_LIMIT
    encoding: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DutyLogged(Event):
    kind: ClassVar[str] = "desk.log"
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoverAcknowledged(Event):
    """The shift changed hands: `actor` took over from `outgoing`, having read `summary`."""

    kind: ClassVar[str] = "desk.handover"
    outgoing: str
    summary: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmAcknowledged(Event):
    kind: ClassVar[str] = "alarm.acknowledged"
    key: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmShelved(Event):
    kind: ClassVar[str] = "alarm.shelved"
    key: str
    reason: str
    until: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class RosterImported(Event):
    """A duty roster laid over the current one (see `Roster.merged`); shifts as `Shift.to_dict`."""

    kind: ClassVar[str] = "roster.imported"
    source: str
    shifts: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BreachAcknowledged(Event):
    """Someone has taken a breach in hand: its escalation stops."""

    kind: ClassVar[str] = "obligation.acknowledged"
    obligation: str
    occurrence: int
    channel: str = "cli"  # cli, console, link (a signed link on a phone) or sms (a reply code)


@dataclass(frozen=True, slots=True, kw_only=True)
class BreachEscalated(Event):
    """A breach nobody acknowledged moved up the escalation chain to `level`."""

    kind: ClassVar[str] = "obligation.escalated"
    obligation: str
    occurrence: int
    due_at: datetime
    level: int
    notify: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationQueued(Event):
    """One message for one role: a single item, or a digest of everything pending for the role.

    `items` say what it tells (incident, obligation, stage, due time); `targets` are the apprise
    tags it goes to, resolved from the roster when it was decided."""

    kind: ClassVar[str] = "notification.queued"
    notification: str
    role: str
    items: tuple[dict[str, Any], ...]
    recipients: tuple[str, ...]
    targets: tuple[str, ...]
    unstaffed: bool = False  # nobody held the role: it went to the fallback tag


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationAttempted(Event):
    """One try at delivering a notification to one destination of one target (an apprise tag).

    `destination` names the apprise URL entry without its secrets (scheme, host, a short hash);
    None in logs written before delivery went per destination, when a try reached the whole tag."""

    kind: ClassVar[str] = "notification.attempt"
    notification: str
    role: str
    target: str
    attempt: int
    ok: bool
    error: str | None = None
    fallback: bool = False
    elapsed: float = 0.0
    destination: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationFailed(Event):
    """Delivery to a destination of a target was given up after its retries (`destination` None:
    the target has no destination at all, or the log predates per-destination delivery).

    `settled`: no destination of the target got the message and none is trying any more, so the
    target's delivery is over; `next_target` is then the fallback tag tried next, if any is left."""

    kind: ClassVar[str] = "notification.failed"
    notification: str
    role: str
    target: str
    attempts: int
    error: str
    fallback: bool = False  # this delivery was itself to the fallback
    next_target: str | None = None
    destination: str | None = None
    settled: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class CauseRecorded(Event):
    """One cause the investigation team found, by category (设备老化, 操作失误, 制度漏洞, 其他)."""

    kind: ClassVar[str] = "incident.cause"
    category: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingRecorded(Event):
    """What the investigation team set down beyond the causes: its members (`team`), who is held
    responsible and how (`responsibility`, 责任认定), what is to prevent a repeat and what was
    learnt (`lessons`, 防范措施/经验教训)."""

    kind: ClassVar[str] = "incident.finding"
    section: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LateExplained(Event):
    """Why one occurrence of an obligation was met late or not at all (超时原因)."""

    kind: ClassVar[str] = "obligation.explained"
    obligation: str
    occurrence: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentNumbered(Event):
    """A document number (发文字号) given once and for all to one document: `serial` is the next
    of its `prefix` and `year`, so no number is ever given twice; `subject` says which document
    (the incident, the rectification item, the report's stage)."""

    kind: ClassVar[str] = "document.numbered"
    document: str
    subject: str
    prefix: str
    year: int
    serial: int
    number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RectificationAdded(Event):
    """An item of the rectification register (整改通知单): content, time limit, responsible person.

    The time limit is `workdays` working days counted from `anchor_at` (the investigation, or when
    the item was added); reminders go out when that many working days are left."""

    kind: ClassVar[str] = "rectification.added"
    item: str
    content: str
    owner: str
    workdays: int
    anchor_at: datetime
    reminders: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RectificationCompleted(Event):
    kind: ClassVar[str] = "rectification.done"
    item: str
    evidence: str  # what shows it is done: a work order, photos, the new rule's number


@dataclass(frozen=True, slots=True, kw_only=True)
class RectificationFeedback(Event):
    """What the served department was told about the item, and (`at`) when."""

    kind: ClassVar[str] = "rectification.feedback"
    item: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RectificationReminder(Event):
    """An open item has `workdays_left` working days to go; `notify` lists the roles to tell."""

    kind: ClassVar[str] = "rectification.reminder"
    item: str
    due_at: datetime
    workdays_left: int
    owner: str
    notify: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RectificationOverdue(Event):
    """An item's time limit passed undone; told once, up the plan's breach chain."""

    kind: ClassVar[str] = "rectification.overdue"
    item: str
    due_at: datetime
    late_seconds: float
    owner: str
    notify: tuple[str, ...]


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        PlanRegistered,
        IncidentOpened,
        MilestoneReached,
        MilestoneRetracted,
        ProgressUpdated,
        UrgencyChanged,
        IncidentCorrected,
        SeverityChanged,
        IncidentMerged,
        IncidentLinked,
        NoteAdded,
        ObligationMet,
        ObligationWarned,
        ObligationBreached,
        AlarmObserved,
        AlarmChanged,
        DeviceChanged,
        DeadLetter,
        DutyLogged,
        HandoverAcknowledged,
        AlarmAcknowledged,
        AlarmShelved,
        RosterImported,
        RosterOverridden,
        BreachAcknowledged,
        BreachEscalated,
        NotificationQueued,
        NotificationAttempted,
        NotificationFailed,
        CauseRecorded,
        FindingRecorded,
        LateExplained,
        DocumentNumbered,
        RectificationAdded,
        RectificationCompleted,
        RectificationFeedback,
        RectificationReminder,
        RectificationOverdue,
    )
}
# the routine and planned-event kinds register themselves in EVENT_TYPES
from dutydesk.playbooks import duty_events  # noqa: E402, F401
