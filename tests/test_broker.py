"""Which mosquitto the drills and the demo run: the one named, the one on PATH, Debian's, or none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dutydesk.connectors.broker import mosquitto_binary


def _executable(folder: Path) -> Path:
    binary = folder / "mosquitto"
    binary.write_text("#!/bin/sh\n", encoding="utf-8")
    binary.chmod(0o755)
    return binary


def test_mosquitto_on_path_comes_first(tmp_path: Path) -> None:
    binary = _executable(tmp_path)
    assert mosquitto_binary({"PATH": str(tmp_path)}) == str(binary)


def test_an_explicit_choice_wins_and_none_means_the_embedded_broker(tmp_path: Path) -> None:
    binary = _executable(tmp_path)
    assert mosquitto_binary({"PATH": "", "DUTYDESK_MOSQUITTO": str(binary)}) == str(binary)
    assert mosquitto_binary({"PATH": str(tmp_path), "DUTYDESK_MOSQUITTO": "none"}) is None


def test_a_wrong_explicit_choice_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="DUTYDESK_MOSQUITTO"):
        mosquitto_binary({"PATH": "", "DUTYDESK_MOSQUITTO": str(tmp_path / "nothing")})


def test_off_path_only_the_debian_places_are_looked_at() -> None:
    found = mosquitto_binary({"PATH": ""})
    debian = next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )
    assert found == debian
