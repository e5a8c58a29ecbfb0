"""The duty room's fixed vocabulary: severities, roles, milestones and report sources, in both languages."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Label:
    """A term in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") else self.en


class Severity(enum.IntEnum):
    """The national four-level scale; a larger value is more severe."""

    GENERAL = 4  # 一般 (IV)
    LARGE = 3  # 较大 (III)
    MAJOR = 2  # 重大 (II)
    EXTRAORDINARY = 1  # 特别重大 (I)

    @property
    def id(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> Label:
        return SEVERITY_LABELS[self]

    @property
    def grade(self) -> Label:
        """The official grading as level and name: "Ⅲ 较大" / "Ⅲ relatively serious"."""
        label, numeral = SEVERITY_LABELS[self], self.numeral
        return Label(f"{numeral} {label.zh}", f"{numeral} {label.en}")

    @property
    def numeral(self) -> str:
        """The level alone, as the grading writes it: "Ⅲ" (where the room is short)."""
        return _NUMERALS[self]

    def at_least(self, other: Severity) -> bool:
        """True when this level is as severe as `other` or more."""
        return self.value <= other.value

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Accept the id, the Roman numeral or the Chinese name: `major`, `II`, `重大`."""
        key = text.strip()
        for level in cls:
            label = SEVERITY_LABELS[level]
            if key.lower() in (level.id, label.en.lower()) or key in (
                label.zh,
                _ROMAN[level],
                _NUMERALS[level],
            ):
                return level
        choices = ", ".join(f"{s.id} ({_ROMAN[s]}, {s.label.zh})" for s in cls)
        raise ValueError(f"unknown severity {text!r}; expected one of {choices}")


_ROMAN = {
    Severity.GENERAL: "IV",
    Severity.LARGE: "III",
    Severity.MAJOR: "II",
    Severity.EXTRAORDINARY: "I",
}

_NUMERALS = {  # as the national plans write them
    Severity.GENERAL: "Ⅳ",
    Severity.LARGE: "Ⅲ",
    Severity.MAJOR: "Ⅱ",
    Severity.EXTRAORDINARY: "Ⅰ",
}

# the English of the State Council's national emergency plan (Level I extremely serious ... IV general)
SEVERITY_LABELS = {
    Severity.GENERAL: Label("一般", "general"),
    Severity.LARGE: Label("较大", "relatively serious"),
    Severity.MAJOR: Label("重大", "serious"),
    Severity.EXTRAORDINARY: Label("特别重大", "extremely serious"),
}

ROLES: dict[str, Label] = {
    "duty_officer": Label("值班人员", "duty officer"),
    "leader_on_duty": Label("带班领导", "leader on duty"),
    "emergency_team": Label("应急小组", "emergency team"),
    "security_team": Label("安保班组", "security team"),
    "monitoring_room": Label("监控室", "monitoring room"),
    "repair_team": Label("维修班组", "repair team"),
    "competent_department": Label("主管部门", "competent department"),
    "centre_leadership": Label("中心领导", "centre leadership"),
    "party_government": Label("同级党委政府", "party committee and government"),
    "specialists": Label("专业力量", "specialists"),
    "served_departments": Label("服务对象", "served departments"),
    "investigation_team": Label("调查组", "investigation team"),
}


class Milestone(enum.StrEnum):
    """Steps of an incident's lifecycle; each is reached by one action and can anchor deadlines."""

    RECEIVED = "received"  # 接报
    REPORTED = "reported"  # 已报告带班领导
    ON_SITE = "on_site"  # 应急小组到场
    STABILISED = "stabilised"  # 事件平息
    INVESTIGATED = "investigated"  # 调查完成
    RECTIFIED = "rectified"  # 整改完成
    FEEDBACK = "feedback"  # 已向服务对象反馈
    CLOSED = "closed"  # 关闭

    @property
    def label(self) -> Label:
        return MILESTONE_LABELS[self]


MILESTONE_LABELS = {
    Milestone.RECEIVED: Label("接报", "received"),
    Milestone.REPORTED: Label("已报告带班领导", "reported to leader"),
    Milestone.ON_SITE: Label("已到场", "team on site"),
    Milestone.STABILISED: Label("事件平息", "stabilised"),
    Milestone.INVESTIGATED: Label("调查完成", "investigation done"),
    Milestone.RECTIFIED: Label("整改完成", "rectification done"),
    Milestone.FEEDBACK: Label("已反馈服务对象", "feedback given"),
    Milestone.CLOSED: Label("已关闭", "closed"),
}


class Source(enum.StrEnum):
    """How the duty room learnt of an incident."""

    PHONE = "phone"  # 值班电话
    OA = "oa"  # OA系统
    ONSITE = "onsite"  # 现场报告
    ALARM = "alarm"  # 设备告警

    @property
    def label(self) -> Label:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    Source.PHONE: Label("值班电话", "duty phone"),
    Source.OA: Label("OA系统", "OA system"),
    Source.ONSITE: Label("现场报告", "on-site report"),
    Source.ALARM: Label("设备告警", "device alarm"),
}


class Cause(enum.StrEnum):
    """Cause categories of the investigation (技术+管理调查组): what the rules name, and the rest."""

    EQUIPMENT_AGEING = "equipment-ageing"  # 设备老化
    OPERATOR_ERROR = "operator-error"  # 操作失误
    RULE_GAP = "rule-gap"  # 制度漏洞
    OTHER = "other"  # 其他

    @property
    def label(self) -> Label:
        return CAUSE_LABELS[self]


CAUSE_LABELS = {
    Cause.EQUIPMENT_AGEING: Label("设备老化", "equipment ageing"),
    Cause.OPERATOR_ERROR: Label("操作失误", "operator error"),
    Cause.RULE_GAP: Label("制度漏洞", "gaps in the rules"),
    Cause.OTHER: Label("其他", "other"),
}


# What the investigation sets down beside its causes (RecordFinding): 调查组, 责任认定, 防范措施/经验教训.
FINDINGS = ("team", "responsibility", "lessons")
