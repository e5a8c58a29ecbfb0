"""Signed acknowledgement links: a token names the holder, the incident and the notification it was
sent in, and when it expires, signed with HMAC-SHA256 under a key kept in a file of its own.

The key never enters the database, so a copy of the event log (a backup, an audit export) cannot
forge a link. A token carries no secret itself: whoever reads it learns who it was sent to, which
the message it came in said anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from dutydesk.connectors.settings import SettingsError

KEY_BYTES = 32
MAC_BYTES = 16  # 128 bits: forging one takes 2**128 tries, and the page limits how fast one tries

TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,2000}\.[A-Za-z0-9_-]{1,100}$")

Refusal = Literal["malformed", "altered", "expired"]


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid link allows: `holder` may act on `incident` once, for `notification`."""

    notification: str
    holder: str
    incident: str
    expires: datetime

    @property
    def request_id(self) -> str:
        """The request id of the first command the link sends: the log refuses it twice (act once)."""
        digest = hashlib.sha256(f"{self.notification}\0{self.holder}\0{self.incident}".encode()).hexdigest()
        return f"link:{digest[:32]}"


class LinkRefused(Exception):  # noqa: N818 - reads as "the link was refused"
    """The token is not one this desk issued, or no longer valid; `reason` says which."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason: Refusal = reason


def load_key(path: Path) -> bytes:
    """The signing key in `path`, made (owner-readable only) when there is none yet."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = secrets.token_hex(KEY_BYTES)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile: use theirs
            return load_key(path)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text + "\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read the link key ({exc})") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise SettingsError(f"{path}: the link key is not hexadecimal") from None
    if len(key) < KEY_BYTES:
        raise SettingsError(f"{path}: the link key is shorter than {KEY_BYTES} bytes")
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Issues and checks tokens under one key."""

    def __init__(self, key: bytes, *, expiry: timedelta) -> None:
        self._key = key
        self.expiry = expiry

    def _mac(self, body: str) -> bytes:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest()[:MAC_BYTES]

    def issue(self, *, notification: str, holder: str, incident: str, now: datetime) -> str:
        expires = int((now + self.expiry).timestamp())
        payload = json.dumps([notification, holder, incident, expires], ensure_ascii=False)
        body = _b64(payload.encode("utf-8"))
        return f"{body}.{_b64(self._mac(body))}"

    def check(self, token: str, now: datetime) -> Grant:
        """The grant a token carries.

        Raises:
            LinkRefused: malformed (not a token at all), altered (not signed by this key, or
                changed since), expired.
        """
        if not TOKEN.match(token):  # base64 decoding skips stray characters: refuse them first
            raise LinkRefused("malformed")
        body, _, mac = token.partition(".")
        try:
            given = _unb64(mac)
        except (binascii.Error, ValueError):
            raise LinkRefused("malformed") from None
        if not hmac.compare_digest(given, self._mac(body)):
            raise LinkRefused("altered")
        try:
            notification, holder, incident, expires = json.loads(_unb64(body))
            when = datetime.fromtimestamp(int(expires), UTC)
        except (ValueError, TypeError):  # signed by us, so only a bug gets here
            raise LinkRefused("malformed") from None
        if now >= when:
            raise LinkRefused("expired")
        return Grant(str(notification), str(holder), str(incident), when)
