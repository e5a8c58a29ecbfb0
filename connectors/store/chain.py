"""The log's row format, shared by every adapter: columns, JSON payload, hash chain, KPI facts.

A row is (seq, key, kind, at, logged_at, incident, actor, drill, data, hash): times in
microseconds since the epoch, `data` the event's payload as compact JSON text, `hash` the SHA-256
of the other columns chained to the previous row's hash. Adapters store rows as they are and
build `Recorded` from them, so a fake and a database agree to the byte.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from dutydesk.connectors.store.port import FactRow, Recorded, Verification
from dutydesk.playbooks.engine import Keyed
from dutydesk.playbooks.eventcodec import build, payload

log = logging.getLogger("dutydesk.store")

GENESIS = "0" * 64
READ_BATCH = 20_000
COLUMNS = "seq, key, kind, at, logged_at, incident, actor, drill, data"
Row = tuple[Any, ...]

# The KPI facts kept beside the log (schema 4): per event kind, the payload fields copied into
# columns a, b, c, ... of `facts`, so that a year's figures read plain columns instead of taking
# a million JSON documents apart. Frozen with the migration that made it: what the KPIs read
# (`playbooks.kpi.INCIDENT_FACTS`) may only change with a new migration.
FACTS_V4: dict[str, tuple[str, ...]] = {
    "plan.registered": (),  # found through the facts' index: the log has none by kind
    "incident.opened": ("plan_fingerprint", "severity", "location"),
    "incident.severity": ("severity",),
    "incident.milestone": ("milestone",),
    "obligation.met": ("obligation", "occurrence", "margin_seconds"),
    "obligation.breached": ("obligation", "occurrence"),
    "rectification.added": ("item", "anchor_at", "workdays", "content", "owner"),
    "rectification.done": ("item",),
}
FACT_COLUMNS = ("a", "b", "c", "d", "e")
_NAME = re.compile(r"^[a-z][a-z0-9_.]*$")


def micros(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    return round(when.timestamp() * 1_000_000)


def from_micros(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def encode(data: Any) -> str:
    """Compact JSON, non-ASCII kept as it is (pydantic's encoder: a tenth of the stdlib's cost)."""
    return _to_json()(data).decode()


@functools.cache
def _to_json() -> Callable[[Any], bytes]:
    # loaded by the first write: commands that only read start without it
    from pydantic_core import to_json  # noqa: PLC0415

    return to_json


def link(previous: str, row: Sequence[Any]) -> str:
    """The hash of a row's first nine columns, chained to the one before it."""
    return sha256(f"{previous}|{'|'.join(map(str, row))}".encode()).hexdigest()


def seal(head: str, data: str | bytes) -> str:
    """A snapshot's seal: its data (text, or as UTF-8 bytes) bound to the hash of the event it
    covers, so a snapshot edited on its own, or kept over a log that changed under it, no longer
    matches. The bytes are hashed as they are: a snapshot of megabytes is not copied to be sealed."""
    digest = sha256(f"{head}|".encode())
    digest.update(data.encode() if isinstance(data, str) else data)
    return digest.hexdigest()


SNAPSHOT_REFUSED = (
    "the cached state at event {seq} does not match the event log (the snapshot or the log "
    "was changed outside dutydesk); it is ignored and the state rebuilt from the log. "
    "Run `dutydesk audit verify`."
)


def check_seal(seq: int, data: str | bytes, stored: str | None, head: str | None) -> str | None:
    """Why a snapshot does not match the log, or None when it does."""
    if head is None:
        return f"the snapshot covers event {seq}, which the log does not hold"
    if stored != seal(head, data):
        return f"the snapshot at event {seq} does not match the log"
    return None


# a snapshot as an adapter keeps it: seq, data (as text, or UTF-8 bytes as SQLite hands them), seal
Stored = tuple[int, str | bytes, str | None]


async def open_snapshot(
    found: Stored | None, chain_hash: Callable[[int], Awaitable[str | None]]
) -> tuple[int, dict[str, Any]] | None:
    """A stored snapshot's data if it may be trusted: None when there is none, when it predates
    sealing, when it does not match the log (said loudly) or cannot be read; the state is then
    rebuilt from the log. Every adapter's `load_snapshot`."""
    if found is None or found[2] is None:
        return None
    seq, text, stored = found
    if check_seal(seq, text, stored, await chain_hash(seq)) is not None:
        log.error(SNAPSHOT_REFUSED.format(seq=seq))
        return None
    try:
        return seq, json.loads(text)
    except ValueError:
        return None  # a damaged snapshot is only a cache


async def snapshot_problems(
    found: Stored | None, chain_hash: Callable[[int], Awaitable[str | None]]
) -> list[str]:
    """What `verify` says of a stored snapshot: nothing, or why it does not match the log."""
    if found is None or found[2] is None:
        return []
    seq, text, stored = found
    problem = check_seal(seq, text, stored, await chain_hash(seq))
    return [] if problem is None else [problem]


def decode(row: Sequence[Any]) -> Recorded:
    seq, key, kind, at, logged_at, incident, actor, drill, data = row[:9]
    event = build(
        kind,
        json.loads(data),
        at=from_micros(at),
        incident=incident,
        actor=actor,
        drill=bool(drill),
    )
    return Recorded(seq, key, from_micros(logged_at), event)


class Appending:
    """The `Transaction` every adapter yields: it numbers, encodes and chains the rows; the
    adapter writes `rows` and `seen` when the transaction commits."""

    __slots__ = ("_existing", "last_hash", "last_seq", "logged_at", "rows", "seen", "tail")

    def __init__(
        self,
        tail: list[Recorded],
        last_seq: int,
        last_hash: str,
        logged_at: datetime,
        existing: Callable[[Sequence[str]], Awaitable[set[str]]],
    ) -> None:
        self.tail = tail
        self.last_seq = last_seq
        self.last_hash = last_hash
        self.logged_at = logged_at
        self.rows: list[Row] = []
        self.seen: dict[str, datetime] = {}
        self._existing = existing

    async def existing(self, keys: Sequence[str]) -> set[str]:
        return await self._existing(keys) if keys else set()

    def touch(self, seen: Mapping[str, datetime]) -> None:
        self.seen.update(seen)

    def append(self, events: Iterable[Keyed]) -> list[Recorded]:
        # the hot path of every write: one f-string and one hash per event, nothing per column
        logged_at, seq, last = self.logged_at, self.last_seq, self.last_hash
        logged = micros(logged_at)
        when, at = logged_at, logged  # the events of one decision share their time: convert it once
        rows: list[Row] = []
        stored: list[Recorded] = []
        for item in events:
            event, key = item.event, item.key
            seq += 1
            if event.at is not when:
                when, at = event.at, micros(event.at)
            drill, data = int(event.drill), encode(payload(event))
            kind, incident, actor = event.kind, event.incident, event.actor
            last = sha256(
                f"{last}|{seq}|{key}|{kind}|{at}|{logged}|{incident}|{actor}|{drill}|{data}".encode()
            ).hexdigest()
            rows.append((seq, key, kind, at, logged, incident, actor, drill, data, last))
            stored.append(Recorded(seq, key, logged_at, event))
        self.rows += rows
        self.last_seq, self.last_hash = seq, last
        return stored


async def walk(batches: AsyncIterator[Sequence[Row]], problems: Sequence[str] = ()) -> Verification:
    """Check the hash chain over all rows, in log order: any edited, removed or inserted row
    breaks it from there on. `problems`: what else the adapter found wrong."""
    previous, expected_seq, count = GENESIS, 1, 0
    async for rows in batches:
        for row in rows:
            if row[0] != expected_seq:
                return Verification(count, row[0], f"event {expected_seq} is missing", previous, (*problems,))
            if link(previous, row[:9]) != row[9]:
                reason = f"event {row[0]} does not match its hash"
                return Verification(count, row[0], reason, previous, (*problems,))
            previous, expected_seq, count = row[9], expected_seq + 1, count + 1
    return Verification(count, head=previous, problems=(*problems,))


async def polled(changed: Callable[[], Awaitable[bool]], within: float, every: float) -> bool:
    """`wait_changed` for an adapter that cannot be notified: look every `every` seconds."""
    for _ in range(max(1, math.ceil(within / every))):
        if await changed():
            return True
        await asyncio.sleep(every)
    return await changed()


def check_names(kinds: Mapping[str, Sequence[str]]) -> None:
    """Kinds and field names reach queries as literals: allow plain names only."""
    for name in (*kinds, *(f for names in kinds.values() for f in names)):
        if not _NAME.match(name):
            raise ValueError(f"not an event kind or field name: {name!r}")


def _fact_value(value: Any) -> Any:
    """A JSON value as SQLite's json_extract returns it."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return encode(value)
    return value


def fact_row(row: Row, names: Sequence[str], width: int) -> FactRow:
    """(kind, at, incident, drill, the named payload fields padded with None to `width`)."""
    body = json.loads(row[8])
    values = [_fact_value(body.get(name)) for name in names]
    return (row[2], row[3], row[5], row[7], *values, *[None] * (width - len(values)))
