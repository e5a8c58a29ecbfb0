"""After the incident: the cause analysis and the rectification register (整改台账).

An item carries what a rectification notice (整改通知单) names — content, time limit, responsible
person — with the evidence of completion and the feedback given to the served department. Its time
limit is a number of working days counted with the calendar from an anchor (the investigation, by
the rule's default, or the day the item was added); like every deadline it is derived, never
stored. Reminders go out when a set number of working days is left; an item still open when its
limit runs out is overdue, told once up the plan's breach chain.

The register and the incident's milestones never disagree: completing the last open item reaches
`rectified` (and meets the plan's rectification obligation, with its margin), the last feedback
reaches `feedback`, and `rectified` cannot be declared by hand while items are open.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from dutydesk.playbooks.commands import (
    AddRectification,
    Command,
    CompleteRectification,
    GiveRectificationFeedback,
    RecordCause,
    Rejected,
)
from dutydesk.playbooks.durations import Duration, Unit
from dutydesk.playbooks.events import (
    CauseRecorded,
    Event,
    MilestoneReached,
    RectificationAdded,
    RectificationCompleted,
    RectificationFeedback,
    RectificationOverdue,
    RectificationReminder,
)
from dutydesk.playbooks.rules import ByMilestone
from dutydesk.playbooks.vocab import Milestone

if TYPE_CHECKING:  # both import this module: the projection folds the register, evaluation reads it
    from dutydesk.playbooks.incidents import Incident
    from dutydesk.playbooks.obligations import Deadlines

REGISTER_EVENTS = (
    RectificationAdded,
    RectificationCompleted,
    RectificationFeedback,
    RectificationReminder,
    RectificationOverdue,
)
REGISTER_COMMANDS = (RecordCause, AddRectification, CompleteRectification, GiveRectificationFeedback)


class ItemState(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    OVERDUE = "overdue"  # the time limit passed and it is not done
    WAIVED = "waived"  # the incident was closed (with a reason) before the limit ran out


@dataclass(slots=True)
class Item:
    id: str  # the incident's id and a number: 20261123-001-R1
    incident: str
    drill: bool
    content: str
    owner: str
    workdays: int
    anchor_at: datetime
    reminders: tuple[int, ...]  # working days left at which to remind, largest first
    added_at: datetime
    added_by: str
    done_at: datetime | None = None
    done_by: str | None = None
    evidence: str | None = None
    feedback_at: datetime | None = None
    feedback_by: str | None = None
    feedback: str | None = None
    reminded: int | None = None  # the fewest working days left of a reminder sent so far
    overdue_at: datetime | None = None  # when the overdue notice went out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name, value in data.items():
            if isinstance(value, datetime):
                data[name] = value.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Item:
        values = dict(data)
        for name in ("anchor_at", "added_at", "done_at", "feedback_at", "overdue_at"):
            if values[name] is not None:
                values[name] = datetime.fromisoformat(values[name])
        values["reminders"] = tuple(values["reminders"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ItemStatus:
    item: Item
    due_at: datetime
    provisional: bool  # the calendar of a year it counts over is not confirmed
    state: ItemState
    reminders: tuple[tuple[int, datetime], ...]  # (working days left, when), for points after it was added

    @property
    def late(self) -> bool:
        """Done after its limit, or overdue."""
        if self.item.done_at is not None:
            return self.item.done_at > self.due_at
        return self.state is ItemState.OVERDUE

    def margin(self, now: datetime) -> timedelta:
        """Time left (positive) or overdue (negative); for a done item, how early it was done."""
        return self.due_at - (self.item.done_at or now)


@dataclass(frozen=True, slots=True)
class RegisterRow:
    """One line of the register as a screen shows it: the item's standing and its incident."""

    incident: Incident
    status: ItemStatus


class Register:
    """Every rectification item, folded from the log."""

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.by_incident: dict[str, list[str]] = {}

    def apply(self, event: Event) -> Item | None:
        if isinstance(event, RectificationAdded):
            assert event.incident is not None
            item = self.items[event.item] = Item(
                id=event.item,
                incident=event.incident,
                drill=event.drill,
                content=event.content,
                owner=event.owner,
                workdays=event.workdays,
                anchor_at=event.anchor_at,
                reminders=event.reminders,
                added_at=event.at,
                added_by=event.actor,
            )
            self.by_incident.setdefault(event.incident, []).append(item.id)
            return item
        match event:
            case RectificationCompleted(item=key, evidence=evidence):
                item = self.items[key]
                item.done_at, item.done_by, item.evidence = event.at, event.actor, evidence
            case RectificationFeedback(item=key, text=text):
                item = self.items[key]
                item.feedback_at, item.feedback_by, item.feedback = event.at, event.actor, text
            case RectificationReminder(item=key, workdays_left=left):
                item = self.items[key]
                item.reminded = left if item.reminded is None else min(item.reminded, left)
            case RectificationOverdue(item=key):
                item = self.items[key]
                item.overdue_at = event.at
            case _:
                return None
        return item

    def get(self, item_id: str) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise Rejected("unknown_item", f"no rectification item {item_id!r}", item=item_id)
        return item

    def of(self, incident_id: str) -> list[Item]:
        return [self.items[i] for i in self.by_incident.get(incident_id, ())]

    def open_items(self, incident_id: str) -> list[str]:
        return [item.id for item in self.of(incident_id) if item.done_at is None]

    def to_snapshot(self) -> list[dict[str, Any]]:
        return [item.to_dict() for item in self.items.values()]

    def restore(self, data: list[dict[str, Any]]) -> None:
        for entry in data:
            item = Item.from_dict(entry)
            self.items[item.id] = item
            self.by_incident.setdefault(item.incident, []).append(item.id)


# -- time limits ---------------------------------------------------------------------------------


def deadline(anchor_at: datetime, workdays: int, deadlines: Deadlines) -> tuple[datetime, bool]:
    """When `workdays` working days from `anchor_at` run out, and whether that is provisional."""
    return deadlines.due(anchor_at, Duration(workdays, Unit.WORKDAYS))


def state_of(due: datetime, done_at: datetime | None, closed_at: datetime | None, now: datetime) -> ItemState:
    if done_at is not None:
        return ItemState.DONE
    # once the incident is closed time no longer runs against its items, as for its obligations
    until = min(now, closed_at) if closed_at is not None else now
    if until >= due:
        return ItemState.OVERDUE
    return ItemState.WAIVED if closed_at is not None else ItemState.OPEN


def assess(item: Item, deadlines: Deadlines, now: datetime, closed_at: datetime | None = None) -> ItemStatus:
    due, provisional = deadline(item.anchor_at, item.workdays, deadlines)
    local = due.astimezone(deadlines.zone)
    points = []
    for left in item.reminders:
        day = deadlines.calendar.workdays_before(local.date(), left).date
        at = datetime.combine(day, local.timetz())
        if at > item.added_at:  # a point already behind when the item was added is not sent late
            points.append((left, at))
    return ItemStatus(item, due, provisional, state_of(due, item.done_at, closed_at, now), tuple(points))


def _unsent(item: Item, status: ItemStatus) -> list[tuple[int, datetime]]:
    return [(left, at) for left, at in status.reminders if item.reminded is None or left < item.reminded]


def next_wakeup(item: Item, incident: Incident, deadlines: Deadlines) -> datetime | None:
    """The next reminder or the overdue notice due for this item, if any."""
    if item.done_at is not None or incident.closed:
        return None
    status = assess(item, deadlines, item.added_at)
    times = [at for _, at in _unsent(item, status)]
    if item.overdue_at is None:
        times.append(status.due_at)
    return min(times) if times else None


def due_events(
    item: Item, incident: Incident, deadlines: Deadlines, now: datetime, actor: str
) -> list[tuple[str, Event]]:
    """The reminder or overdue notice due by `now`, with its idempotency key. After a gap only the
    nearest reminder is sent: "2 working days left" makes "5 left" pointless."""
    if item.done_at is not None or incident.closed:
        return []
    status = assess(item, deadlines, now)
    head: dict[str, Any] = {"at": now, "incident": item.incident, "actor": actor, "drill": item.drill}
    if now >= status.due_at:
        if item.overdue_at is not None:
            return []
        overdue = RectificationOverdue(
            **head,
            item=item.id,
            due_at=status.due_at,
            late_seconds=(now - status.due_at).total_seconds(),
            owner=item.owner,
            notify=targets(incident, "breach"),
        )
        return [(f"{item.id}/overdue", overdue)]
    ready = [left for left, at in _unsent(item, status) if at <= now]
    if not ready:
        return []
    left = min(ready)
    reminder = RectificationReminder(
        **head,
        item=item.id,
        due_at=status.due_at,
        workdays_left=left,
        owner=item.owner,
        notify=targets(incident, "warning"),
    )
    return [(f"{item.id}/reminder/{left}", reminder)]


def targets(incident: Incident, stage: Literal["warning", "breach"]) -> tuple[str, ...]:
    """Who is told: the role the plan makes responsible for rectification, then the plan's chain
    for that stage (with its escalation by severity on a breach)."""
    plan = incident.plan
    rectified = ByMilestone(Milestone.RECTIFIED)
    owner = next((ob for ob in plan.obligations if ob.meets == rectified), None)
    roles = plan.targets(owner, stage, incident.severity)
    return tuple(dict.fromkeys((owner.role, *roles) if owner else roles))


def register_rows(
    register: Register,
    incidents: Mapping[str, Incident],
    deadlines: Deadlines,
    now: datetime,
    *,
    states: Collection[ItemState] | None = None,
    drills: bool = False,
) -> list[RegisterRow]:
    """The register as of `now`, soonest deadline first: what `dutydesk rectify list` prints and
    the console's register screen shows. `states` keeps only items in those states."""
    rows = []
    for item in register.items.values():
        if item.drill and not drills:
            continue
        incident = incidents[item.incident]
        status = assess(item, deadlines, now, incident.milestones.get(Milestone.CLOSED))
        if states is None or status.state in states:
            rows.append(RegisterRow(incident, status))
    rows.sort(key=lambda row: (row.status.due_at, row.status.item.id))
    return rows


# -- deciding --------------------------------------------------------------------------------------


def act(
    register: Register, incident: Incident, command: Command, at: datetime, deadlines: Deadlines
) -> list[Event]:
    """The events a cause or register command causes; the engine has checked the incident is open."""
    head: dict[str, Any] = {
        "at": at,
        "incident": incident.id,
        "actor": command.actor,
        "drill": incident.drill,
    }
    match command:
        case RecordCause(category=category, text=text):
            return [CauseRecorded(**head, category=category.value, text=_needed(text, "text"))]
        case AddRectification():
            return [_add(register, incident, command, head, deadlines)]
        case CompleteRectification():
            return _complete(register, incident, command, head)
        case GiveRectificationFeedback():
            return _feedback(register, incident, command, head)
    raise TypeError(f"unknown command {type(command).__name__}")


def _needed(text: str, name: str) -> str:
    if not text.strip():
        raise Rejected("empty", f"{name} is empty", field=name)
    return text.strip()


def _add(
    register: Register,
    incident: Incident,
    command: AddRectification,
    head: dict[str, Any],
    deadlines: Deadlines,
) -> RectificationAdded:
    at: datetime = head["at"]
    investigated = incident.milestones.get(Milestone.INVESTIGATED)
    if investigated is None:
        raise Rejected(
            "not_investigated",
            f"incident {incident.id} has no investigation yet; rectification follows its causes",
            incident=incident.id,
        )
    if Milestone.RECTIFIED in incident.milestones:
        when = incident.milestones[Milestone.RECTIFIED]
        raise Rejected(
            "already",
            f"incident {incident.id} is already rectified (at {when.isoformat()})",
            milestone=Milestone.RECTIFIED,
            at=when,
        )
    if at < investigated:
        raise Rejected(
            "before_investigation",
            f"{at.isoformat()} is before the investigation ({investigated.isoformat()})",
            at=at,
            investigated=investigated,
        )
    content, owner = _needed(command.content, "content"), _needed(command.owner, "owner")
    if command.workdays < 1:
        raise Rejected("bad_workdays", "a time limit is at least one working day", workdays=command.workdays)
    anchor = investigated if command.from_investigation else at
    due, _ = deadline(anchor, command.workdays, deadlines)
    if at >= due:
        raise Rejected(
            "period_over",
            f"the {command.workdays} working days from the investigation ran out at {due.isoformat()}; "
            "give a time limit from today",
            workdays=command.workdays,
            due=due,
        )
    return RectificationAdded(
        **head,
        item=f"{incident.id}-R{len(register.of(incident.id)) + 1}",
        content=content,
        owner=owner,
        workdays=command.workdays,
        anchor_at=anchor,
        reminders=tuple(sorted({n for n in command.reminders if 0 < n < command.workdays}, reverse=True)),
    )


def _complete(
    register: Register, incident: Incident, command: CompleteRectification, head: dict[str, Any]
) -> list[Event]:
    item = register.get(command.item)
    at: datetime = head["at"]
    if item.done_at is not None:
        raise Rejected("item_done", f"{item.id} is already done", item=item.id, at=item.done_at)
    evidence = _needed(command.evidence, "evidence")
    if at < item.added_at:
        raise Rejected(
            "before_added", f"{at.isoformat()} is before {item.id} was added", at=at, added=item.added_at
        )
    events: list[Event] = [RectificationCompleted(**head, item=item.id, evidence=evidence)]
    others = [i for i in register.of(incident.id) if i.id != item.id]
    if Milestone.RECTIFIED not in incident.milestones and all(i.done_at for i in others):
        when = max([at, *(i.done_at for i in others if i.done_at)])
        events.append(MilestoneReached(**{**head, "at": when}, milestone=Milestone.RECTIFIED.value))
    return events


def _feedback(
    register: Register, incident: Incident, command: GiveRectificationFeedback, head: dict[str, Any]
) -> list[Event]:
    item = register.get(command.item)
    at: datetime = head["at"]
    if item.done_at is None:
        raise Rejected(
            "item_not_done", f"{item.id} is not done yet; feedback follows completion", item=item.id
        )
    if item.feedback_at is not None:
        raise Rejected("item_fed_back", f"{item.id} has had its feedback", item=item.id, at=item.feedback_at)
    text = _needed(command.text, "text")
    if at < item.done_at:
        raise Rejected(
            "before_done", f"{at.isoformat()} is before {item.id} was done", at=at, done=item.done_at
        )
    events: list[Event] = [RectificationFeedback(**head, item=item.id, text=text)]
    items = register.of(incident.id)
    others = [i for i in items if i.id != item.id]
    milestones = incident.milestones
    if (
        Milestone.RECTIFIED in milestones
        and Milestone.FEEDBACK not in milestones
        and all(i.feedback_at for i in others)
    ):
        when = max([at, *(i.feedback_at for i in others if i.feedback_at)])
        said = "\n".join(f"{i.id}: {text if i is item else i.feedback}" for i in items)
        events.append(MilestoneReached(**{**head, "at": when}, milestone=Milestone.FEEDBACK.value, text=said))
    return events
