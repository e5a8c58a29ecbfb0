"""Notifications end to end: the running service on a manual clock, a real SQLite log, apprise
delivering to real HTTP endpoints on loopback (one recording, one answering 500, one hanging)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.service import Service
from dutydesk.connectors.deliverers import AppriseDeliverer, Deliverer, MemoryDeliverer, load_destinations
from dutydesk.connectors.messages import Messages
from dutydesk.connectors.notify import Notifier
from dutydesk.connectors.settings import SettingsError
from dutydesk.connectors.store import Recorded, SqliteEventStore
from dutydesk.console.deliveries import delivery_rows
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import AcknowledgeBreach, ImportRoster, OpenIncident
from dutydesk.playbooks.events import (
    BreachEscalated,
    Event,
    NotificationAttempted,
    NotificationFailed,
    NotificationQueued,
    ObligationBreached,
    ObligationWarned,
)
from dutydesk.playbooks.notices import NoticePolicy, RetryPolicy
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from dutydesk.playbooks.roster import parse_roster_csv
from tests.conftest import SHANGHAI
from tests.endpoints import Endpoint, endpoint

E = TypeVar("E", bound=Event)
ROTA = """role,holder,tags,start,end
duty_officer,王值班,wang,2026-11-23 08:00,2026-11-23 20:00
leader_on_duty,李主任,li,,
centre_leadership,张主任,zhang,,
"""
POLICY = NoticePolicy(
    digest_interval=timedelta(minutes=1),
    chain=("duty_officer", "leader_on_duty", "centre_leadership"),
    delays=(timedelta(minutes=5), timedelta(minutes=10)),
)
DEFAULT_RETRY = RetryPolicy(attempts=2, backoff=timedelta(seconds=30))
PATIENCE = 10.0  # seconds to wait for another thread, never for a deadline


def apprise_yaml(routes: dict[str, str]) -> str:
    """apprise's YAML: one destination per tag list."""
    lines = ["version: 1", "urls:"]
    for url, tags in routes.items():
        lines += [f"  - {url}:", f"      tag: {tags}"]
    return "\n".join(lines) + "\n"


async def eventually(check: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + PATIENCE
    while not check():
        if loop.time() > end:
            raise AssertionError(f"not within {PATIENCE}s: {what}")
        await asyncio.sleep(0.01)


@dataclass
class Desk:
    journal: Journal
    clock: ManualClock
    notifier: Notifier
    log: list[Recorded] = field(default_factory=list)

    def events(self, kind: type[E]) -> list[E]:
        return [r.event for r in self.log if isinstance(r.event, kind)]

    async def open(self, count: int = 1, *, drill: bool = False) -> list[str]:
        outcomes = await self.journal.submit(
            *[
                OpenIncident(actor="tester", plan_id="elevator-entrapment", title=f"困人 {n}", drill=drill)
                for n in range(count)
            ]
        )
        return [o.recorded[-1].event.incident or "" for o in outcomes]


@asynccontextmanager
async def running(
    tmp_path: Path,
    plans: dict[str, Plan],
    deadlines: Deadlines,
    clock: ManualClock,
    routes: dict[str, str] | None,
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
    send_timeout: float = 5.0,
    deliverer: Deliverer | None = None,
) -> AsyncIterator[Desk]:
    """The service with the notifier, on the manual clock; `routes` None: no apprise file (unless
    a `deliverer` is given)."""
    if routes is not None:
        (tmp_path / "apprise.yml").write_text(apprise_yaml(routes), encoding="utf-8")
        destinations = load_destinations(tmp_path / "apprise.yml", POLICY.drill_tag)
        deliverer = AppriseDeliverer(destinations, timeout=send_timeout)
    store = await SqliteEventStore.open(tmp_path / "log.db")
    journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock, notices=POLICY)
    if not journal.engine.projection.notices.roster.shifts:
        shifts = tuple(parse_roster_csv(ROTA, "rota.csv", zone=SHANGHAI))
        await journal.submit(ImportRoster(actor="tester", source="rota.csv", shifts=shifts))
    notifier = Notifier(
        journal,
        deliverer,
        Messages(lang="zh", zone=SHANGHAI),
        retry=retry,
        fallback_tag=POLICY.fallback_tag,
    )
    desk = Desk(journal, clock, notifier)
    journal.subscribe(desk.log.extend)
    stop = asyncio.Event()
    task = asyncio.create_task(Service(journal, sources=[notifier], follow_interval=0.05).run(stop))
    try:
        yield desk
    finally:
        stop.set()
        await asyncio.wait_for(task, PATIENCE)
        await store.close()


@contextmanager
def endpoints() -> Iterator[tuple[Endpoint, Endpoint, Endpoint]]:
    with endpoint() as ok, endpoint(500) as failing, endpoint(hang=True) as hanging:
        yield ok, failing, hanging


async def test_warnings_and_breaches_reach_the_people_on_shift(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    with endpoint() as ok:
        routes = {ok.url(tag): tag for tag in ("wang", "li", "zhang", "fallback", "drill")}
        async with running(tmp_path, plans, deadlines, clock, routes) as desk:
            start = clock.now()
            (incident,) = await desk.open()
            clock.set(start + timedelta(minutes=8, seconds=1))  # the contractor call warns at 80 %
            await eventually(lambda: ok.bodies("wang"), "a warning to the duty officer")
            (warning,) = ok.bodies("wang")
            assert warning["title"].startswith("预警") and "联系电梯维保单位" in warning["title"]
            assert incident in warning["message"] and "剩余" in warning["message"]
            assert not ok.bodies("li")

            clock.set(start + timedelta(minutes=10, seconds=30))  # the contractor call breaches
            await eventually(lambda: ok.bodies("li"), "a breach to the leader on duty")
            assert "超时" in ok.bodies("li")[0]["title"]

            clock.set(start + timedelta(minutes=15, seconds=31))  # escalation after 5 minutes
            await eventually(lambda: desk.events(BreachEscalated), "an escalation")
            # the escalation is told in a decision of its own after it is recorded; acknowledging
            # before that decision would rightly drop it, so wait for it to be queued first
            await eventually(
                lambda: any(
                    item["stage"] == "escalation" for n in desk.events(NotificationQueued) for item in n.items
                ),
                "the escalation queued",
            )
            await desk.journal.submit(AcknowledgeBreach(actor="李主任", incident=incident))
            clock.set(start + timedelta(minutes=15, seconds=45))
            await eventually(lambda: len(ok.bodies("li")) >= 2, "the escalation to the leader on duty")
            assert "升级" in ok.bodies("li")[-1]["message"]
            clock.set(start + timedelta(minutes=29))  # acknowledged: nothing climbs to the centre
            await asyncio.sleep(0.2)
            queued = desk.events(NotificationQueued)
            await eventually(
                lambda: (
                    len([a for a in desk.events(NotificationAttempted) if a.ok])
                    == sum(len(n.targets) for n in desk.events(NotificationQueued))
                ),
                "every delivery attempted",
            )
        assert not ok.bodies("zhang") and not ok.bodies("fallback") and not ok.bodies("drill")
        assert {"duty_officer", "leader_on_duty"} <= {n.role for n in queued}


async def test_failures_retry_with_backoff_then_fall_back_and_every_attempt_is_logged(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    retry = RetryPolicy(attempts=3, backoff=timedelta(seconds=30), factor=2)
    with endpoints() as (ok, failing, _):
        routes = {failing.url("wang"): "wang", ok.url("fallback"): "fallback"}
        async with running(tmp_path, plans, deadlines, clock, routes, retry=retry) as desk:
            start = clock.now()
            await desk.open()
            clock.set(start + timedelta(minutes=8, seconds=1))
            await eventually(lambda: desk.events(NotificationAttempted), "the first attempt")
            notification = desk.events(NotificationQueued)[0].notification

            def attempts() -> list[NotificationAttempted]:
                return [a for a in desk.events(NotificationAttempted) if a.notification == notification]

            clock.advance(timedelta(seconds=30))
            await eventually(lambda: len(attempts()) == 2, "the second attempt after 30 s")
            clock.advance(timedelta(seconds=60))
            await eventually(lambda: len(attempts()) == 4, "the third attempt after 60 s, then the fallback")
        tries = attempts()
        assert [(a.target, a.attempt, a.ok, a.fallback) for a in tries] == [
            ("wang", 1, False, False),
            ("wang", 2, False, False),
            ("wang", 3, False, False),
            ("fallback", 1, True, True),
        ]
        assert [(tries[n + 1].at - tries[n].at).total_seconds() for n in (0, 1)] == [30, 60]
        assert all(a.error and "500" in a.error for a in tries[:3]), tries[0].error
        (failed,) = [f for f in desk.events(NotificationFailed) if f.notification == notification]
        assert (failed.attempts, failed.next_target) == (3, "fallback")
        assert len(failing.bodies("wang")) >= 3 and ok.bodies("fallback")
        rows = {(r["target"], r["state"]) for r in delivery_rows(desk.log, SHANGHAI)}
        assert {("wang", "failed"), ("fallback", "delivered")} <= rows


async def test_a_hanging_destination_never_delays_a_deadline(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    with endpoints() as (ok, _, hanging):
        routes = {hanging.url("wang"): "wang", ok.url("li"): "li"}
        async with running(tmp_path, plans, deadlines, clock, routes, send_timeout=2.0) as desk:
            start = clock.now()
            (incident,) = await desk.open()
            clock.set(start + timedelta(minutes=8, seconds=1))
            await eventually(lambda: hanging.bodies("wang"), "the warning to reach the hanging endpoint")
            loop = asyncio.get_running_loop()
            due = start + timedelta(minutes=10)
            clock.set(due)  # the contractor call falls due while the send still hangs
            asked = loop.time()
            await eventually(
                lambda: any(b.obligation == "contractor-called" for b in desk.events(ObligationBreached)),
                "the breach",
            )
            noticed = loop.time() - asked
            breach = next(b for b in desk.events(ObligationBreached) if b.obligation == "contractor-called")
            assert breach.late_seconds == 0 and breach.at == due  # on time by the engine's clock
            assert noticed < 0.5  # and in real time, while the other send hangs
            assert not desk.events(NotificationAttempted) or all(
                a.target != "wang" for a in desk.events(NotificationAttempted)
            )
            await eventually(lambda: ok.bodies("li"), "the breach delivered to a working destination")
            await eventually(
                lambda: any(a.target == "wang" for a in desk.events(NotificationAttempted)), "the timeout"
            )
        (timed_out, *_) = [a for a in desk.events(NotificationAttempted) if a.target == "wang"]
        assert not timed_out.ok and "2 s" in (timed_out.error or "")
        assert incident


async def test_a_failing_destination_is_retried_alone_and_the_working_one_gets_the_message_once(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    retry = RetryPolicy(attempts=3, backoff=timedelta(seconds=30), factor=2)
    with endpoints() as (ok, failing, _):
        routes = {ok.url("wang"): "wang", failing.url("wang"): "wang", ok.url("fallback"): "fallback"}
        async with running(tmp_path, plans, deadlines, clock, routes, retry=retry) as desk:
            start = clock.now()
            await desk.open()
            clock.set(start + timedelta(minutes=8, seconds=1))
            await eventually(lambda: len(desk.events(NotificationAttempted)) == 2, "one try at each")
            first = desk.events(NotificationQueued)[0].notification

            def attempts() -> list[NotificationAttempted]:
                return [a for a in desk.events(NotificationAttempted) if a.notification == first]

            clock.advance(timedelta(seconds=30))
            await eventually(lambda: len(attempts()) == 3, "the second try")
            clock.advance(timedelta(seconds=60))
            await eventually(lambda: desk.events(NotificationFailed), "the failing one given up")
            await asyncio.sleep(0.2)  # give a fallback or a fourth message every chance to show up
        (message, *_) = ok.bodies("wang")
        assert ok.bodies("wang").count(message) == 1  # on main: three times, once per retry of the tag
        assert failing.bodies("wang").count(message) == 3
        assert not ok.bodies("fallback")  # wang was reached: nobody else needs telling
        good = {a.destination for a in attempts() if a.ok}
        bad = {a.destination for a in attempts() if not a.ok}
        assert len(good) == 1 and len(bad) == 1 and good != bad
        (failed,) = desk.events(NotificationFailed)
        assert failed.destination in bad and failed.next_target is None and not failed.settled
        rows = delivery_rows(desk.log, SHANGHAI)
        mine = {(r["destination"], r["state"], r["attempts"]) for r in rows if r["notification"] == first}
        assert mine == {(good.pop(), "delivered", 1), (bad.pop(), "failed", 3)}
        deliveries = desk.notifier.journal.engine.projection.notices.deliveries
        assert not [key for key in deliveries if key[0] == first]  # nothing left to resume


async def test_the_fallback_hears_only_when_no_destination_of_the_tag_got_it(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    tags = {
        "wang-wecom": ["wang"],
        "wang-sms": ["wang"],
        "office-mail": ["fallback"],
        "office-sms": ["fallback"],
    }
    fake = MemoryDeliverer(tags, failing={"wang-wecom", "wang-sms"})
    retry = RetryPolicy(attempts=2, backoff=timedelta(seconds=30))
    async with running(tmp_path, plans, deadlines, clock, None, retry=retry, deliverer=fake) as desk:
        start = clock.now()
        await desk.open()
        clock.set(start + timedelta(minutes=8, seconds=1))
        await eventually(lambda: len(desk.events(NotificationAttempted)) == 2, "one try at each")
        first = desk.events(NotificationQueued)[0].notification
        clock.advance(timedelta(seconds=30))
        await eventually(lambda: len(fake.sent) == 2, "the fallback's two destinations")
    assert sorted(name for name, _, _ in fake.sent) == ["office-mail", "office-sms"]
    failed = [f for f in desk.events(NotificationFailed) if f.notification == first]
    assert sorted(f.destination or "" for f in failed) == ["wang-sms", "wang-wecom"]
    # only the last give-up settles the tag, and only it names the fallback
    assert [(f.settled, f.next_target) for f in failed] == [(False, None), (True, "fallback")]


async def test_fifty_warnings_at_once_reach_each_role_as_one_digest(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    with endpoint() as ok:
        routes = {ok.url("wang"): "wang", ok.url("li"): "li"}
        async with running(tmp_path, plans, deadlines, clock, routes) as desk:
            start = clock.now()
            await desk.open(50)  # a power cut: fifty entrapment alarms at once
            clock.set(start + timedelta(minutes=8, seconds=1))
            await eventually(lambda: ok.bodies("wang"), "the digest")
            await eventually(lambda: desk.events(NotificationAttempted), "the attempt stored")
            await asyncio.sleep(0.2)  # give a second message every chance to show up
        (digest,) = ok.bodies("wang")
        assert "50 项" in digest["title"] and "另有 30 项" in digest["message"]
        assert len(desk.events(ObligationWarned)) == 50  # nothing dropped from the log
        (queued,) = desk.events(NotificationQueued)
        assert len(queued.items) == 50


async def test_a_drill_reaches_only_drill_destinations_even_when_misconfigured(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    with endpoint() as ok:
        routes = {
            ok.url("wang"): "wang",
            ok.url("wang-too"): "wang, fallback",  # a real destination that also serves as fallback
            ok.url("drill"): "drill",
        }
        async with running(tmp_path, plans, deadlines, clock, routes) as desk:
            start = clock.now()
            await desk.open(drill=True)
            clock.set(start + timedelta(minutes=8, seconds=1))
            await eventually(lambda: ok.bodies("drill"), "the drill warning")
            (message,) = ok.bodies("drill")
            assert message["title"].startswith("【演练】") and message["message"].startswith("【演练】")
            assert "王值班" in message["message"]  # who would have been told
            # whatever tag a drill delivery names, only drill-tagged destinations can be reached
            deliverer = desk.notifier.deliverer
            assert deliverer is not None
            for tag in ("wang", "fallback"):
                assert deliverer.destinations(tag, drill=True) == ()
                for destination in deliverer.destinations(tag, drill=False):
                    sent = await deliverer.send("t", "b", destination, drill=True)
                    assert not sent.ok and sent.permanent
        assert not ok.bodies("wang") and not ok.bodies("wang-too")


async def test_an_unreachable_destination_is_an_alarm_and_loses_nothing(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    with endpoint() as closed:
        port = closed.port  # nothing listens here once the endpoint is gone
    routes = {f"json://127.0.0.1:{port}/wang?cto=1": "wang", f"json://127.0.0.1:{port}/fb?cto=1": "fallback"}
    retry = RetryPolicy(attempts=2, backoff=timedelta(seconds=10))
    async with running(tmp_path, plans, deadlines, clock, routes, retry=retry) as desk:
        start = clock.now()
        await desk.open()
        clock.set(start + timedelta(minutes=8, seconds=1))
        await eventually(lambda: desk.events(NotificationAttempted), "the first attempt")
        clock.advance(timedelta(seconds=10))
        await eventually(lambda: len(desk.events(NotificationAttempted)) == 3, "retry and fallback")
        clock.advance(timedelta(seconds=10))
        await eventually(lambda: len(desk.events(NotificationFailed)) == 2, "both given up")
    failed = desk.events(NotificationFailed)
    assert [(f.target, f.fallback, f.next_target) for f in failed] == [
        ("wang", False, "fallback"),
        ("fallback", True, None),
    ]
    assert all("onnect" in (a.error or "") for a in desk.events(NotificationAttempted))
    assert len(desk.events(ObligationWarned)) == 1  # the warning itself is safe in the log


async def test_without_apprise_every_notification_is_logged_as_undeliverable(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    async with running(tmp_path, plans, deadlines, clock, None) as desk:
        start = clock.now()
        await desk.open()
        clock.set(start + timedelta(minutes=8, seconds=1))
        await eventually(lambda: desk.events(NotificationFailed), "the give-up")
    (failed,) = desk.events(NotificationFailed)
    assert "no apprise configuration" in failed.error and failed.next_target is None


async def test_a_restart_resumes_a_delivery_cut_short(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    with endpoints() as (ok, _, hanging):
        async with running(tmp_path, plans, deadlines, clock, {hanging.url("wang"): "wang"}) as desk:
            start = clock.now()
            await desk.open()
            clock.set(start + timedelta(minutes=8, seconds=1))
            await eventually(lambda: hanging.bodies("wang"), "the send that hangs")
        assert not desk.events(NotificationAttempted)  # stopped mid-send: nothing to show for it
        async with running(tmp_path, plans, deadlines, clock, {ok.url("wang"): "wang"}) as again:
            await eventually(lambda: ok.bodies("wang"), "the resumed delivery")
            await eventually(lambda: again.events(NotificationAttempted), "its attempt stored")
        (attempt,) = again.events(NotificationAttempted)
        assert attempt.ok and attempt.notification == desk.events(NotificationQueued)[0].notification


def test_a_broken_apprise_configuration_is_named(tmp_path: Path) -> None:
    path = tmp_path / "apprise.yml"
    cases = {
        "urls: [\n": "apprise.yml:2: bad YAML",
        "- just a list\n": "expected apprise's YAML format",
        "urls:\n  - nosuch://host:\n      tag: a\n": "nosuch",
        "urls: []\n": "urls: no destinations",
        "include: [https://example.org/x.yml]\nurls: []\n": "include: not allowed",
    }
    for text, expected in cases.items():
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SettingsError, match=r"apprise\.yml") as caught:
            load_destinations(path, "drill")
        assert expected in str(caught.value), (text, caught.value)
