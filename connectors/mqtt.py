"""Alarm ingest over MQTT: subscribe, decode, commit to the log, and only then acknowledge.

QoS 1 on a persistent session (fixed client id, clean_session off), so messages published while
dutydesk is down are delivered when it comes back, and a message whose events were not committed
when the process died is delivered again. aiomqtt has no public manual-acknowledgement API yet
(aiomqtt#345), so the underlying paho client's `manual_ack_set` is used, and a committed batch's
PUBACKs are queued on it as one write (`acknowledge`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import json
import logging
import os
import ssl
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import aiomqtt
from paho.mqtt.client import PUBACK

from dutydesk.connectors.application.journal import Incoming, Journal
from dutydesk.connectors.application.liveness import status_of, this_process
from dutydesk.connectors.application.storage import Health, persistently
from dutydesk.connectors.codecs.base import Codec, DecodeError, Message
from dutydesk.connectors.waits import first_of
from dutydesk.playbooks.alarms import RAW_LIMIT, Arrival, Decoded

log = logging.getLogger(__name__)

BATCH_MAX = 500  # messages committed together; mosquitto's in-flight window is usually smaller
TOPICS_KEPT = 10_000  # topics whose feed is remembered (a feed may use a topic per device)
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0  # seconds between reconnection attempts
_PUBACK = struct.Struct("!BBH")  # MQTT 3.1.1 and 5: type, remaining length 2, message id


@dataclass(frozen=True, slots=True, kw_only=True)
class Broker:
    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    keepalive: int = 30
    share_group: str | None = None  # several nodes share the subscriptions: each message to one
    status_topic: str | None = None  # the engine's retained state, with a last will

    def tls_context(self) -> ssl.SSLContext | None:
        if self.tls_ca is None:
            return None
        context = ssl.create_default_context(cafile=str(self.tls_ca))
        if self.tls_cert is not None:
            context.load_cert_chain(str(self.tls_cert), str(self.tls_key) if self.tls_key else None)
        return context


@dataclass(frozen=True, slots=True)
class Subscription:
    """One feed: its topic filter and the codec that reads it."""

    feed: str
    topic: str
    codec: Codec


class _Arrivals:
    """Arrival ids: unique per message received, across restarts too (the events a message causes
    are keyed by it). One random prefix per process and a count are as unique as a uuid4 per
    message, at a fraction of its cost; a forked child draws a prefix of its own."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self._prefix, self._count = uuid.uuid4().hex, itertools.count()

    def next(self) -> str:
        return f"{self._prefix}-{next(self._count)}"


_ARRIVALS = _Arrivals()


def decode(subscription: Subscription, message: Message) -> Incoming:
    """Read a message; whatever goes wrong becomes a dead letter, never an exception."""
    raw = message.payload[:RAW_LIMIT].decode("utf-8", errors="replace")
    arrival = Arrival(_ARRIVALS.next(), message.topic, raw, message.retained, message.received_at)
    try:
        decoded: Decoded = subscription.codec.decode(message)
    except DecodeError as exc:
        return Incoming(subscription.feed, arrival, message.payload, error=exc.reason)
    except Exception as exc:  # a codec bug must not stop ingest; keep the message to look at
        log.exception("codec %s failed on %s", subscription.feed, message.topic)
        return Incoming(subscription.feed, arrival, message.payload, error=f"codec failure: {exc!r}")
    return Incoming(subscription.feed, arrival, message.payload, decoded=decoded)


def acknowledge(client: aiomqtt.Client, batch: Sequence[aiomqtt.Message]) -> None:
    """Acknowledge received messages (only once what they said is committed). paho's `ack` queues
    a packet and makes a write for each; a batch's PUBACKs go as one queued write instead (the
    same bytes on the wire, in the same order)."""
    paho = client._client  # noqa: SLF001 - aiomqtt has no public manual ack yet
    pubacks = b"".join(_PUBACK.pack(PUBACK, 2, m.mid) for m in batch if m.qos == 1)
    if pubacks:
        paho._packet_queue(PUBACK, pubacks, 0, 1)  # noqa: SLF001 - what `ack` does for one message
    for message in batch:
        if message.qos == 2:  # not subscribed for, but a broker's answer is not ours to assume
            paho.ack(message.mid, message.qos)


@dataclass(slots=True)
class Connection:
    """What the console shows about the broker link."""

    connected: bool = False
    last_error: str | None = None
    reconnects: int = 0
    received: int = 0


@dataclass(slots=True)
class MqttIngest:
    journal: Journal
    broker: Broker
    subscriptions: Sequence[Subscription]
    batch_max: int = BATCH_MAX
    drill: bool = False  # everything this ingest writes belongs to a drill
    state: Connection = field(default_factory=Connection)
    _feeds: dict[str, Subscription | None] = field(default_factory=dict, init=False, repr=False)

    def _client(self) -> aiomqtt.Client:
        client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier=self.broker.client_id,
            clean_session=False,
            username=self.broker.username,
            password=self.broker.password,
            tls_context=self.broker.tls_context(),
            keepalive=self.broker.keepalive,
            will=self._will(),
        )
        client._client.manual_ack_set(True)  # noqa: SLF001 - aiomqtt has no public manual ack yet
        return client

    async def run(self, stop: asyncio.Event) -> None:
        """Ingest until `stop`, reconnecting with backoff after any loss of the broker."""
        client = self._client()
        backoff = BACKOFF_FIRST
        while not stop.is_set():
            try:
                async with client:
                    for subscription in self.subscriptions:
                        await client.subscribe(self._filter(subscription), qos=1)
                    self.state.connected, backoff = True, BACKOFF_FIRST
                    log.info("connected to %s:%s", self.broker.host, self.broker.port)
                    # a lost connection ends consuming with MqttError, raised here
                    await first_of(self._consume(client, stop), self._announce(client), stop.wait())
                    await self._publish_status(client, "stopped")
            except aiomqtt.MqttError as exc:
                self.state.connected, self.state.last_error = False, str(exc)
                self.state.reconnects += 1
                log.warning(
                    "broker %s:%s: %s; retrying in %.1fs", self.broker.host, self.broker.port, exc, backoff
                )
                await first_of(asyncio.sleep(backoff), stop.wait())
                backoff = min(backoff * 2, BACKOFF_MAX)
        self.state.connected = False

    def _will(self) -> aiomqtt.Will | None:
        """What the broker says for the engine when it dies without a word."""
        topic = self.broker.status_topic
        gone = json.dumps({"state": "gone", "holder": this_process()})
        return aiomqtt.Will(topic, gone, qos=1, retain=True) if topic else None

    async def _announce(self, client: aiomqtt.Client) -> None:
        """Publish the engine's state now and whenever it changes (retained)."""
        changed = asyncio.Event()

        def heard(_: Health) -> None:
            changed.set()

        listeners = self.journal.health.listeners
        listeners.append(heard)
        try:
            while True:
                changed.clear()
                await self._publish_status(client)
                await changed.wait()
        finally:
            listeners.remove(heard)

    async def _publish_status(self, client: aiomqtt.Client, state: Literal["stopped"] | None = None) -> None:
        topic = self.broker.status_topic
        if not topic:
            return
        status = status_of(self.journal.health, at=self.journal.clock.now(), holder=this_process())
        text = status.to_json() if state is None else dataclasses.replace(status, state=state).to_json()
        await client.publish(topic, text, qos=1, retain=True)

    async def _consume(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        # aiomqtt hands out one message per `anext`, each a task and an `asyncio.wait`: two turns
        # of the event loop. Only the first of a batch is waited for so (it also notices a lost
        # connection); what else has arrived is taken from the queue at once.
        queue = client._queue  # noqa: SLF001 - aiomqtt has no public way to take a message now
        async for first in client.messages:
            batch = [first]
            while len(batch) < self.batch_max and not queue.empty():
                batch.append(queue.get_nowait())
            await self._commit(client, batch, stop)

    async def _commit(
        self, client: aiomqtt.Client, batch: list[aiomqtt.Message], stop: asyncio.Event
    ) -> None:
        now = self.journal.clock.now()
        incoming = []
        for message in batch:
            subscription = self._subscription_for(message.topic.value)
            if subscription is None:  # a broker may deliver overlapping or stale subscriptions
                continue
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            received = Message(message.topic.value, payload, now, retained=message.retain)
            incoming.append(decode(subscription, received))
        # a locked or full log is waited out: the broker keeps the unacknowledged messages
        stored = await persistently(
            functools.partial(self.journal.ingest, incoming, drill=self.drill), self.journal.health, stop
        )
        if stored is None:
            return  # stopped first: delivered again on the next start
        # only now is everything these messages said durable: acknowledge them
        acknowledge(client, batch)
        self.state.received += len(batch)

    def _filter(self, subscription: Subscription) -> str:
        """The filter to subscribe with; messages still carry their own topic, matched against
        the feed's filter (`_subscription_for`)."""
        if self.broker.share_group is None:
            return subscription.topic
        return f"$share/{self.broker.share_group}/{subscription.topic}"

    def _subscription_for(self, topic: str) -> Subscription | None:
        """The feed a topic belongs to (the first whose filter matches), remembered by topic:
        matching a filter parses it each time."""
        feeds = self._feeds
        if topic in feeds:
            return feeds[topic]
        found = next((s for s in self.subscriptions if aiomqtt.Topic(topic).matches(s.topic)), None)
        if len(feeds) >= TOPICS_KEPT:
            feeds.clear()
        feeds[topic] = found
        return found
