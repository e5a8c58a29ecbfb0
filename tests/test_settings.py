"""Settings: every one documented where it is declared, secrets kept out of sight, errors that name
the file and the key; the factories build the domain's objects from them."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import textwrap
import typing
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest

from dutydesk.connectors.application.factories import apprise_path, deadlines, feeds, load_calendar
from dutydesk.connectors.settings import CalendarOverrides, SettingsError, SettingsFile, load_settings


def sections(hint: Any, seen: list[type]) -> list[type]:
    """`hint` and every dataclass its fields hold, once each."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type) and hint not in seen:
        seen.append(hint)
        for field_hint in typing.get_type_hints(hint).values():
            sections(field_hint, seen)
    for arg in typing.get_args(hint):
        sections(arg, seen)
    return seen


def documentation(cls: type) -> dict[str, str]:
    """Each field's docstring: the string literal under it."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert isinstance(body, ast.ClassDef)
    return {
        statement.target.id: following.value.value
        for statement, following in itertools.pairwise(body.body)
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and isinstance(following, ast.Expr)
        and isinstance(following.value, ast.Constant)
        and isinstance(following.value.value, str)
    }


@pytest.mark.parametrize("root", [SettingsFile, CalendarOverrides])
def test_every_setting_is_documented_where_it_is_declared(root: type) -> None:
    found = sections(root, [])
    assert len(found) > 1
    for section in found:
        if section is not SettingsFile:  # the file's sections are documented as classes
            assert section.__doc__, section.__name__
            docs = documentation(section)
            for field in dataclasses.fields(section):
                assert docs.get(field.name), f"{section.__name__}.{field.name} has no docstring"


def write(folder: Path, text: str) -> Path:
    path = folder / "dutydesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_passwords_are_secret(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            '[mqtt]\npassword = "s3cret-mqtt"\n\n'
            '[[feeds]]\nname = "cam"\nurl = "http://10.0.0.9/alertStream"\ncodec = "hikvision"\n'
            'username = "admin"\npassword = "s3cret-cam"\n',
        )
    )
    shown = repr(settings) + str(dataclasses.asdict(settings.file))
    assert "s3cret" not in shown
    assert settings.file.mqtt.password is not None
    assert settings.file.mqtt.password.get_secret_value() == "s3cret-mqtt"
    assert settings.file.feeds[0].password is not None
    assert settings.file.feeds[0].password.get_secret_value() == "s3cret-cam"


def test_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "[mqtt]\nport = 0\nhots = 'x'\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert f"{path}: mqtt.port: " in str(caught.value)
    assert f"{path}: mqtt.hots: unknown key" in str(caught.value)


def test_the_factories_build_from_the_settings(tmp_path: Path) -> None:
    (tmp_path / "days.toml").write_text(
        'confirmed_years = [2026]\n[[days]]\ndate = 2026-11-23\ntype = "holiday"\nname = "演练"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        write(
            tmp_path,
            '[duty]\nclose_of_business = "17:30:00"\n[calendar]\noverrides = "days.toml"\n'
            '[[feeds]]\nname = "lifts"\ntopic = "lifts/#"\ncodec = "generic-json"\nsite = "A"\n'
            '[feeds.devices.L1]\nfloor = "B1"\n',
        )
    )
    day = load_calendar(settings).day(date(2026, 11, 23))  # a Monday, made a holiday
    assert (day.kind.is_workday, day.name) == (False, "演练")
    assert deadlines(settings).close_of_business == time(17, 30)
    place = feeds(settings)["lifts"].places["L1"]
    assert (place.site, place.floor) == ("A", "B1")  # the feed's place, the device's floor
    assert apprise_path(settings) is None  # left at its default and absent: notifications not sent


def test_a_file_the_settings_name_must_exist(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[calendar]\noverrides = "nowhere.toml"\n'))
    with pytest.raises(SettingsError, match=r"calendar\.overrides: no file"):
        load_calendar(settings)
    (tmp_path / "bad.toml").write_text('[[days]]\ndate = 2026-11-23\ntype = "maybe"\n', encoding="utf-8")
    settings = load_settings(write(tmp_path, '[calendar]\noverrides = "bad.toml"\n'))
    with pytest.raises(SettingsError, match=r"bad\.toml: days\[0\]\.type: "):
        load_calendar(settings)
