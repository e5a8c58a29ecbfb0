"""Scoring a drill against its plans and expectations, and the after-action report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dutydesk.connectors.application.journal import Journal
from dutydesk.playbooks.clock import iso
from dutydesk.playbooks.commands import AddRectification, ReachMilestone
from dutydesk.playbooks.engine import Engine
from dutydesk.playbooks.events import MERGED_INTO
from dutydesk.playbooks.obligations import State
from dutydesk.playbooks.plans import Text
from dutydesk.playbooks.vocab import ROLES, Milestone
from dutydesk.sim.drill import DrillLog
from dutydesk.sim.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Scored:
    """One obligation occurrence of one drill incident, as the drill ended."""

    incident: str
    plan: str
    obligation: str
    title: Text
    role: str
    occurrence: int
    due_at: datetime | None
    met_at: datetime | None
    state: str

    @property
    def margin(self) -> timedelta | None:
        if self.due_at is None or self.met_at is None:
            return None
        return self.due_at - self.met_at

    @property
    def on_time(self) -> bool:
        return self.state == State.MET and self.margin is not None and self.margin >= timedelta(0)


@dataclass(frozen=True, slots=True)
class Checked:
    plan: str
    obligation: str
    expected: str
    actual: str

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


@dataclass(slots=True)
class DrillResult:
    scenario: Scenario
    mode: str
    started_at: datetime
    ended_at: datetime
    log: DrillLog
    scored: list[Scored] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)
    improvements: list[str] = field(default_factory=list)  # rectification items filed

    @property
    def armed(self) -> list[Scored]:
        return [s for s in self.scored if s.due_at is not None and s.state != State.WAIVED]

    @property
    def rate(self) -> float:
        armed = self.armed
        return sum(s.on_time for s in armed) / len(armed) if armed else 1.0

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checked)

    def went_well(self) -> list[Scored]:
        return [s for s in self.armed if s.on_time]

    def to_improve(self) -> list[Scored]:
        return [s for s in self.armed if not s.on_time and s.state != State.PENDING]


def score(
    scenario: Scenario, engine: Engine, *, mode: str, started: datetime, ended: datetime, log: DrillLog
) -> DrillResult:
    result = DrillResult(scenario, mode, started, ended, log)
    for incident in engine.projection.incidents.values():
        if not incident.drill:
            continue
        for status in engine.status(incident, ended):
            ob = status.obligation
            result.scored.append(
                Scored(
                    incident.id,
                    incident.plan.id,
                    ob.id,
                    ob.title,
                    ob.role,
                    status.occurrence,
                    status.due_at,
                    status.met_at,
                    status.state.value,
                )
            )
    for expectation in scenario.expect:
        if expectation.incidents is not None:
            result.checked.append(_count(engine, expectation.plan, expectation.incidents))
            continue
        found = [
            s for s in result.scored if s.plan == expectation.plan and s.obligation == expectation.obligation
        ]
        actual = "missing"
        if found:
            # "met" only if every occurrence in every incident of that plan was met in time
            actual = "met" if all(s.on_time for s in found) else "breached"
        result.checked.append(
            Checked(expectation.plan, expectation.obligation or "", expectation.state, actual)
        )
    return result


def _count(engine: Engine, plan: str, expected: int) -> Checked:
    """The drill's incidents of `plan`, a merged one counting once (in the one it joined)."""
    actual = sum(
        1
        for incident in engine.projection.incidents.values()
        if incident.drill
        and incident.plan.id == plan
        and not (incident.close_reason or "").startswith(MERGED_INTO)
    )
    return Checked(plan, INCIDENTS, str(expected), str(actual))


REVIEW = "drill-review"
INCIDENTS = "incidents"  # what a count expectation checks, in place of an obligation


def result_json(result: DrillResult, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "scenario": result.scenario.id,
        "title": result.scenario.title.zh,
        "mode": result.mode,
        "started_at": iso(result.started_at, zone),
        "ended_at": iso(result.ended_at, zone),
        "published": result.log.published,
        "score": {
            "on_time": sum(s.on_time for s in result.armed),
            "armed": len(result.armed),
            "rate": round(result.rate, 4),
        },
        "passed": result.passed,
        "expectations": [
            {
                "plan": c.plan,
                "obligation": c.obligation,
                "expected": c.expected,
                "actual": c.actual,
                "ok": c.ok,
            }
            for c in result.checked
        ],
        "obligations": [
            {
                "incident": s.incident,
                "plan": s.plan,
                "id": s.obligation,
                "title": s.title.zh,
                "occurrence": s.occurrence,
                "due": iso(s.due_at, zone),
                "met_at": iso(s.met_at, zone),
                "state": s.state,
                "margin_seconds": s.margin.total_seconds() if s.margin is not None else None,
            }
            for s in sorted(result.scored, key=lambda s: (s.incident, s.obligation, s.occurrence))
        ],
        "refusals": result.log.refusals,
        "improvements": result.improvements,
    }


async def file_improvements(
    result: DrillResult, journal: Journal, *, workdays: int, reminders: tuple[int, ...]
) -> None:
    """What to improve goes into the drill's rectification register, with owners and working-day
    limits: the after-action review stands as the drill incident's investigation."""
    to_improve: dict[str, list[Scored]] = {}
    for scored in result.to_improve():
        to_improve.setdefault(scored.incident, []).append(scored)
    at = result.ended_at
    for incident_id, missed in to_improve.items():
        incident = journal.engine.incident(incident_id)
        steps = [m for m in (Milestone.STABILISED, Milestone.INVESTIGATED) if m not in incident.milestones]
        for step in steps:
            text = "演练总结" if step is Milestone.INVESTIGATED else None
            await journal.submit(
                ReachMilestone(actor=REVIEW, at=at, incident=incident_id, milestone=step, text=text)
            )
        for scored in missed:
            late = (
                f"（超时 {-scored.margin.total_seconds() / 60:.0f} 分钟）"
                if scored.margin is not None
                else "（未完成）"
            )
            (outcome,) = await journal.submit(
                AddRectification(
                    actor=REVIEW,
                    at=at,
                    incident=incident_id,
                    content=f"演练改进：{scored.title.zh}{late}",
                    owner=ROLES[scored.role].zh if scored.role in ROLES else scored.role,
                    workdays=workdays,
                    from_investigation=True,
                    reminders=reminders,
                )
            )
            if outcome.recorded:
                result.improvements.append(str(getattr(outcome.recorded[-1].event, "item", "")))
