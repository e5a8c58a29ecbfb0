"""The acknowledgement page a phone opens: plain HTML, zh or en, styles inline and no external
asset, so it loads on an intranet without internet and on the smallest screen."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

Lang = str  # "zh" or "en"

TEXT: dict[str, tuple[str, str]] = {
    "title": ("值班确认", "Duty acknowledgement"),
    "place": ("地点", "Place"),
    "due": ("时限 {due}，已超时 {late}", "due {due}, {late} late"),
    "left": ("时限 {due}，剩余 {left}", "due {due}, {left} left"),
    "nothing_due": ("当前没有未完成的时限。", "Nothing is due now."),
    "holder": ("发给：{holder}", "Sent to: {holder}"),
    "ack": ("确认接手", "Acknowledge"),
    "onway": ("正在赶往", "On my way"),
    "done.acknowledged": ("已确认，升级通知停止。", "Acknowledged: escalation stops."),
    "done.noted": ("已记录“正在赶往”。", "Recorded: on my way."),
    "done.used": ("此链接已经使用过，未作更改。", "This link was used already; nothing changed."),
    "done.nothing": (
        "没有待确认的超时（已完成或已有人确认），未作更改。",
        "There is no breach to acknowledge (met, or acknowledged already); nothing changed.",
    ),
    "done.unknown": ("没有该事件，未作更改。", "No such incident; nothing changed."),
    "done.closed": ("事件已关闭，未作更改。", "The incident is closed; nothing changed."),
    "refused": ("链接无效", "Link refused"),
    "why.malformed": ("这不是本系统发出的链接。", "This is not a link this duty desk sent."),
    "why.altered": ("链接已被改动，或不是本系统签发的。", "The link was altered, or not signed here."),
    "why.expired": ("链接已过期，请在值班台确认。", "The link has expired; acknowledge at the duty desk."),
    "why.foreign": ("链接与事件不符。", "The link does not belong to this incident."),
    "why.busy": ("请求过于频繁，请稍后再试。", "Too many requests; try again shortly."),
    "why.notfound": ("没有这个页面。", "No such page."),
}
STYLE = (
    "body{font-family:sans-serif;margin:0 auto;padding:1em;max-width:36em;line-height:1.5}"
    "h1{font-size:1.3em}li{margin:.4em 0}.late{color:#b00020}"
    "button{display:block;width:100%;font-size:1.2em;padding:.8em;margin:.6em 0}"
)


def say(key: str, lang: Lang, **params: object) -> str:
    zh, en = TEXT[key]
    return (zh if lang == "zh" else en).format(**params)


@dataclass(frozen=True, slots=True)
class Due:
    """One outstanding obligation as the page shows it."""

    title: str
    due: str  # local time, "11-23 14:30"
    late: str | None  # how late in words; None: not due yet
    left: str | None


def _html(lang: Lang, heading: str, body: str) -> str:
    code = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html><html lang="{code}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{escape(heading)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{escape(heading)}</h1>{body}</body></html>"
    )


def incident_page(
    lang: Lang, *, incident: str, title: str, place: str | None, holder: str, due: Sequence[Due]
) -> str:
    """The page a valid link opens: what it is about, and the two buttons (a POST, so that a link
    preview or a prefetch never acts)."""
    rows = "".join(
        f'<li class="late">{escape(d.title)}：{escape(say("due", lang, due=d.due, late=d.late))}</li>'
        if d.late
        else f"<li>{escape(d.title)}：{escape(say('left', lang, due=d.due, left=d.left))}</li>"
        for d in due
    )
    body = (
        f"<p><strong>{escape(incident)} {escape(title)}</strong></p>"
        + (f"<p>{say('place', lang)}：{escape(place)}</p>" if place else "")
        + (f"<ul>{rows}</ul>" if rows else f"<p>{say('nothing_due', lang)}</p>")
        + f"<p>{escape(say('holder', lang, holder=holder))}</p>"
        + '<form method="post">'
        + f'<button name="action" value="ack">{say("ack", lang)}</button>'
        + f'<button name="action" value="onway">{say("onway", lang)}</button></form>'
    )
    return _html(lang, say("title", lang), body)


def result_page(lang: Lang, result: str, acknowledged: Sequence[str] = ()) -> str:
    listed = "".join(f"<li>{escape(title)}</li>" for title in acknowledged)
    body = f"<p>{say(f'done.{result}', lang)}</p>" + (f"<ul>{listed}</ul>" if listed else "")
    return _html(lang, say("title", lang), body)


def refused_page(lang: Lang, reason: str) -> str:
    """Says why, and nothing about any incident."""
    return _html(lang, say("refused", lang), f"<p>{say(f'why.{reason}', lang)}</p>")
