"""Messages about the engine's life, in Chinese and English: whether it runs (the console's banner,
the watchdog, stopping it), the audit trail (verify, anchors), the systemd units, and refusals of
over-long text. Part of `console.i18n`'s table, kept apart so that neither module grows too long."""

from __future__ import annotations

ENGINE_MESSAGES: dict[str, tuple[str, str]] = {
    "too_long": (
        "{field} 太长：{length} 个字符，最多 {limit} 个",
        "{field} is too long: {length} characters, at most {limit}",
    ),
    "units_written": ("已写入 systemd 单元：{folder}", "systemd units written to {folder}"),
    "units_enabled": (
        "值守引擎和看门狗定时器已启用并启动（用户单元需 loginctl enable-linger 才能在注销后继续运行）",
        "the engine and the watchdog timer are enabled and started (user units need "
        "`loginctl enable-linger` to run while nobody is logged in)",
    ),
    "watchdog_running": ("值守引擎在运行（{state}）", "the engine is running ({state})"),
    "watchdog_gone": ("值守引擎未运行（最后一次报告：{since}）", "no engine running (last heard: {since})"),
    "watchdog_told": ("已通知 {count} 个兜底联系方式", "told {count} fallback destination(s)"),
    "audit_problem": ("审计发现问题：{problem}", "audit problem: {problem}"),
    "audit_head": ("哈希链头：第 {seq} 条，{hash}", "chain head: event {seq}, {hash}"),
    "anchored": (
        "已锚定链头（第 {seq} 条，{hash}）到 {path}",
        "anchored the chain head (event {seq}, {hash}) in {path}",
    ),
    "anchor_nowhere": (
        "没有锚定文件：请用 --to 指定，或在配置 [audit] anchor_file 中设置（放在另一块磁盘上）",
        "no anchor file: give --to, or set [audit] anchor_file in the configuration (on another disk)",
    ),
    "key.stop_engine": ("停止值守引擎", "Stop the engine"),
    "cmd.stop_engine": (
        "停止后台值守引擎：期限处理和通知随之停止",
        "Stop the engine behind the console: deadlines and notifications stop with it",
    ),
    "engine.ask_stop": (
        "停止值守引擎？停止后期限不再触发，预警、超时和升级不会通知任何人。",
        "Stop the engine? No deadline fires after that, and nobody is told of warnings, breaches "
        "or escalations.",
    ),
    "engine.keep": ("不停止，保持运行", "Keep it running"),
    "engine.stop": ("停止引擎（通知随之停止）", "Stop it (notifications stop too)"),
    "engine.stopped": ("值守引擎已停止：通知已停止", "the engine has stopped: notifications are off"),
    "engine.not_stopped": (
        "没有可停止的值守引擎（未在本机运行）",
        "no engine to stop (none runs on this machine)",
    ),
    "engine.left_running": (
        "值守引擎继续在后台运行（{holder}）；"
        "停止它：在值班台命令中选“停止值守引擎”，或 systemctl stop dutydesk",
        "the engine keeps running ({holder}); to stop it, use “Stop the engine” in the console's "
        "commands, or systemctl stop dutydesk",
    ),
    "call.no_engine": (
        "【值守引擎未运行】期限不会触发，也不会通知任何人："
        "请运行 dutydesk serve（或 systemctl start dutydesk）",
        "NO ENGINE RUNNING: no deadline fires and nobody is notified; run dutydesk serve "
        "(or systemctl start dutydesk)",
    ),
    "call.engine_degraded": (
        "【值守引擎降级】事件日志暂不可写，正在重试；到期的预警和超时直接发给兜底联系人",
        "ENGINE DEGRADED: the log cannot be written, retrying; warnings and breaches falling due "
        "go straight to the fallback destinations",
    ),
}
