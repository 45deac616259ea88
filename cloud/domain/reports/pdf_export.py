"""Printable reports (end of day, tax per rate, shifts, sales summary) as A4 PDF with fpdf2.

A report's table (:mod:`cloud.domain.reports.csv_export`) is drawn with its title, the filters
it was run with and its summary lines; wide tables go landscape with a smaller font. DejaVu Sans
is used when installed (any script), else the PDF core font with non-Latin-1 text replaced.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from cloud.domain.reports.csv_export import Table
from cloud.domain.reports.schemas import Filters

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
# fontTools logs every glyph subset at INFO: noise in the cloud's log for each PDF.
logging.getLogger("fontTools").setLevel(logging.WARNING)
PAGE_WIDTH_MM = {"P": 182.0, "L": 269.0}


def _font_file(name: str) -> Path | None:
    return next((folder / name for folder in FONT_DIRS if (folder / name).is_file()), None)


def describe(filters: Filters) -> str:
    """The filters as one line of text."""
    parts = [f"{filters.date_from or '...'} to {filters.date_to or '...'}"]
    if filters.store_ids:
        parts.append("stores " + ", ".join(str(s) for s in filters.store_ids))
    if filters.employee:
        parts.append(f"employee {filters.employee}")
    if filters.tender:
        parts.append(f"tender {filters.tender}")
    return "; ".join(parts)


class _Report(FPDF):
    def __init__(self, title: str, orientation: str) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.report_title = title
        regular, bold = _font_file("DejaVuSans.ttf"), _font_file("DejaVuSans-Bold.ttf")
        if regular is not None and bold is not None:
            self.add_font("Report", "", str(regular))
            self.add_font("Report", "B", str(bold))
            self.family, self.unicode = "Report", True
        else:
            self.family, self.unicode = "Helvetica", False
        self.set_auto_page_break(auto=True, margin=14)
        self.set_margins(14, 12, 14)
        self.set_title(title)
        self.set_creator("SmartPOS cloud")
        self.alias_nb_pages()

    def text_of(self, value: str) -> str:
        """``value`` as the font can draw it."""
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.family, "", 7)
        self.cell(0, 4, self.text_of(f"{self.report_title} - page {self.page_no()}/{{nb}}"), align="R")


def _widths(table: Table, total: float, pdf: _Report) -> list[float]:
    wanted = []
    for index, name in enumerate(table.header):
        cells = [name] + [row[index] for row in table.rows[:200] if index < len(row)]
        wanted.append(max(pdf.get_string_width(pdf.text_of(c)) for c in cells) + 2.0)
    scale = min(1.0, total / sum(wanted)) if wanted else 1.0
    return [w * scale for w in wanted]


def render_pdf(table: Table, filters: Filters, generated_at: datetime | None = None) -> bytes:
    """The table as a PDF document."""
    orientation = "L" if len(table.header) > 8 else "P"
    pdf = _Report(table.title, orientation)
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 14)
    pdf.cell(0, 8, pdf.text_of(table.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family, "", 8)
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    pdf.cell(0, 5, pdf.text_of(f"{describe(filters)}    generated {when}"), new_x="LMARGIN", new_y="NEXT")
    for line in table.summary:
        pdf.cell(0, 5, pdf.text_of(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    size = 7 if orientation == "L" and len(table.header) > 14 else 8
    pdf.set_font(pdf.family, "", size)
    widths = _widths(table, PAGE_WIDTH_MM[orientation], pdf)
    height = size * 0.5

    def draw(cells: list[str], bold: bool) -> None:
        pdf.set_font(pdf.family, "B" if bold else "", size)
        for width, cell in zip(widths, cells, strict=False):
            value = pdf.text_of(cell)
            while value and pdf.get_string_width(value) > width - 1:
                value = value[:-1]
            numeric = cell.replace("-", "").replace(".", "").replace("%", "").isdigit()
            pdf.cell(width, height, value, border="B" if bold else 0, align="R" if numeric else "L")
        pdf.ln(height)

    draw(table.header, bold=True)
    for row in table.rows:
        if pdf.will_page_break(height):
            pdf.add_page()
            draw(table.header, bold=True)
        draw(row, bold=False)
    if not table.rows:
        pdf.cell(0, 6, pdf.text_of("No data for these filters."), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
