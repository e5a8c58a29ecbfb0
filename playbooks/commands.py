"""What people ask the engine to do. The console and the command line only ever send these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

from dutydesk.playbooks.roster import Shift
from dutydesk.playbooks.vocab import Cause, Milestone, Severity, Source

Channel = Literal["cli", "console", "link", "sms"]  # how an acknowledgement reached the desk


def _request_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    actor: str
    at: datetime | None = None  # when it really happened; None: now
    request_id: str = field(default_factory=_request_id)  # makes a retried command harmless


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenIncident(Command):
    plan_id: str
    title: str
    severity: Severity | None = None  # None: the plan's default
    urgent: bool = False
    source: Source = Source.PHONE
    location: str | None = None
    description: str | None = None
    trigger: str | None = None
    drill: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentCommand(Command):
    incident: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReachMilestone(IncidentCommand):
    """report, arrive, stabilise, investigated, rectified, feedback, close."""

    milestone: Milestone
    text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostUpdate(IncidentCommand):
    measures: str
    status: str
    next_steps: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkUrgent(IncidentCommand):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class UnmarkUrgent(IncidentCommand):
    """Urgent was set by mistake: the shorter limits no longer apply; the reason is kept."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetSeverity(IncidentCommand):
    severity: Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectIncident(IncidentCommand):
    """Put right what was recorded wrong: `field` is received_at (an ISO time), location or
    title. A correction is a new event beside the old one; the log keeps both."""

    field: str
    value: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RetractMilestone(IncidentCommand):
    """A milestone recorded by mistake (a key pressed too early), taken back soon after."""

    milestone: Milestone
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeIncident(IncidentCommand):
    """Merge `incident` into `into`: the same event, reported twice."""

    into: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkIncidents(IncidentCommand):
    """Link `incident` and `to`: related, each kept open with its own plan."""

    to: str
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddNote(IncidentCommand):
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteObligation(IncidentCommand):
    """Tick off an obligation met by hand (e.g. "security team started the plan")."""

    obligation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteLog(Command):
    """A free-text entry in the duty log (值班记录)."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordCause(IncidentCommand):
    """A cause found by the investigation, by category."""

    category: Cause
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordFinding(IncidentCommand):
    """The investigation's team, 责任认定 or 防范措施/经验教训 (`section`: team, responsibility, lessons)."""

    section: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExplainLate(IncidentCommand):
    """The reason an obligation's occurrence was late."""

    obligation: str
    occurrence: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueNumber(Command):
    """A document number for `subject`'s `document`: the one it already has, else the next free."""

    document: str
    subject: str
    prefix: str
    year: int
    incident: str | None = None  # the incident it reports on: issuing may meet its obligations


@dataclass(frozen=True, slots=True, kw_only=True)
class AcknowledgeHandover(Command):
    """The incoming officer takes over the shift (交接班), having read the handover summary."""

    outgoing: str
    summary: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AcknowledgeAlarm(Command):
    """Someone has seen the alarm and is dealing with it."""

    key: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ShelveAlarm(Command):
    """Hide a nuisance alarm from the board until `until`, with the reason (it stays in the log)."""

    key: str
    reason: str
    until: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AcknowledgeBreach(IncidentCommand):
    """Someone takes a breach in hand (all of the incident's, or one obligation's): escalation stops."""

    obligation: str | None = None
    channel: Channel = "cli"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportRoster(Command):
    source: str  # the file it came from
    shifts: tuple[Shift, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class OverrideRoster(Command):
    """From now to the end of the current shift, `holder` holds `role` (a leader standing in, an
    officer swapping): the roster file need not be imported again."""

    role: str
    holder: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AddRectification(IncidentCommand):
    """A rectification item: from the investigation's 15-working-day period (`from_investigation`),
    or `workdays` working days from now."""

    content: str
    owner: str
    workdays: int
    from_investigation: bool
    reminders: tuple[int, ...]  # remind when this many working days are left


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemCommand(Command):
    """An action on one rectification item; the engine knows its incident."""

    item: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteRectification(ItemCommand):
    evidence: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GiveRectificationFeedback(ItemCommand):
    text: str


# The commands of one incident and those of the desk, as closed unions: the engine matches on
# them and ends in `assert_never`, so mypy names a command a new member left undecided.
IncidentAction = (
    ReachMilestone
    | PostUpdate
    | MarkUrgent
    | UnmarkUrgent
    | SetSeverity
    | CorrectIncident
    | RetractMilestone
    | AddNote
    | CompleteObligation
    | AcknowledgeBreach
    | MergeIncident
    | LinkIncidents
    | RecordFinding
    | ExplainLate
)
INCIDENT_ACTIONS: tuple[type[IncidentAction], ...] = get_args(IncidentAction)
DeskCommand = WriteLog | AcknowledgeHandover | AcknowledgeAlarm | ShelveAlarm | OverrideRoster
DESK_COMMANDS: tuple[type[DeskCommand], ...] = get_args(DeskCommand)


class Rejected(Exception):  # noqa: N818 - reads as "the command was rejected"
    """The command makes no sense now; `code` and `params` let the console say so in its language."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params
