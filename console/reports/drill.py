"""The drill evaluation report (《演练评估报告》), structured after AQ/T 9009-2015 and
GB/T 46792-2025: 演练概况, 组织与参与, 评估方法, 各环节评估与得分, 发现的问题, 改进建议与整改.

Every obligation the drill armed lands in exactly one outcome (in time, late, missed, not yet due),
so the counts add up to the number assessed (the drill's own score, result.json), and the score
is the in-time share of it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dutydesk.console import render
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.document import Block, Document, Fields, Heading, Paragraph, Row, Table
from dutydesk.console.reports.events import actor, span, when
from dutydesk.console.reports.filing import Filing, sign_off
from dutydesk.console.reports.wording import translator
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.plans import Obligation
from dutydesk.playbooks.rectification import ItemStatus

OUTCOMES = ("on_time", "late", "missed", "running")
MACHINERY = frozenset({"engine", "notifier", "ingest"})  # not participants


@dataclass(frozen=True, slots=True)
class Assessed:
    incident: Incident
    obligation: Obligation
    occurrence: int
    due_at: datetime
    met_at: datetime | None
    outcome: str  # one of OUTCOMES

    @property
    def points(self) -> int:
        return 1 if self.outcome == "on_time" else 0


def assess_all(scored: Sequence[Mapping[str, Any]], incidents: Sequence[Incident]) -> list[Assessed]:
    """Each obligation the drill armed and did not waive, as scored when it ended (result.json:
    before the after-action review filed its items), with its one outcome."""
    by_id = {i.id: i for i in incidents}
    out = []
    for entry in scored:
        if entry["due"] is None or entry["state"] == "waived":
            continue
        due = datetime.fromisoformat(entry["due"])
        met = datetime.fromisoformat(entry["met_at"]) if entry["met_at"] else None
        if met is not None:
            outcome = "on_time" if met <= due else "late"
        else:
            outcome = "missed" if entry["state"] == "breached" else "running"
        incident = by_id[entry["incident"]]
        obligation = incident.plan.obligation(entry["id"])
        out.append(Assessed(incident, obligation, entry["occurrence"], due, met, outcome))
    return out


def drill_evaluation(
    summary: Mapping[str, Any],
    incidents: Sequence[Incident],
    items: Sequence[ItemStatus],
    actors: Sequence[str],
    *,
    now: datetime,
    zone: ZoneInfo,
    lang: str,
    filing: Filing,
) -> Document:
    """`summary`: the drill's result.json; `actors`: who acted in the drill's log."""
    t = translator(lang)
    assessed = assess_all(summary["obligations"], incidents)
    counts = Counter(a.outcome for a in assessed)
    total = len(assessed)
    rate = counts["on_time"] / total if total else 1.0
    started, ended = (datetime.fromisoformat(summary[k]) for k in ("started_at", "ended_at"))
    roles = dict.fromkeys(a.obligation.role for a in assessed)
    people = dict.fromkeys(actor(a, t) for a in actors if a not in MACHINERY)
    blocks: list[Block] = [
        Heading(t("v.overview")),
        Fields(
            (
                (t("v.name"), str(summary["title"])),
                (t("v.mode"), t("v.virtual") if summary["mode"] == "virtual" else t("v.realtime")),
                (
                    t("v.time"),
                    t(
                        "v.from_to",
                        start=when(started, zone),
                        end=when(ended, zone),
                        span=span(ended - started, t),
                    ),
                ),
                (
                    t("v.incidents"),
                    t("r.list_sep").join(t("r.paren", a=i.id, b=i.plan.title.get(t.lang)) for i in incidents),
                ),
                (t("v.published"), str(summary["published"])),
            )
        ),
        Heading(t("v.organisation")),
        Paragraph(t("v.roles", roles=t("r.list_sep").join(render.role_label(r, t) for r in roles))),
        Paragraph(t("v.actors", actors=t("r.list_sep").join(people) or "—")),
        Heading(t("v.method")),
        Paragraph(t("v.method_text")),
        Heading(t("v.scoring")),
        _scores(assessed, t, zone),
        Paragraph(
            t(
                "v.totals",
                total=total,
                on_time=counts["on_time"],
                late=counts["late"],
                missed=counts["missed"],
                running=counts["running"],
                rate=f"{rate * 100:.1f}",
            )
        ),
        Heading(t("v.expectations"), level=2),
        _expectations(summary, incidents, t),
        Heading(t("v.problems")),
        *_problems(assessed, summary, t),
        Heading(t("v.improvements")),
        *_improvements(items, t, zone),
        sign_off(("v.lead", "f.reviewer"), t),
    ]
    on = ended.astimezone(zone).date()
    return Document(
        title=t("v.title", name=summary["title"]),
        subtitle=t("v.subtitle", scenario=summary["scenario"], now=when(now, zone)),
        lang=t.lang,
        blocks=tuple(blocks),
        marks=(t("drill"),),
        letterhead=filing.letterhead(),
        signature=filing.signature(on, t),
        colophon=filing.colophon(on, t),
    )


def _scores(assessed: Sequence[Assessed], t: Translator, zone: ZoneInfo) -> Table:
    rows = []
    for a in assessed:
        ob = a.obligation
        margin = "—"
        if a.met_at is not None:
            delta = a.due_at - a.met_at
            margin = t("early" if delta.total_seconds() >= 0 else "late", span=span(delta, t))
        title = ob.title.get(t.lang) + (f" #{a.occurrence}" if ob.recurring else "")
        rows.append(
            Row(
                (
                    t("r.pair", a=a.incident.id, b=title),
                    render.role_label(ob.role, t),
                    when(a.due_at, zone),
                    when(a.met_at, zone),
                    margin,
                    t(f"v.{a.outcome}"),
                    str(a.points) if a.outcome != "running" else "—",
                ),
                "alert" if a.outcome in ("late", "missed") else "plain",
            )
        )
    header = (
        t("v.step"),
        t("h.role"),
        t("r.due"),
        t("r.met_at"),
        t("r.margin"),
        t("v.outcome"),
        t("v.points"),
    )
    return Table(header, tuple(rows), (6, 2.2, 2.8, 2.8, 2.6, 2, 1.2))


def _expectations(summary: Mapping[str, Any], incidents: Sequence[Incident], t: Translator) -> Table:
    titles = {(i.plan.id, ob.id): ob.title.get(t.lang) for i in incidents for ob in i.plan.obligations}
    plan_titles = {i.plan.id: i.plan.title.get(t.lang) for i in incidents}
    rows = tuple(
        Row(
            (
                t(
                    "r.pair",
                    a=plan_titles.get(c["plan"], c["plan"]),
                    b=titles.get((c["plan"], c["obligation"]), c["obligation"]),
                ),
                t(f"v.expect.{c['expected']}"),
                t(f"v.expect.{c['actual']}"),
                t("v.yes") if c["ok"] else t("v.no"),
            ),
            "plain" if c["ok"] else "alert",
        )
        for c in summary["expectations"]
    )
    return Table((t("v.step"), t("v.expected"), t("v.actual"), t("v.as_expected")), rows, (8, 2.5, 2.5, 2))


def _problems(assessed: Sequence[Assessed], summary: Mapping[str, Any], t: Translator) -> list[Block]:
    found = [a for a in assessed if a.outcome in ("late", "missed")]
    blocks: list[Block] = [
        Paragraph(
            t(
                "v.problem",
                n=n,
                incident=a.incident.id,
                title=a.obligation.title.get(t.lang),
                role=render.role_label(a.obligation.role, t),
                outcome=t(f"v.{a.outcome}"),
            )
        )
        for n, a in enumerate(found, start=1)
    ]
    blocks += [Paragraph(t("v.refusal", text=str(r)), "note") for r in summary.get("refusals", ())]
    return blocks or [Paragraph(t("v.no_problems"))]


def _improvements(items: Sequence[ItemStatus], t: Translator, zone: ZoneInfo) -> list[Block]:
    if not items:
        return [Paragraph(t("v.no_items"))]
    rows = tuple(
        Row((s.item.id, s.item.content, s.item.owner, when(s.due_at, zone), t(f"item.{s.state.value}")))
        for s in items
    )
    header = (t("h.id"), t("r.content"), t("r.owner"), t("r.due"), t("h.state"))
    return [Paragraph(t("v.items_intro")), Table(header, rows, (3.6, 6, 2.4, 3, 2))]
