"""The roster, notification and acknowledgement commands, in-process on a manual clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from tests.conftest import CliRunner
from tests.endpoints import endpoint
from tests.test_notify import apprise_yaml

ROTA = """role,holder,tags,start,end
值班人员,王值班,wang,2026-11-23 08:00,2026-11-23 20:00
带班领导,李主任,li,,
"""


def import_rota(cli: CliRunner, home: Path, text: str = ROTA) -> None:
    (home / "rota.csv").write_text(text, encoding="utf-8")
    run = cli("roster", "import", str(home / "rota.csv"))
    assert run.code == 0, run.err
    assert "imported 2 shift(s)" in run.out


def test_roster_import_and_show(cli: CliRunner, home: Path) -> None:
    import_rota(cli, home)
    shown = cli("roster", "show", "--json").json()
    holders = {row["role"]: row for row in shown["holders"]}
    assert holders["duty_officer"]["holder"] == "王值班" and holders["duty_officer"]["tags"] == ["wang"]
    assert holders["centre_leadership"]["holder"] is None
    night = cli("roster", "show", "--at", "2026-11-23T21:00", "--json").json()
    assert {row["role"]: row["holder"] for row in night["holders"]}["duty_officer"] is None
    text = cli("--lang", "zh", "roster", "show")
    assert text.code == 0 and "王值班" in text.out and "（无人）" in text.out


def test_a_broken_roster_is_refused_and_the_old_one_kept(cli: CliRunner, home: Path) -> None:
    import_rota(cli, home)
    (home / "bad.csv").write_text("role,holder,tags,start,end\n厨师,王,wang,,\n", encoding="utf-8")
    run = cli("roster", "import", str(home / "bad.csv"))
    assert run.code == 1 and f"{home / 'bad.csv'}:2: unknown role '厨师'" in run.err
    (home / "gbk.csv").write_bytes("role,holder,tags,start,end\n值班人员,王,wang,,\n".encode("gbk"))
    assert "not UTF-8" in cli("roster", "import", str(home / "gbk.csv")).err
    assert cli("roster", "import", str(home / "missing.csv")).code == 1
    shown = cli("roster", "show", "--json").json()
    assert {row["role"]: row["holder"] for row in shown["holders"]}["duty_officer"] == "王值班"


def test_notify_test_reports_each_destination(cli: CliRunner, home: Path) -> None:
    import_rota(cli, home)
    assert "unknown role" in cli("notify", "test", "--role", "cook").err
    assert "no apprise configuration" in cli("notify", "test", "--role", "duty_officer").err
    with endpoint() as ok, endpoint(500) as failing:
        (home / "apprise.yml").write_text(
            apprise_yaml({ok.url("wang"): "wang", failing.url("li"): "li"}), encoding="utf-8"
        )
        run = cli("notify", "test", "--role", "值班人员")
        assert run.code == 0 and "delivered to wang" in run.out, run.err
        assert "测试" in ok.bodies("wang")[0]["title"]
        failed = cli("notify", "test", "--role", "leader_on_duty")
        assert failed.code == 1 and "not delivered to li" in failed.out
    assert "nobody holds" in cli("notify", "test", "--role", "centre_leadership").err
    rows = cli("notifications", "list", "--json").json()
    assert [(r["role"], r["target"], r["state"]) for r in rows] == [
        ("duty_officer", "wang", "delivered"),
        ("leader_on_duty", "li", "failed"),  # a test is tried once: never left "retrying"
    ]
    assert [r["target"] for r in cli("notifications", "list", "--failed", "--json").json()] == ["li"]
    assert "li" in cli("notifications", "list", "--failed").out
    (home / "apprise.yml").write_text("urls: [\n", encoding="utf-8")
    broken = cli("notify", "test", "--role", "duty_officer")
    assert broken.code == 1 and "apprise.yml:2: bad YAML" in broken.err


def test_notify_test_reports_each_destination_of_a_tag(cli: CliRunner, home: Path) -> None:
    import_rota(cli, home)
    with endpoint() as ok, endpoint(500) as failing:
        (home / "apprise.yml").write_text(
            apprise_yaml(
                {f"json://user:sekret@127.0.0.1:{ok.port}/wang": "wang", failing.url("wang"): "wang"}
            ),
            encoding="utf-8",
        )
        run = cli("--lang", "en", "notify", "test", "--role", "duty_officer")
        assert len(ok.bodies("wang")) == 1 and len(failing.bodies("wang")) == 1
    # on main: one line for the tag, "not delivered to wang", though one destination got it
    lines = run.out.splitlines()
    assert run.code == 1 and len(lines) == 2, run.out
    assert sum(line.startswith("delivered to wang → json://127.0.0.1#") for line in lines) == 1
    assert sum(line.startswith("not delivered to wang → json://127.0.0.1#") for line in lines) == 1
    assert "sekret" not in run.out  # a destination is named without its secrets
    rows = cli("notifications", "list", "--json").json()
    assert sorted(r["state"] for r in rows) == ["delivered", "failed"]
    assert len({r["destination"] for r in rows}) == 2


def test_incident_ack_stops_escalation(
    cli: CliRunner, home: Path, clock: ManualClock, plans: dict[str, Plan], deadlines: Deadlines
) -> None:
    run = cli("incident", "open", "--plan", "elevator-entrapment", "--title", "困人")
    incident = run.out.strip()
    refused = cli("incident", incident, "ack")
    assert refused.code == 1 and "no unacknowledged breach" in refused.err
    clock.advance(timedelta(minutes=11))

    async def fire() -> None:  # what `dutydesk serve` does when the contractor call falls due
        store = await SqliteEventStore.open(home / "dutydesk.db")
        journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
        await journal.fire()
        await store.close()

    asyncio.run(fire())
    assert cli("incident", incident, "ack", "no-such-obligation").code == 1
    acked = cli("incident", incident, "ack", "contractor-called")
    assert acked.code == 0 and "acknowledged: Call the elevator maintenance contractor" in acked.out
    timeline = cli("incidents", "show", incident, "--json").json()["timeline"]
    assert [e["kind"] for e in timeline][-2:] == ["obligation.breached", "obligation.acknowledged"]


def test_notification_settings_name_the_key(cli: CliRunner, home: Path) -> None:
    cases = {
        '[escalation]\nchain = ["duty_officer", "cook"]\ndelays = [60]\n': "escalation.chain: unknown role",
        '[escalation]\nchain = ["duty_officer", "leader_on_duty"]\ndelays = []\n': "escalation: delays: 2",
        '[notify]\nfallback_tag = "drill"\n': "notify: fallback_tag and drill_tag must differ",
        '[notify]\ndrill_tag = "a:b"\n': "notify.drill_tag: 'a:b' does not match",
        '[notify]\napprise_config = "missing.yml"\n': "notify.apprise_config: no file",
    }
    for text, expected in cases.items():
        (home / "dutydesk.toml").write_text(text, encoding="utf-8")
        run = cli("notify", "test", "--role", "duty_officer")
        assert run.code == 1 and expected in run.err, (text, run.err)
