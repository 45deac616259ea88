"""Reports as tables of text, and those tables as CSV (``text/csv``, RFC 4180, with a header row).

Amounts are written as decimal major units with 2 decimals (``-12.34``), computed exactly from
the integer minor units; quantities and percentages as the decimal text the report holds. The
same tables feed the PDF renderer (:mod:`cloud.domain.reports.pdf_export`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from cloud.domain.reports.schemas import (
    CampaignReport,
    ConsolidatedReport,
    EmployeeReport,
    EndOfDayReport,
    PeriodFigures,
    ProductReport,
    ProductRow,
    Receipt,
    SalesReport,
    ShiftReport,
    TaxReport,
    Totals,
)

TOTAL_COLUMNS = [
    "count",
    "sales_count",
    "refund_count",
    "gross",
    "discounts",
    "net",
    "tax",
    "total",
    "refund_total",
]


@dataclass
class Table:
    """A titled table of text cells; ``summary`` lines head a PDF, never a CSV."""

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


def money(value: int | None) -> str:
    """Minor units as major units with 2 decimals (``1234`` -> ``12.34``); empty for None."""
    if value is None:
        return ""
    return f"{Decimal(value).scaleb(-2):.2f}"


def _totals(totals: Totals) -> list[str]:
    return [str(totals.count), str(totals.sales_count), str(totals.refund_count),
            *(money(getattr(totals, n)) for n in TOTAL_COLUMNS[3:])]  # fmt: skip


def _summary(totals: Totals) -> list[str]:
    return [
        f"Documents: {totals.count} ({totals.sales_count} sales, {totals.refund_count} refunds)",
        f"Gross {money(totals.gross)}  Discounts {money(totals.discounts)}  Net {money(totals.net)}  "
        f"Tax {money(totals.tax)}  Total {money(totals.total)}  Refunds {money(totals.refund_total)}",
    ]


SALES_HEADER = ["business_date", "created_at", "store_id", "doc_type", "number", "seller", "terminal", "gross",
                "discounts", "net", "tax", "total", "sale_uuid"]  # fmt: skip


def receipt_row(r: Receipt) -> list[str]:
    """One document as a row of :data:`SALES_HEADER`."""
    return [
        r.business_date.isoformat(), r.created_at.isoformat(), str(r.store_id), r.doc_type, r.number_text,
        r.seller, r.terminal_id, money(r.gross), money(r.discounts), money(r.net), money(r.tax), money(r.total),
        r.sale_uuid,
    ]  # fmt: skip


def sales_table(report: SalesReport, *, matching: int | None = None) -> Table:
    """The report's documents (totals as the PDF's summary).

    ``matching``: how many documents match in all, when the report holds only the first ones;
    the summary then says the table is truncated.
    """
    table = Table("Sales", list(SALES_HEADER), summary=_summary(report.totals))
    table.rows.extend(receipt_row(r) for r in report.receipts)
    if matching is not None and matching > len(report.receipts):
        table.summary.append(
            f"TRUNCATED: showing the first {len(report.receipts):,} of {matching:,} receipts; "
            "export as CSV for all of them."
        )
    return table


def end_of_day_table(report: EndOfDayReport) -> Table:
    """One row per store and day; a column per tender and per tax rate seen in the report."""
    tenders = sorted({t.tender for d in report.days for t in d.tenders})
    rates = sorted({(t.rate, t.inclusive) for d in report.days for t in d.taxes})
    rate_names = [f"{r}%{' incl' if inc else ''}" for r, inc in rates]
    header = ["business_date", "store", "store_id", *TOTAL_COLUMNS, *(f"tender {t}" for t in tenders)]
    header += [x for name in rate_names for x in (f"base {name}", f"tax {name}")]
    table = Table("End of day", header)
    for day in report.days:
        paid = {t.tender: t.amount for t in day.tenders}
        taxed = {(t.rate, t.inclusive): t for t in day.taxes}
        cells = [day.business_date.isoformat(), day.store_name, str(day.store_id), *_totals(day.totals)]
        cells += [money(paid.get(t, 0)) for t in tenders]
        for key in rates:
            tax = taxed.get(key)
            cells += [money(tax.base if tax else 0), money(tax.tax if tax else 0)]
        table.rows.append(cells)
    return table


def end_of_day_sheet(report: EndOfDayReport) -> Table:
    """The end of day for print: one narrow block of figures per store and day."""
    table = Table("End of day", ["business_date", "store", "figure", "value"])
    for day in report.days:
        t = day.totals
        figures = [
            ("Sales", str(t.sales_count)), ("Refunds", str(t.refund_count)), ("Gross", money(t.gross)),
            ("Discounts", money(t.discounts)), ("Net", money(t.net)), ("Tax", money(t.tax)),
            ("Total", money(t.total)), ("Refunded", money(t.refund_total)),
            *((f"Tender {x.tender} ({x.count})", money(x.amount)) for x in day.tenders),
            *(pair for x in day.taxes for pair in (
                (f"Tax {x.rate}%{' incl.' if x.inclusive else ''} base", money(x.base)),
                (f"Tax {x.rate}%{' incl.' if x.inclusive else ''}", money(x.tax)),
            )),
        ]  # fmt: skip
        for index, (label, value) in enumerate(figures):
            first = index == 0
            table.rows.append([day.business_date.isoformat() if first else "", day.store_name if first else "",
                               label, value])  # fmt: skip
    return table


def tax_table(report: TaxReport) -> Table:
    """Base and tax per rate, then the sum."""
    table = Table("Tax per rate", ["rate", "name", "inclusive", "documents", "base", "tax"])
    for r in report.rates:
        table.rows.append(
            [r.rate, r.name, "yes" if r.inclusive else "no", str(r.count), money(r.base), money(r.tax)]
        )
    table.summary = [f"Base {money(report.base)}  Tax {money(report.tax)}"]
    return table


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


def shift_table(report: ShiftReport) -> Table:
    """One row per shift."""
    table = Table(
        "Shifts",
        ["business_date", "store_id", "terminal", "shift", "employee", "opened_at", "closed_at", "duration",
         "opening_cash", "cash_sales", "card_sales", "cash_in", "cash_out", "expected_cash", "counted_cash",
         "difference"],
    )  # fmt: skip
    for s in report.shifts:
        table.rows.append([
            s.business_date.isoformat(), str(s.store_id), s.terminal_id, str(s.shift_id), s.employee,
            s.opened_at.isoformat() if s.opened_at else "", s.closed_at.isoformat() if s.closed_at else "",
            _duration(s.duration_s), money(s.opening_cash), money(s.cash_sales), money(s.card_sales),
            money(s.cash_in), money(s.cash_out), money(s.expected_cash), money(s.counted_cash), money(s.difference),
        ])  # fmt: skip
    return table


def product_table(report: ProductReport) -> Table:
    """The four rankings one after the other, named in the first column."""
    table = Table(
        "Product performance",
        ["ranking", "position", "product_id", "name", "category_id", "quantity", "revenue", "net_revenue",
         "tax_known", "cost", "profit", "margin_percent"],
    )  # fmt: skip
    rankings: Sequence[tuple[str, list[ProductRow]]] = (
        ("top by quantity", report.by_quantity.top), ("bottom by quantity", report.by_quantity.bottom),
        ("top by revenue", report.by_revenue.top), ("bottom by revenue", report.by_revenue.bottom),
    )  # fmt: skip
    for name, rows in rankings:
        for position, p in enumerate(rows, 1):
            table.rows.append([
                name, str(position), "" if p.product_id is None else str(p.product_id), p.name, p.category_id or "",
                p.quantity, money(p.revenue), money(p.net_revenue), "yes" if p.tax_known else "no", money(p.cost),
                money(p.profit), p.margin_percent or "",
            ])  # fmt: skip
    return table


def employee_table(report: EmployeeReport) -> Table:
    table = Table("Employees", ["seller", "transactions", "sales", "refunds", "total", "average_ticket"])
    for e in report.employees:
        table.rows.append([e.seller, str(e.transactions), str(e.sales_count), str(e.refund_count), money(e.total),
                           money(e.average_ticket)])  # fmt: skip
    return table


def consolidated_table(report: ConsolidatedReport) -> Table:
    """One row per store and a last ``TOTAL`` row."""
    table = Table("Stores", ["store", "store_id", *TOTAL_COLUMNS])
    for s in report.stores:
        table.rows.append([s.store_name, str(s.store_id), *_totals(s.totals)])
    table.rows.append(["TOTAL", "", *_totals(report.grand_total)])
    return table


def _period(kind: str, p: PeriodFigures) -> list[str]:
    return [kind, p.start_date.isoformat(), p.end_date.isoformat(), p.weight, str(p.days), p.quantity,
            money(p.revenue), money(p.revenue_per_day), p.quantity_per_day]  # fmt: skip


def campaign_table(report: CampaignReport) -> Table:
    """The campaign period, each reference period, and the lift on the campaign's row."""
    table = Table(
        f"Campaign {report.name}",
        ["period", "start_date", "end_date", "weight", "days", "quantity", "revenue", "revenue_per_day",
         "quantity_per_day", "revenue_lift_percent", "quantity_lift_percent"],
    )  # fmt: skip
    table.rows.append([*_period("campaign", report.campaign_period), report.revenue_lift_percent or "",
                       report.quantity_lift_percent or ""])  # fmt: skip
    for p in report.reference_periods:
        table.rows.append([*_period("reference", p), "", ""])
    return table


def csv_rows(rows: Iterable[Sequence[str]]) -> bytes:
    """Rows as CSV bytes (UTF-8, CRLF line ends): a piece of a CSV streamed in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def to_csv(table: Table) -> bytes:
    """The table as CSV bytes (UTF-8, CRLF line ends, header first)."""
    return csv_rows([table.header, *table.rows])
