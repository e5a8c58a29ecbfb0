"""Reports: the investigation report (事件调查报告) and the KPI report, each built once as a
document and rendered as Markdown, HTML, PDF or DOCX."""
