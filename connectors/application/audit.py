"""An audit trail that holds up in an inquiry: the snapshot checked against a replay of the log,
and anchors, the chain's head (sequence number and hash) written outside the database, so that
a cut-off tail or a chain rewritten and re-hashed from some event on is found.

An anchor file is append-only JSON lines, one per anchor; keep it on another disk (or copy it
off the machine): whoever can rewrite the database and the anchor file alike defeats it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dutydesk.connectors.store import EventStore, Verification
from dutydesk.connectors.store.chain import encode
from dutydesk.playbooks.engine import Engine


class AnchorError(Exception):
    """An anchor file that cannot be read or written; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head at a moment: event `seq` has hash `hash`."""

    seq: int
    hash: str
    at: datetime
    database: str
    why: str  # "manual", "handover", "daily"


def anchor_of(verification: Verification, *, at: datetime, database: str, why: str) -> Anchor:
    return Anchor(verification.events, verification.head, at, database, why)


def write_anchor(path: Path, anchor: Anchor) -> None:
    """Append one line and make it durable before returning."""
    line = json.dumps(
        {
            "seq": anchor.seq,
            "hash": anchor.hash,
            "at": anchor.at.isoformat(),
            "database": anchor.database,
            "why": anchor.why,
        },
        ensure_ascii=False,
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise AnchorError(f"{path}: cannot append the anchor: {exc.strerror or exc}") from None


def read_anchors(path: Path) -> list[Anchor]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise AnchorError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AnchorError(f"{path}: not UTF-8: not an anchor file written by dutydesk") from None
    anchors = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            anchors.append(
                Anchor(
                    int(item["seq"]),
                    str(item["hash"]),
                    datetime.fromisoformat(item["at"]),
                    str(item.get("database", "")),
                    str(item.get("why", "")),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise AnchorError(f"{path}:{number}: not an anchor ({exc})") from None
    return anchors


async def anchor_head(store: EventStore, path: Path, *, at: datetime, why: str) -> Anchor:
    """Append the log's head as it is now (unverified: `audit verify` checks the chain)."""
    seq = await store.head()
    head = await store.chain_hash(seq)
    assert head is not None  # the head is in the log
    anchor = Anchor(seq, head, at, str(store.path), why)
    write_anchor(path, anchor)
    return anchor


async def check_anchors(store: EventStore, anchors: Sequence[Anchor]) -> list[str]:
    """What the log says against each anchor: a cut-off tail, or a chain rewritten."""
    problems = []
    head = await store.head()
    for anchor in anchors:
        found = await store.chain_hash(anchor.seq)
        when = anchor.at.isoformat(timespec="seconds")
        if found is None:
            problems.append(
                f"the log ends at event {head}, but it reached event {anchor.seq} at {when}: "
                "its tail was cut off"
            )
        elif found != anchor.hash:
            problems.append(f"event {anchor.seq} is not the one anchored at {when}: the chain was rewritten")
    return problems


async def snapshot_problem(store: EventStore, blank: Engine) -> str | None:
    """The cached projection against a replay of the log up to the event it covers (a snapshot
    re-sealed after an edit passes its seal, not this). `blank` gives the plans and settings."""
    cached = await store.load_snapshot()
    if cached is None:
        return None  # none, or refused by its seal (which `verify` reports)
    seq, data = cached
    engine = Engine(
        plans=blank.plans,
        deadlines=blank.deadlines,
        feeds=blank.feeds,
        debounce=blank.debounce,
        notices=blank.dispatcher.policy,
        correlation=blank.correlator.rules,
    )
    async for batch in store.iterate(0):
        engine.load((r.seq, r.event) for r in batch if r.seq <= seq)
        if batch and batch[-1].seq >= seq:
            break
    if _canonical(engine.projection.to_snapshot()) != _canonical(data):
        return (
            f"the snapshot at event {seq} differs from the state the log gives "
            "(edited, or written by another version of dutydesk)"
        )
    return None


def _canonical(data: object) -> str:
    return json.dumps(json.loads(encode(data)), sort_keys=True, ensure_ascii=False)
