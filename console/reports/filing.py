"""What makes a report a document the centre can file: the issuing unit, a document number given
once in the log, the date, the sign-off lines, the 版头, the 落款 and the 版记."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.settings import Settings
from dutydesk.connectors.store import StorageUnavailable
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.document import Colophon, Fields, Letterhead
from dutydesk.playbooks.commands import IssueNumber


@dataclass(frozen=True, slots=True)
class Filing:
    """The issuing unit, the document's number ("" for none) and who else gets a copy."""

    unit: str
    number: str = ""
    copy_to: tuple[str, ...] = ()

    def letterhead(self) -> Letterhead:
        return Letterhead(self.unit, self.number)

    def signature(self, on: date, t: Translator) -> tuple[str, ...]:
        """落款: the unit over the date, right-aligned under the text."""
        return (self.unit, day(on, t))

    def colophon(self, on: date, t: Translator) -> Colophon | None:
        """版记 (only in Chinese: it is a Chinese office's filing mark)."""
        if t.lang != "zh":
            return None
        copy_to = t("f.copy_to", names=t("r.list_sep").join(self.copy_to)) if self.copy_to else t("f.no_copy")
        return Colophon(copy_to, self.unit, t("f.printed_on", day=day(on, t)))


def day(on: date, t: Translator) -> str:
    """2026年11月24日 (the 成文日期 in Arabic numerals, GB/T 9704-2012 7.3.5.1); 2026-11-24."""
    return f"{on.year}年{on.month}月{on.day}日" if t.lang == "zh" else on.isoformat()


def sign_off(roles: tuple[str, ...], t: Translator) -> Fields:
    """Lines to sign by hand, each with its date: 审核, 签发, the receiver of a notice."""
    return Fields(tuple((t(role), t("f.sign")) for role in roles))


def filing(settings: Settings, number: str = "") -> Filing:
    centre = settings.file.centre
    return Filing(centre.name, number, settings.file.reports.copy_to)


async def issue_number(
    journal: Journal,
    settings: Settings,
    *,
    document: str,
    subject: str,
    actor: str,
    at: datetime,
    drill: bool,
    incident: str | None = None,
) -> str:
    """The document's number: the one the log gave it before, else the next free one, recorded.
    A drill's documents count in a sequence of their own (演), so no real number is spent.
    `incident`: issuing it may meet one of the incident's obligations (a written report due).
    On a log that cannot be written (a read-only copy, a lock) a document not numbered before
    stays unnumbered: it can be read and printed, not filed."""
    prefix = settings.file.centre.doc_prefix + ("演" if drill else "")
    year = at.astimezone(settings.zone).year
    command = IssueNumber(
        actor=actor, at=at, document=document, subject=subject, prefix=prefix, year=year, incident=incident
    )
    numbers = journal.engine.projection.numbers
    try:
        await journal.submit(command)
    except StorageUnavailable:
        return numbers.get((document, subject), "")
    return numbers[(document, subject)]
