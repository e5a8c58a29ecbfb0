"""The KPI report (值班工作指标报告) of a month or a year, drills apart."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dutydesk.console import render
from dutydesk.console.i18n import Translator
from dutydesk.console.reports.charts import Bars, Series
from dutydesk.console.reports.document import Block, Document, Fields, Figure, Heading, Paragraph, Row, Table
from dutydesk.console.reports.filing import Filing, sign_off
from dutydesk.console.reports.wording import translator
from dutydesk.playbooks.kpi import Figures, Kpi, Period, Spread

TARGET = 0.95  # the centre's timeliness target (维修及时率等指标 ≥ 95%)
LATE_ITEMS_SHOWN = 50
PLACES_SHOWN = 15


def overall(figures: Figures) -> float | None:
    """The timeliness of all obligations together: in time ÷ (in time + late)."""
    on_time = sum(item.on_time for item in figures.timeliness)
    total = sum(item.total for item in figures.timeliness)
    return on_time / total if total else None


def kpi_report(kpi: Kpi, *, zone: ZoneInfo, lang: str, filing: Filing | None = None) -> Document:
    """`filing`: the issuing unit, for the head, the 落款 and the 版记."""
    t = translator(lang)
    build = _Builder(t, zone)
    real, drills = kpi.real, kpi.drills
    rate = overall(real)
    overview = Fields(
        (
            (t("k.overall"), t("k.overall_value", rate=_percent(rate), target=round(TARGET * 100))),
            (t("k.incidents"), str(real.incidents)),
            (t("k.closed"), str(real.closed)),
            (t("k.items"), str(real.rectification.total)),
            (t("k.alarm_count"), str(real.alarms.total)),
            (t("k.drill_count"), str(drills.incidents)),
        )
    )
    blocks: list[Block] = [
        Heading(t("k.overview")),
        overview,
        Heading(t("k.timeliness")),
        *build.timeliness(real, chart=True),
        Heading(t("k.durations")),
        build.durations(real),
        Heading(t("k.rectification")),
        *build.rectification(real),
        Heading(t("k.distribution")),
        *build.distribution(real),
        Heading(t("k.alarms")),
        *build.alarms(real),
        Heading(t("k.drills")),
    ]
    if drills.incidents or drills.alarms.total:
        blocks += [
            Fields(
                ((t("k.incidents"), str(drills.incidents)), (t("k.alarm_count"), str(drills.alarms.total)))
            ),
            *build.timeliness(drills, chart=False),
            build.durations(drills),
        ]
    else:
        blocks.append(Paragraph(t("k.no_drills"), "note"))
    blocks.append(sign_off(("k.compiler", "f.reviewer"), t))
    on = kpi.as_of.astimezone(zone).date()
    return Document(
        title=t("k.title", period=_period(kpi.period, t)),
        subtitle=t("k.subtitle", as_of=build.when(kpi.as_of)),
        lang=t.lang,
        blocks=tuple(blocks),
        letterhead=filing.letterhead() if filing else None,
        signature=filing.signature(on, t) if filing else (),
        colophon=filing.colophon(on, t) if filing else None,
    )


def _period(period: Period, t: Translator) -> str:
    if len(period.label) == 4:
        return t("k.year", year=period.start.year)
    return t("k.month", year=period.start.year, month=period.start.month)


def _percent(rate: float | None) -> str:
    return f"{rate * 100:.1f}%" if rate is not None else "—"


class _Builder:
    def __init__(self, t: Translator, zone: ZoneInfo) -> None:
        self.t, self.zone = t, zone

    def when(self, moment: datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    def span(self, delta: timedelta | None) -> str:
        return render.span(delta, self.t.lang) if delta is not None else "—"

    def timeliness(self, figures: Figures, *, chart: bool) -> list[Block]:
        t = self.t
        if not figures.timeliness:
            return [Paragraph(t("k.no_obligations"), "note")]
        rows = []
        for item in figures.timeliness:
            short = item.rate is not None and item.rate < TARGET
            cells = (item.title.get(t.lang), str(item.on_time), str(item.late), _percent(item.rate))
            rows.append(Row(cells, "alert" if short else "plain"))
        header = (t("k.kind"), t("k.on_time"), t("k.late"), t("k.rate"))
        blocks: list[Block] = [
            Table(header, tuple(rows), (8, 2, 2, 2)),
            Paragraph(t("k.timeliness_note", target=round(TARGET * 100)), "note"),
        ]
        if chart:
            bars = Bars(
                labels=tuple(i.title.get(t.lang) for i in figures.timeliness),
                values=tuple((i.rate or 0.0) * 100 for i in figures.timeliness),
                axis=t("k.rate"),
                target=TARGET * 100,
                target_label=t("k.target", target=round(TARGET * 100)),
                percent=True,
            )
            blocks.append(Figure(bars, t("k.timeliness_caption")))
        return blocks

    def durations(self, figures: Figures) -> Table:
        t = self.t

        def row(label: str, spread: Spread) -> Row:
            return Row((label, str(spread.count), self.span(spread.median), self.span(spread.p90)))

        return Table(
            (t("k.measure"), t("k.count"), t("k.median"), t("k.p90")),
            (row(t("k.acknowledge"), figures.acknowledge), row(t("k.stabilise"), figures.stabilise)),
            (6, 2, 3, 3),
        )

    def rectification(self, figures: Figures) -> list[Block]:
        t, r = self.t, figures.rectification
        blocks: list[Block] = [
            Fields(
                (
                    (t("k.items_total"), str(r.total)),
                    (t("k.items_on_time"), str(r.on_time)),
                    (t("k.items_late"), str(r.done_late)),
                    (t("k.items_overdue"), str(r.overdue)),
                    (t("k.items_open"), str(r.open)),
                    (t("k.items_waived"), str(r.waived)),
                    (t("k.items_rate"), _percent(r.rate)),
                )
            )
        ]
        if r.late_items:
            rows = tuple(
                Row(
                    (
                        i.item,
                        i.content,
                        i.owner,
                        self.when(i.due_at),
                        self.when(i.done_at) if i.done_at else t("item.overdue"),
                    ),
                    "alert",
                )
                for i in r.late_items[:LATE_ITEMS_SHOWN]
            )
            header = (t("h.id"), t("r.content"), t("r.owner"), t("r.due"), t("r.met_at"))
            blocks += [Heading(t("k.late_items"), level=2), Table(header, rows, (3, 7, 2, 3, 3))]
            if len(r.late_items) > LATE_ITEMS_SHOWN:
                blocks.append(Paragraph(t("k.more", count=len(r.late_items) - LATE_ITEMS_SHOWN), "note"))
        return blocks

    def distribution(self, figures: Figures) -> list[Block]:
        t = self.t
        if not figures.incidents:
            return [Paragraph(t("no_incidents"), "note")]
        types = tuple(Row((title.get(t.lang), str(n))) for _, title, n in figures.by_plan)
        places = [
            Row((place or t("k.unknown_place"), str(n))) for place, n in figures.by_location[:PLACES_SHOWN]
        ]
        rest = sum(n for _, n in figures.by_location[PLACES_SHOWN:])
        if rest:
            places.append(Row((t("k.others"), str(rest))))
        levels = tuple(Row((t.label(level.label), str(n))) for level, n in figures.by_severity)
        bars = Bars(
            labels=tuple(title.get(t.lang) for _, title, _ in figures.by_plan),
            values=tuple(float(n) for _, _, n in figures.by_plan),
            axis=t("k.incidents"),
        )
        return [
            Heading(t("k.by_type"), level=2),
            Table((t("k.type"), t("k.count")), types, (8, 2)),
            Figure(bars, t("k.type_caption")),
            Heading(t("k.by_location"), level=2),
            Table((t("k.location"), t("k.count")), tuple(places), (8, 2)),
            Heading(t("k.by_level"), level=2),
            Table((t("k.level"), t("k.count")), levels, (8, 2)),
        ]

    def alarms(self, figures: Figures) -> list[Block]:
        t, load = self.t, figures.alarms
        if not load.total:
            return [Paragraph(t("k.no_alarms"), "note")]
        longest = max(load.floods, key=lambda f: f.end - f.start, default=None)
        fields = Fields(
            (
                (t("k.alarm_count"), str(load.total)),
                (t("k.alarm_average"), f"{load.average:.2f}"),
                (t("k.alarm_peak"), t("r.paren", a=str(load.peak), b=self.when(load.peak_at))),
                (t("k.alarm_flooded"), f"{load.flooded_share * 100:.2f}%"),
                (t("k.alarm_floods"), str(len(load.floods))),
                (
                    t("k.alarm_longest"),
                    t("r.paren", a=self.span(longest.end - longest.start), b=self.when(longest.start))
                    if longest
                    else "—",
                ),
            )
        )
        devices = tuple(Row((d.device, str(d.alarms), str(d.chatter))) for d in load.devices)
        series = Series(
            days=tuple(day for day, _ in load.per_day),
            values=tuple(n for _, n in load.per_day),
            axis=t("k.per_day"),
            dates=t("k.date"),
        )
        return [
            fields,
            Paragraph(t("k.alarm_note"), "note"),
            Heading(t("k.devices"), level=2),
            Table((t("k.device"), t("k.alarm_count"), t("k.chatter")), devices, (8, 2, 2)),
            Figure(series, t("k.alarm_caption")),
        ]
