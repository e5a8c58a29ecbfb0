"""A missed round end to end: the running service on a manual clock, a real SQLite log, apprise
delivering to a real HTTP endpoint on loopback; a restart does not tell anyone twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.service import Service
from dutydesk.connectors.notify import AppriseDeliverer, Messages, Notifier, load_destinations
from dutydesk.connectors.store import Recorded, SqliteEventStore
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import ImportRoster
from dutydesk.playbooks.duty_library import bundled_event_plans, bundled_routines
from dutydesk.playbooks.eventplans import load_event_plans
from dutydesk.playbooks.events import ObligationBreached, ObligationWarned
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.roster import parse_roster_csv
from dutydesk.playbooks.routines import load_routines
from dutydesk.playbooks.timetable import LogRound
from tests.conftest import MONDAY, SHANGHAI
from tests.endpoints import endpoint
from tests.test_notify import DEFAULT_RETRY, PATIENCE, POLICY, ROTA, apprise_yaml, eventually

ROUTINES, _ = load_routines(bundled_routines())
EVENT_PLANS, _ = load_event_plans(bundled_event_plans())


async def test_a_missed_round_breaches_and_notifies_through_a_real_endpoint(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    with endpoint() as ok:
        routes = {ok.url(tag): tag for tag in ("wang", "li", "zhang", "fallback", "drill")}
        (tmp_path / "apprise.yml").write_text(apprise_yaml(routes), encoding="utf-8")
        deliverer = AppriseDeliverer(
            load_destinations(tmp_path / "apprise.yml", POLICY.drill_tag), timeout=5.0
        )
        store = await SqliteEventStore.open(tmp_path / "log.db")
        journal = await Journal.open(
            store,
            plans=plans,
            deadlines=deadlines,
            clock=clock,
            notices=POLICY,
            routines=ROUTINES,
            event_plans=EVENT_PLANS,
        )
        shifts = tuple(parse_roster_csv(ROTA, "rota.csv", zone=SHANGHAI))
        await journal.submit(ImportRoster(actor="tester", source="rota.csv", shifts=shifts))
        log: list[Recorded] = []
        journal.subscribe(log.extend)
        notifier = Notifier(
            journal,
            deliverer,
            Messages(lang="zh", zone=SHANGHAI),
            retry=DEFAULT_RETRY,
            fallback_tag=POLICY.fallback_tag,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(Service(journal, sources=[notifier], follow_interval=0.05).run(stop))
        try:
            # the 09:00 patrol is logged; the 10:00 one is not
            await journal.submit(LogRound(actor="监控员", routine="cctv-patrol"))
            clock.set(MONDAY.replace(hour=10, minute=15, second=30))
            await eventually(lambda: ok.bodies("li"), "the breach told to the leader on duty")
            breaches = [r.event for r in log if isinstance(r.event, ObligationBreached)]
            assert [(b.obligation, b.due_at) for b in breaches if b.obligation.startswith("routine:")] == [
                ("routine:cctv-patrol", MONDAY.replace(hour=10, minute=15))
            ]
            message = ok.bodies("li")[0]
            assert "超时" in message["title"] and "巡查监控画面" in message["title"] + message["message"]
            # a round is no incident: no empty incident title, no "None" where its number would be
            assert "： ·" not in message["title"] and "None" not in message["message"], message
            await eventually(lambda: ok.bodies("wang"), "the breach told to the duty officer on shift")
            # the monitoring room has nobody on the roster: its warning went to the fallback
            await eventually(lambda: ok.bodies("fallback"), "the unstaffed role's fallback")
        finally:
            stop.set()
            await asyncio.wait_for(task, PATIENCE)
            await store.close()
        told = len(ok.bodies("li"))
        # a restart re-reads the log: the same breach is not told again
        store = await SqliteEventStore.open(tmp_path / "log.db")
        journal = await Journal.open(
            store, plans=plans, deadlines=deadlines, clock=clock, notices=POLICY, routines=ROUTINES
        )
        fired = [r.event for r in await journal.fire()]
        assert not [e for e in fired if isinstance(e, ObligationBreached | ObligationWarned)]
        await store.close()
        assert len(ok.bodies("li")) == told
