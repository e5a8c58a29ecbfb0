"""The pure parts of acknowledging from a phone: tokens, the key file, phone numbers, the reply
grammar and the addressed copy of a message."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest

from dutydesk.connectors.deliverers import load_destinations
from dutydesk.connectors.messages import Addressed, Messages
from dutydesk.connectors.phone import page
from dutydesk.connectors.phone.acts import holders_of, phone_number, sms_routes
from dutydesk.connectors.phone.links import LinkRefused, Signer, load_key
from dutydesk.connectors.phone.sms import CODE, from_gammu
from dutydesk.connectors.settings import SettingsError
from dutydesk.playbooks.roster import Shift
from tests.conftest import MONDAY, SHANGHAI

KEY = bytes(range(32))


def test_a_token_carries_its_grant_until_it_expires() -> None:
    signer = Signer(KEY, expiry=timedelta(hours=24))
    token = signer.issue(notification="n7", holder="李主任", incident="20261123-001", now=MONDAY)
    grant = signer.check(token, MONDAY + timedelta(hours=23))
    assert (grant.notification, grant.holder, grant.incident) == ("n7", "李主任", "20261123-001")
    assert grant.request_id.startswith("link:") and grant.request_id == signer.check(token, MONDAY).request_id
    with pytest.raises(LinkRefused) as expired:
        signer.check(token, MONDAY + timedelta(hours=24))
    assert expired.value.reason == "expired"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda t: t.replace(".", ""), "malformed"),
        (lambda t: "x" + t, "altered"),
        (lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), "altered"),
        (
            lambda t: Signer(b"\0" * 32, expiry=timedelta(hours=1)).issue(
                notification="n7", holder="李主任", incident="20261123-001", now=MONDAY
            ),
            "altered",
        ),
        (lambda t: t + "%%%", "malformed"),
    ],
)
def test_a_changed_or_foreign_token_is_refused(change: object, reason: str) -> None:
    signer = Signer(KEY, expiry=timedelta(hours=24))
    token = signer.issue(notification="n7", holder="李主任", incident="20261123-001", now=MONDAY)
    with pytest.raises(LinkRefused) as refused:
        signer.check(change(token), MONDAY)  # type: ignore[operator]
    assert refused.value.reason == reason


def test_the_key_is_made_once_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ack.key"
    key = load_key(path)
    assert len(key) == 32 and load_key(path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("abcd\n", encoding="ascii")
    with pytest.raises(SettingsError, match="shorter than 32 bytes"):
        load_key(path)
    path.write_text("not hex at all\n", encoding="ascii")
    with pytest.raises(SettingsError, match="not hexadecimal"):
        load_key(path)


def test_phone_numbers_compare_as_the_gateway_and_the_roster_write_them() -> None:
    assert phone_number("+86 138 0000 0001") == phone_number("13800000001") == "13800000001"
    assert phone_number("0086-138-0000-0001") == "13800000001"
    assert phone_number("wang") is None and phone_number("") is None
    shifts = [
        Shift("duty_officer", "王值班", ("wang", "13800000001")),
        Shift("leader_on_duty", "李主任", ("li",)),
    ]
    assert holders_of("+8613800000001", shifts) == {"王值班"}
    assert holders_of("+8613900000002", shifts) == set()


@pytest.mark.parametrize(("text", "item"), [("1a", "1"), (" 12A ", "12"), ("aa", "a"), ("AA。", "a")])
def test_reply_codes(text: str, item: str) -> None:
    found = CODE.match(text)
    assert found is not None and found.group(1).lower() == item


@pytest.mark.parametrize("text", ["", "a", "1", "0a", "1b", "ok", "1a 2a", "确认"])
def test_anything_else_is_no_reply_code(text: str) -> None:
    assert CODE.match(text) is None


def test_gammu_hands_over_each_message_in_the_environment() -> None:
    env = {"SMS_MESSAGES": "2", "SMS_1_NUMBER": "+8613800000001", "SMS_1_TEXT": "1a", "SMS_2_NUMBER": "10086"}
    assert [(s.number, s.text) for s in from_gammu(env)] == [("+8613800000001", "1a"), ("10086", "")]
    assert from_gammu({}) == []


def test_the_copy_for_one_person_carries_their_link_and_the_reply_codes() -> None:
    messages = Messages(lang="zh", zone=SHANGHAI)
    item = {
        "incident": "20261123-001",
        "obligation": "security-start",
        "stage": "breach",
        "due_at": MONDAY.isoformat(),
        "title": "食堂冒烟",
    }
    to = Addressed("李主任", {"20261123-001": "https://duty.example/a/20261123-001/tok.en"})
    kw = {
        "role": "leader_on_duty",
        "items": [item],
        "recipients": ["李主任"],
        "drill": False,
        "unstaffed": False,
    }
    _, body = messages.compose(**kw, at=MONDAY + timedelta(minutes=3), to=to)  # type: ignore[arg-type]
    assert "确认：https://duty.example/a/20261123-001/tok.en" in body and "短信回复 1a" in body
    _, shared = messages.compose(**kw, at=MONDAY + timedelta(minutes=3))  # type: ignore[arg-type]
    assert "https://" not in shared and "短信回复" not in shared
    assert messages.buttons(to) == (("确认 20261123-001", "https://duty.example/a/20261123-001/tok.en"),)


def test_a_number_an_sms_destination_sends_to_is_its_holders(tmp_path: Path) -> None:
    (tmp_path / "apprise.yml").write_text(
        "urls:\n"
        "  - smseagle://abcdef1234567890@10.0.0.5/+8613800000001:\n      tag: wang\n"
        "  - json://127.0.0.1:9/hook/12345678:\n      tag: li\n",  # a number-like id is no phone
        encoding="utf-8",
    )
    routes = sms_routes(load_destinations(tmp_path / "apprise.yml", "drill"))
    assert routes == {"13800000001": frozenset({"wang"})}
    shifts = [Shift("duty_officer", "王值班", ("wang",)), Shift("leader_on_duty", "李主任", ("li",))]
    assert holders_of("+86 138 0000 0001", shifts, routes) == {"王值班"}
    assert holders_of("12345678", shifts, routes) == set()


def test_the_page_escapes_what_it_shows_and_a_refusal_shows_no_incident() -> None:
    shown = page.incident_page(
        "zh",
        incident="20261123-001",
        title="<script>alert(1)</script>",
        place="食堂 & 后厨",
        holder="李主任",
        due=[page.Due("安保班组1分钟内启动应急预案", "11-23 14:31", "3分钟", None)],
    )
    assert "<script>" not in shown and "&lt;script&gt;" in shown and "食堂 &amp; 后厨" in shown
    assert "已超时 3分钟" in shown and shown.count("<button") == 2 and "src=" not in shown
    refused = page.refused_page("en", "expired")
    assert "expired" in refused and "20261123" not in refused
