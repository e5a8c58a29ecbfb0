"""What the console says, in Chinese (zh-CN) and English; the language follows the configuration
or, failing that, the locale."""

from __future__ import annotations

import os
from collections.abc import Mapping

from dutydesk.console.i18n_cli import CLI_MESSAGES
from dutydesk.console.i18n_duties import DUTY_MESSAGES
from dutydesk.console.i18n_engine import ENGINE_MESSAGES
from dutydesk.playbooks.vocab import Label

# (Chinese, English); placeholders use str.format names.
MESSAGES: dict[str, tuple[str, str]] = {
    **ENGINE_MESSAGES,
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
    "bad_section": ("调查报告没有“{section}”一节", "the investigation report has no section {section}"),
    "not_late": (
        "{obligation} 第 {occurrence} 次并未超时，无需说明原因",
        "{obligation} #{occurrence} was not late: there is nothing to explain",
    ),
    "merge_self": ("事件不能合并到自身", "an incident cannot be merged into itself"),
    "merge_drill": ("演练事件与真实事件不能合并", "a drill and a real incident cannot be merged"),
    "not_urgent": ("事件 {incident} 未标记为紧急", "incident {incident} is not urgent"),
    "not_correctable": ("不能更正“{field}”", "{field} cannot be corrected"),
    "bad_time": ("无法识别时间 {text}", "cannot read the time {text}"),
    "received_after": (
        "接报时间不能晚于“{milestone}”（{at}）",
        "the incident cannot be received after it was {milestone} ({at})",
    ),
    "not_retractable": ("“{milestone}”不能撤回", "{milestone} cannot be retracted"),
    "not_reached": ("该事件尚未“{milestone}”", "the incident is not {milestone}"),
    "retract_late": (
        "“{milestone}”记录于 {at}，已超过 {minutes} 分钟，不能撤回；请写备注说明",
        "{milestone} was recorded at {at}, more than {minutes} minutes ago: add a note instead",
    ),
    "retract_later_first": (
        "“{needed}”以“{milestone}”为前提，请先撤回“{needed}”",
        "{needed} rests on {milestone}: retract it first",
    ),
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
    "nothing_to_ack": (
        "事件 {incident} 没有待确认的超时",
        "incident {incident} has no unacknowledged breach",
    ),
    **DUTY_MESSAGES,
    # roster and notifications
    "acknowledged": ("已确认超时：{title}，升级通知停止", "acknowledged: {title}; escalation stops"),
    "roster_imported": (
        "已导入 {count} 个班次（{source}）",
        "imported {count} shift(s) from {source}",
    ),
    "nobody": ("（无人）", "(nobody)"),
    "standing": ("常设", "standing"),
    "unknown_role": ("未知角色 {role}；可用：{roles}", "unknown role {role}; known roles: {roles}"),
    "nobody_on": (
        "当前无人担任{role}，见 dutydesk roster show",
        "nobody holds {role} now; see dutydesk roster show",
    ),
    "no_apprise": (
        "未配置通知渠道：没有 apprise 配置文件 {path}（notify.apprise_config）",
        "no apprise configuration at {path} (notify.apprise_config)",
    ),
    "notify_off": (
        "警告：通知不会发出——没有 apprise 配置文件 {path}（notify.apprise_config）",
        "warning: notifications will not be delivered: "
        "no apprise configuration at {path} (notify.apprise_config)",
    ),
    "test_sent": ("已送达 {target}（{elapsed:.2f} 秒）", "delivered to {target} ({elapsed:.2f} s)"),
    "test_failed": ("未送达 {target}：{error}", "not delivered to {target}: {error}"),
    "no_notifications": ("没有通知记录", "no notifications"),
    "delivery.pending": ("待发送", "pending"),
    "delivery.retrying": ("重试中", "retrying"),
    "delivery.delivered": ("已送达", "delivered"),
    "delivery.failed": ("失败", "failed"),
    "fallback": ("备用", "fallback"),
    "h.holder": ("人员", "holder"),
    "h.tags": ("通知标签", "tags"),
    "h.until": ("至", "until"),
    "h.target": ("目标", "target"),
    "h.attempts": ("尝试", "attempts"),
    "h.error": ("错误", "error"),
    "h.notification": ("通知", "notification"),
    # refusals, causes and the rectification register
    "not_investigated": (
        "事件 {incident} 尚未完成调查；整改措施须针对调查查明的原因",
        "incident {incident} has no investigation yet; rectification follows its causes",
    ),
    "before_investigation": (
        "时间 {at} 早于调查完成时间 {investigated}",
        "{at} is before the investigation ({investigated})",
    ),
    "period_over": (
        "自调查完成起 {workdays} 个工作日的整改期已于 {due} 届满；请用 --workdays 给出自今日起的时限",
        "the {workdays} working days from the investigation ran out at {due}; "
        "give --workdays for a limit from today",
    ),
    "bad_workdays": ("时限至少为1个工作日", "a time limit is at least one working day"),
    "unknown_item": (
        "没有整改事项 {item}（见 dutydesk rectify list）",
        "no rectification item {item} (see `dutydesk rectify list`)",
    ),
    "item_done": ("整改事项 {item} 已完成（{at}）", "{item} is already done (at {at})"),
    "item_not_done": (
        "整改事项 {item} 尚未完成；完成后再反馈",
        "{item} is not done; feedback follows completion",
    ),
    "item_fed_back": ("整改事项 {item} 已反馈（{at}）", "{item} has had its feedback (at {at})"),
    "before_added": ("时间 {at} 早于整改事项登记时间 {added}", "{at} is before the item was added ({added})"),
    "before_done": ("时间 {at} 早于整改完成时间 {done}", "{at} is before the item was done ({done})"),
    "items_open": ("仍有未完成的整改事项（{items}）", "rectification items are still open ({items})"),
    "no_items": ("没有整改事项", "no rectification items"),
    "item.open": ("整改中", "open"),
    "item.done": ("已完成", "done"),
    "item.overdue": ("已逾期", "overdue"),
    "item.waived": ("已免除", "waived"),
    "h.item": ("整改事项", "item"),
    "h.incident": ("事件", "incident"),
    "h.content": ("整改内容", "content"),
    "h.owner": ("责任人", "responsible"),
    # reports
    "report_written": ("已生成 {path}", "written: {path}"),
    "bad_month": (
        "无法识别月份 {text}，应为 YYYY-MM，如 2026-11",
        "cannot read month {text}; use YYYY-MM, e.g. 2026-11",
    ),
    "bad_year": ("无法识别年份 {text}，应为 YYYY，如 2026", "cannot read year {text}; use YYYY, e.g. 2026"),
    "future_period": ("{period} 尚未开始", "{period} has not begun"),
    "p.incidents": ("读取事件", "reading incidents"),
    "p.drills": ("读取演练", "reading drills"),
    "p.alarms": ("读取告警", "reading alarms"),
    "p.charts": ("绘制图表", "drawing charts"),
    "p.pages": ("排版页", "laying out page"),
    "p.rows": ("写入表格行", "writing table rows"),
    **CLI_MESSAGES,
    # the console
    "board.title": ("值班台", "Duty board"),
    "board.on_duty": ("值班", "on duty"),
    "board.leader": ("带班领导", "leader"),
    "board.nothing_due": ("一小时内没有到期事项", "nothing falls due in the next hour"),
    "board.active_alarms": ("告警中", "active alarms"),
    "board.held": ("告警 {alarms} 条 / 设备 {devices} 台", "{alarms} alarms / {devices} devices"),
    "drill.over": (
        "演练结束：退出后生成演练总结（Ctrl+Q）",
        "The drill is over: quit (Ctrl+Q) for the after-action report",
    ),
    "drill.failed": ("演练中断：{error}", "The drill stopped: {error}"),
    "drill.result": (
        "演练 {scenario}：按时完成 {on_time}/{armed}（{rate}），{verdict}；报告 {report}",
        "drill {scenario}: {on_time}/{armed} met on time ({rate}), {verdict}; report {report}",
    ),
    "drill.passed": ("符合预期", "as expected"),
    "drill.not_passed": ("与预期不符", "NOT as expected"),
    "drill.published": ("已发布 {count} 条消息", "published {count} messages"),
    "drill.banner": (
        "【演练】 演练进行中 —— 演练事件不会通知真实人员",
        "[DRILL] A drill is running — drill incidents never page real people",
    ),
    "key.help": ("帮助", "Help"),
    "key.board": ("值班台", "Board"),
    "key.alarms": ("告警", "Alarms"),
    "key.log": ("值班记录", "Duty log"),
    "key.new": ("新事件", "New incident"),
    "key.register": ("整改台账", "Register"),
    "cmd.register": ("整改台账：完成情况与反馈", "The rectification register: completion and feedback"),
    "act.item_done": ("整改完成", "Done"),
    "act.item_feedback": ("反馈", "Feedback"),
    "ask.evidence": ("完成证明（如验收单、照片编号）", "Evidence of completion"),
    "ask.item_feedback": ("向服务对象反馈的内容", "Feedback given to the served department"),
    "done.item": ("{item} 已完成", "{item} done"),
    "done.item_feedback": ("{item} 已记录反馈", "{item} feedback recorded"),
    "key.quit": ("退出", "Quit"),
    "key.seen": ("已阅", "Seen"),
    "key.palette": ("命令", "Commands"),
    "cmd.quit": ("退出值班台（值守引擎继续运行）", "Quit the console (the engine keeps running)"),
    "call.new_incident": ("【新事件】", "NEW INCIDENT"),
    "call.breach": ("【超时】", "DEADLINE MISSED"),
    "call.notify_off": (
        "【通知未开启】没有 apprise 配置：超时和升级不会通知任何人",
        "NOTIFICATIONS OFF: no apprise configuration; breaches and escalations reach nobody",
    ),
    "call.more": ("另有 {count} 条", "and {count} more"),
    "call.ack": ("（按 k 已阅）", "(k: seen)"),
    "key.open": ("打开", "Open"),
    "key.back": ("返回", "Back"),
    "key.cancel": ("取消", "Cancel"),
    "cmd.board": ("回到值班台", "Back to the board"),
    "cmd.alarms": ("告警、无法解析的消息与设备", "Alarms, dead letters and devices"),
    "cmd.log": ("值班记录与交接班", "Duty log and handover"),
    "cmd.new": ("登记电话、OA或现场报告的事件", "Open an incident from a call, the OA system or on site"),
    "cmd.help": ("按键说明", "Keys and what they do"),
    "act.report": ("已报告领导", "Reported"),
    "act.arrive": ("已到场", "On site"),
    "act.update": ("进展报告", "Update"),
    "act.done": ("完成事项", "Tick off"),
    "act.urgent": ("紧急", "Urgent"),
    "act.severity": ("事件级别", "Severity"),
    "act.stabilise": ("事件平息", "Stabilised"),
    "act.investigated": ("调查完成", "Investigated"),
    "act.rectified": ("整改完成", "Rectified"),
    "act.feedback": ("反馈", "Feedback"),
    "act.note": ("备注", "Note"),
    "act.close": ("关闭", "Close"),
    "act.correct": ("更正", "Correct"),
    "act.retract": ("撤回", "Retract"),
    "act.unurgent": ("取消紧急", "Not urgent"),
    "ask.unurgent_reason": ("取消紧急的原因", "Why is it not urgent after all?"),
    "ask.correct_reason": ("更正原因", "Why the correction?"),
    "ask.retract_reason": ("撤回原因", "Why retract it?"),
    "nothing_to_retract": ("没有可撤回的节点", "nothing to retract"),
    "act.merge": ("合并到", "Merge into"),
    "act.finding": ("调查结论", "Finding"),
    "act.link": ("关联到", "Link with"),
    "act.late": ("超时原因", "Why late"),
    "finding.team": ("调查组成员", "Investigation team"),
    "finding.responsibility": ("责任认定", "Responsibility"),
    "finding.lessons": ("防范措施与经验教训", "Prevention and lessons"),
    "nothing_late": ("没有超时的义务", "no obligation was late"),
    "act.acknowledge": ("确认告警", "Acknowledge"),
    "act.shelve": ("搁置告警", "Shelve"),
    "act.handover": ("交接班", "Handover"),
    "ask.close_reason": ("仍有未完成事项，关闭原因", "Obligations are outstanding: why close now?"),
    "ask.ack_reason": ("确认说明（谁在处理）", "Acknowledge: who is dealing with it?"),
    "ask.shelve_reason": ("搁置原因", "Why shelve it?"),
    "ask.outgoing": ("交班人姓名", "Who hands over to you?"),
    "done.action": ("{incident}：{what}，已记录", "{incident}: {what} recorded"),
    "done.opened": ("已登记事件", "incident opened"),
    "done.acknowledged": ("告警已确认", "alarm acknowledged"),
    "done.shelved": ("告警已搁置", "alarm shelved"),
    "done.logged": ("已写入值班记录", "written to the duty log"),
    "done.handover": ("已接班（交班人：{outgoing}）", "shift taken over from {outgoing}"),
    "nothing_manual": ("没有待手工完成的事项", "nothing to tick off by hand"),
    "nothing_to_merge": ("没有可以合并到的未结事件", "no other open incident to merge into"),
    "h.held": ("汇聚告警 {alarms} 条，涉及设备 {devices} 台", "holds {alarms} alarms from {devices} devices"),
    "shelve.hours": ("{hours} 小时", "{hours} hours"),
    "tab.alarms": ("告警", "Alarms"),
    "tab.dead_letters": ("无法解析", "Dead letters"),
    "tab.devices": ("设备", "Devices"),
    "tab.notifications": ("通知", "Notifications"),
    "log.placeholder": ("写值班记录，回车保存", "Write in the duty log, Enter to save"),
    "log.override": ("{holder} 任{role}至 {until}", "{holder} is {role} until {until}"),
    "log.handover": ("{outgoing} → {incoming} 交接班", "handover {outgoing} → {incoming}"),
    "form.ok": ("确定", "OK"),
    "form.cancel": ("取消", "Cancel"),
    "form.update": ("进展报告", "Progress update"),
    "form.measures": ("已采取措施", "Measures taken"),
    "form.status": ("当前状态", "Current status"),
    "form.next": ("下一步计划", "Next steps"),
    "form.part_empty": ("“{part}”不能为空", "{part} must not be empty"),
    "form.empty": ("内容不能为空", "this must not be empty"),
    "form.leave": (
        "已填写的内容尚未保存：再按一次 Esc（或 Ctrl+Q）放弃",
        "what you typed is not saved: press Esc (or Ctrl+Q) again to discard it",
    ),
    "form.new": ("登记新事件", "New incident"),
    "form.find": ("查找事件：编号或关键词", "Find an incident: its id or words"),
    "form.none_found": ("没有找到事件", "no incident found"),
    "form.holder": ("{role}（本班）", "{role} for this shift"),
    "key.find": ("查找", "Find"),
    "key.on_duty": ("当班", "On duty"),
    "key.language": ("English", "中文"),
    "cmd.find": ("按编号或关键词查找事件并打开", "Find an incident by id or words and open it"),
    "cmd.on_duty": ("设置本班带班领导或值班人员", "Set the leader on duty or duty officer for this shift"),
    "cmd.language": ("界面切换为英文", "Switch the console to Chinese"),
    "done.on_duty": ("已记录：{holder} 任{role}", "recorded: {holder} is {role}"),
    "form.plan_search": ("预案（输入以搜索）", "Plan (type to search)"),
    "form.received": ("接报时间（留空为现在）", "Received at (empty: now)"),
    "form.description": ("情况描述", "Description"),
    "form.empty_title": ("请填写标题", "the title is empty"),
    "form.no_plan": ("请选择预案", "choose a plan"),
    "form.bad_time": ("无法识别时间 {text}", "cannot read the time {text}"),
    "form.confirm_time": (
        "接报时间 {at} 在 {ago}前（超过6小时或不在今天）；无误请再按回车确认",
        "received at {at}, {ago} ago (over 6 hours or another day): press Enter again to confirm",
    ),
    "h.countdown": ("倒计时", "countdown"),
    "h.event": ("事件", "event"),
    "h.actor": ("操作人", "by"),
    "h.detail": ("内容", "detail"),
    "h.feed": ("实时告警", "Live alarms"),
    "h.due_hour": ("一小时内到期", "Due in the next hour"),
    "h.ack": ("确认人", "acknowledged"),
    "h.topic": ("主题", "topic"),
    "h.reason": ("原因", "reason"),
    "unknown_alarm": ("没有告警 {key}", "no alarm {key}"),
    "shelve_past": ("搁置的结束时间须在未来", "a shelving must end in the future"),
    "help.text": (
        "# 值班台按键\n\n"
        "| 键 | 作用 |\n|---|---|\n"
        "| F1 | 帮助 |\n| F2 | 值班台 |\n| F3 | 告警、无法解析的消息、设备 |\n| F4 | 值班记录、交接班 |\n"
        "| F6 | 整改台账（d 完成，b 反馈） |\n"
        "| Ctrl+N | 登记新事件 |\n| Ctrl+P | 命令面板 |\n| Ctrl+Q | 退出 |\n\n"
        "## 事件页\n\n"
        "| 键 | 作用 |\n|---|---|\n"
        "| r | 已报告带班领导 |\n| a | 应急小组已到场 |\n| u | 进展报告（已采取措施/当前状态/下一步计划） |\n"
        "| d | 手工完成事项 |\n| g | 标记紧急（到场时限15→5分钟） |\n| s | 调整事件级别 |\n"
        "| t | 事件平息（开始3个工作日调查时限） |\n| i | 调查完成（开始15个工作日整改时限） |\n"
        "| x | 整改完成 |\n| f | 已反馈服务对象 |\n| n | 备注 |\n"
        "| e | 更正接报时间、地点或标题（须说明原因） |\n| z | 撤回误按的节点（须说明原因） |\n"
        "| c | 关闭 |\n| Esc | 返回 |\n\n"
        "倒计时颜色：绿色正常，黄色已过预警点，橙色5分钟内到期，红底已超时。"
        "带 * 的时限为暂定（该年度节假日安排未确认）。",
        "# Duty console keys\n\n"
        "| key | does |\n|---|---|\n"
        "| F1 | help |\n| F2 | the board |\n| F3 | alarms, dead letters, devices |\n"
        "| F4 | duty log, handover |\n| F6 | rectification register (d done, b feedback) |\n"
        "| Ctrl+N | new incident |\n| Ctrl+P | command palette |\n| Ctrl+Q | quit |\n\n"
        "## An incident\n\n"
        "| key | does |\n|---|---|\n"
        "| r | reported to the leader on duty |\n| a | emergency team on site |\n"
        "| u | progress update (measures taken / current status / next steps) |\n"
        "| d | tick off an obligation met by hand |\n| g | urgent (on-site limit 15 -> 5 min) |\n"
        "| s | change the severity |\n| t | stabilised (starts the 3-working-day investigation) |\n"
        "| i | investigated (starts the 15-working-day rectification) |\n| x | rectified |\n"
        "| f | feedback given to the served departments |\n| n | note |\n"
        "| e | correct the received time, place or title (with the reason) |\n"
        "| z | retract a milestone pressed by mistake (with the reason) |\n| c | close |\n| Esc | back |\n\n"
        "Countdowns: green on time, yellow past the warning point, orange due within 5 minutes, red overdue. "
        "A due time marked * is provisional (that year's holiday schedule is not confirmed).",
    ),
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
    "h.level": ("级别", "level"),  # the severity as its numeral alone, on a narrow board
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
    def __init__(self, lang: str, messages: Mapping[str, tuple[str, str]] = MESSAGES) -> None:
        self.lang = lang
        self.messages = messages

    def __call__(self, key: str, **params: object) -> str:
        zh, en = self.messages[key]
        text = zh if self.lang == "zh" else en
        return text.format(**params)

    def label(self, label: Label) -> str:
        return label.get(self.lang)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(MESSAGES)
