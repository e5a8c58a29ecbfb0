"""What a person may do from a phone, and to whom a copy of a message is addressed.

Both the link page and SMS replies end here: an acknowledgement is the same `AcknowledgeBreach`
the command line sends, naming its channel, so escalation stops exactly as it does for `ack`.
A request id derived from the link or the reply makes the second use a harmless repeat that the
log itself refuses, even across processes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.deliverers import Destinations
from dutydesk.connectors.messages import Addressed
from dutydesk.connectors.phone.links import Signer
from dutydesk.playbooks.commands import AcknowledgeBreach, AddNote, Channel, Command
from dutydesk.playbooks.events import BreachAcknowledged, NotificationQueued
from dutydesk.playbooks.roster import Roster, Shift

Action = Literal["ack", "onway"]
Result = Literal["acknowledged", "noted", "used", "nothing", "closed", "unknown"]
ON_MY_WAY = "在路上 / on my way"
_PHONE = re.compile(r"^\+?\d{5,15}$")
MIN_DIGITS = 7  # a shorter number in a URL's path is more likely an id than a phone


@dataclass(frozen=True, slots=True)
class Done:
    """What an action came to: `acknowledged` lists the obligations whose breach it acknowledged."""

    result: Result
    acknowledged: tuple[str, ...] = ()


async def act(
    journal: Journal, *, holder: str, incident: str, action: Action, channel: Channel, request_id: str
) -> Done:
    """Acknowledge the incident's open breaches for `holder` ("on my way" also leaves a note).

    Returns `used` when this request id acted before, `closed` for a closed incident and `nothing`
    when no breach was open (met or acknowledged meanwhile); none of these changes anything."""
    found = journal.engine.projection.incidents.get(incident)
    if found is None:
        return Done("unknown")
    if found.closed:
        return Done("closed")
    commands: list[Command] = []
    if action == "onway":  # the note first: it keeps the link's request id, so it acts once too
        commands.append(AddNote(actor=holder, incident=incident, text=ON_MY_WAY, request_id=request_id))
        request_id = f"{request_id}:ack"
    commands.append(
        AcknowledgeBreach(actor=holder, incident=incident, channel=channel, request_id=request_id)
    )
    outcomes = await journal.submit(*commands)
    if outcomes[0].repeated:
        return Done("used")
    if outcomes[0].rejected is not None and outcomes[0].rejected.code == "closed":
        return Done("closed")  # closed by another process since this one last looked
    acknowledged = tuple(
        r.event.obligation for o in outcomes for r in o.recorded if isinstance(r.event, BreachAcknowledged)
    )
    if acknowledged:
        return Done("acknowledged", acknowledged)
    return Done("noted") if action == "onway" else Done("nothing")


def phone_number(text: str) -> str | None:
    """The number in a comparable form (digits, without China's +86), or None if it is none."""
    compact = re.sub(r"[\s()-]", "", text)
    if not _PHONE.match(compact):
        return None
    digits = compact.lstrip("+")
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def holders_of(
    number: str, shifts: Iterable[Shift], routes: Mapping[str, frozenset[str]] | None = None
) -> set[str]:
    """The holders whose roster tags include this phone number, or a tag of a destination that
    sends SMS to it (`routes`: number -> tags, from `sms_routes`)."""
    wanted = phone_number(number)
    if wanted is None:
        return set()
    via = (routes or {}).get(wanted, frozenset())
    return {
        s.holder for s in shifts if via.intersection(s.tags) or any(phone_number(t) == wanted for t in s.tags)
    }


def sms_routes(destinations: Destinations) -> dict[str, frozenset[str]]:
    """The phone numbers the destinations send to (an SMS gateway's URL names them in its path:
    `smseagle://…@host/+8613800000001`), each with the tags of the destinations that do."""
    routes: dict[str, frozenset[str]] = {}
    for name, app in destinations.services.items():
        if app[0].title_maxlen != 0:
            continue  # apprise's text-message services have no title; others' numbers are ids
        url: str = app[0].url()  # type: ignore[no-untyped-call]  # apprise leaves it unannotated
        for segment in urlsplit(url).path.split("/"):
            number = phone_number(unquote(segment))
            if number is not None and len(number) >= MIN_DIGITS:
                routes[number] = routes.get(number, frozenset()) | destinations.tags[name]
    return routes


def holder_of_target(roster: Roster, queued: NotificationQueued, target: str) -> str | None:
    """The one person a target of a message reaches; None for a shared or unstaffed channel."""
    holders = {s.holder for s in roster.holders(queued.role, queued.at) if target in s.tags}
    return holders.pop() if len(holders) == 1 else None


class Addresser:
    """Addresses each copy of a message: the holder the target reaches, and, when the link page
    is served, a signed link per incident for them (valid from when it is sent)."""

    def __init__(self, journal: Journal, signer: Signer | None, base_url: str | None) -> None:
        self.journal = journal
        self.signer = signer
        self.base_url = (base_url or "").rstrip("/")

    def __call__(self, queued: NotificationQueued, target: str) -> Addressed | None:
        holder = holder_of_target(self.journal.engine.projection.notices.roster, queued, target)
        if holder is None:
            return None
        signer, now = self.signer, self.journal.clock.now()
        if signer is None:
            return Addressed(holder)
        incidents = dict.fromkeys(str(item["incident"]) for item in queued.items if item.get("incident"))
        return Addressed(
            holder,
            {
                incident: f"{self.base_url}/a/{incident}/"
                + signer.issue(notification=queued.notification, holder=holder, incident=incident, now=now)
                for incident in incidents
            },
        )
