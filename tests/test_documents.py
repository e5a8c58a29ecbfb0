"""Documents the centre can file: the GB/T 9704-2012 layout read back from real PDF and DOCX files,
the line-breaking rules, document numbers given once (also by two processes at once), the
investigation's new sections, and zh documents free of raw kinds, actor ids and English words."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from docx.shared import Length
from pypdf import PdfReader

from dutydesk.connectors.application.journal import Journal
from dutydesk.connectors.store import SqliteEventStore
from dutydesk.console.reports.fonts import OFFICE_NAMES
from dutydesk.console.reports.linebreak import CLOSING, OPENING, lines
from dutydesk.playbooks.clock import ManualClock
from dutydesk.playbooks.commands import AcknowledgeHandover
from dutydesk.playbooks.obligations import Deadlines
from tests.conftest import CliRunner

MM = 72 / 25.4  # points per millimetre
RAW = ("alarm.observed", "notification.queued", "obligation.breached", "engine", "ingest", "drill-responder")
ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9-])[A-Za-z]{3,}(?![A-Za-z0-9-])")


def run_ok(cli: CliRunner, *argv: str) -> str:
    run = cli(*argv)
    assert run.code == 0, run.err
    return run.out.strip()


@pytest.fixture
def incident(cli: CliRunner, clock: ManualClock, home: Path, deadlines: Deadlines) -> str:
    """An entrapment reported late, with its contractor never called (the engine's timer records
    the breaches), investigated with a team, responsibility, lessons and a reason for lateness."""
    incident = run_ok(
        cli,
        "incident",
        "open",
        "--plan",
        "elevator-entrapment",
        "--title",
        "3号楼2号梯困人",
        "--location",
        "3号楼",
    )
    clock.advance(timedelta(minutes=40))
    asyncio.run(_fire(home, clock, deadlines))  # the timer: report-leader and contractor breached
    run_ok(cli, "incident", incident, "report")
    run_ok(cli, "incident", incident, "arrive")
    clock.advance(timedelta(minutes=30))
    run_ok(cli, "incident", incident, "stabilise")
    clock.advance(timedelta(days=1))
    for section, text in (
        ("team", "李主任（组长）、张工、王科"),
        ("responsibility", "维保单位未按期更换制动器，负主要责任。"),
        ("lessons", "每季度核查维保记录。"),
    ):
        run_ok(cli, "incident", incident, "finding", "--section", section, "--text", text)
    run_ok(cli, "incident", incident, "late", "report-leader", "--text", "值班电话占线，未能及时报告")
    run_ok(cli, "incident", incident, "cause", "--category", "equipment-ageing", "--text", "制动器老化")
    run_ok(cli, "incident", incident, "investigated")
    return incident


async def _fire(home: Path, clock: ManualClock, deadlines: Deadlines) -> None:
    async with await SqliteEventStore.open(home / "dutydesk.db") as store:
        journal = await Journal.open(store, plans={}, deadlines=deadlines, clock=clock)
        assert await journal.fire()


# -- layout ----------------------------------------------------------------------------------------


def test_pdf_is_a4_with_the_standard_text_block(cli: CliRunner, incident: str, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    run_ok(cli, "report", "incident", incident, "-o", str(target))
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, as the umask allows
    reader = PdfReader(target)
    for number, page in enumerate(reader.pages, start=1):
        assert (round(float(page.mediabox.width) / MM), round(float(page.mediabox.height) / MM)) == (210, 297)
        spots: list[tuple[float, float, str]] = []

        def seen(text: str, cm: list[float], tm: list[float], *_: object, spots: list = spots) -> None:  # type: ignore[type-arg]
            spots.append((cm[4] + tm[4] * cm[0], cm[5] + tm[5] * cm[3], text))  # where each line starts

        page.extract_text(visitor_text=seen)
        body = [(x, y) for x, y, text in spots if text.strip() and y > 30 * MM]
        foot = [text for x, y, text in spots if text.strip() and y <= 30 * MM]
        # text starts at the binding margin and stays inside 37 mm from the top, 35 from the bottom
        assert min(x for x, _ in body) == pytest.approx(28 * MM, abs=1)
        assert all(x < (210 - 26) * MM for x, _ in body)
        assert all(35 * MM - 1 <= y <= (297 - 37) * MM for _, y in body)
        assert "".join(foot).strip() == f"— {number} —"
    text = "".join(page.extract_text() for page in reader.pages)
    assert "机关事务服务中心" in text and "机事〔2026〕1号" in text and "抄送" in text and "印发" in text
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[union-attr]
    }
    # the default faces, embedded (subset): Song (AR PL SungtiL GB), Kai (KaitiM GB), Hei (Zen Hei)
    for face in ("BousungEG-Light-GB", "GBZenKai-Medium", "WenQuanYiZenHei"):
        assert any(face in name and "+" in name for name in fonts), fonts


def test_docx_is_a4_names_the_office_faces_and_numbers_pages(
    cli: CliRunner, incident: str, tmp_path: Path
) -> None:
    target = tmp_path / "report.docx"
    run_ok(cli, "report", "incident", incident, "-o", str(target))
    document = docx.Document(str(target))
    section = document.sections[0]
    sizes = (section.page_width, section.page_height)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [round(Length(size).mm, 1) for size in sizes] == [210, 297]  # stored in twips
    assert [round(Length(margin).mm, 1) for margin in margins] == [37, 35, 28, 26]
    faces = set()
    for paragraph in document.paragraphs:
        for run in (r for r in paragraph.runs if r.text):  # not the chart's picture
            fonts = run.element.rPr.find(qn("w:rFonts"))  # type: ignore[union-attr]
            faces.add(fonts.get(qn("w:eastAsia")))
    assert faces == set(OFFICE_NAMES.values())
    title = next(p for p in document.paragraphs if p.text == "3号楼2号梯困人 事件调查报告")
    assert title.runs[0].font.size.pt == 22  # type: ignore[union-attr]
    heading = document.styles["Heading 1"]
    assert heading.font.color.rgb == docx.shared.RGBColor(0, 0, 0)  # type: ignore[attr-defined]
    # ids and dates keep whole in Word and LibreOffice: fixed cell widths, non-breaking hyphens
    overview = document.tables[0]
    assert overview.cell(0, 1).text == "20261123-001"
    assert "w:noBreakHyphen" in overview.cell(0, 1)._tc.xml
    assert all(cell.width is not None for row in overview.rows for cell in row.cells)
    for footer in (section.footer, section.even_page_footer):
        xml = footer.paragraphs[0]._p.xml
        assert "PAGE" in xml and footer.paragraphs[0].text.replace(" ", "") == "——"


# -- the investigation report ----------------------------------------------------------------------


def test_zh_report_has_no_raw_kinds_actor_ids_or_english(
    cli: CliRunner, incident: str, tmp_path: Path
) -> None:
    target = tmp_path / "report.pdf"
    run_ok(cli, "report", "incident", incident, "-o", str(target))
    text = "".join(page.extract_text() for page in PdfReader(target).pages)
    assert "超时" in text and "系统" in text  # the timer's breaches, by the system
    for raw in RAW:
        assert raw not in text
    assert set(ENGLISH_WORD.findall(text)) == {"tester"}  # the operator's name, as given


def test_investigation_sections_and_late_reasons(cli: CliRunner, incident: str) -> None:
    text = run_ok(cli, "report", "incident", incident)
    assert "- **调查组**：李主任（组长）、张工、王科" in text
    assert "## 五、责任认定\n\n1. 维保单位未按期更换制动器，负主要责任。" in text
    assert "## 七、防范措施与经验教训\n\n1. 每季度核查维保记录。" in text
    assert "30分钟内报告带班领导：值班电话占线，未能及时报告" in text
    # the contractor's lateness has no reason yet, and the report says so, in red
    assert "**联系电梯维保单位：尚未说明超时原因。**" in text
    late = next(line for line in text.splitlines() if line.startswith("| **30分钟内报告带班领导"))
    assert "超时完成" in late and "超时 10分钟" in late
    investigation = next(line for line in text.splitlines() if line.startswith("| 3个工作日内完成调查"))
    assert "提前 2个工作日" in investigation  # Tuesday for Thursday: in working days
    # a breach at its due time (09:30), though the timer, not running, recorded it at 09:40
    breach = next(line for line in text.splitlines() if "**超时**" in line and "30分钟内报告带班领导" in line)
    assert breach.startswith("| **2026-11-23 09:30** |") and "至 11-23 09:40 引擎未运行" in breach
    # 处置经过 in time order, whatever the order of entry
    handling = text.split("## 二、处置经过")[1].split("## 三")[0]
    times = [line.split("|")[1].strip(" *") for line in handling.splitlines() if line.startswith("| ")][1:]
    assert times == sorted(times) and len(times) > 8


def test_a_report_made_twice_differs_only_in_its_stamp(
    cli: CliRunner, clock: ManualClock, incident: str, tmp_path: Path
) -> None:
    first = run_ok(cli, "report", "incident", incident)
    run_ok(cli, "report", "incident", incident, "-o", str(tmp_path / "first.pdf"))
    clock.advance(timedelta(days=3))
    second = run_ok(cli, "report", "incident", incident)
    run_ok(cli, "report", "incident", incident, "-o", str(tmp_path / "second.pdf"))
    stamps = re.compile(r"生成于 \d{4}-\d\d-\d\d \d\d:\d\d")
    assert len(stamps.findall(first)) == 1 and stamps.findall(first) != stamps.findall(second)
    assert stamps.sub("", first) == stamps.sub("", second)
    pdfs = [
        "".join(p.extract_text() for p in PdfReader(tmp_path / f"{n}.pdf").pages) for n in ("first", "second")
    ]
    assert stamps.sub("", pdfs[0]) == stamps.sub("", pdfs[1])
    # the document number is the one it got the first time
    assert first.count("机事〔2026〕1号") == 1


def test_reason_for_an_obligation_that_was_not_late_is_refused(cli: CliRunner, incident: str) -> None:
    run = cli("incident", incident, "late", "investigation", "--text", "无")
    assert run.code == 1 and "not late" in run.err


def test_document_numbers_are_unique_across_two_processes(
    cli: CliRunner, clock: ManualClock, home: Path, tmp_path: Path
) -> None:
    incidents = [
        run_ok(cli, "incident", "open", "--plan", "power-outage", "--title", f"配电房跳闸{n}")
        for n in range(8)
    ]
    script = (
        "import sys, io\nfrom dutydesk.console.cli import main\n"
        "for incident in sys.argv[1:]:\n"
        "    assert main(['report', 'incident', incident], out=io.StringIO()) == 0\n"
    )
    env = os.environ | {"DUTYDESK_HOME": str(home)}
    # each process makes every report, in opposite orders: they race for every number
    workers = [
        subprocess.Popen([sys.executable, "-c", script, *order], env=env, stderr=subprocess.PIPE)
        for order in (incidents, incidents[::-1])
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()
    numbers = asyncio.run(_numbers(home))
    assert sorted(subject for subject, _ in numbers) == sorted(incidents)
    serials = sorted(int(number.split("〕")[1].removesuffix("号")) for _, number in numbers)
    assert serials == list(range(1, 9))


async def _numbers(home: Path) -> list[tuple[str, str]]:
    async with await SqliteEventStore.open(home / "dutydesk.db") as store:
        return [(r.event.subject, r.event.number) for r in await store.read_kind("document.numbered")]  # type: ignore[attr-defined]


# -- line breaking -----------------------------------------------------------------------------------


def width(text: str) -> float:
    return float(len(text))


@pytest.mark.parametrize(
    "text",
    [
        "事件编号20261120-001-R1（张工，电梯维保单位）于2026-11-20 03:15报告。《事件调查报告》已发文。",
        "“困人”已解除，乘客（2人）情绪稳定；维保单位【张工】到场。",
        "截至11月20日，及时率95.5%，低于目标（≥95%）：需整改。",
    ],
)
@pytest.mark.parametrize("limit", [6, 7, 9, 12, 17])
def test_no_line_starts_closing_or_ends_opening_and_tokens_stay_whole(text: str, limit: int) -> None:
    broken = lines(text, limit, width)
    assert "".join(broken).replace(" ", "") == text.replace(" ", "")
    assert all(width(line) <= limit for line in broken)
    assert not any(line[0] in CLOSING for line in broken[1:])
    assert not any(line[-1] in OPENING for line in broken[:-1])
    for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9.:%-]*[A-Za-z0-9%]", text):
        if len(token) <= limit:
            assert any(token in line for line in broken), (token, broken)


def test_english_breaks_at_spaces() -> None:
    broken = lines("the duty officer reported to the leader on duty at once", 12, width)
    assert broken == ["the duty", "officer", "reported to", "the leader", "on duty at", "once"]


def test_a_token_wider_than_the_line_is_split_as_a_last_resort() -> None:
    assert lines("编号20261120-001-R1", 8, width) == ["编号", "20261120", "-001-R1"]


def test_first_line_indent_and_newlines() -> None:
    assert lines("一二三四五六七八\n九十", 4, width, first=2) == ["一二", "三四五六", "七八", "九十"]


# -- the new documents -------------------------------------------------------------------------------

WRITTEN_PLAN = """
id: network-down
title: {zh: 网络瘫痪, en: Network down}
severity: general
triggers: {reports: [network-down]}
obligations:
  - id: report-leader
    title: {zh: 30分钟内报告带班领导, en: Report to the leader within 30 minutes}
    role: duty_officer
    due: 30m
    met_by: reported
  - id: written-first
    title: {zh: 60分钟内书面首报, en: Written first report within 60 minutes}
    role: duty_officer
    due: 60m
    met_by: report-first
  - id: progress-update
    title: {zh: 每小时报告进展, en: Hourly progress report}
    role: duty_officer
    every: 60m
    until: stabilised
    met_by: update
  - id: written-final
    title: {zh: 平息后1个工作日内书面终报, en: Written final report within 1 working day}
    role: duty_officer
    after: stabilised
    due: 1wd
    met_by: report-final
"""


def test_information_reports_meet_the_plans_written_report_limits(
    cli: CliRunner, clock: ManualClock, home: Path
) -> None:
    (home / "plans").mkdir()
    (home / "plans" / "network-down.yaml").write_text(WRITTEN_PLAN, encoding="utf-8")
    incident = run_ok(
        cli, "incident", "open", "--plan", "network-down", "--title", "办公网中断", "--location", "1号楼机房"
    )
    assert cli("report", "info", incident, "--stage", "follow").code == 1  # no update yet: nothing to follow
    clock.advance(timedelta(minutes=10))
    run_ok(cli, "incident", incident, "report")
    clock.advance(timedelta(minutes=40))
    first = run_ok(cli, "report", "info", incident)
    assert "# 关于办公网中断的首报" in first and "机事〔2026〕1号" in first
    assert "已于2026-11-23 09:10报告带班领导。" in first
    for n, (measures, status) in enumerate(
        [("重启核心交换机", "部分恢复"), ("更换光模块", "全部恢复")], start=1
    ):
        clock.advance(timedelta(minutes=20))
        run_ok(cli, "incident", incident, "note", f"第{n}次核实：影响{n * 3}个处室")
        run_ok(
            cli, "incident", incident, "update", "--measures", measures, "--status", status, "--next", "观察"
        )
        follow = run_ok(cli, "report", "info", incident, "--stage", "follow")
        assert f"续报{'一二'[n - 1]}" in follow and measures in follow and f"第{n}次核实" in follow
        assert "第1次核实" not in follow or n == 1  # a 续报 does not repeat the earlier ones
    assert cli("report", "info", incident, "--stage", "final").code == 1  # not stabilised yet
    run_ok(cli, "incident", incident, "stabilise")
    final = run_ok(cli, "report", "info", incident, "--stage", "final")
    assert "# 关于办公网中断的终报" in final and "事件平息" in final and "机事〔2026〕4号" in final
    # each stage numbered once, in the log, in the order issued (making one again reuses its number)
    run_ok(cli, "report", "info", incident)
    assert asyncio.run(_numbers(home)) == [
        (f"{incident}/first", "机事〔2026〕1号"),
        (f"{incident}/follow-1", "机事〔2026〕2号"),
        (f"{incident}/follow-2", "机事〔2026〕3号"),
        (f"{incident}/final", "机事〔2026〕4号"),
    ]
    # issuing met the written-report obligations, at the time each was issued
    shown = json_of(cli, "incidents", "show", incident)
    states = {o["id"]: (o["state"], o["met_at"]) for o in shown["obligations"]}
    assert states["written-first"] == ("met", "2026-11-23T09:50:00+08:00")
    assert states["written-final"][0] == "met"


def test_rectification_notice_with_its_receipt(cli: CliRunner, incident: str, tmp_path: Path) -> None:
    item = run_ok(cli, "rectify", "add", incident, "--content", "更换制动器", "--owner", "张工")
    text = run_ok(cli, "report", "notice", item)
    assert "# 整改通知单" in text and "机事〔2026〕1号" in text
    assert "- **责任人**：张工" in text and "- **整改要求**：更换制动器" in text
    assert "- **问题原因**：设备老化：制动器老化" in text
    # 15 working days from the investigation (Tuesday 24 November): Tuesday 15 December
    assert "- **整改时限**：15个工作日，至2026年12月15日" in text
    assert "- **复查日期**：2026年12月16日" in text
    assert "## 回　执" in text.split("沿此线剪开")[1]
    target = tmp_path / "notice.docx"
    run_ok(cli, "report", "notice", item, "-o", str(target))
    tables = docx.Document(str(target)).tables
    assert tables[-1].rows[0].cells[1].text == "机事〔2026〕1号"  # the receipt names the notice
    assert cli("report", "notice", "20261123-001-R9").code == 1


def json_of(cli: CliRunner, *argv: str) -> dict:  # type: ignore[type-arg]
    import json

    return json.loads(run_ok(cli, *argv, "--json"))  # type: ignore[no-any-return]


def test_duty_log_and_handover_record(
    cli: CliRunner, clock: ManualClock, home: Path, deadlines: Deadlines, incident: str
) -> None:
    # the fixture's incident was received on Monday 23 November; the handover is taken in the
    # console (the command line has no such command), here through the same journal
    async def hand_over() -> None:
        async with await SqliteEventStore.open(home / "dutydesk.db") as store:
            journal = await Journal.open(store, plans={}, deadlines=deadlines, clock=clock)
            command = AcknowledgeHandover(actor="李接班", outgoing="王交班", summary="制动器更换待跟进")
            (outcome,) = await journal.submit(command)
            assert outcome.recorded

    item = run_ok(cli, "rectify", "add", incident, "--content", "更换制动器", "--owner", "张工")
    asyncio.run(hand_over())
    log = run_ok(cli, "report", "dutylog", "--date", "2026-11-23")
    assert "# 值班日志（2026年11月23日）" in log and "- **值班人员**：tester" in log
    entries = [
        line
        for line in log.split("## 二、值班记录")[1].split("## 三")[0].splitlines()
        if line.startswith("| ")
    ]
    assert entries[1].startswith("| 09:00 | 20261123-001 | 接报 | tester |")
    assert any(line.startswith("| **09:30**") and "| **系统** |" in line for line in entries)  # a breach
    assert "- **接报事件**：1" in log
    # the end of that day: the incident still open, listed as left over
    assert "| 20261123-001 | 3号楼2号梯困人 | 3号楼 | 较大 | 事件平息 |" in log.split("## 三、遗留事项")[1]
    record = run_ok(cli, "report", "handover", "--date", clock.now().date().isoformat())
    assert "- **交班人**：王交班" in record and "- **接班人**：李接班" in record
    problems = record.split("## 二、问题清")[1].split("## 三、任务清")[0]
    tasks = record.split("## 三、任务清")[1]
    assert "联系电梯维保单位" in problems and "已超时" in problems
    assert f"{item}：更换制动器" in tasks and "张工" in tasks and "已免除" not in tasks
    assert "制动器更换待跟进" in record and "交班人" in record.split("## 四、交接说明")[1]
    assert cli("report", "handover", "--date", "2026-11-20").code == 1


def test_drill_evaluation_counts_add_up(tmp_path: Path) -> None:
    import io
    import json

    from dutydesk.console.cli import main

    env = {"DUTYDESK_HOME": str(tmp_path)}
    args = ["drill", "run", "power-cut-elevator", "--virtual", "--headless", "--json"]
    out, err = io.StringIO(), io.StringIO()
    assert main(args, env=env, out=out, err=err) == 0, err.getvalue()
    (folder,) = (tmp_path / "drills").iterdir()
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    out = io.StringIO()
    assert main(["report", "drill", str(folder)], env=env, out=out, err=err) == 0, err.getvalue()
    text = out.getvalue()
    for heading in (
        "一、演练概况",
        "二、组织与参与",
        "三、评估方法",
        "四、各环节评估与得分",
        "五、发现的问题",
        "六、改进建议与整改",
    ):
        assert f"## {heading}" in text
    assert "机事演〔2026〕1号" in text  # the drills' own sequence: no real number spent
    total, on_time = result["score"]["armed"], result["score"]["on_time"]
    totals = re.search(
        r"共评估 (\d+) 项：按时完成 (\d+) 项，超时完成 (\d+) 项，未完成 (\d+) 项，演练结束时尚未到期 (\d+) 项",
        text,
    )
    assert totals is not None
    counts = [int(n) for n in totals.groups()]
    assert counts[0] == total and counts[1] == on_time and sum(counts[1:]) == total
    scored = [
        line
        for line in text.split("## 四")[1].split("共评估")[0].splitlines()
        if line.startswith("| ") and "D20" in line
    ]
    assert len(scored) == total
    assert sum("按时完成" in line for line in scored) == on_time
    for item in result["improvements"]:
        assert item in text.split("## 六")[1]
    for raw in (*RAW, "met → met", "breached"):
        assert raw not in text
    assert cli_fails(["report", "drill", str(tmp_path)], env)


def cli_fails(argv: list[str], env: dict[str, str]) -> bool:
    import io

    from dutydesk.console.cli import main

    err = io.StringIO()
    return main(argv, env=env, out=io.StringIO(), err=err) == 1 and "result.json" in err.getvalue()


def test_kpi_report_names_the_unit_gives_the_overall_rate_and_a_sign_off(
    cli: CliRunner, incident: str
) -> None:
    text = run_ok(cli, "report", "kpi", "--month", "2026-11")
    assert text.startswith("**机关事务服务中心**")
    # the fixture's incident: four kinds of obligation fell due, some in time, some late
    rows = [
        line
        for line in text.split("## 二、响应及时率")[1].split("##")[0].splitlines()
        if line.startswith("| ")
    ][1:]  # after the header
    assert len(rows) == 4
    on_time = sum(int(line.split("|")[2].strip(" *")) for line in rows)
    late = sum(int(line.split("|")[3].strip(" *")) for line in rows)
    assert f"- **总体及时率**：{on_time / (on_time + late) * 100:.1f}%（目标 ≥ 95%）" in text
    assert "- **编制**：签字" in text and "- **审核**：签字" in text


@pytest.mark.parametrize("days", [3, 9, 30, 365])
def test_the_daily_chart_has_dates_on_its_axis(days: int) -> None:
    from datetime import date

    from dutydesk.console.reports.charts import Series
    from dutydesk.console.reports.drawing import _draw

    first = date(2026, 11, 3)  # a Tuesday: a short period need not hold a Monday
    series = Series(tuple(first + timedelta(days=n) for n in range(days)), (1,) * days, "告警数", "日期")
    axes = _draw(series).axes[0]
    labels = [label.get_text() for label in axes.get_xticklabels()]
    assert labels[0] == "11-03" and len(labels) >= min(days, 3)
    assert all(re.fullmatch(r"\d\d-\d\d", label) for label in labels)
    assert axes.get_xlabel() == "日期"


def test_every_new_document_in_every_format_and_language(
    cli: CliRunner, clock: ManualClock, incident: str, tmp_path: Path
) -> None:
    run_ok(cli, "incident", incident, "note", "乘客已安全撤离")
    item = run_ok(cli, "rectify", "add", incident, "--content", "更换制动器", "--owner", "张工")
    documents = {
        "notice": ([item], "# Rectification notice"),
        "info": ([incident, "--stage", "final"], "# Final report: 3号楼2号梯困人"),
        "dutylog": (["--date", "2026-11-23"], "# Duty log, 2026-11-23"),
        "handover": ([], "# Handover record"),
    }
    for name, (argv, english_title) in documents.items():
        for fmt in ("md", "html", "pdf", "docx"):
            target = tmp_path / f"{name}.{fmt}"
            run_ok(cli, "report", name, *argv, "-o", str(target))
            assert target.stat().st_size > 0
        pdf_text = "".join(page.extract_text() for page in PdfReader(tmp_path / f"{name}.pdf").pages)
        assert "机关事务服务中心" in pdf_text
        for raw in RAW:
            assert raw not in pdf_text, (name, raw)
        assert set(ENGLISH_WORD.findall(pdf_text)) <= {"tester"}, name
        paragraphs = docx.Document(str(tmp_path / f"{name}.docx")).paragraphs
        assert any("机关事务服务中心" in p.text for p in paragraphs)
        html = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        assert "@page { size: A4; margin: 37mm 26mm 35mm 28mm;" in html
        english = run_ok(cli, "--lang", "en", "report", name, *argv)
        assert english_title in english.splitlines(), name


def test_the_centre_and_its_faces_come_from_the_configuration(
    cli: CliRunner, incident: str, home: Path, tmp_path: Path
) -> None:
    (home / "dutydesk.toml").write_text(
        '[centre]\nname = "某市机关事务服务中心"\ndoc_prefix = "某机事"\n'
        '[reports]\ncopy_to = ["市机关事务管理局", "市应急管理局"]\nbody_font = "missing.ttf"\n',
        encoding="utf-8",
    )
    text = run_ok(cli, "report", "incident", incident)
    assert text.startswith("**某市机关事务服务中心**") and "某机事〔2026〕1号" in text
    assert "抄送：市机关事务管理局、市应急管理局。" in text
    # a face that is not there: a clear error naming the key, and no file
    target = tmp_path / "report.pdf"
    run = cli("report", "incident", incident, "-o", str(target))
    assert run.code == 1 and "reports.body_font: no font file" in run.err and "missing.ttf" in run.err
    assert not target.exists()
