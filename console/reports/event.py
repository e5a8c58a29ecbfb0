"""The event support report (《活动保障报告》) of one planned event: a skeleton drawn from the
event's obligations and what the rounds and tasks noted, for the review team to complete."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from dutydesk.console.reports.document import Block, Document, Fields, Heading, Paragraph, Row, Table, Tone
from dutydesk.console.reports.wording import translator
from dutydesk.playbooks.duties import Owed
from dutydesk.playbooks.duty_events import DutyDone
from dutydesk.playbooks.dutybook import PlannedEvent
from dutydesk.playbooks.obligations import State
from dutydesk.playbooks.timetable import state_of


def event_report(
    planned: PlannedEvent,
    owed: Sequence[Owed],
    done: Sequence[DutyDone],
    *,
    now: datetime,
    zone: ZoneInfo,
    lang: str,
) -> Document:
    """`owed`: what the event's plan owes at its current times; `done`: its rounds and tasks logged."""
    t = translator(lang)

    def when(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    track = planned.track
    notes = {(d.ref, d.occurrence): d for d in done if d.occurrence is not None}
    rows = []
    for item in owed:
        met_at = track.met.get(item.key)
        state = (
            State.BREACHED if item.key in track.breached and met_at is None else state_of(item, now, met_at)
        )
        late = met_at is not None and met_at > item.due_at
        word = "e.late" if late else f"e.{state.value}"
        note = notes.get(item.key)
        task = planned.plan.task(item.ref.rsplit("/", 1)[1])
        label = task.title.get(lang) + (f"（{item.occurrence}）" if task.every is not None else "")
        tone: Tone = "alert" if late or state is State.BREACHED else "plain"
        text = (note.note if note else "") + (
            f"（{t('e.drill')} {note.incident}）" if note and note.incident else ""
        )
        cells = (label, when(item.due_at), when(met_at), t(word), text)
        rows.append(Row(cells, tone))
    findings = [d for d in done if d.abnormal]
    blocks: list[Block] = [
        Heading(t("e.overview")),
        Fields(
            (
                (t("e.event"), f"{planned.title}（{planned.id}）"),
                (t("e.plan"), planned.plan.title.get(lang)),
                (t("e.place"), planned.place or "—"),
                (t("e.time"), f"{when(planned.start)} – {when(planned.end)}"),
                (t("e.moved"), str(planned.moves)),
            )
        ),
        Heading(t("e.tasks")),
        Table(
            (t("e.task"), t("e.due"), t("e.done_at"), t("e.state"), t("e.note")), tuple(rows), (6, 3, 3, 2, 5)
        ),
        Heading(t("e.findings")),
        *(
            [Paragraph(f"{when(d.at)} {d.actor}：{d.note}", "alert") for d in findings]
            or [Paragraph(t("e.no_findings"), "note")]
        ),
        Heading(t("e.review")),
        Paragraph(t("e.review_note"), "note"),
    ]
    return Document(
        title=t("e.title", title=planned.title),
        subtitle=t("e.subtitle", event=planned.id, now=when(now)),
        lang=t.lang,
        blocks=tuple(blocks),
    )
