"""The rectification notice (《整改通知单》) of one register item: the problem and its cause, the
required measure, the time limit and the re-inspection date, the issuer's signature, and a tear-off
receipt (回执) for the responsible person to sign and return."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dutydesk.connectors.store import Recorded
from dutydesk.console.reports.document import Block, Document, Fields, Heading, Paragraph
from dutydesk.console.reports.filing import Filing, day, sign_off
from dutydesk.console.reports.wording import translator
from dutydesk.playbooks.events import CauseRecorded
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.rectification import ItemStatus
from dutydesk.playbooks.vocab import Cause
from dutydesk.playbooks.workdays import WorkCalendar


def reinspection(due: date, calendar: WorkCalendar) -> date:
    """The first working day after the time limit: when the centre checks the measure is in place."""
    following = due + timedelta(days=1)
    while not calendar.day(following).kind.is_workday:
        following += timedelta(days=1)
    return following


def rectification_notice(
    status: ItemStatus,
    incident: Incident,
    timeline: Sequence[Recorded],
    *,
    now: datetime,
    zone: ZoneInfo,
    lang: str,
    filing: Filing,
    calendar: WorkCalendar,
) -> Document:
    t = translator(lang)
    item = status.item
    issued = item.added_at.astimezone(zone).date()
    due = status.due_at.astimezone(zone).date()
    causes = [
        t("r.pair", a=t.label(Cause(e.category).label), b=e.text)
        for e in (r.event for r in timeline)
        if isinstance(e, CauseRecorded)
    ]
    problem = t("n.problem", title=incident.title, location=incident.location or "—", incident=incident.id)
    limit = day(due, t) + (t("r.provisional") if status.provisional else "")
    fields = Fields(
        (
            (t("n.number"), filing.number or item.id),
            (t("n.item"), item.id),
            (t("n.to"), item.owner),
            (t("n.problem_label"), problem),
            (t("n.cause"), t("r.sentence_sep").join(causes) if causes else t("n.no_cause")),
            (t("n.measure"), item.content),
            (t("n.limit"), t("n.limit_text", workdays=item.workdays, day=limit)),
            (t("n.reinspect"), day(reinspection(due, calendar), t)),
        )
    )
    blocks: list[Block] = [
        Paragraph(t("n.addressee", owner=item.owner), indent=False),
        Paragraph(t("n.opening", title=incident.title)),
        fields,
        Paragraph(t("n.closing", day=limit)),
        sign_off(("n.issuer",), t),
        Paragraph(t("n.cut"), "note"),
        Heading(t("n.receipt")),
        Fields(
            (
                (t("n.number"), filing.number or item.id),
                (t("n.measure"), item.content),
                (t("n.limit"), limit),
                (t("n.received_by"), t("f.sign")),
                (t("n.plan"), "＿" * 16),
            )
        ),
    ]
    marks = (t("drill"),) if item.drill else ()
    return Document(
        title=t("n.title"),
        subtitle=t("n.subtitle", item=item.id, now=now.astimezone(zone).strftime("%Y-%m-%d %H:%M")),
        lang=t.lang,
        blocks=tuple(blocks),
        marks=marks,
        letterhead=filing.letterhead(),
        colophon=filing.colophon(issued, t),
    )
