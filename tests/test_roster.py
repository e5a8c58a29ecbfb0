"""The duty roster: CSV parsing with line-numbered errors, who is on at an instant, imports laid
over earlier ones."""

from __future__ import annotations

from datetime import datetime

import pytest

from dutydesk.playbooks.roster import Roster, RosterError, Shift, parse_roster_csv, role_id
from dutydesk.playbooks.vocab import ROLES
from tests.conftest import SHANGHAI

ROTA = """\ufeffrole,holder,tags,start,end
值班人员,王值班,wang,2026-11-23 08:30,2026-11-23 20:30
duty_officer,赵值班,"zhao, zhao-sms",2026-11-23 20:30,2026-11-24 08:30
leader on duty,李主任,li,2026-11-23 08:30,2026-11-24 08:30
party_government,区委办公室,district-office,,

centre_leadership,张主任,zhang;zhang-mail,,
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def test_parse_reads_ids_and_names_bom_and_tag_lists() -> None:
    shifts = parse_roster_csv(ROTA, "rota.csv", zone=SHANGHAI)
    assert [s.role for s in shifts] == [
        "duty_officer",
        "duty_officer",
        "leader_on_duty",
        "party_government",
        "centre_leadership",
    ]
    assert shifts[1].tags == ("zhao", "zhao-sms")
    assert shifts[4].tags == ("zhang", "zhang-mail")
    assert shifts[0].start == at("2026-11-23T08:30") and shifts[3].standing


def test_who_is_on_follows_the_shifts() -> None:
    roster = Roster(tuple(parse_roster_csv(ROTA, "rota.csv", zone=SHANGHAI)))
    assert [s.holder for s in roster.holders("duty_officer", at("2026-11-23T20:29"))] == ["王值班"]
    assert [s.holder for s in roster.holders("duty_officer", at("2026-11-23T20:30"))] == ["赵值班"]
    assert roster.holders("duty_officer", at("2026-11-24T09:00")) == []
    assert [s.holder for s in roster.holders("party_government", at("2030-01-01T00:00"))] == ["区委办公室"]


def test_an_import_replaces_the_period_it_covers_and_keeps_the_rest() -> None:
    roster = Roster(tuple(parse_roster_csv(ROTA, "rota.csv", zone=SHANGHAI)))
    later = parse_roster_csv(
        "role,holder,tags,start,end\n"
        "duty_officer,钱值班,qian,2026-11-23 20:30,2026-11-24 08:30\n"
        "party_government,市委办公室,city-office,,\n",
        "week2.csv",
        zone=SHANGHAI,
    )
    merged = roster.merged(later)
    night = at("2026-11-23T23:00")
    assert [s.holder for s in merged.holders("duty_officer", night)] == ["钱值班"]  # replaced
    assert [s.holder for s in merged.holders("duty_officer", at("2026-11-23T10:00"))] == ["王值班"]  # kept
    assert [s.holder for s in merged.holders("party_government", night)] == ["市委办公室"]
    assert [s.holder for s in merged.holders("centre_leadership", night)] == ["张主任"]  # untouched
    assert Shift.from_dict(merged.shifts[0].to_dict()) == merged.shifts[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "rota.csv:1: the file is empty"),
        ("role,holder\n", "rota.csv:1: missing column(s) tags, start, end"),
        ("role,holder,tags,start,end\n", "rota.csv:1: no shifts"),
        ("role,holder,tags,start,end\ncook,王,wang,,\n", "rota.csv:2: unknown role 'cook'"),
        ("role,holder,tags,start,end\nduty_officer,王,,,\n", "rota.csv:2: no tags"),
        ("role,holder,tags,start,end\nduty_officer,,wang,,\n", "rota.csv:2: the holder is empty"),
        ("role,holder,tags,start,end\nduty_officer,王,a:2,,\n", "rota.csv:2: tag 'a:2' may not contain ':'"),
        ("role,holder,tags,start,end\nduty_officer,王,wang,2026-11-23 08:30,\n", "rota.csv:2: give both"),
        ("role,holder,tags,start,end\nduty_officer,王,wang,tomorrow,later\n", "rota.csv:2: cannot read"),
        (
            "role,holder,tags,start,end\nduty_officer,王,wang,2026-11-23 08:30,2026-11-23 08:00\n",
            "rota.csv:2: the shift ends before it starts",
        ),
    ],
)
def test_a_broken_roster_is_refused_line_by_line(text: str, expected: str) -> None:
    with pytest.raises(RosterError) as caught:
        parse_roster_csv(text, "rota.csv", zone=SHANGHAI)
    assert any(error.startswith(expected) for error in caught.value.errors), caught.value.errors


def test_every_bad_line_is_reported_at_once() -> None:
    text = "role,holder,tags,start,end\ncook,王,wang,,\nduty_officer,王,wang,,\nduty_officer,李,,,\n"
    with pytest.raises(RosterError) as caught:
        parse_roster_csv(text, "rota.csv", zone=SHANGHAI)
    assert [e.split(":")[1] for e in caught.value.errors] == ["2", "4"]


def test_role_names_are_read_as_people_type_them() -> None:
    roles = frozenset(ROLES)
    for typed in (
        "Duty officer",
        "DUTY OFFICER",
        " duty  officer ",
        "Duty_Officer",
        "值班人员",
        "duty_officer",
    ):
        assert role_id(typed, roles) == "duty_officer", typed
    assert role_id("Leader on Duty", roles) == "leader_on_duty"
    assert role_id("duty", roles) is None
