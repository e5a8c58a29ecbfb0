"""Plans as data: the bundled library loads, and every kind of mistake is reported as PATH:LINE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dutydesk.playbooks.durations import Duration
from dutydesk.playbooks.plans import PlanLoadError, PlanSource, load_plans, parse_plan
from dutydesk.playbooks.rules import ByHand, ByMilestone, ByUpdate, Once, Recurring, waived
from dutydesk.playbooks.vocab import Milestone, Severity

GOOD = """\
id: test-plan
title: {zh: 测试, en: Test}
severity: large
obligations:
  - id: report
    title: Report
    role: duty_officer
    due: 30m
    met_by: reported
  - id: onsite
    title: On site
    role: emergency_team
    due: 15m
    urgent_due: 5m
    met_by: on_site
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(PlanLoadError) as caught:
        parse_plan(text, "plan.yaml")
    return [str(e) for e in caught.value.errors]


def test_every_bundled_plan_loads(plans: dict[str, object]) -> None:
    assert set(plans) == {
        "elevator-entrapment",
        "power-outage",
        "cctv-alarm",
        "fire-conflict",
        "network-outage",
        "public-opinion",
        "urgent-repair",
        "normal-repair",
        "medical-emergency",
    }


def test_bundled_plans_express_the_source_rules(plans: dict[str, object]) -> None:
    from dutydesk.playbooks.plans import Plan

    elevator = plans["elevator-entrapment"]
    assert isinstance(elevator, Plan)
    assert str(elevator.obligation("report-leader").due) == "30m"
    onsite = elevator.obligation("team-on-site")
    assert (str(onsite.due), str(onsite.urgent_due)) == ("15m", "5m")
    hourly = elevator.obligation("progress-update")
    assert (str(hourly.every), hourly.until, hourly.met_by) == ("60m", "stabilised", "update")
    assert str(elevator.obligation("investigation").due) == "3wd"
    assert elevator.obligation("investigation").after == "stabilised"
    assert str(elevator.obligation("rectification").due) == "15wd"
    assert "party_government" in elevator.targets(hourly, "breach", Severity.MAJOR)
    assert "party_government" not in elevator.targets(hourly, "breach", Severity.LARGE)
    fire = plans["fire-conflict"]
    assert isinstance(fire, Plan)
    assert str(fire.obligation("security-start").due) == "1m"
    urgent_repair = plans["urgent-repair"]
    assert isinstance(urgent_repair, Plan)
    assert str(urgent_repair.obligation("dispatch").due) == "1h"
    normal = plans["normal-repair"]
    assert isinstance(normal, Plan)
    assert str(normal.obligation("dispatch").due) == "2wd"


def test_a_good_plan_and_plain_strings_for_both_languages() -> None:
    plan = parse_plan(GOOD, "plan.yaml")
    assert plan.severity is Severity.LARGE
    assert plan.obligation("report").title.get("zh") == "Report"
    assert plan.fingerprint() == parse_plan(GOOD, "other.yaml").fingerprint()


def test_bad_yaml_names_the_line() -> None:
    assert errors_of("id: x\ntitle: [unclosed\nobligations: []\n")[0].startswith("plan.yaml:3: bad YAML")


def test_unknown_anchor() -> None:
    (error,) = errors_of(GOOD.replace("    due: 15m\n", "    after: arrived\n    due: 15m\n"))
    assert error.startswith("plan.yaml:13: unknown anchor 'arrived'")


def test_unknown_role() -> None:
    (error,) = errors_of(GOOD.replace("role: emergency_team", "role: janitor"))
    assert error.startswith("plan.yaml:12: unknown role 'janitor'")


def test_negative_and_missing_durations() -> None:
    (negative,) = errors_of(GOOD.replace("due: 30m", "due: -30m"))
    assert negative == "plan.yaml:8: obligations[0].due: duration '-30m' is negative"
    (missing,) = errors_of(GOOD.replace("    due: 30m\n", ""))
    assert missing == "plan.yaml:5: give either 'due' (once) or 'every' (recurring)"


def test_duplicate_obligation_ids_and_keys() -> None:
    (dup,) = errors_of(GOOD.replace("id: onsite", "id: report"))
    assert dup == "plan.yaml:10: duplicate obligation id 'report'"
    (key,) = errors_of(GOOD.replace("    due: 30m\n", "    due: 30m\n    due: 20m\n"))
    assert key == "plan.yaml:9: duplicate key 'due'"


def test_duplicate_plan_ids_across_files() -> None:
    plans, errors = load_plans([PlanSource("a.yaml", GOOD), PlanSource("b.yaml", GOOD)])
    assert list(plans) == ["test-plan"]
    assert [str(e) for e in errors] == ["b.yaml:1: duplicate plan id 'test-plan' (also in a.yaml)"]


def test_cycles_between_anchors() -> None:
    text = GOOD.replace("    due: 30m\n", "    after: onsite\n    due: 30m\n").replace(
        "    due: 15m\n", "    after: report\n    due: 15m\n"
    )
    errors = errors_of(text)
    assert len(errors) == 1
    assert "cycle between anchors: report -> onsite -> report" in errors[0]


def test_unknown_keys_and_several_errors_at_once() -> None:
    text = GOOD.replace("    met_by: reported\n", "    met_by: reported\n    deu: 5m\n").replace(
        "severity: large", "severity: catastrophic"
    )
    errors = errors_of(text)
    assert any(e.startswith("plan.yaml:3: severity: unknown severity 'catastrophic'") for e in errors)
    assert "plan.yaml:10: obligations[0].deu: unknown key" in errors


def test_urgent_limit_must_not_be_longer() -> None:
    (error,) = errors_of(GOOD.replace("urgent_due: 5m", "urgent_due: 1h"))
    assert error.startswith("plan.yaml:14: the urgent limit 1h")


def test_a_warning_lead_longer_than_the_limit() -> None:
    (error,) = errors_of(
        GOOD.replace("    met_by: on_site\n", "    met_by: on_site\n    warning: {before: 10m}\n")
    )
    assert "warning lead time 10m" in error and "limit 5m" in error


def test_not_a_mapping() -> None:
    assert errors_of("- just\n- a list\n") == ["plan.yaml:1: a plan file holds one mapping (id, title, ...)"]


def test_each_obligation_reads_into_one_rule_of_each_union() -> None:
    plan = parse_plan(
        GOOD
        + """\
  - id: hourly
    title: Hourly
    role: duty_officer
    every: 60m
    until: on_site
    met_by: update
  - id: ticked
    title: Ticked
    role: duty_officer
    due: 1h
""",
        "plan.yaml",
    )
    rules = {ob.id: (ob.timing, ob.meets) for ob in plan.obligations}
    assert rules["onsite"] == (Once(Duration.parse("15m"), Duration.parse("5m")), ByMilestone("on_site"))
    assert rules["hourly"] == (Recurring(Duration.parse("60m"), Milestone.ON_SITE), ByUpdate())
    assert rules["ticked"][1] == ByHand()
    assert plan.obligation("onsite").limit(urgent=True) == Duration.parse("5m")
    assert plan.obligation("hourly").limit(urgent=True) == Duration.parse("60m")


def test_a_recurring_duty_stops_at_its_milestone_or_the_close() -> None:
    hourly = Recurring(Duration.parse("60m"))
    t = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    assert hourly.stop({}) is None
    assert hourly.stop({"stabilised": t, "closed": t + timedelta(hours=1)}) == t
    assert hourly.stop({"closed": t}) == t
    assert Once(Duration.parse("15m")).stop({"stabilised": t}) is None
    assert waived(t + timedelta(minutes=1), t) and not waived(t, t) and not waived(t, None)


def test_one_run_reports_every_problem_of_a_file() -> None:
    """A duplicate key, schema errors and the checks of what validated, all at once (issue 19.6)."""
    text = """\
id: broken
title: x
title: y
severity: enormous
obligations:
  - {id: a, title: a, role: nobody, due: 5m}
  - {id: b, title: b, role: duty_officer, due: banana}
  - {id: c, title: c, role: duty_officer, after: d, due: 10m, urgent_due: 20m}
  - {id: d, title: d, role: duty_officer, after: c, due: 5m}
"""
    with pytest.raises(PlanLoadError) as caught:
        parse_plan(text, "broken.yaml")
    found = {(e.line, e.message.split(":")[0].split(";")[0]) for e in caught.value.errors}
    assert (3, "duplicate key 'title'") in found
    assert (4, "severity") in found
    assert (7, "obligations[1].due") in found
    assert (6, "unknown role 'nobody'") in found
    assert (8, "the urgent limit 20m must be in the same unit as and no longer than 10m") in found
    assert (8, "cycle between anchors") in found or (9, "cycle between anchors") in found
