"""What the console says of routines and planned events (例行巡查、活动保障), in Chinese and
English: a part of `console/i18n.py`'s messages, kept apart to keep that module readable."""

from __future__ import annotations

DUTY_MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_routine": (
        "没有例行工作 {routine}（见 dutydesk routines list）",
        "no routine {routine} (see `dutydesk routines list`)",
    ),
    "no_incident": (
        "只有发现异常且配有预案的巡查才能启动事件",
        "only an abnormal round of a routine with a plan opens an incident",
    ),
    "unknown_event_plan": ("没有活动保障方案 {plan}；可用：{known}", "no event plan {plan}; known: {known}"),
    "end_before_start": (
        "结束时间 {end} 不晚于开始时间 {start}",
        "the end {end} is not after the start {start}",
    ),
    "unknown_event": (
        "没有活动 {event}（见 dutydesk events list）",
        "no event {event} (see `dutydesk events list`)",
    ),
    "same_times": ("活动 {event} 已是这个时间", "event {event} is already at these times"),
    "unknown_task": (
        "该活动没有保障事项 {task}；可用：{known}",
        "the event has no task {task}; known: {known}",
    ),
    "not_a_drill": ("{drill} 不是演练事件", "{drill} is not a drill run"),
    "task_done": ("活动 {event} 的 {task} 已完成", "{task} of event {event} is already done"),
    "round_logged": ("已记录巡查：{title}（时限 {when}）", "round logged: {title} (due {when})"),
    "round_extra": (
        "已记录巡查：{title}（本时段已巡查，记为加巡）",
        "round logged: {title} (this slot was done already: an extra round)",
    ),
    "round_incident": (
        "已启动事件 {incident}（{plan}），与本次巡查关联",
        "opened incident {incident} ({plan}), linked to this round",
    ),
    "event_added": ("已登记活动 {event}", "event {event} added"),
    "event_moved": (
        "活动 {event} 已改期，保障时限随之调整",
        "event {event} moved; its obligations moved with it",
    ),
    "task_logged": ("已完成：{title}", "done: {title}"),
    "round.none": ("没有配置例行工作", "no routines are configured"),
    "round.choose": ("记录巡查（正常）：选择例行工作", "Log a round (normal): which routine"),
    "round.abnormal": ("记录巡查（发现异常）：选择例行工作", "Log an abnormal round: which routine"),
    "round.note": ("发现的异常情况", "What was found"),
    "round.offer": ("是否启动应急预案？", "Open an incident?"),
    "round.open_incident": (
        "启动事件（预案 {plan}），与本次巡查关联",
        "open an incident (plan {plan}), linked to the round",
    ),
    "round.no_incident": ("只记录，不启动事件", "log only, no incident"),
    "round.logged": ("已记录巡查：{title}", "round logged: {title}"),
    "key.round": ("巡查完成", "Round done"),
    "key.event": ("登记活动", "New event"),
    "key.move_event": ("活动改期", "Move event"),
    "move.none": ("没有尚未结束的活动", "no event still to come"),
    "move.choose": ("活动改期：选择活动", "Move an event: which one"),
    "move.start": ("新的开始时间（如 2026-11-24 15:00）", "New start (e.g. 2026-11-24 15:00)"),
    "move.end": ("新的结束时间", "New end"),
    "form.event": ("登记活动（会议、大型活动保障）", "A planned event (meeting, large event)"),
    "form.event_added": ("已登记活动", "event added"),
    "key.abnormal_round": ("巡查异常", "Abnormal round"),
    "h.duties": ("巡查与活动保障", "Rounds and events"),
    "board.no_duties": ("三小时内没有巡查或保障事项", "no rounds or event tasks in the next three hours"),
    "sched.every": ("每{every} {hours}", "every {every} {hours}"),
    "sched.days.every": ("每天", "every day"),
    "sched.days.workdays": ("工作日", "working days"),
    "h.routine": ("例行工作", "routine"),
    "h.schedule": ("安排", "schedule"),
    "h.next": ("下一次", "next"),
    "h.place": ("地点", "place"),
    "h.start": ("开始", "start"),
    "h.end": ("结束", "end"),
    "h.open_tasks": ("待办保障事项", "tasks outstanding"),
}
