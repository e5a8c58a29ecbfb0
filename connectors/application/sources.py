"""Where alarms come from, as configured: MQTT feeds and camera alert streams."""

from __future__ import annotations

from pathlib import Path

from dutydesk.connectors.alertstream import CameraStream
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.application.service import Source
from dutydesk.connectors.codecs.base import Codec, CodecContext
from dutydesk.connectors.codecs.registry import build_codec
from dutydesk.connectors.mqtt import Broker, MqttIngest, Subscription
from dutydesk.connectors.settings import FeedSection, Settings, SettingsError


def _codec(settings: Settings, feed: FeedSection) -> Codec:
    options = dict(feed.options)
    if isinstance(options.get("codebook"), str):  # a file beside the configuration
        options["codebook"] = str(settings.resolve(Path(options["codebook"])))
    try:
        return build_codec(feed.codec, CodecContext(zone=settings.zone, options=options))
    except ValueError as exc:
        raise SettingsError(f"{settings.source}: feeds.{feed.name}: {exc}") from None


def broker(settings: Settings) -> Broker:
    mqtt = settings.file.mqtt
    return Broker(
        host=mqtt.host,
        port=mqtt.port,
        client_id=mqtt.client_id,
        username=mqtt.username,
        password=mqtt.password.get_secret_value() if mqtt.password else None,
        tls_ca=settings.resolve(mqtt.tls_ca) if mqtt.tls_ca else None,
        tls_cert=settings.resolve(mqtt.tls_cert) if mqtt.tls_cert else None,
        tls_key=settings.resolve(mqtt.tls_key) if mqtt.tls_key else None,
        keepalive=mqtt.keepalive,
        share_group=mqtt.share_group,
        status_topic=mqtt.status_topic,
    )


def sources_from_settings(journal: Journal, settings: Settings) -> list[Source]:
    """Every configured source: the MQTT ingest, then the camera streams."""
    return [*mqtt_ingest(journal, settings), *camera_streams(journal, settings)]


def mqtt_ingest(journal: Journal, settings: Settings) -> list[Source]:
    """One MQTT ingest for every topic feed (one broker session), if any feed has topics. Runs on
    every engine node: with `[mqtt] share_group` the broker gives each message to one of them."""
    subscriptions = [
        Subscription(feed.name, topic, _codec(settings, feed))
        for feed in settings.file.feeds
        for topic in feed.topics
    ]
    return [MqttIngest(journal, broker(settings), subscriptions)] if subscriptions else []


def camera_streams(journal: Journal, settings: Settings) -> list[Source]:
    """One reader per camera url. Runs on the leading node only: each node reading a stream
    would store every alert once per node."""
    sources: list[Source] = []
    for feed in settings.file.feeds:
        if feed.url:
            password = feed.password.get_secret_value() if feed.password else None
            codec = _codec(settings, feed)
            sources.append(CameraStream(journal, feed.name, feed.url, codec, feed.username, password))
    return sources
