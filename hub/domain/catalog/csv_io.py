"""CSV import and export of products and customers, as the help center describes them.

Import: the file's columns are mapped to fields (by a mapping the back office sends, else by
matching header names), each row is converted into the same input the API takes, and all rows
are written in one transaction. Every bad row is reported with its line number and the reason.
Without ``skip_bad_rows`` a single bad row means nothing is written; a dry run does the whole
import, including the database's own checks (duplicate barcodes, unknown references), and then
rolls it back, so its report is exactly what a real import would do.

Products are matched by SKU and customers by e-mail: an existing one is updated, so exporting,
editing in a spreadsheet and importing again works.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from hub.domain.catalog.schemas import CustomerIn
from hub.domain.errors import DomainError, Invalid
from hub.domain.money import MAX_AMOUNT, format_amount

TRUE = {"1", "true", "yes", "da", "y", "x"}
FALSE = {"", "0", "false", "no", "ne", "n"}
MAX_ROWS = 20_000

PRODUCT_COLUMNS = (
    "name",
    "price",
    "sku",
    "barcodes",
    "category",
    "unit",
    "tax_rate",
    "cost_price",
    "stock",
    "min_stock",
    "track_stock",
    "plu",
    "is_promo",
    "kitchen_station",
)
CUSTOMER_COLUMNS = CustomerIn.__struct_fields__
# Header spellings people use, in English and Bosnian, for the automatic mapping.
ALIASES = {
    "naziv": "name",
    "ime": "name",
    "cijena": "price",
    "barcode": "barcodes",
    "barkod": "barcodes",
    "ean": "barcodes",
    "kategorija": "category",
    "jedinica": "unit",
    "porez": "tax_rate",
    "tax": "tax_rate",
    "nabavna cijena": "cost_price",
    "cost": "cost_price",
    "zaliha": "stock",
    "zalihe": "stock",
    "e-mail": "email",
    "mail": "email",
    "telefon": "phone",
    "grad": "city",
    "napomena": "notes",
    "firma": "company_name",
    "company": "company_name",
    "pib": "tax_id",
    "jib": "tax_id",
    "vat": "tax_id",
    "adresa": "address",
}


class RowError(msgspec.Struct):
    """Why one row cannot be imported; ``line`` is the line in the file (the header is line 1)."""

    line: int
    code: str
    reason: str


class ImportRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A CSV file's text, an optional column mapping (CSV header -> field) and the options."""

    csv: str
    mapping: dict[str, str] = {}
    dry_run: bool = False
    skip_bad_rows: bool = False
    delimiter: str | None = None


class ImportReport(msgspec.Struct, kw_only=True):
    dry_run: bool
    rows: int
    created: int
    updated: int
    skipped: int
    errors: list[RowError]


def parse_amount(text: str, exponent: int) -> int:
    """ "11.70" or "11,70" in major units -> 1170 minor units; never through a float."""
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    minor = value.scaleb(exponent)
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise ValueError(f"{text!r} has more than {exponent} decimals")
    if minor < 0 or minor > MAX_AMOUNT:
        raise ValueError(f"{text!r} must be between 0 and {format_amount(MAX_AMOUNT, exponent)}")
    return int(minor)


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise ValueError(f"{text!r} is not yes or no")


def _delimiter(text: str, given: str | None) -> str:
    if given:
        return given
    first = text.split("\n", 1)[0]
    # Spreadsheets in our markets save with ";" (the comma is the decimal separator).
    return ";" if first.count(";") > first.count(",") else ","


def mapped_rows(request: ImportRequest, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {field: text}) for every data row; raises Invalid for a bad header."""
    text = request.csv.lstrip("\ufeff")  # Excel writes a byte-order mark
    # newline="" lets the csv module see "\r\n" and bare "\r" line ends itself, as it must.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text, request.delimiter))
    try:
        header = next(reader)
    except StopIteration:
        raise Invalid("empty_csv", "the file has no header row") from None
    except csv.Error as exc:
        raise Invalid("bad_csv", f"line 1: {exc}") from None
    fields: list[str | None] = []
    for name in header:
        key = name.strip()
        field = request.mapping.get(key) or ALIASES.get(key.lower()) or key.lower().replace(" ", "_")
        fields.append(field if field in columns else None)
    for field in request.mapping.values():
        if field not in columns:
            raise Invalid(
                "unknown_field", f"cannot map a column to {field!r}", details={"fields": list(columns)}
            )
    if "name" not in fields:
        raise Invalid("missing_column", "no column is mapped to name", details={"header": header})
    count = 0
    for row in _rows(reader):
        if not any(cell.strip() for cell in row):
            continue
        count += 1
        if count > MAX_ROWS:
            raise Invalid("too_many_rows", f"import at most {MAX_ROWS} rows at a time")
        values = {f: cell.strip() for f, cell in zip(fields, row, strict=False) if f is not None}
        yield reader.line_num, values


def _rows(reader: Any) -> Iterator[list[str]]:
    """The reader's rows; a broken file (an unterminated quote) is a typed error with its line."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise Invalid("bad_csv", f"line {reader.line_num}: {exc}") from None


def row_error(line: int, exc: Exception) -> RowError:
    if isinstance(exc, DomainError):
        return RowError(line=line, code=exc.code, reason=str(exc))
    if isinstance(exc, msgspec.ValidationError):
        return RowError(line=line, code="validation_failed", reason=str(exc))
    return RowError(line=line, code="invalid_value", reason=str(exc))


def write_csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return out.getvalue()
