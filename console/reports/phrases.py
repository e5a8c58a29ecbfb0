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
    # 信息报告
    "i.first_title": ("关于{title}的首报", "First report: {title}"),
    "i.follow_title": ("关于{title}的续报（续报{n}）", "Follow-up report {n}: {title}"),
    "i.final_title": ("关于{title}的终报", "Final report: {title}"),
    "i.subtitle": ("事件编号 {incident}　生成于 {now}", "Incident {incident}, made {now}"),
    "i.to": ("中心领导、主管部门：", "To the centre's leadership and the competent department:"),
    "i.reporter": (
        "报告人：＿＿＿＿＿＿　联系电话：＿＿＿＿＿＿＿＿",
        "Reported by: ________  phone: ________",
    ),
    "i.first_opening": (
        "{when}，值班室通过{source}接报“{title}”（{location}）。现将有关情况报告如下：",
        "At {when} the duty room learnt by {source} of “{title}” ({location}). We report as follows:",
    ),
    "i.no_place": ("（地点待核实）", "(place being checked)"),
    "i.basics": ("一、基本情况", "1. What happened"),
    "i.time": ("接报时间", "received"),
    "i.what": ("事件经过", "what happened"),
    "i.losses": ("人员伤亡及损失", "casualties and losses"),
    "i.checking": ("正在核实，核实后续报", "being checked; a follow-up report will say"),
    "i.first_measures": ("二、先期处置情况", "2. First measures"),
    "i.none_yet": ("先期处置正在进行。", "First measures are under way."),
    "i.told": ("三、报告及通知情况", "3. Who was told"),
    "i.told_leader": ("已于{when}报告带班领导。", "The leader on duty was told at {when}."),
    "i.not_told": ("尚未报告带班领导。", "The leader on duty has not been told yet."),
    "i.dated": ("{when}，{text}。", "{when}: {text}."),
    "i.follow_opening": (
        "现将{title}截至{when}的处置进展续报如下：",
        "Progress on {title} up to {when}:",
    ),
    "i.new": ("一、新核实的情况", "1. Newly verified facts"),
    "i.nothing_new": ("自上次报告以来无新增情况。", "Nothing new since the last report."),
    "i.measures": ("二、已采取的措施", "2. Measures taken"),
    "i.state": ("三、当前状态", "3. Current state"),
    "i.next": ("四、下一步计划", "4. Next steps"),
    "i.final_opening": ("{title}已处置完毕，现将有关情况终报如下：", "{title} is over. Final report:"),
    "i.course": ("一、事件经过及处置情况", "1. Course of events and handling"),
    "i.update_line": ("第{n}次进展报告所报措施：{text}。", "Measures in progress report {n}: {text}."),
    "i.outcome": ("二、处置结果", "2. Outcome"),
    "i.stabilised": ("事件于{when}平息，历时{span}。", "The event subsided at {when}, after {span}."),
    "i.follow_up": ("三、善后及后续工作", "3. Recovery and follow-up"),
    "i.follow_up_pending": (
        "事件调查正在进行，调查结论和整改措施将另行报告。",
        "The investigation is under way; its findings and the rectification will follow.",
    ),
    "i.bad_stage": (
        "报告阶段应为 first、follow 或 final，而不是 {stage}",
        "the stage is first, follow or final, not {stage}",
    ),
    "i.no_update": (
        "事件 {incident} 还没有进展报告，无法续报",
        "incident {incident} has no progress update to report on",
    ),
    "i.not_stabilised": (
        "事件 {incident} 尚未平息，无法终报",
        "incident {incident} has not subsided: no final report yet",
    ),
}
