"""Notification messages: titles and bodies from sandboxed Jinja2 templates, in Chinese or English,
the bundled ones or overrides of the same names; a drill is marked outside the templates."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from dutydesk.connectors.deliverers import Button
from dutydesk.connectors.settings import SettingsError
from dutydesk.playbooks.events import NotificationQueued
from dutydesk.playbooks.text import NOTIFICATION_MAX, cut, visible
from dutydesk.playbooks.vocab import ROLES, SEVERITY_LABELS, Severity

log = logging.getLogger("dutydesk.notify")

BUNDLED_TEMPLATES = Path(__file__).parent / "templates"
LISTED = 20  # items spelt out in one digest; the rest are counted
DRILL_MARK = {"zh": "【演练】", "en": "[DRILL] "}
STAGES = {
    "warning": ("预警", "warning"),
    "breach": ("超时", "overdue"),
    "escalation": ("升级", "escalated"),
    "reminder": ("整改提醒", "rectification reminder"),
    "rectification_overdue": ("整改逾期", "rectification overdue"),
}
URGENT_STAGES = frozenset({"breach", "escalation", "rectification_overdue"})
BUTTON = {"zh": "确认 {incident}", "en": "Acknowledge {incident}"}


@dataclass(frozen=True, slots=True)
class Addressed:
    """Who one copy of a message goes to, when its target is one person's: the signed link of
    each incident for them, and that they may answer by SMS reply code."""

    holder: str
    links: Mapping[str, str] = field(default_factory=dict)  # incident id -> URL


class Messages:
    """Titles and bodies from sandboxed Jinja2 templates (`title.zh.j2`, `body.en.j2`, ...): the
    bundled ones, or files of the same names in the configured folder."""

    def __init__(self, *, lang: str, zone: ZoneInfo, folder: Path | None = None) -> None:
        self.lang, self.zone = lang, zone
        folders = [str(folder)] if folder else []
        env = SandboxedEnvironment(
            loader=FileSystemLoader([*folders, str(BUNDLED_TEMPLATES)]),
            undefined=StrictUndefined,
            autoescape=False,  # plain text for chat, e-mail and SMS, never HTML
            trim_blocks=True,
            lstrip_blocks=True,
        )
        try:
            self._title = env.get_template(f"title.{lang}.j2")
            self._body = env.get_template(f"body.{lang}.j2")
            sample = self._context(
                role="duty_officer", items=[], recipients=[], unstaffed=False, at=None, to=None
            )
            self._title.render(sample)
            self._body.render(sample)
        except TemplateError as exc:
            where = getattr(exc, "filename", None) or getattr(exc, "name", None) or "template"
            raise SettingsError(f"{where}: {exc}") from None

    def render(self, queued: NotificationQueued, to: Addressed | None = None) -> tuple[str, str]:
        """The message as the copy for `to` reads (None: a copy for a shared or fallback channel)."""
        return self.compose(
            to=to,
            role=queued.role,
            items=list(queued.items),
            recipients=list(queued.recipients),
            drill=queued.drill,
            unstaffed=queued.unstaffed,
            at=queued.at,
        )

    def buttons(self, to: Addressed | None) -> tuple[Button, ...]:
        """A button for each signed link of the copy, for destinations that show buttons."""
        links = to.links.items() if to else ()
        return tuple((BUTTON[self.lang].format(incident=incident), url) for incident, url in links)

    def compose(
        self,
        *,
        role: str,
        items: list[dict[str, Any]],
        recipients: list[str],
        drill: bool,
        unstaffed: bool,
        at: datetime | None,
        to: Addressed | None = None,
    ) -> tuple[str, str]:
        """(title, body); a drill is marked outside the templates, so no template can drop it."""
        context = self._context(
            role=role, items=items, recipients=recipients, unstaffed=unstaffed, at=at, to=to
        )
        try:
            title, body = self._title.render(context).strip(), self._body.render(context).strip()
        except TemplateError:
            # a broken override must not cost a message: say it plainly instead
            log.exception("notification template failed; sending plain text")
            title = f"dutydesk: {context['role']} ({context['count']})"
            body = "\n".join(
                f"{i['incident']} {i['obligation']} {i['stage']} {i['due']}" for i in context["items"]
            )
        mark = DRILL_MARK[self.lang] if drill else ""
        # whatever the log holds or a template made of it, nothing acts on a reader's screen
        return mark + visible(title), cut(mark + visible(body, multiline=True), NOTIFICATION_MAX)

    def _context(
        self,
        *,
        role: str,
        items: list[dict[str, Any]],
        recipients: list[str],
        unstaffed: bool,
        at: datetime | None,
        to: Addressed | None,
    ) -> dict[str, Any]:
        zh = self.lang == "zh"
        label = ROLES.get(role)
        links = to.links if to else {}
        listed = [self._item(item, at) | {"link": links.get(item["incident"], "")} for item in items[:LISTED]]
        overdue = any(item["stage"] in URGENT_STAGES for item in items)
        return {
            "role": (label.zh if zh else label.en) if label else role,
            "recipients": recipients,
            "unstaffed": unstaffed,
            "test": not items,
            "count": len(items),
            "items": listed,
            "more": max(len(items) - LISTED, 0),
            "overdue": overdue,
            # reply codes (1a, aa) are taken only from the one person this copy went to
            "reply": to is not None and overdue,
            "at": at.astimezone(self.zone).strftime("%m-%d %H:%M") if at else "",
        }

    def _item(self, item: dict[str, Any], at: datetime | None) -> dict[str, Any]:
        zh = self.lang == "zh"
        due = datetime.fromisoformat(item["due_at"])
        now = at or due
        title = item.get("obligation_title") or {}
        severity = item.get("severity")
        stage = STAGES.get(item["stage"], (item["stage"], item["stage"]))[0 if zh else 1]
        if item["stage"] == "escalation":
            stage += f"（第{item['level']}级）" if zh else f" (level {item['level']})"
        return {
            "incident": item["incident"] or "",  # none for a routine's round or an event's task
            "title": item.get("title") or "",
            "location": item.get("location") or "",
            "severity": SEVERITY_LABELS[Severity[severity.upper()]].get(self.lang) if severity else "",
            "obligation": title.get(self.lang) or item["obligation"],
            "stage": stage,
            "due": due.astimezone(self.zone).strftime("%m-%d %H:%M"),
            "late": self._span(now - due) if now >= due else "",
            "left": self._span(due - now) if now < due else "",
        }

    def _span(self, delta: timedelta) -> str:
        return in_words(delta, self.lang)


def in_words(delta: timedelta, lang: str) -> str:
    """A span of time in words, to the minute once it is a minute or more ("12 minutes")."""
    seconds = round(abs(delta.total_seconds()) / 60) * 60 or round(abs(delta.total_seconds()))
    return pendulum.duration(seconds=seconds).in_words(locale=lang) or "0"
