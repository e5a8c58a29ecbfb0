from __future__ import annotations

from datetime import timedelta

import pytest

from dutydesk.playbooks.durations import Duration, Unit


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("30m", 30, Unit.MINUTES),
        ("15 minutes", 15, Unit.MINUTES),
        ("1h", 1, Unit.HOURS),
        ("3wd", 3, Unit.WORKDAYS),
        ("15 working days", 15, Unit.WORKDAYS),
        ("3个工作日", 3, Unit.WORKDAYS),
        ("30分钟", 30, Unit.MINUTES),
        ("2小时", 2, Unit.HOURS),
    ],
)
def test_reads_plan_durations(text: str, amount: int, unit: Unit) -> None:
    assert Duration.parse(text) == Duration(amount, unit)


@pytest.mark.parametrize("text", ["", "30", "m", "3 fortnights", "1.5h", "abc"])
def test_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="cannot read duration"):
        Duration.parse(text)


def test_refuses_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        Duration.parse("-5m")


def test_wall_length_and_working_days() -> None:
    assert Duration.parse("1h").wall() == timedelta(hours=1)
    with pytest.raises(ValueError, match="no fixed wall-clock length"):
        Duration.parse("2wd").wall()
