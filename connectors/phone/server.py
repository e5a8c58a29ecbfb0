"""The acknowledgement endpoint `dutydesk serve` runs beside the engine (`[ack] enabled`): a GET on
a signed link shows the page, a POST acts. aiohttp serves it on the engine's own event loop, as
one more source in the service's task group.

A flood cannot touch the engine's deadlines: every request is first counted against its client's
token bucket and a global one, and one over either is answered 429 before anything is read; a GET
only reads the engine's state in memory, and a POST is one small write through the journal.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.messages import in_words
from dutydesk.connectors.phone import page
from dutydesk.connectors.phone.acts import Action, act
from dutydesk.connectors.phone.links import Grant, LinkRefused, Signer
from dutydesk.playbooks.clock import Clock
from dutydesk.playbooks.incidents import Incident

log = logging.getLogger("dutydesk.phone")

MAX_BODY = 1024  # a form with one button's value; anything bigger is not ours
MAX_CLIENTS = 4096  # buckets kept; past this the idle ones are forgotten
GLOBAL_FACTOR = 10  # all clients together may do this many times what one may
ACTIONS: tuple[Action, ...] = ("ack", "onway")
STATUS = {"malformed": 403, "altered": 403, "foreign": 403, "expired": 410, "busy": 429, "notfound": 404}


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime
    limited: bool = False  # the last request was refused


class RateLimit:
    """Token buckets per client and for all clients together, on the injected clock."""

    def __init__(self, clock: Clock, *, rate: float, burst: int) -> None:
        self.clock, self.rate, self.burst = clock, rate, burst
        self._clients: dict[str, _Bucket] = {}
        self._all = _Bucket(float(burst * GLOBAL_FACTOR), clock.now())

    def _take(self, bucket: _Bucket, rate: float, ceiling: float, now: datetime) -> bool:
        bucket.tokens = min(ceiling, bucket.tokens + (now - bucket.at).total_seconds() * rate)
        bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def allow(self, client: str) -> bool:
        now = self.clock.now()
        if len(self._clients) > MAX_CLIENTS:
            self._clients.clear()  # a flood from many addresses: start every bucket afresh
        bucket = self._clients.setdefault(client, _Bucket(float(self.burst), now))
        allowed = self._take(bucket, self.rate, self.burst, now) and self._take(
            self._all, self.rate * GLOBAL_FACTOR, self.burst * GLOBAL_FACTOR, now
        )
        if not allowed and not bucket.limited:
            # once per flood, not per request: a log written as fast as a flood comes is a flood too
            log.warning("too many requests from %s: refusing until it slows down", client)
        bucket.limited = not allowed
        return allowed


def bind(listen: str) -> socket.socket:
    """The listening socket for `host:port` (port 0: any free one), bound before serving starts
    so that links can name the port actually used."""
    host, _, port = listen.rpartition(":")
    return socket.create_server((host, int(port)))


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


class PhoneEndpoint:
    """Serves the acknowledgement page on `sock` until stopped (a `Source` of the service)."""

    def __init__(
        self,
        journal: Journal,
        signer: Signer,
        sock: socket.socket,
        *,
        lang: str,
        zone: ZoneInfo,
        limit: RateLimit,
    ) -> None:
        self.journal, self.signer, self.sock = journal, signer, sock
        self.lang, self.zone, self.limit = lang, zone, limit

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._guard])
        app.router.add_get("/a/{incident}/{token}", self._show)
        app.router.add_post("/a/{incident}/{token}", self._act)
        return app

    async def run(self, stop: asyncio.Event) -> None:
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.SockSite(runner, self.sock).start()
            log.info("acknowledgement page on %s", address(self.sock))
            await stop.wait()
        finally:
            await runner.cleanup()

    def _lang(self, request: web.Request) -> str:
        asked = request.query.get("lang") or request.headers.get("Accept-Language", "")[:2].lower()
        return asked if asked in ("zh", "en") else self.lang

    def _refuse(self, request: web.Request, reason: str) -> web.Response:
        log.warning("refused %s %s from %s: %s", request.method, request.path[:40], request.remote, reason)
        return self._html(page.refused_page(self._lang(request), reason), STATUS[reason])

    @staticmethod
    def _html(text: str, status: int = 200) -> web.Response:
        response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not self.limit.allow(request.remote or "?"):
            return self._html(page.refused_page(self._lang(request), "busy"), STATUS["busy"])
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return self._refuse(request, "notfound")

    def _grant(self, request: web.Request) -> tuple[Grant, Incident] | str:
        """The link's grant and its incident, or why it is refused."""
        try:
            grant = self.signer.check(request.match_info["token"], self.journal.clock.now())
        except LinkRefused as refused:
            return refused.reason
        incident = self.journal.engine.projection.incidents.get(grant.incident)
        if grant.incident != request.match_info["incident"] or incident is None:
            return "foreign"
        return grant, incident

    async def _show(self, request: web.Request) -> web.Response:
        found = self._grant(request)
        if isinstance(found, str):
            return self._refuse(request, found)
        grant, incident = found
        lang, now = self._lang(request), self.journal.clock.now()
        due = [
            page.Due(
                title=s.obligation.title.get(lang),
                due=s.due_at.astimezone(self.zone).strftime("%m-%d %H:%M"),
                late=in_words(now - s.due_at, lang) if now >= s.due_at else None,
                left=in_words(s.due_at - now, lang) if now < s.due_at else None,
            )
            for s in self.journal.engine.status(incident, now)
            if s.outstanding and s.due_at is not None
        ]
        text = page.incident_page(
            lang,
            incident=incident.id,
            title=incident.title,
            place=incident.location,
            holder=grant.holder,
            due=due,
        )
        return self._html(text)

    async def _act(self, request: web.Request) -> web.Response:
        found = self._grant(request)
        if isinstance(found, str):
            return self._refuse(request, found)
        grant, incident = found
        action = (await request.post()).get("action")
        if action not in ACTIONS:
            return self._refuse(request, "malformed")
        done = await act(
            self.journal,
            holder=grant.holder,
            incident=grant.incident,
            action=action,
            channel="link",
            request_id=grant.request_id,
        )
        if done.result == "unknown":
            return self._refuse(request, "foreign")
        lang = self._lang(request)
        log.info("%s via link by %s on %s: %s", action, grant.holder, grant.incident, done.result)
        titles = [incident.plan.obligation(ob).title.get(lang) for ob in done.acknowledged]
        status = 200 if done.result in ("acknowledged", "noted") else 409
        return self._html(page.result_page(lang, done.result, titles), status)
