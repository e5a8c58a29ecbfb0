"""The report commands' work, from an open journal to a finished document: what the command line
(and the console) call, so the handlers stay thin."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.settings import Settings
from dutydesk.connectors.store import Recorded, SqliteEventStore
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.document import Document
from dutydesk.console.reports.drill import drill_evaluation
from dutydesk.console.reports.duty import duty_log, handover_record
from dutydesk.console.reports.filing import filing, issue_number
from dutydesk.console.reports.incident import investigation_report
from dutydesk.console.reports.info import check_stage, info_report
from dutydesk.console.reports.notice import rectification_notice
from dutydesk.console.reports.output import ReportError
from dutydesk.console.reports.wording import translator
from dutydesk.playbooks.events import HandoverAcknowledged
from dutydesk.playbooks.incidents import Incident
from dutydesk.playbooks.rectification import ItemStatus, assess
from dutydesk.playbooks.vocab import Milestone


def incident_of(journal: Journal, incident_id: str, ui: Translator) -> Incident:
    """`ui`: the language of the messages, which may not be the report's."""
    incident = journal.engine.projection.incidents.get(incident_id)
    if incident is None:
        raise ReportError(ui("unknown_incident", incident=incident_id))
    return incident


def items_of(journal: Journal, incident: Incident, now: datetime) -> list[ItemStatus]:
    engine = journal.engine
    closed = incident.milestones.get(Milestone.CLOSED)
    return [assess(i, engine.deadlines, now, closed) for i in engine.projection.register.of(incident.id)]


async def investigation(
    journal: Journal,
    settings: Settings,
    incident_id: str,
    *,
    now: datetime,
    lang: str,
    ui: Translator,
    actor: str,
) -> Document:
    """The investigation report, numbered in the log the first time it is made."""
    incident = incident_of(journal, incident_id, ui)
    number = await issue_number(
        journal,
        settings,
        document="investigation",
        subject=incident.id,
        actor=actor,
        at=now,
        drill=incident.drill,
    )
    engine = journal.engine
    statuses = engine.status(incident, now)
    timeline = await journal.store.read(0, incident=incident.id)
    return investigation_report(
        incident,
        statuses,
        timeline,
        items_of(journal, incident, now),
        now=now,
        zone=settings.zone,
        lang=lang,
        filing=filing(settings, number),
        calendar=engine.deadlines.calendar,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What a document command asked for: its subject (an incident, an item, a drill folder),
    the stage of an information report, the date of a duty record; and who asks, when, in what
    language (`ui`: the messages' language, which may not be the document's)."""

    subject: str | None = None
    stage: str | None = None
    on: date | None = None
    now: datetime
    lang: str
    ui: Translator
    actor: str


async def notice(journal: Journal, settings: Settings, request: Request) -> Document:
    """The rectification notice of one item, numbered in the log the first time it is made."""
    engine, ui = journal.engine, request.ui
    item = engine.projection.register.items.get(request.subject or "")
    if item is None:
        raise ReportError(ui("unknown_item", item=request.subject))
    incident = incident_of(journal, item.incident, ui)
    number = await issue_number(
        journal,
        settings,
        document="notice",
        subject=item.id,
        actor=request.actor,
        at=request.now,
        drill=item.drill,
    )
    status = assess(item, engine.deadlines, request.now, incident.milestones.get(Milestone.CLOSED))
    return rectification_notice(
        status,
        incident,
        await journal.store.read(0, incident=incident.id),
        now=request.now,
        zone=settings.zone,
        lang=request.lang,
        filing=filing(settings, number),
        calendar=engine.deadlines.calendar,
    )


async def info(journal: Journal, settings: Settings, request: Request) -> Document:
    """首报, the latest 续报 or 终报; each numbered once, in the log, when first made."""
    incident = incident_of(journal, request.subject or "", request.ui)
    timeline = await journal.store.read(0, incident=incident.id)
    stage = request.stage or "first"
    sequence = check_stage(incident, timeline, stage, translator(request.ui.lang))  # with the reports' words
    subject = f"{incident.id}/{stage}" + (f"-{sequence}" if stage == "follow" else "")
    number = await issue_number(
        journal,
        settings,
        document="info",
        subject=subject,
        actor=request.actor,
        at=request.now,
        drill=incident.drill,
        incident=incident.id,
    )
    return info_report(
        incident,
        await journal.store.read(0, incident=incident.id),  # with the number just issued
        stage,
        sequence=sequence,
        now=request.now,
        zone=settings.zone,
        lang=request.lang,
        filing=filing(settings, number),
    )


async def dutylog(journal: Journal, settings: Settings, request: Request) -> Document:
    """The duty log of a day (default: today)."""
    on = request.on or request.now.astimezone(settings.zone).date()
    return duty_log(
        await journal.store.read(0),
        on,
        now=request.now,
        zone=settings.zone,
        lang=request.lang,
        filing=filing(settings),
        deadlines=journal.engine.deadlines,
    )


async def handover(journal: Journal, settings: Settings, request: Request) -> Document:
    """The handover record: of the handover logged as event SEQ, else the last one on a date,
    else as things stand now (for the officers to sign)."""
    records = await journal.store.read(0)
    handovers = [r for r in records if isinstance(r.event, HandoverAcknowledged)]
    chosen: Recorded | None = None
    if request.subject is not None:
        chosen = next((r for r in handovers if str(r.seq) == request.subject), None)
        if chosen is None:
            raise ReportError(translator(request.ui.lang)("d.no_handover", seq=request.subject))
    elif request.on is not None:
        on_day = [r for r in handovers if r.event.at.astimezone(settings.zone).date() == request.on]
        if not on_day:
            raise ReportError(translator(request.ui.lang)("d.no_handover_on", day=request.on.isoformat()))
        chosen = on_day[-1]
    event = chosen.event if chosen is not None else None
    return handover_record(
        records,
        event.at if event is not None else request.now,
        event if isinstance(event, HandoverAcknowledged) else None,
        now=request.now,
        zone=settings.zone,
        lang=request.lang,
        filing=filing(settings),
        deadlines=journal.engine.deadlines,
    )


async def drill(journal: Journal, settings: Settings, request: Request) -> Document:
    """The evaluation of the drill run in folder `subject` (its result.json and drill.db),
    numbered in the centre's log in the drills' own sequence."""
    folder = Path(request.subject or ".")
    words = translator(request.ui.lang)
    for name in ("result.json", "drill.db"):
        if not (folder / name).is_file():
            raise ReportError(words("v.bad_folder", folder=folder, missing=name))
    try:
        summary = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{folder / 'result.json'}: {exc}") from None
    ended = datetime.fromisoformat(summary["ended_at"])
    engine = journal.engine
    async with await SqliteEventStore.open(folder / "drill.db") as store:
        run = await Journal.open(store, plans={}, deadlines=engine.deadlines, clock=journal.clock)
        incidents = [i for i in run.engine.projection.incidents.values() if i.drill]
        items = [s for i in incidents for s in items_of(run, i, ended)]
        actors = list(dict.fromkeys(r.event.actor for r in await store.read(0) if r.event.incident))
    number = await issue_number(
        journal,
        settings,
        document="drill",
        subject=folder.name,
        actor=request.actor,
        at=request.now,
        drill=True,
    )
    return drill_evaluation(
        summary,
        incidents,
        items,
        actors,
        now=request.now,
        zone=settings.zone,
        lang=request.lang,
        filing=filing(settings, number),
    )


Maker = Callable[[Journal, Settings, Request], Awaitable[Document]]
MAKERS: dict[str, Maker] = {
    "notice": notice,
    "info": info,
    "dutylog": dutylog,
    "handover": handover,
    "drill": drill,
}
