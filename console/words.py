"""Words for what the log names by code: event kinds, actors and alarm kinds, in Chinese and
English, so that no screen shows `alarm.acknowledged`, `engine` or `power.on_battery`."""

from __future__ import annotations

from functools import cache

from dutydesk.console.i18n import Translator
from dutydesk.playbooks.vocab import Label

EVENTS: dict[str, Label] = {
    "plan.registered": Label("预案登记", "plan registered"),
    "incident.opened": Label("接报", "received"),
    "incident.milestone": Label("处置节点", "milestone"),
    "incident.milestone_retracted": Label("撤回节点", "milestone retracted"),
    "incident.update": Label("进展报告", "progress update"),
    "incident.urgency": Label("紧急程度", "urgency"),
    "incident.corrected": Label("更正", "corrected"),
    "incident.merged": Label("合并事件", "incidents merged"),
    "incident.linked": Label("关联事件", "incidents linked"),
    "incident.finding": Label("调查结论", "finding recorded"),
    "obligation.explained": Label("超时原因说明", "late explained"),
    "document.numbered": Label("文件编号", "document numbered"),
    "routine.registered": Label("例行工作登记", "routine registered"),
    "duty.done": Label("巡查记录", "round logged"),
    "event.scheduled": Label("活动登记", "event scheduled"),
    "event.moved": Label("活动改期", "event moved"),
    "incident.severity": Label("事件级别", "severity"),
    "incident.note": Label("备注", "note"),
    "obligation.met": Label("完成", "met"),
    "obligation.warned": Label("预警", "warning"),
    "obligation.breached": Label("超时", "deadline missed"),
    "alarm.observed": Label("设备告警", "device alarm"),
    "alarm.changed": Label("告警状态", "alarm state"),
    "device.changed": Label("设备状态", "device state"),
    "alarm.dead_letter": Label("无法解析的消息", "unreadable message"),
    "desk.log": Label("值班记录", "duty log"),
    "desk.handover": Label("交接班", "handover"),
    "alarm.acknowledged": Label("告警已确认", "alarm acknowledged"),
    "alarm.shelved": Label("告警已搁置", "alarm shelved"),
    "roster.imported": Label("导入排班表", "roster imported"),
    "roster.override": Label("调整当班人员", "on duty changed"),
    "obligation.acknowledged": Label("超时已确认", "missed deadline acknowledged"),
    "obligation.escalated": Label("超时升级", "escalated"),
    "notification.queued": Label("通知待发送", "notification queued"),
    "notification.attempt": Label("通知发送", "notification sent"),
    "notification.failed": Label("通知失败", "notification failed"),
    "incident.cause": Label("原因认定", "cause recorded"),
    "rectification.added": Label("整改事项登记", "rectification added"),
    "rectification.done": Label("整改完成", "rectification done"),
    "rectification.feedback": Label("整改反馈", "rectification feedback"),
    "rectification.reminder": Label("整改提醒", "rectification reminder"),
    "rectification.overdue": Label("整改逾期", "rectification overdue"),
}

ACTORS: dict[str, Label] = {
    "engine": Label("值守引擎", "duty engine"),
    "ingest": Label("告警接入", "alarm intake"),
    "notifier": Label("通知服务", "notifier"),
}

# the first part of an alarm kind: what sort of device
SYSTEMS: dict[str, Label] = {
    "elevator": Label("电梯", "elevator"),
    "power": Label("供电", "power"),
    "ups": Label("不间断电源", "UPS"),
    "cctv": Label("监控", "CCTV"),
    "fire": Label("消防", "fire"),
    "network": Label("网络", "network"),
    "device": Label("设备", "device"),
}

ALARM_KINDS: dict[str, Label] = {
    "power.outage": Label("停电", "power outage"),
    "power.on_battery": Label("UPS 电池供电", "UPS on battery"),
    "power.low_battery": Label("UPS 电池电量低", "UPS battery low"),
    "power.replace_battery": Label("UPS 需更换电池", "UPS battery to replace"),
    "power.overload": Label("过载", "overload"),
    "power.bypass": Label("UPS 旁路运行", "UPS on bypass"),
    "power.shutdown": Label("UPS 即将关机", "UPS shutting down"),
    "power.ups_off": Label("UPS 已关闭", "UPS off"),
    "power.ups_alarm": Label("UPS 告警", "UPS alarm"),
    "power.overcurrent": Label("过流", "overcurrent"),
    "power.undercurrent": Label("欠流", "undercurrent"),
    "power.overvoltage": Label("过压", "overvoltage"),
    "power.undervoltage": Label("欠压", "undervoltage"),
    "power.overpower": Label("功率过高", "power too high"),
    "power.underpower": Label("功率过低", "power too low"),
    "cctv.alert": Label("监控告警", "CCTV alert"),
    "cctv.detection": Label("监控侦测", "CCTV detection"),
    "cctv.intrusion": Label("区域入侵", "intrusion"),
    "cctv.line_crossing": Label("越界", "line crossed"),
    "cctv.motion": Label("移动侦测", "motion"),
    "cctv.person": Label("人员侦测", "person detected"),
    "cctv.tamper": Label("遮挡破坏", "camera tampered with"),
    "cctv.video_loss": Label("视频丢失", "video lost"),
    "device.status": Label("设备状态", "device status"),
}


@cache
def _elevator_kinds() -> dict[str, Label]:
    """The elevator faults' names from the default code book (the first name of each kind)."""
    # the code book's reader loads pydantic: only when an elevator alarm is to be named
    from dutydesk.connectors.codecs.elevator import load_codebook  # noqa: PLC0415

    kinds: dict[str, Label] = {}
    book = load_codebook()
    for fault in [*book.codes.values(), book.unknown_code]:
        kinds.setdefault(f"elevator.{fault.kind}", Label(fault.zh, fault.en))
    return kinds


def event_word(kind: str, t: Translator) -> str:
    label = EVENTS.get(kind)
    return t.label(label) if label else kind


def actor_word(actor: str, t: Translator) -> str:
    """People are named as they are; the services by what they do."""
    label = ACTORS.get(actor)
    return t.label(label) if label else actor


def alarm_kind_word(kind: str, t: Translator) -> str:
    """`elevator.entrapment_between_floors` → "非平层关人"; an unknown kind by its system and name."""
    label = ALARM_KINDS.get(kind) or _elevator_kinds().get(kind)
    if label:
        return t.label(label)
    system, _, name = kind.partition(".")
    prefix = SYSTEMS.get(system)
    return f"{t.label(prefix)} {name.replace('_', ' ')}".strip() if prefix else kind
