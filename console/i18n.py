"""What the console says, in Chinese (zh-CN) and English; the language follows the configuration
or, failing that, the locale."""

from __future__ import annotations

import os
from collections.abc import Mapping

from dutydesk.playbooks.vocab import Label

# (Chinese, English); placeholders use str.format names.
MESSAGES: dict[str, tuple[str, str]] = {
    # refusals from the engine, by code
    "unknown_incident": ("没有事件 {incident}", "no incident {incident}"),
    "unknown_plan": (
        "没有预案 {plan}（见 dutydesk plans list）",
        "no plan {plan} (see `dutydesk plans list`)",
    ),
    "closed": ("事件 {incident} 已关闭", "incident {incident} is closed"),
    "future": ("时间 {at} 在未来", "{at} is in the future"),
    "before_received": (
        "时间 {at} 早于接报时间 {received}",
        "{at} is before the incident was received ({received})",
    ),
    "already": (
        "该事件已经是“{milestone}”（{at}）",
        "the incident is already {milestone} (at {at})",
    ),
    "requires": (
        "“{milestone}”之前须先“{needed}”",
        "{milestone} needs the incident {needed} first",
    ),
    "before_previous": ("“{milestone}”不能早于“{needed}”", "{milestone} cannot be before {needed}"),
    "close_outstanding": (
        "仍有未完成的义务（{items}）；如需关闭请给出原因 --reason",
        "obligations are still outstanding ({items}); give --reason to close anyway",
    ),
    "already_urgent": ("该事件已标记为紧急", "the incident is already urgent"),
    "same_severity": ("事件级别已经是 {severity}", "severity is already {severity}"),
    "empty": ("内容为空：{field}", "{field} is empty"),
    "empty_part": (
        "进展报告须包含三部分，“{field}”为空",
        "a progress update needs all three parts; {field} is empty",
    ),
    "unknown_obligation": (
        "本事件的预案没有义务 {obligation}",
        "this incident's plan has no obligation {obligation}",
    ),
    "not_manual": (
        "{obligation} 由“{met_by}”完成，不能手工勾选",
        "{obligation} is met by {met_by}, not by hand",
    ),
    "not_armed": ("{obligation} 尚未开始计时", "{obligation} has not started yet"),
    "already_met": ("{obligation} 已完成", "{obligation} is already met"),
    "bad_milestone": ("事件在登记时即为接报", "an incident is received when it is opened"),
    # command line
    "error": ("错误", "error"),
    "opened": ("已登记事件 {incident}", "opened incident {incident}"),
    "recorded": ("已记录：{what}", "recorded: {what}"),
    "repeated": ("该操作此前已记录", "this command was recorded before"),
    "met": ("完成：{title}（{margin}）", "met: {title} ({margin})"),
    "plans_valid": ("{count} 个预案有效", "{count} plans valid"),
    "no_incidents": ("没有进行中的事件", "no open incidents"),
    "serving": ("值守引擎已启动：{db}（Ctrl-C 停止）", "engine running on {db} (Ctrl-C to stop)"),
    "stopped": ("值守引擎已停止", "engine stopped"),
    "backup_done": ("已备份 {events} 条事件到 {path}", "backed up {events} events to {path}"),
    "audit_ok": (
        "事件日志完整：{events} 条事件，哈希链无误",
        "event log intact: {events} events, hash chain verified",
    ),
    "audit_broken": (
        "事件日志被改动：{reason}（第 {seq} 条起）",
        "event log tampered with: {reason} (from event {seq})",
    ),
    "early": ("提前 {span}", "{span} early"),
    "late": ("超时 {span}", "{span} late"),
    "left": ("剩余 {span}", "{span} left"),
    "overdue": ("已超时 {span}", "overdue by {span}"),
    "waiting_for": ("待“{anchor}”后 {limit}", "{limit} after {anchor}"),
    "provisional": (
        "（暂定：该年度节假日安排未确认）",
        " (provisional: that year's holiday schedule is not confirmed)",
    ),
    "no_alarms": ("没有告警", "no alarms"),
    "no_devices": ("尚无设备", "no devices heard from yet"),
    "no_dead_letters": ("没有无法解析的消息", "no dead letters"),
    "alarm.pending": ("待确认", "pending"),
    "alarm.active": ("告警中", "active"),
    "alarm.clearing": ("待恢复", "clearing"),
    "alarm.cleared": ("已恢复", "cleared"),
    "alarm.unknown": ("未知", "unknown"),
    "availability.online": ("在线", "online"),
    "availability.offline": ("离线", "offline"),
    "availability.stale": ("失联", "stale"),
    "availability.unknown": ("未知", "unknown"),
    # states
    "state.pending": ("待办", "pending"),
    "state.warning": ("预警", "warning"),
    "state.met": ("已完成", "met"),
    "state.breached": ("已超时", "breached"),
    "state.waived": ("已免除", "waived"),
    "incident.open": ("处置中", "open"),
    "incident.closed": ("已关闭", "closed"),
    "urgent": ("紧急", "urgent"),
    "drill": ("演练", "DRILL"),
    # headings
    "h.id": ("编号", "id"),
    "h.plan": ("预案", "plan"),
    "h.title": ("标题", "title"),
    "h.severity": ("级别", "severity"),
    "h.phase": ("阶段", "phase"),
    "h.next_due": ("下一时限", "next due"),
    "h.obligation": ("义务", "obligation"),
    "h.role": ("责任", "role"),
    "h.due": ("时限", "due"),
    "h.state": ("状态", "state"),
    "h.received": ("接报时间", "received"),
    "h.source": ("来源", "source"),
    "h.location": ("地点", "location"),
    "h.timeline": ("处置经过", "timeline"),
    "h.obligations": ("时限义务", "obligations"),
    "h.triggers": ("触发", "triggers"),
    "h.since": ("时间", "since"),
    "h.status": ("状态", "status"),
    "h.alarm": ("告警", "alarm"),
    "h.device": ("设备", "device"),
    "h.availability": ("可用性", "availability"),
    "h.last_seen": ("最后通信", "last seen"),
}


def detect(configured: str | None, env: Mapping[str, str] = os.environ) -> str:
    """`zh` or `en`: the configured locale, else the first of LC_ALL, LC_MESSAGES, LANG."""
    if configured:
        return "zh" if configured.lower().startswith("zh") else "en"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **params: object) -> str:
        zh, en = MESSAGES[key]
        text = zh if self.lang == "zh" else en
        return text.format(**params)

    def label(self, label: Label) -> str:
        return label.get(self.lang)
