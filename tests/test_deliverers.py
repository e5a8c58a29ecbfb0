"""The deliverer contract: every adapter (apprise against real loopback HTTP endpoints, and the
in-memory fake) names destinations without secrets, sends to one destination per call, and
confines drills to drill destinations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dutydesk.connectors.deliverers import AppriseDeliverer, Deliverer, MemoryDeliverer, load_destinations
from tests.endpoints import endpoint
from tests.test_notify import apprise_yaml

# each route carries a tag of its own (to find its name) and the tags under test
ROUTES = {"good": "good, wang", "bad": "bad, wang", "practice": "practice, drill, wang"}


@dataclass
class World:
    deliverer: Deliverer
    received: Callable[[str], int]  # messages a working route has accepted

    def name(self, route: str) -> str:
        (name,) = self.deliverer.destinations(route, drill=route == "practice")
        return name


@pytest.fixture(params=["apprise", "memory"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    deliverer: Deliverer
    if request.param == "memory":
        fake = MemoryDeliverer({route: tags.split(", ") for route, tags in ROUTES.items()}, failing={"bad"})
        yield World(fake, lambda route: sum(1 for name, _, _ in fake.sent if name == route))
        fake.close()
        return
    with endpoint() as ok, endpoint(500) as failing:
        urls = {
            f"json://user:sekret@127.0.0.1:{ok.port}/good": ROUTES["good"],
            failing.url("bad"): ROUTES["bad"],
            ok.url("practice"): ROUTES["practice"],
        }
        (tmp_path / "apprise.yml").write_text(apprise_yaml(urls), encoding="utf-8")
        deliverer = AppriseDeliverer(load_destinations(tmp_path / "apprise.yml", "drill"), timeout=5.0)
        yield World(deliverer, lambda route: len(ok.bodies(route)))
        deliverer.close()


def test_a_tag_names_each_of_its_destinations_once_in_configured_order(world: World) -> None:
    names = world.deliverer.destinations("wang", drill=False)
    assert names == (world.name("good"), world.name("bad"), world.name("practice"))
    assert len(set(names)) == 3
    assert world.deliverer.destinations("nobody", drill=False) == ()


def test_names_carry_no_secret(world: World) -> None:
    assert all("sekret" not in name for name in world.deliverer.destinations("wang", drill=False))


async def test_a_send_reaches_one_destination_once(world: World) -> None:
    sent = await world.deliverer.send("title", "body", world.name("good"), drill=False)
    assert sent.ok and sent.error is None
    assert [world.received(route) for route in ROUTES] == [1, 0, 0]


async def test_buttons_are_shown_where_a_destination_has_them_and_ignored_elsewhere(world: World) -> None:
    button = ("确认 20261123-001", "http://127.0.0.1:8640/a/20261123-001/tok.en")
    sent = await world.deliverer.send("title", "body", world.name("good"), drill=False, buttons=[button])
    assert sent.ok and [world.received(route) for route in ROUTES] == [1, 0, 0]


async def test_a_failing_destination_is_a_failed_attempt_worth_retrying(world: World) -> None:
    sent = await world.deliverer.send("title", "body", world.name("bad"), drill=False)
    assert not sent.ok and sent.error and not sent.permanent
    assert [world.received(route) for route in ROUTES] == [0, 0, 0]


async def test_a_drill_reaches_only_drill_destinations(world: World) -> None:
    assert world.deliverer.destinations("wang", drill=True) == (world.name("practice"),)
    assert world.deliverer.destinations("good", drill=True) == ()
    refused = await world.deliverer.send("t", "b", world.name("good"), drill=True)
    assert not refused.ok and refused.permanent
    drilled = await world.deliverer.send("t", "b", world.name("practice"), drill=True)
    assert drilled.ok
    assert [world.received(route) for route in ROUTES] == [0, 0, 1]


async def test_an_unknown_destination_is_refused_for_good(world: World) -> None:
    sent = await world.deliverer.send("t", "b", "json://nowhere#000000", drill=False)
    assert not sent.ok and sent.permanent and "nowhere" in (sent.error or "")


def test_a_token_where_a_host_would_be_stays_out_of_the_name(tmp_path: Path) -> None:
    urls = {"wecombot://abcdefSECRETKEY123": "wang", "dingtalk://SECRETTOKEN456/": "wang"}
    (tmp_path / "apprise.yml").write_text(apprise_yaml(urls), encoding="utf-8")
    deliverer = AppriseDeliverer(load_destinations(tmp_path / "apprise.yml", "drill"), timeout=1.0)
    try:
        names = deliverer.destinations("wang", drill=False)
    finally:
        deliverer.close()
    assert [name.split("://")[0] for name in names] == ["wecombot", "dingtalk"]
    assert not any("SECRET" in name.upper() for name in names), names


def test_one_url_listed_under_two_tags_is_one_destination_with_both(tmp_path: Path) -> None:
    with endpoint() as ok:
        (tmp_path / "apprise.yml").write_text(
            f"urls:\n  - {ok.url('desk')}: {{tag: wang}}\n  - {ok.url('desk')}: {{tag: li}}\n",
            encoding="utf-8",
        )
        deliverer = AppriseDeliverer(load_destinations(tmp_path / "apprise.yml", "drill"), timeout=5.0)
        try:
            (wang,) = deliverer.destinations("wang", drill=False)
            assert deliverer.destinations("li", drill=False) == (wang,)
        finally:
            deliverer.close()
