"""What the documents beyond the two reports say (rectification notice, information reports, duty
log, handover record, drill evaluation), in Chinese and English; `wording` merges them in."""

from __future__ import annotations

PHRASES: dict[str, tuple[str, str]] = {
    # 整改通知单
    "n.title": ("整改通知单", "Rectification notice"),
    "n.subtitle": ("整改事项 {item}　生成于 {now}", "Item {item}, made {now}"),
    "n.opening": (
        "{owner}：经调查，“{title}”事件暴露出以下问题，现通知你方按要求限期整改，并于期限内将整改情况书面报中心。",
        "To {owner}: the investigation of “{title}” found the problem below. Please put it right "
        "within the time limit and report in writing to the centre.",
    ),
    "n.closing": (
        "请于{day}前完成整改。逾期未整改的，按规定扣减绩效分并纳入年度考核。",
        "Please complete it by {day}. Overdue items cost performance points and count in the "
        "annual assessment.",
    ),
    "n.number": ("通知单编号", "notice number"),
    "n.item": ("整改事项编号", "item"),
    "n.to": ("责任人", "responsible"),
    "n.problem_label": ("存在问题及部位", "problem and where"),
    "n.problem": ("{title}（{location}；事件编号 {incident}）", "{title} ({location}; incident {incident})"),
    "n.cause": ("问题原因", "cause"),
    "n.no_cause": ("调查组尚未录入原因分析", "no cause recorded yet"),
    "n.measure": ("整改要求", "required measure"),
    "n.limit": ("整改时限", "time limit"),
    "n.limit_text": ("{workdays}个工作日，至{day}", "{workdays} working days, until {day}"),
    "n.reinspect": ("复查日期", "re-inspection"),
    "n.issuer": ("签发人", "Issued by"),
    "n.cut": (
        "- - - - - - - - - - - - - 沿此线剪开，回执交回中心 - - - - - - - - - - - - -",
        "- - - - - - - - - - - - - cut here and return the receipt - - - - - - - - - - - - -",
    ),
    "n.receipt": ("回　执", "Receipt"),
    "n.received_by": ("接收人", "received by"),
    "n.plan": ("整改计划", "plan for the measure"),
}
