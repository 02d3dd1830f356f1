"""The downtime report as JSON, CSV (streamed) and XLSX (openpyxl, write-only).

User-typed text (server names, reasons) may start with ``= + - @``, a tab or a carriage
return; spreadsheet programs would run such a cell as a formula, so CSV cells get a
leading apostrophe and XLSX cells are written as explicit strings.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from lxml.etree import Element, SubElement
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from portal.reports.downtime import IncidentLine, Period, ServerReport

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

SUMMARY_COLUMNS = (
    ("server_id", 10), ("server", 28), ("kind", 8), ("environment", 14), ("group", 14),
    ("availability_pct", 16), ("incidents", 10), ("downtime", 14), ("longest_downtime", 16),
    ("mttr", 14), ("mtbf", 14), ("maintenance", 14), ("downtime_in_maintenance", 22),
)
INCIDENT_COLUMNS = (
    ("incident_id", 11), ("server_id", 10), ("server", 28), ("started_at", 22),
    ("ended_at", 22), ("downtime", 14), ("in_maintenance", 14), ("reason", 40),
    ("summary", 40), ("acknowledged_by", 16),
)


def neutralise(value: str | None) -> str:
    """Text that cannot run as a formula in Excel, LibreOffice or Sheets."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _iso(value: datetime | None, period: Period) -> str:
    return value.astimezone(period.timezone).isoformat() if value else ""


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def summary_json(report: ServerReport, period: Period) -> dict:
    return {
        "server_id": report.server_id,
        "server": report.server,
        "kind": report.kind,
        "environment": report.environment,
        "group": report.group,
        "availability_pct": report.availability_pct,
        "incidents": report.incidents,
        "downtime_s": _seconds(report.downtime_s),
        "longest_downtime_s": _seconds(report.longest_s),
        "mttr_s": _seconds(report.mttr_s),
        "mtbf_s": _seconds(report.mtbf_s),
        "maintenance_s": _seconds(report.maintenance_s),
        "downtime_in_maintenance_s": _seconds(report.maintenance_downtime_s),
        "incident_list": [incident_json(line, period) for line in report.lines],
    }


def incident_json(line: IncidentLine, period: Period) -> dict:
    return {
        "id": line.id,
        "started_at": _iso(line.started_at, period),
        "ended_at": _iso(line.ended_at, period) or None,
        "downtime_s": _seconds(line.downtime_s),
        "in_maintenance_s": _seconds(line.maintenance_s),
        "reason": line.reason,
        "summary": line.summary,
        "acknowledged_by": line.acknowledged_by,
    }


def _summary_row(report: ServerReport) -> list:
    return [report.server_id, neutralise(report.server), report.kind,
            neutralise(report.environment), neutralise(report.group), report.availability_pct,
            report.incidents, _seconds(report.downtime_s), _seconds(report.longest_s),
            _seconds(report.mttr_s), _seconds(report.mtbf_s), _seconds(report.maintenance_s),
            _seconds(report.maintenance_downtime_s)]


def _incident_row(line: IncidentLine, period: Period) -> list:
    return [line.id, line.server_id, neutralise(line.server), _iso(line.started_at, period),
            _iso(line.ended_at, period), _seconds(line.downtime_s), _seconds(line.maintenance_s),
            neutralise(line.reason), neutralise(line.summary), neutralise(line.acknowledged_by)]


def csv_lines(header: Iterable[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV text in chunks of about 64 KiB, for a streamed download; None is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow("" if value is None else value for value in row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def summary_csv(reports: Iterable[ServerReport]) -> Iterator[str]:
    header = [name if name in ("server_id", "server", "kind", "environment", "group",
                               "availability_pct", "incidents") else f"{name}_s"
              for name, _ in SUMMARY_COLUMNS]
    return csv_lines(header, (_summary_row(report) for report in reports))


def incidents_csv(reports: Iterable[ServerReport], period: Period) -> Iterator[str]:
    header = [f"{name}_s" if name in ("downtime", "in_maintenance") else name
              for name, _ in INCIDENT_COLUMNS]
    rows = (_incident_row(line, period) for report in reports for line in report.lines)
    return csv_lines(header, rows)


def _local(value: datetime | None, period: Period) -> datetime | None:
    """Excel has no time zones: write wall-clock time in the report's zone."""
    return value.astimezone(period.timezone).replace(tzinfo=None) if value else None


def _duration(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=round(value))


DURATION = "[h]:mm:ss"
DATETIME = "yyyy-mm-dd hh:mm:ss"
_EXCEL_EPOCH = datetime(1899, 12, 30)


class _Sheet:
    """A write-only openpyxl sheet whose data rows are written straight as lxml elements.

    openpyxl builds a Cell object per value (about 30 us each); a 50,000-incident report
    has 600,000 cells. Here openpyxl still makes the workbook, the styles, the header,
    frozen pane, widths and autofilter, and streams the sheet to disk, but data rows go to
    its lxml writer directly: strings as inline strings (never formulas), numbers as
    numbers, dates and durations as Excel serials with a registered number format.
    """

    def __init__(self, workbook: Workbook, title: str, columns: tuple, formats: dict[str, str],
                 headers: dict[str, str] | None = None):
        self.sheet = workbook.create_sheet(title)
        self.columns = columns
        self.rows = 1
        for index, (_, width) in enumerate(columns):
            self.sheet.column_dimensions[get_column_letter(index + 1)].width = width
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for name, _ in columns:
            cell = WriteOnlyCell(self.sheet, value=(headers or {}).get(name, name))
            cell.data_type = "s"
            cell.font = bold
            header.append(cell)
        self.sheet.append(header)
        self.styles = [self._style_id(formats[name]) if name in formats else None
                       for name, _ in columns]
        self.letters = [get_column_letter(index + 1) for index in range(len(columns))]
        self.sheet._values_to_row = lambda values, _row_idx: values
        self.sheet._writer.write_row = self._write_row

    def _style_id(self, number_format: str) -> str:
        cell = WriteOnlyCell(self.sheet)
        cell.number_format = number_format
        return str(cell.style_id)

    def _write_row(self, xf, values: list, row_idx: int) -> None:
        row = Element("row", r=str(row_idx))
        for letter, style, value in zip(self.letters, self.styles, values, strict=True):
            if value is None or value == "":
                continue
            cell = SubElement(row, "c", r=f"{letter}{row_idx}")
            if isinstance(value, str):
                cell.set("t", "inlineStr")
                text = SubElement(SubElement(cell, "is"), "t")
                text.text = _xml_safe(value)
                continue
            if isinstance(value, datetime):
                value = (value - _EXCEL_EPOCH).total_seconds() / 86400
            elif isinstance(value, timedelta):
                value = value.total_seconds() / 86400
            if style is not None:
                cell.set("s", style)
            SubElement(cell, "v").text = repr(value) if isinstance(value, float) else str(value)
        xf.write(row)

    def append(self, values: list) -> None:
        self.sheet.append(values)
        self.rows += 1

    def finish(self) -> None:
        self.sheet.auto_filter.ref = f"A1:{self.letters[-1]}{self.rows}"


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_safe(value: str) -> str:
    return _ILLEGAL_XML.sub("", value)


def xlsx_file(reports: Iterable[ServerReport], period: Period) -> tempfile.SpooledTemporaryFile:
    """A finished workbook in a temporary file (spilled to disk past 8 MB)."""
    workbook = Workbook(write_only=True)
    durations = {name: DURATION for name in ("downtime", "longest_downtime", "mttr", "mtbf",
                                             "maintenance", "downtime_in_maintenance",
                                             "in_maintenance")}
    summary = _Sheet(workbook, "Summary", SUMMARY_COLUMNS,
                     {**durations, "availability_pct": "0.000"})
    zone = period.timezone.key
    incidents = _Sheet(workbook, "Incidents", INCIDENT_COLUMNS,
                       {**durations, "started_at": DATETIME, "ended_at": DATETIME},
                       {"started_at": f"started_at ({zone})", "ended_at": f"ended_at ({zone})"})
    for report in reports:
        summary.append([report.server_id, report.server, report.kind, report.environment,
                        report.group, report.availability_pct, report.incidents,
                        _duration(report.downtime_s), _duration(report.longest_s),
                        _duration(report.mttr_s), _duration(report.mtbf_s),
                        _duration(report.maintenance_s),
                        _duration(report.maintenance_downtime_s)])
        for line in report.lines:
            incidents.append([line.id, line.server_id, line.server,
                              _local(line.started_at, period), _local(line.ended_at, period),
                              _duration(line.downtime_s), _duration(line.maintenance_s),
                              line.reason, line.summary, line.acknowledged_by])
    summary.finish()
    incidents.finish()
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return output
