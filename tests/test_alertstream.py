"""A camera's HTTP alertStream read from a real HTTP server on loopback: parts arrive as alarms;
a camera that drops the stream is reconnected to."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dutydesk.connectors.alertstream import CameraStream
from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.codecs.base import CodecContext
from dutydesk.connectors.codecs.registry import build_codec
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.obligations import Deadlines
from dutydesk.playbooks.plans import Plan
from tests.conftest import SHANGHAI
from tests.test_ingest import until

STREAM = (
    Path(__file__).parent / "fixtures" / "alarms" / "hikvision" / "alertstream_multipart.txt"
).read_bytes()


class Camera:
    """Serves the recorded alertStream, then holds the connection open as a camera does; the
    first connection is dropped half-way, to make the reader reconnect."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if self.connections == 1:
            writer.write(STREAM[: len(STREAM) // 3])
            await writer.drain()
            writer.close()
            return
        writer.write(STREAM)
        await writer.drain()
        try:
            await reader.read()  # until the client goes away
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/ISAPI/Event/notification/alertStream"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


async def test_alert_stream_parts_become_alarms(
    tmp_path: Path, plans: dict[str, Plan], deadlines: Deadlines, clock: ManualClock
) -> None:
    store = await SqliteEventStore.open(tmp_path / "duty.db")
    journal = await Journal.open(store, plans=plans, deadlines=deadlines, clock=clock)
    codec = build_codec("hikvision", CodecContext(zone=SHANGHAI, options={"device": "lobby_1f"}))
    camera = Camera()
    async with camera as url:
        stream = CameraStream(journal, "cameras", url, codec)
        stop = asyncio.Event()
        task = asyncio.create_task(stream.run(stop))
        book = journal.engine.projection.alarms
        await until(lambda: any(a.kind == "cctv.motion" for a in book.alarms.values()), "motion alarm")
        await until(lambda: stream.state.received >= 5, "every part")
        stop.set()
        await asyncio.wait_for(task, 10)
    assert camera.connections >= 2 and stream.state.reconnects >= 1
    (motion,) = [a for a in book.alarms.values() if a.kind == "cctv.motion"]
    assert motion.status.value == "active" and motion.source == "cameras"
    await store.close()
