"""The deliverer port: how a message reaches one destination (one apprise URL entry), with the
apprise adapter and an in-memory fake that pass the same contract (`tests/test_deliverers.py`).

A destination is named without its secrets: its scheme, its host as apprise shows it privately
and a short hash of the whole entry (`json://127.0.0.1#3fa2c1`, `wecombot://a...3#9b0e41`), so
the delivery log can say which one failed without leaking a token. Every destination is sent to
on its own, so a failing one is retried alone and a working one receives a message once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import apprise
import yaml
from apprise.plugins.ntfy import NotifyNtfy

from dutydesk.connectors.settings import SettingsError

__all__ = [
    "AppriseDeliverer",
    "Button",
    "Deliverer",
    "Destinations",
    "MemoryDeliverer",
    "Sent",
    "load_destinations",
]

WORKERS = 16  # threads for apprise; a hanging destination holds one until apprise's own timeout
NTFY_BUTTONS = 3  # ntfy shows at most three actions

Button = tuple[str, str]  # (label, URL): a button opening the URL, on destinations that have buttons


@dataclass(frozen=True, slots=True)
class Sent:
    """What one attempt came to."""

    ok: bool
    error: str | None = None
    elapsed: float = 0.0
    permanent: bool = False  # retrying cannot help: the destination is not one that may be sent to


class Deliverer(Protocol):
    """Sends messages to destinations, one destination per call.

    Both `AppriseDeliverer` and `MemoryDeliverer` pass `tests/test_deliverers.py`; a new adapter
    passes it too before it is used."""

    def destinations(self, tag: str, *, drill: bool) -> tuple[str, ...]:
        """The destinations carrying `tag`, each once, in the order they were configured.

        Args:
            tag: an apprise tag (a roster holder's tag, the fallback tag).
            drill: only destinations tagged for drills count; a drill can reach nothing else.

        Returns:
            Destination names (no secrets in them); empty when none carries the tag.
        """
        ...

    async def send(
        self, title: str, body: str, destination: str, *, drill: bool, buttons: Sequence[Button] = ()
    ) -> Sent:
        """Try once to deliver a message to one destination. Never raises for a failed delivery.

        Args:
            destination: a name from `destinations`.
            drill: the message belongs to a drill; a destination not tagged for drills is refused.
            buttons: shown by destinations that have buttons (ntfy's actions); the others have the
                same links in the body and ignore them.

        Returns:
            `Sent(ok=True)` once the destination accepted it; otherwise the error, with
            `permanent=True` when retrying cannot help (unknown destination, drill confinement).
            A destination that does not answer within the adapter's timeout is a failed attempt.
        """
        ...

    def close(self) -> None:
        """Give back threads and connections; no send is made afterwards."""
        ...


def destination_name(url: str, private_url: str) -> str:
    """`scheme://host#hash`: enough to tell entries apart, nothing to log in with. The host comes
    from apprise's privacy form of the URL, because many services carry their token where a host
    would be (`wecombot://KEY`, `dingtalk://TOKEN/`), and apprise masks it there."""
    netloc = urlsplit(private_url).netloc.rpartition("@")[2]
    host = netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc
    scheme = private_url.partition("://")[0] or "?"
    return f"{scheme}://{host}#{hashlib.sha256(url.encode()).hexdigest()[:6]}"


# -- apprise ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Destinations:
    """The apprise destinations by name, each with its tags; `drill_tag` marks those drills may use."""

    services: Mapping[str, apprise.Apprise]  # one single-destination apprise object per name
    tags: Mapping[str, frozenset[str]]
    drill_tag: str


class _Problems(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def __bool__(self) -> bool:
        return bool(self.lines)


def load_destinations(path: Path, drill_tag: str) -> Destinations:
    """Read apprise's YAML configuration; every problem is reported with the file's name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read the apprise configuration ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise SettingsError(f"{where}: bad YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("urls"), list):
        raise SettingsError(f"{path}: expected apprise's YAML format: a mapping with a list 'urls'")
    if "include" in data:
        # apprise would fetch included files or URLs at run time; keep every destination here
        raise SettingsError(f"{path}: include: not allowed; list every destination in this file")
    if not data["urls"]:
        raise SettingsError(f"{path}: urls: no destinations")
    asset = apprise.AppriseAsset(storage_mode="memory")
    config = apprise.AppriseConfig(asset=asset)
    config.add_config(text, format="yaml")
    problems = _Problems()
    logger = logging.getLogger("apprise")  # apprise reports what it cannot read only in its log
    logger.addHandler(problems)
    try:
        found = list(config.services())
    finally:
        logger.removeHandler(problems)
    if problems or not found:
        raise SettingsError(
            "\n".join(f"{path}: {line}" for line in problems.lines or ["urls: no destinations"])
        )
    services: dict[str, apprise.Apprise] = {}
    tags: dict[str, frozenset[str]] = {}
    for service in found:
        url: str = service.url()  # type: ignore[no-untyped-call]  # apprise leaves it unannotated
        private: str = service.url(privacy=True)  # type: ignore[no-untyped-call]
        name = destination_name(url, private)
        # the same URL listed twice (with different tags) is one destination carrying all its tags
        tags[name] = tags.get(name, frozenset()) | {str(tag) for tag in service.tags}
        if name not in services:
            services[name] = apprise.Apprise(asset=asset)
            services[name].add(service)
    return Destinations(services, tags, drill_tag)


class AppriseDeliverer:
    """The deliverer through apprise: each send runs in a thread of its own pool (apprise blocks)
    under a timeout, so a hanging destination never holds the event loop."""

    def __init__(self, destinations: Destinations, *, timeout: float, workers: int = WORKERS) -> None:
        self._destinations = destinations
        self.timeout = timeout
        # a pool of its own: hanging sends must never starve the loop's default executor
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apprise")

    def destinations(self, tag: str, *, drill: bool) -> tuple[str, ...]:
        return _carrying(self._destinations.tags, tag, self._destinations.drill_tag if drill else None)

    async def send(
        self, title: str, body: str, destination: str, *, drill: bool, buttons: Sequence[Button] = ()
    ) -> Sent:
        refused = _refusal(self._destinations.tags, destination, self._destinations.drill_tag, drill)
        if refused is not None:
            return refused
        future = asyncio.get_running_loop().run_in_executor(
            self._pool, self._notify, title, body, self._with_buttons(destination, buttons)
        )
        try:
            # apprise stops waiting at `timeout` itself; this guards against a call that does not
            return await asyncio.wait_for(future, self.timeout + 1.0)
        except TimeoutError:
            return Sent(False, f"no answer within {self.timeout:g} s", self.timeout)

    def _with_buttons(self, destination: str, buttons: Sequence[Button]) -> apprise.Apprise:
        """The destination's apprise object; for ntfy with buttons, a copy whose URL carries them
        as ntfy `view` actions."""
        app = self._destinations.services[destination]
        plugin = app[0]
        if not buttons or not isinstance(plugin, NotifyNtfy):
            return app
        actions = "; ".join(f"view, {label}, {url}" for label, url in buttons[:NTFY_BUTTONS])
        # HTTP headers are Latin-1; ntfy decodes RFC 2047, so Chinese labels arrive intact
        encoded = f"=?UTF-8?B?{base64.b64encode(actions.encode()).decode()}?="
        url: str = plugin.url()  # type: ignore[no-untyped-call]  # apprise leaves it unannotated
        copy = apprise.Apprise(asset=apprise.AppriseAsset(storage_mode="memory"))
        copy.add(f"{url}{'&' if '?' in url else '?'}actions={quote(encoded, safe='')}")
        return copy

    def _notify(self, title: str, body: str, app: apprise.Apprise) -> Sent:
        started = time.perf_counter()
        try:
            # the single-destination object is sent to whatever its tags: "all" matches every one
            with app.notify(body=body, title=title, tag="all", timeout=self.timeout) as result:
                elapsed = time.perf_counter() - started
                if result:
                    return Sent(True, elapsed=elapsed)
                if result.status == apprise.AppriseResultStatus.TIMEOUT:
                    return Sent(False, f"no answer within {self.timeout:g} s", elapsed)
                messages = [e.message for e in result.logs() if e.level in ("ERROR", "WARNING")]
                return Sent(False, "; ".join(dict.fromkeys(messages)) or result.status.name.lower(), elapsed)
        except Exception as exc:  # apprise raising is one more failed attempt, never a crash
            return Sent(False, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# -- in memory ----------------------------------------------------------------------------------


@dataclass(slots=True)
class MemoryDeliverer:
    """A first-class fake: destinations by name with their tags, kept in memory. Messages to a
    destination in `failing` fail (as a destination answering 500 would); the rest are kept in
    `sent` as (destination, title, body), in order. Its destinations have no buttons."""

    tags: Mapping[str, Iterable[str]]
    drill_tag: str = "drill"
    failing: set[str] = field(default_factory=set)
    sent: list[tuple[str, str, str]] = field(default_factory=list)
    closed: bool = False

    def destinations(self, tag: str, *, drill: bool) -> tuple[str, ...]:
        return _carrying(self._tags(), tag, self.drill_tag if drill else None)

    async def send(
        self, title: str, body: str, destination: str, *, drill: bool, buttons: Sequence[Button] = ()
    ) -> Sent:
        if self.closed:
            raise RuntimeError("the deliverer is closed")
        refused = _refusal(self._tags(), destination, self.drill_tag, drill)
        if refused is not None:
            return refused
        if destination in self.failing:
            return Sent(False, f"{destination} failed (in-memory deliverer)")
        self.sent.append((destination, title, body))
        return Sent(True)

    def close(self) -> None:
        self.closed = True

    def _tags(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(tags) for name, tags in self.tags.items()}


def _carrying(tags: Mapping[str, frozenset[str]], tag: str, drill_tag: str | None) -> tuple[str, ...]:
    return tuple(
        name
        for name, carried in tags.items()
        if tag in carried and (drill_tag is None or drill_tag in carried)
    )


def _refusal(
    tags: Mapping[str, frozenset[str]], destination: str, drill_tag: str, drill: bool
) -> Sent | None:
    """Why a destination may not be sent to, as a permanent failure; None: it may."""
    if destination not in tags:
        return Sent(False, f"no destination {destination!r}", permanent=True)
    if drill and drill_tag not in tags[destination]:
        return Sent(False, f"{destination} is not a drill destination", permanent=True)
    return None
