"""Reading the reports' query parameters: filters and the answer's format, each refused with 400.

Codes: ``invalid_date`` (not ``YYYY-MM-DD``), ``invalid_date_range`` (``from`` after ``to``),
``invalid_store_id`` (not a UUID), ``invalid_filter`` (an empty or oversized text filter),
``invalid_page``, ``unsupported_format`` (a format no report has) and ``format_not_available``
(PDF of a report that is not printable).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from cloud.domain.reports.schemas import Filters
from cloud.errors import DomainError

FORMATS = ("json", "csv", "pdf")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}
MAX_PAGE_SIZE = 500


class BadFilter(DomainError):
    """A query parameter the report cannot use (400 with a machine-readable code)."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(400, code, message, {"field": field})


def parse_date(value: str | None, field: str) -> date | None:
    """A business date from ``YYYY-MM-DD``, or None when absent."""
    if value is None or value == "":
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadFilter(
            "invalid_date", f"{field} must be a date as YYYY-MM-DD, not {value!r}", field
        ) from None


def _text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    if not value.strip() or len(value) > 120:
        raise BadFilter("invalid_filter", f"{field} must be 1 to 120 characters", field)
    return value


def parse_filters(
    date_from: str | None,
    date_to: str | None,
    store_ids: Sequence[str] | None = None,
    employee: str | None = None,
    tender: str | None = None,
) -> Filters:
    """The filters of a report request; see the module for the refusals."""
    start, end = parse_date(date_from, "from"), parse_date(date_to, "to")
    if start is not None and end is not None and start > end:
        raise BadFilter("invalid_date_range", f"from ({start}) is after to ({end})", "from")
    stores: list[uuid.UUID] = []
    for value in store_ids or ():
        try:
            stores.append(uuid.UUID(value))
        except ValueError:
            raise BadFilter("invalid_store_id", f"store_id {value!r} is not a UUID", "store_id") from None
    return Filters(
        date_from=start,
        date_to=end,
        store_ids=tuple(dict.fromkeys(stores)),
        employee=_text(employee, "employee"),
        tender=_text(tender, "tender"),
    )


def parse_page(page: int, page_size: int) -> tuple[int, int]:
    """A 1-based page and a page size up to :data:`MAX_PAGE_SIZE`."""
    if page < 1:
        raise BadFilter("invalid_page", "page starts at 1", "page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadFilter("invalid_page", f"page_size must be 1 to {MAX_PAGE_SIZE}", "page_size")
    return page, page_size


def pick_format(requested: str | None, accept: str | None, formats: Sequence[str]) -> str:
    """The answer's format: ``?format=`` first, then the Accept header, else JSON.

    ``formats`` are the ones this report offers (JSON and CSV always; PDF when printable).
    """
    if requested is not None:
        chosen = requested.strip().lower()
        if chosen not in FORMATS:
            raise BadFilter("unsupported_format", f"format must be one of {', '.join(FORMATS)}", "format")
        if chosen not in formats:
            raise BadFilter(
                "format_not_available", f"this report is offered as {', '.join(formats)}", "format"
            )
        return chosen
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == "text/csv" and "csv" in formats:
            return "csv"
        if media == "application/pdf" and "pdf" in formats:
            return "pdf"
        if media in ("application/json", "*/*", "application/*"):
            return "json"
    return "json"
