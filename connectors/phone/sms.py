"""SMS replies in GoAlert's grammar: `1a` acknowledges item 1 of the last message sent to the
replying person, `aa` all of that message. A reply counts only from a phone number of that person:
a roster tag that is a phone number, or the number an SMS destination carrying one of their tags
sends to; anything else is refused and logged.

gammu-smsd runs a command for each message received (`RunOnReceive`), telling it the sender and
text in environment variables (`SMS_MESSAGES`, `SMS_1_NUMBER`, `SMS_1_TEXT`, ...); `from_gammu`
reads them, so `dutydesk sms-inbound` can be that command as it is.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.phone.acts import Done, act, holders_of
from dutydesk.playbooks.events import NotificationQueued

log = logging.getLogger("dutydesk.phone")

CODE = re.compile(r"^\s*([1-9]\d{0,2}|a)\s*a\s*[.!。！]?\s*$", re.IGNORECASE)
RECENT = 500  # notifications looked through for the last one sent to the replying person


@dataclass(frozen=True, slots=True)
class Sms:
    number: str
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What a reply came to: refused (with why), or what each incident it named came to."""

    refused: str | None = None  # malformed, unknown_number, no_message, no_item
    holder: str | None = None
    notification: str | None = None
    done: dict[str, Done] = field(default_factory=dict)  # incident -> outcome


def from_gammu(env: Mapping[str, str]) -> list[Sms]:
    """The messages gammu-smsd's RunOnReceive hands over in the environment (none: not gammu)."""
    count = int(env.get("SMS_MESSAGES", "0") or 0)
    return [
        Sms(env.get(f"SMS_{n}_NUMBER", ""), env.get(f"SMS_{n}_TEXT", ""))
        for n in range(1, count + 1)
        if env.get(f"SMS_{n}_NUMBER")
    ]


async def last_message_to(journal: Journal, holders: set[str]) -> NotificationQueued | None:
    recent = await journal.store.read_recent([NotificationQueued.kind], RECENT)
    sent = [r.event for r in recent if isinstance(r.event, NotificationQueued)]
    mine = [e for e in sent if holders & set(e.recipients) and e.items]
    return max(mine, key=lambda e: e.at, default=None)


async def apply_reply(
    journal: Journal, sms: Sms, routes: Mapping[str, frozenset[str]] | None = None
) -> Reply:
    """Acknowledge what the reply names, as the person whose number it came from (a roster tag,
    or `routes`: the numbers the SMS destinations send to, see `sms_routes`)."""
    code = CODE.match(sms.text)
    if code is None:
        return _refused(sms, "malformed")
    holders = holders_of(sms.number, journal.engine.projection.notices.roster.shifts, routes)
    if len(holders) != 1:  # no one, or a number several people share: nobody to act as
        return _refused(sms, "unknown_number")
    holder = holders.pop()
    message = await last_message_to(journal, {holder})
    if message is None:
        return _refused(sms, "no_message", holder)
    which = code.group(1).lower()
    if which == "a":
        items = list(message.items)
    elif int(which) <= len(message.items):
        items = [message.items[int(which) - 1]]
    else:
        return _refused(sms, "no_item", holder, message.notification)
    done: dict[str, Done] = {}
    for incident in dict.fromkeys(str(item["incident"]) for item in items if item.get("incident")):
        done[incident] = await act(
            journal,
            holder=holder,
            incident=incident,
            action="ack",
            channel="sms",
            request_id=f"sms:{message.notification}:{holder}:{incident}",
        )
        log.info("sms %s from %s: %s %s", sms.text.strip(), holder, incident, done[incident].result)
    return Reply(holder=holder, notification=message.notification, done=done)


def _refused(sms: Sms, why: str, holder: str | None = None, notification: str | None = None) -> Reply:
    log.warning("refused SMS from %s (%r): %s", sms.number, sms.text[:40], why)
    return Reply(refused=why, holder=holder, notification=notification)
