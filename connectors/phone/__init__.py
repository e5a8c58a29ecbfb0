"""Acknowledging from a phone on an intranet without internet: signed links to a small page that
`dutydesk serve` serves (`server`, needs the optional `phone` extra), SMS reply codes (`sms`), and
the addressing that puts a link for its recipient into every deadline message (`acts`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.clock import WallClock
from dutydesk.connectors.phone.acts import Addresser
from dutydesk.connectors.phone.links import Signer, load_key
from dutydesk.connectors.settings import Settings, SettingsError

if TYPE_CHECKING:
    from dutydesk.connectors.phone.server import PhoneEndpoint

__all__ = ["Phone", "phone_from_settings"]


@dataclass(frozen=True, slots=True)
class Phone:
    """What `serve` runs for phones: the addresser the notifier uses, and the page's endpoint
    (None when `[ack] enabled` is off: messages then carry SMS reply codes but no link)."""

    addresser: Addresser
    endpoint: PhoneEndpoint | None


def signer_from_settings(settings: Settings) -> Signer:
    ack = settings.file.ack
    return Signer(load_key(settings.resolve(ack.key_file)), expiry=ack.expiry)


def phone_from_settings(journal: Journal, settings: Settings) -> Phone:
    """Binds the page's port when enabled, so that links name the address really listened on."""
    ack = settings.file.ack
    if not ack.enabled:
        return Phone(Addresser(journal, None, None), None)
    try:
        from dutydesk.connectors.phone.server import PhoneEndpoint, RateLimit, address, bind  # noqa: PLC0415
    except ImportError:
        raise SettingsError(
            f"{settings.source}: ack.enabled: the page needs aiohttp: pip install 'dutydesk[phone]'"
        ) from None
    try:
        sock = bind(ack.listen)
    except OSError as exc:
        raise SettingsError(f"{settings.source}: ack.listen: cannot listen on {ack.listen} ({exc})") from None
    signer = signer_from_settings(settings)
    endpoint = PhoneEndpoint(
        journal,
        signer,
        sock,
        lang=settings.file.notify.lang,
        zone=settings.zone,
        limit=RateLimit(WallClock(), rate=ack.rate, burst=ack.burst),
    )
    return Phone(Addresser(journal, signer, ack.base_url or address(sock)), endpoint)
