"""Benchmark of notifications (issue 4): 1,000 obligations breaching in the same second, with
apprise delivering to a real HTTP endpoint on loopback, while probe deadlines keep falling due
every 25 ms; how late every deadline fires meanwhile (p50, p99, max), and what was dispatched.

Lateness is measured on the wall clock from the deadline to the moment its breach is stored and
applied (so it includes the commit), for the 1,000 and for the probes that follow them.

Run: `.venv/bin/python -m tests.benchmarks.notify [--obligations N]`. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.service import Service
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.deliverers import AppriseDeliverer, load_destinations
from dutydesk.connectors.messages import Messages
from dutydesk.connectors.notify import Notifier
from dutydesk.connectors.store import Recorded, SqliteEventStore
from dutydesk.playbooks.commands import ImportRoster, OpenIncident
from dutydesk.playbooks.events import (
    NotificationAttempted,
    NotificationQueued,
    ObligationBreached,
    ObligationWarned,
)
from dutydesk.playbooks.notices import NoticePolicy, RetryPolicy
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import parse_plan
from dutydesk.playbooks.roster import parse_roster_csv
from dutydesk.playbooks.workdays import WorkCalendar
from tests.endpoints import endpoint

ZONE = ZoneInfo("Asia/Shanghai")
PLAN = """
id: bench
title: 基准
notify: {warning: [duty_officer], breach: [duty_officer, leader_on_duty, centre_leadership]}
obligations:
  - {id: respond, title: 1分钟内响应, role: duty_officer, due: 1m, warning: {fraction: 0.5}}
"""
ROTA = """role,holder,tags,start,end
duty_officer,王值班,wang,,
leader_on_duty,李主任,li,,
centre_leadership,张主任,zhang,,
"""
PROBES = 200
PROBE_EVERY = timedelta(milliseconds=25)
LEAD = timedelta(seconds=3)  # from start to the breaching second


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run(obligations: int) -> None:
    clock = WallClock()
    plan = parse_plan(PLAN, "bench.yaml")
    policy = NoticePolicy(digest_interval=timedelta(seconds=5), delays=(timedelta(hours=1),) * 2)
    with endpoint() as sink, tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "apprise.yml"
        config.write_text(
            "urls:\n" + "".join(f"  - {sink.url(t)}:\n      tag: {t}\n" for t in ("wang", "li", "zhang")),
            encoding="utf-8",
        )
        store = await SqliteEventStore.open(Path(folder) / "bench.db")
        journal = await Journal.open(
            store,
            plans={plan.id: plan},
            deadlines=Deadlines(WorkCalendar(), ZONE),
            clock=clock,
            notices=policy,
        )
        shifts = tuple(parse_roster_csv(ROTA, "rota.csv", zone=ZONE))
        await journal.submit(ImportRoster(actor="bench", source="rota.csv", shifts=shifts))
        breaching = (clock.now() + LEAD).replace(microsecond=0) + timedelta(seconds=1)
        due: dict[str, datetime] = {}
        commands = []
        for n in range(obligations):  # all due at the very same instant: one commit takes them all
            commands.append((breaching, f"告警 {n}"))
        for n in range(PROBES):  # then one every 25 ms while the notifications flow
            commands.append((breaching + timedelta(seconds=1) + PROBE_EVERY * n, f"探针 {n}"))
        outcomes = await journal.submit(
            *[
                OpenIncident(actor="bench", plan_id=plan.id, title=title, at=when - timedelta(minutes=1))
                for when, title in commands
            ]
        )
        for outcome, (when, _) in zip(outcomes, commands, strict=True):
            due[outcome.recorded[-1].event.incident or ""] = when
        lateness: dict[str, float] = {}

        def heard(recorded: Sequence[Recorded]) -> None:
            seen = clock.now()
            for item in recorded:
                if isinstance(item.event, ObligationBreached) and item.event.incident in due:
                    lateness[item.event.incident] = (seen - due[item.event.incident]).total_seconds()

        journal.subscribe(heard)
        log: list[Recorded] = []
        journal.subscribe(log.extend)
        notifier = Notifier(
            journal,
            AppriseDeliverer(load_destinations(config, policy.drill_tag), timeout=5.0),
            Messages(lang="zh", zone=ZONE),
            retry=RetryPolicy(),
            fallback_tag=policy.fallback_tag,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(Service(journal, sources=[notifier]).run(stop))
        end = time.monotonic() + 60
        while time.monotonic() < end:
            queued = [r.event for r in log if isinstance(r.event, NotificationQueued)]
            attempts = [r.event for r in log if isinstance(r.event, NotificationAttempted)]
            pending = journal.engine.projection.notices.pending
            done = (
                len(lateness) == len(due)
                and not pending
                and len(attempts) >= sum(len(q.targets) for q in queued)
            )
            if done and clock.now() > breaching + timedelta(seconds=8):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
        await store.close()
    burst = [lateness[i] * 1000 for i, when in due.items() if when < breaching + timedelta(seconds=1)]
    probes = [lateness[i] * 1000 for i, when in due.items() if when >= breaching + timedelta(seconds=1)]
    everything = burst + probes
    breaches = [r.event for r in log if isinstance(r.event, ObligationBreached)]
    breach_messages = [q for q in queued if any(i["stage"] == "breach" for i in q.items)]
    told = sum(len(r.event.notify) for r in log if isinstance(r.event, ObligationWarned | ObligationBreached))
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}")
    print(f"obligations breaching in one second: {len(burst)}; probe deadlines after them: {len(probes)}")
    print(f"breaches stored: {len(breaches)}")
    print(
        f"notifications queued: {len(queued)} ({len(breach_messages)} carrying breaches), "
        f"items digested into them: {sum(len(q.items) for q in queued)} "
        f"(warnings and breaches times the roles each names: {told}), left undelivered: {len(pending)}"
    )
    print(
        f"delivery attempts: {len(attempts)}, delivered: {sum(a.ok for a in attempts)}, "
        f"received by the endpoint: {len(sink.received)}"
    )
    for name, values in (("the 1,000", burst), ("probes", probes), ("all", everything)):
        print(
            f"lateness {name}: p50 {statistics.median(values):.1f} ms, "
            f"p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--obligations", type=int, default=1000)
    asyncio.run(run(parser.parse_args().obligations))


if __name__ == "__main__":
    main()
