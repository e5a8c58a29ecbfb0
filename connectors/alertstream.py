"""A Hikvision camera's HTTP alertStream read straight from the camera with httpx: a multipart
response that never ends, one EventNotificationAlert per part, into the same pipeline as MQTT."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import httpx

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.codecs.base import Codec, DecodeError, Message
from dutydesk.connectors.codecs.hikvision import AlertStreamSplitter, stream_boundary
from dutydesk.connectors.mqtt import BACKOFF_FIRST, BACKOFF_MAX, Connection, Subscription, decode
from dutydesk.connectors.waits import first_of

log = logging.getLogger(__name__)

READ_TIMEOUT = 60.0  # seconds without a byte (cameras send a heartbeat every 10 s or so)


@dataclass(slots=True)
class CameraStream:
    journal: Journal
    feed: str
    url: str
    codec: Codec
    username: str | None = None
    password: str | None = None
    state: Connection = field(default_factory=Connection)

    async def run(self, stop: asyncio.Event) -> None:
        """Read the stream until `stop`, reconnecting with backoff whenever it breaks."""
        backoff = BACKOFF_FIRST
        auth = httpx.DigestAuth(self.username, self.password or "") if self.username else None
        timeout = httpx.Timeout(10.0, read=READ_TIMEOUT)
        async with httpx.AsyncClient(auth=auth, timeout=timeout) as client:
            while not stop.is_set():
                try:
                    await first_of(self._read(client), stop.wait())
                    if stop.is_set():
                        break
                except (httpx.HTTPError, DecodeError) as exc:
                    self.state.connected, self.state.last_error = False, str(exc) or type(exc).__name__
                    self.state.reconnects += 1
                    log.warning("camera %s: %s; retrying in %.1fs", self.url, exc, backoff)
                await first_of(asyncio.sleep(backoff), stop.wait())
                backoff = min(backoff * 2, BACKOFF_MAX)
        self.state.connected = False

    async def _read(self, client: httpx.AsyncClient) -> None:
        subscription = Subscription(self.feed, self.url, self.codec)
        async with client.stream("GET", self.url) as response:
            response.raise_for_status()
            splitter = AlertStreamSplitter(stream_boundary(response.headers.get("content-type", "")))
            self.state.connected = True
            async for chunk in response.aiter_bytes():
                parts = splitter.feed(chunk)
                if not parts:
                    continue
                now = self.journal.clock.now()
                batch = [decode(subscription, Message(self.url, part, now)) for part in parts]
                await self.journal.ingest(batch)
                self.state.received += len(parts)
        raise httpx.RemoteProtocolError("the camera closed its alert stream")
