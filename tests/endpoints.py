"""Real HTTP endpoints on loopback for apprise's json:// destinations: one that records what it is
sent, one that answers 500, one that hangs until it is stopped. Ephemeral ports only."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Endpoint:
    """What an endpoint was sent: (path, JSON body), in order of arrival."""

    port: int
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of each request, in the same order
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"json://127.0.0.1:{self.port}/{path}" + (f"?{query}" if query else "")

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for where, body in list(self.received) if where == f"/{path}"]


def _handler(endpoint: Endpoint, status: int, hang: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            endpoint.headers.append(dict(self.headers))
            endpoint.received.append((self.path.split("?")[0], body))
            if hang:
                endpoint.release.wait(30)
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def endpoint(status: int = 200, *, hang: bool = False) -> Iterator[Endpoint]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    found = Endpoint(server.server_address[1])
    server.RequestHandlerClass = _handler(found, status, hang)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
