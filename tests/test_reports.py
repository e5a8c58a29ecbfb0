"""Reports and the register through the real command line, on a manual clock, against a real log:
every format generated, its numbers checked, the PDF's text extracted, the DOCX opened."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from dutydesk.console.reports.output import ProgressLine
from dutydesk.playbooks.clock import ManualClock
from tests.conftest import CliRunner

SECTIONS = [
    "一、事件概况",
    "二、处置经过",
    "三、响应时效",
    "四、原因分析",
    "五、责任认定",
    "六、整改措施",
    "七、防范措施与经验教训",
    "八、服务对象反馈",
]


def run_ok(cli: CliRunner, *argv: str) -> str:
    run = cli(*argv)
    assert run.code == 0, run.err
    return run.out.strip()


@pytest.fixture
def incident(cli: CliRunner, clock: ManualClock) -> str:
    """An entrapment handled the way the centre does it, Monday 23 November 2026 from 09:00: reported
    after 12 minutes, team on site at 12, the maintenance contractor never logged (breached at 10),
    stabilised at 10:00, investigated on Tuesday with two causes and two items, both done and fed
    back by Friday."""
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
        "--description",
        "2人被困轿厢",
    )
    clock.advance(timedelta(minutes=12))
    run_ok(cli, "incident", incident, "report")
    run_ok(cli, "incident", incident, "arrive")
    clock.advance(timedelta(minutes=20))
    run_ok(
        cli,
        "incident",
        incident,
        "update",
        "--measures",
        "断电隔离",
        "--status",
        "乘客情绪稳定",
        "--next",
        "等待维保",
    )
    clock.advance(timedelta(minutes=28))
    run_ok(cli, "incident", incident, "stabilise")
    clock.advance(timedelta(days=1))
    run_ok(cli, "incident", incident, "cause", "--category", "equipment-ageing", "--text", "曳引机制动器老化")
    run_ok(cli, "incident", incident, "cause", "--category", "rule-gap", "--text", "维保巡检记录未落实")
    run_ok(cli, "incident", incident, "investigated")
    clock.advance(timedelta(hours=1))
    first = run_ok(cli, "rectify", "add", incident, "--content", "更换制动器", "--owner", "张工")
    second = run_ok(
        cli, "rectify", "add", incident, "--content", "修订巡检制度", "--owner", "李科", "--workdays", "3"
    )
    assert (first, second) == (f"{incident}-R1", f"{incident}-R2")
    clock.advance(timedelta(days=3))
    run_ok(cli, "rectify", first, "done", "--evidence", "工单 WX-2026-118")
    done = run_ok(cli, "rectify", second, "done", "--evidence", "第12号制度")
    assert "rectification done" in done and "Rectification within 15 working days" in done
    run_ok(cli, "rectify", first, "feedback", "--text", "已向3号楼各处室通报")
    run_ok(cli, "rectify", second, "feedback", "--text", "已发文")
    return incident


def test_markdown_report_in_the_centres_structure(cli: CliRunner, incident: str) -> None:
    text = run_ok(cli, "report", "incident", incident)
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS
    lines = text.splitlines()
    # the 版头: the issuing unit and the document number, then the title
    assert lines[:3] == ["**机关事务服务中心**", "", "机事〔2026〕1号"]
    assert "# 3号楼2号梯困人 事件调查报告" in lines
    report = next(line for line in lines if line.startswith("| 30分钟内报告带班领导"))
    assert "2026-11-23 09:30" in report and "2026-11-23 09:12" in report and "提前 18分钟" in report
    # the breach stands out, with its overdue time
    contractor = next(line for line in lines if "联系电梯维保单位**" in line and "09:10" in line)
    assert "已超时" in contractor and contractor.count("**") >= 10
    assert "按时完成 6 项，超时 1 项" in text
    assert "### 设备老化" in text and "曳引机制动器老化" in text and "### 制度漏洞" in text
    assert (
        "| 20261123-001-R1 | 更换制动器 | 张工 | 15个工作日（自调查完成起） | 2026-12-15 23:59 | 已完成 |"
        in text
    )
    assert (
        "| 20261123-001-R2 | 修订巡检制度 | 李科 | 3个工作日（自登记起） | 2026-11-27 23:59 | 已完成 |"
        in text
    )
    assert "已向3号楼各处室通报" in text and "已发文" in text
    assert "草稿" not in text


def test_html_report_has_the_chart_and_highlights_breaches(
    cli: CliRunner, incident: str, tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    run = cli("report", "incident", incident, "-o", str(target))
    assert run.code == 0, run.err
    assert str(target) in run.out
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page
    assert page.count("<svg") == 1 and "<figcaption>图1 时限义务与截止时间" in page
    alert_rows = [row for row in page.split("<tr") if row.startswith(' class="alert"')]
    assert any("联系电梯维保单位" in row for row in alert_rows)
    assert not any("30分钟内报告带班领导" in row for row in alert_rows)


def test_pdf_report_text_is_chinese_and_extractable(cli: CliRunner, incident: str, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    assert cli("report", "incident", incident, "-o", str(target)).code == 0
    reader = PdfReader(target)
    text = "".join(page.extract_text() for page in reader.pages)
    for expected in [
        "3号楼2号梯困人 事件调查报告",
        *SECTIONS,
        "设备老化",
        "曳引机制动器老化",
        "更换制动器",
        "联系电梯维保单位",
    ]:
        assert expected in text, expected
    assert reader.metadata is not None and reader.metadata.title == "3号楼2号梯困人 事件调查报告"
    assert sum(len(page.images) for page in reader.pages) == 1  # the timeline chart
    # the same report gives the same file (no creation time inside)
    again = tmp_path / "again.pdf"
    assert cli("report", "incident", incident, "-o", str(again)).code == 0
    assert again.read_bytes() == target.read_bytes()


def test_docx_report_opens_as_an_editable_document(cli: CliRunner, incident: str, tmp_path: Path) -> None:
    target = tmp_path / "report.docx"
    assert cli("report", "incident", incident, "--format", "docx", "-o", str(target)).code == 0
    document = docx.Document(str(target))
    assert document.core_properties.title == "3号楼2号梯困人 事件调查报告"
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    assert headings == SECTIONS
    assert len(document.inline_shapes) == 1  # the timeline chart
    overview, timeline, obligations, items, feedback, sign_off = document.tables
    assert [row.cells[0].text for row in sign_off.rows] == ["调查组组长", "审核", "签发"]
    assert overview.cell(0, 1).text == "20261123-001"
    assert [c.text for c in obligations.rows[0].cells][:4] == ["义务", "责任", "时限", "截止时间"]
    contractor = next(row for row in obligations.rows if row.cells[0].text == "联系电梯维保单位")
    assert contractor.cells[6].text == "已超时"
    assert 'w:fill="FDECEA"' in contractor.cells[0]._tc.xml  # shaded red
    assert [c.text for c in items.rows[1].cells][:3] == ["20261123-001-R1", "更换制动器", "张工"]
    assert feedback.rows[2].cells[1].text == "已发文"
    assert len(timeline.rows) > 20


def test_english_report(cli: CliRunner, incident: str) -> None:
    text = run_ok(cli, "--lang", "en", "report", "incident", incident, "--format", "md")
    assert "# Investigation report: 3号楼2号梯困人" in text.splitlines()
    assert "## 1. Overview" in text and "## 4. Causes" in text and "### equipment ageing" in text
    assert "## 5. Responsibility" in text and "## 7. Prevention and lessons" in text
    assert "18 minutes early" in text


def test_a_report_before_the_investigation_is_a_draft(cli: CliRunner) -> None:
    incident = run_ok(cli, "incident", "open", "--plan", "power-outage", "--title", "配电房跳闸")
    text = run_ok(cli, "report", "incident", incident)
    assert "**[草稿：调查尚未完成]**" in text
    assert "调查组尚未录入原因分析" in text and "尚未登记整改事项" in text


def test_kpi_report_formats(cli: CliRunner, incident: str, tmp_path: Path) -> None:
    text = run_ok(cli, "report", "kpi", "--month", "2026-11")
    lines = text.splitlines()
    assert "# 值班工作指标报告（2026年11月）" in lines
    assert "| 30分钟内报告带班领导 | 1 | 0 | 100.0% |" in lines
    assert "| 15个工作日内完成整改 | 1 | 0 | 100.0% |" in lines
    assert "- **事件数**：1" in lines and "- **按期完成率**：100.0%" in lines
    assert "| 接报至报告带班领导 | 1 | 12分钟 | 12分钟 |" in lines
    pdf = tmp_path / "kpi.pdf"
    assert cli("report", "kpi", "--month", "2026-11", "-o", str(pdf)).code == 0
    extracted = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "值班工作指标报告" in extracted and "响应及时率" in extracted and "告警负荷" in extracted
    target = tmp_path / "kpi.docx"
    assert cli("report", "kpi", "--year", "2026", "-o", str(target)).code == 0
    document = docx.Document(str(target))
    assert document.core_properties.title == "值班工作指标报告（2026年度）"
    assert len(document.inline_shapes) == 2  # timeliness and incidents by type; no alarms this year


def test_register_list_and_json(cli: CliRunner, clock: ManualClock) -> None:
    incident = run_ok(cli, "incident", "open", "--plan", "elevator-entrapment", "--title", "困人")
    run_ok(cli, "incident", incident, "stabilise")
    run_ok(cli, "incident", incident, "investigated")
    item = run_ok(
        cli, "rectify", "add", incident, "--content", "加装监控", "--owner", "王科", "--workdays", "2"
    )
    listed = run_ok(cli, "rectify", "list")
    assert item in listed and "加装监控" in listed and "open" in listed
    assert run_ok(cli, "rectify", "list", "--overdue") == "no rectification items"
    clock.advance(timedelta(days=5))  # Saturday: Tuesday and Wednesday have passed
    (row,) = json.loads(run_ok(cli, "rectify", "list", "--overdue", "--json"))
    assert (row["id"], row["state"], row["owner"], row["late"]) == (item, "overdue", "王科", True)
    assert row["due_at"] == "2026-11-25T23:59:59.999999+08:00"
    assert row["margin_seconds"] < 0


def test_bad_input_is_refused_clearly_and_writes_nothing(cli: CliRunner, home: Path, tmp_path: Path) -> None:
    unknown = cli("report", "incident", "20261123-999", "-o", str(tmp_path / "x.pdf"))
    assert unknown.code == 1 and "no incident 20261123-999" in unknown.err
    incident = run_ok(cli, "incident", "open", "--plan", "power-outage", "--title", "配电房跳闸")
    early = cli("rectify", "add", incident, "--content", "更换开关", "--owner", "张工")
    assert early.code == 1 and "no investigation yet" in early.err
    assert cli("rectify", "20261123-001-R1", "done", "--evidence", "x").code == 1
    for month in ("2026-13", "2026-1", "11-2026", "abcd-ef"):
        bad = cli("report", "kpi", "--month", month)
        assert bad.code == 1 and "YYYY-MM" in bad.err, month
    assert cli("report", "kpi", "--year", "26").code == 1
    future = cli("report", "kpi", "--month", "2027-01")
    assert future.code == 1 and "has not begun" in future.err
    with pytest.raises(SystemExit) as usage:  # argparse: --month or --year is required
        cli("report", "kpi")
    assert usage.value.code == 2
    # a folder that does not exist, a file where a folder should be, a folder as the target
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for target in (tmp_path / "missing" / "r.pdf", blocker / "r.pdf", tmp_path):
        refused = cli("report", "incident", incident, "-o", str(target))
        assert refused.code == 1 and str(target) in refused.err
    # a failure while rendering leaves no file, not even a partial one
    (home / "dutydesk.toml").write_text('[reports]\nfont = "no-such-font.ttc"\n', encoding="utf-8")
    broken = cli("report", "incident", incident, "-o", str(tmp_path / "r.pdf"))
    assert broken.code == 1 and "no font file" in broken.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "home"]


def test_progress_shows_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    line = ProgressLine(terminal, labels={"incidents": "读取事件"})
    line.show("incidents", 0.4)
    line.show("incidents", 1.0)
    line.done()
    assert terminal.getvalue().startswith("\r\x1b[K读取事件  40%")
    assert terminal.getvalue().endswith("\r\x1b[K")
    quiet = io.StringIO()
    ProgressLine(quiet).show("incidents", 0.5)
    assert quiet.getvalue() == ""
