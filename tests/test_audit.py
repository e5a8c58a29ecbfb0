"""An audit trail that holds up: a forged snapshot, a dropped trigger, a cut-off tail and a chain
rewritten with its hashes recomputed are each found by `dutydesk audit verify` (exit 1), on a real
SQLite file changed with the sqlite3 module as an administrator's shell would."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path

import pytest

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.service import Service
from dutydesk.connectors.store import MemoryEventStore
from dutydesk.connectors.store.chain import link, seal
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import AcknowledgeHandover, OpenIncident
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from tests.test_notify import eventually
from tests.test_serve import PATIENCE, dutydesk, minutes_ago, start_serve, wait_for

TRIGGER = "events_no_delete"


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of three incidents, with the snapshot a stopped engine leaves and an anchor."""
    home = tmp_path_factory.mktemp("audit")
    for n in range(3):
        title = f"配电间冒烟 {n}"
        run = dutydesk(
            home, "incident", "open", "--plan", "fire-conflict", "--title", title, "--at", minutes_ago(5)
        )
        assert run.returncode == 0, run.stderr
    serve = start_serve(home)
    wait_for(home, "obligation.breached", 3)  # the engine has written its share of the log
    serve.send_signal(signal.SIGTERM)
    serve.communicate(timeout=PATIENCE)
    anchored = dutydesk(home, "audit", "anchor", "--to", str(home / "anchors.jsonl"))
    assert anchored.returncode == 0, anchored.stderr
    return home


@pytest.fixture
def home(logged: Path, tmp_path: Path) -> Path:
    """A private copy of the log to tamper with."""
    copy = tmp_path / "home"
    copy.mkdir()
    for name in ("dutydesk.db", "anchors.jsonl"):  # no engine runs: the log is all in the file
        (copy / name).write_bytes((logged / name).read_bytes())
    return copy


def shell(home: Path, *statements: str, args: tuple[object, ...] = ()) -> None:
    db = sqlite3.connect(home / "dutydesk.db")
    for statement in statements:
        db.execute(statement, args if "?" in statement else ())
    db.commit()
    db.close()


def verify(home: Path, *extra: str) -> tuple[int, str]:
    run = dutydesk(home, "audit", "verify", *extra)
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, run.stdout + run.stderr


def trigger_sql(home: Path) -> str:
    db = sqlite3.connect(home / "dutydesk.db")
    try:
        return str(db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (TRIGGER,)).fetchone()[0])
    finally:
        db.close()


def test_an_untouched_log_passes_and_prints_its_head(home: Path) -> None:
    code, out = verify(home, "--anchors", str(home / "anchors.jsonl"))
    (anchor,) = [json.loads(line) for line in (home / "anchors.jsonl").read_text().splitlines()]
    assert code == 0, out
    assert f"chain head: event {anchor['seq']}, {anchor['hash']}" in out


def test_a_forged_snapshot_is_refused_on_start_and_found(home: Path) -> None:
    shell(
        home,
        "UPDATE snapshots SET data = CAST(replace(CAST(data AS TEXT), '配电间冒烟 1', '一切正常') AS BLOB)",
    )
    listed = dutydesk(home, "incidents", "list")
    assert listed.returncode == 0 and "配电间冒烟 1" in listed.stdout and "一切正常" not in listed.stdout
    assert "does not match the event log" in listed.stderr  # said loudly, state rebuilt from the log
    code, out = verify(home)
    assert code == 1 and "the snapshot at event" in out


def test_a_forged_snapshot_sealed_again_differs_from_the_replay(home: Path) -> None:
    db = sqlite3.connect(home / "dutydesk.db")
    seq, data = db.execute("SELECT seq, CAST(data AS TEXT) FROM snapshots").fetchone()
    (head,) = db.execute("SELECT hash FROM events WHERE seq = ?", (seq,)).fetchone()
    forged = data.replace("配电间冒烟 1", "一切正常")
    db.execute("UPDATE snapshots SET data = ?, seal = ?", (forged.encode(), seal(head, forged)))
    db.commit()
    db.close()
    code, out = verify(home)
    assert code == 1 and "differs from the state the log gives" in out


def test_a_dropped_trigger_is_found(home: Path) -> None:
    shell(home, f"DROP TRIGGER {TRIGGER}")
    code, out = verify(home)
    assert code == 1 and f"trigger {TRIGGER} is missing" in out


def test_a_cut_off_tail_is_found_against_an_anchor(home: Path) -> None:
    sql = trigger_sql(home)
    shell(home, f"DROP TRIGGER {TRIGGER}", "DELETE FROM snapshots", "DELETE FROM events WHERE seq > 5", sql)
    code, out = verify(home)
    assert code == 0, "without an anchor a clean cut is not visible: the reason anchors exist"
    code, out = verify(home, "--anchors", str(home / "anchors.jsonl"))
    assert code == 1 and "the log ends at event 5" in out and "tail was cut off" in out, out


def test_a_rewritten_chain_with_recomputed_hashes_is_found_against_an_anchor(home: Path) -> None:
    db = sqlite3.connect(home / "dutydesk.db")
    rows = db.execute(
        "SELECT seq, key, kind, at, logged_at, incident, actor, drill, data FROM events ORDER BY seq"
    )
    previous, rewritten = "0" * 64, []
    for seq, *rest, data in rows.fetchall():
        row = (seq, *rest, data.replace("配电间冒烟 0", "误报") if seq == 2 else data)
        previous = link(previous, row)
        rewritten.append((*row, previous))
    sql = db.execute("SELECT group_concat(sql, ';') FROM sqlite_master WHERE type = 'trigger'").fetchone()[0]
    names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    for name in names:
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DELETE FROM events")
    db.execute("DELETE FROM snapshots")
    db.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)", rewritten)
    db.executescript(sql + ";")
    db.commit()
    db.close()
    assert "误报" in dutydesk(home, "incidents", "list").stdout
    code, out = verify(home, "--anchors", str(home / "anchors.jsonl"))
    assert code == 1 and "the chain was rewritten" in out


def test_a_broken_anchor_file_is_named(home: Path) -> None:
    (home / "bad.jsonl").write_text('{"seq": 1}\n', encoding="utf-8")
    code, out = verify(home, "--anchors", str(home / "bad.jsonl"))
    assert code == 1 and "bad.jsonl:1: not an anchor" in out


async def test_the_engine_anchors_at_start_and_at_every_handover(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    journal = await Journal.open(MemoryEventStore(), plans=plans, deadlines=deadlines, clock=clock)
    await journal.submit(OpenIncident(actor="张三", plan_id="elevator-entrapment", title="困人"))
    path = tmp_path / "other-disk" / "anchors.jsonl"
    stop = asyncio.Event()
    task = asyncio.create_task(Service(journal, anchors=path).run(stop))

    def anchors() -> list[dict[str, object]]:
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    try:
        await eventually(lambda: bool(anchors()), "the anchor at start")
        await journal.submit(AcknowledgeHandover(actor="李四", outgoing="张三", summary="无"))
        await eventually(lambda: len(anchors()) == 2, "the anchor at the handover")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    start, handover = anchors()
    assert (start["why"], handover["why"]) == ("start", "handover")
    assert handover["seq"] == journal.engine.seq and handover["hash"] == await journal.store.chain_hash(
        journal.engine.seq
    )
