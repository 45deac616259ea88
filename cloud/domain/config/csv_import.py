"""Products from a CSV file, with a dry run; all rows or none.

Columns (header names, any order): ``id`` (optional: the product to update; without it a row
updates the product holding its ``sku``, else creates one with a new key), ``name``, ``price``
and ``cost_price`` (decimals in major units, ``12.50`` is 1250 minor units at the currency's
exponent), ``sku``, ``plu``, ``barcodes`` (separated by ``|``), ``category_id``, ``unit_id``,
``tax_rate_id``, ``tax_group_id``, ``kitchen_station``. A row updating a product changes the
columns present and keeps the rest (variants, flags). Every row is validated like an API write;
the report names each failing row and field. A real import with any error writes nothing;
otherwise every changed product gets its own revision in one transaction, written in bulk.
"""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import msgspec
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.base import utcnow
from cloud.db.models_config import TENANT_SCOPE, ConfigRecord
from cloud.domain.auth.services import Caller
from cloud.domain.config import repository
from cloud.domain.config.refs import Snapshot, product_refs
from cloud.domain.config.schemas import ImportReport, ImportRowError
from cloud.domain.config.services import product_event
from cloud.domain.config.validation import InvalidConfig, canonical, convert
from cloud.domain.webhooks import emit as webhooks
from cloud.domain.webhooks.config_events import config_published
from cloud.domain.webhooks.emit import WebhookEvent
from cloud.errors import DomainError
from protocols.sync.config import ProductConfig

COLUMNS: Final = ("id", "name", "price", "cost_price", "sku", "plu", "barcodes", "category_id", "unit_id",
                  "tax_rate_id", "tax_group_id", "kitchen_station")  # fmt: skip
REQUIRED: Final = ("name", "price")
MAX_ROWS: Final = 50_000
MAX_ERRORS: Final = 1000
MONEY: Final = ("price", "cost_price")
IDS: Final = ("category_id", "unit_id", "tax_rate_id", "tax_group_id")


class _CellError(ValueError):
    pass


def _money(text: str, exponent: int) -> int:
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _CellError(f"{text!r} is not a decimal amount") from None
    minor = value.scaleb(exponent)
    if not value.is_finite() or value < 0 or minor != minor.to_integral_value():
        raise _CellError(f"{text!r} must be a non-negative amount with at most {exponent} decimals")
    return int(minor)


def _id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 2**53:
        raise _CellError(f"{text!r} is not a positive integer id")
    return int(text)


def _cell(column: str, text: str, exponent: int) -> Any:
    text = text.strip()
    if column in MONEY:
        if not text and column == "price":
            raise _CellError("a price is required")
        return _money(text, exponent) if text else None
    if column in IDS:
        return _id(text) if text else None
    if column == "barcodes":
        return [code.strip() for code in text.split("|") if code.strip()]
    if column in ("sku", "plu"):
        return text or None
    return text


def read_rows(data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and ``(line, row)`` pairs; 400 ``invalid_csv`` for a file that is not one."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(400, "invalid_csv", "the file must be UTF-8 text") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise DomainError(
            400,
            "invalid_csv",
            f"unknown column {unknown[0]!r}",
            {"field": unknown[0], "columns": list(COLUMNS)},
        )
    lacking = [c for c in REQUIRED if c not in header]
    if lacking or len(set(header)) != len(header):
        what = f"the header lacks {lacking[0]!r}" if lacking else "a column appears twice"
        raise DomainError(400, "invalid_csv", what, {"field": lacking[0] if lacking else ""})
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise DomainError(413, "too_many_rows", f"at most {MAX_ROWS} rows per import")
        rows.append((reader.line_num, dict(zip(header, cells, strict=False))))
    return header, rows


async def _exponent(session: AsyncSession, tenant_id: uuid.UUID) -> int:
    settings = await repository.get_row(session, tenant_id, None, "store_settings", "store")
    if settings is not None and settings.body:
        return int(msgspec.json.decode(settings.body).get("currency_exponent", 2))
    return 2


async def import_products(
    session: AsyncSession, caller: Caller, data: bytes, *, dry_run: bool
) -> ImportReport:
    """Validate every row, then (unless ``dry_run`` or any error) write the changed products."""
    tenant_id = caller.tenant_id
    header, rows = read_rows(data)
    if dry_run:
        current = await repository.current_revision(session, tenant_id)
    else:
        current = await repository.lock(session, tenant_id)
    existing = await repository.section_rows(session, tenant_id, "products")
    snapshot = Snapshot(session, tenant_id)
    index = await snapshot.products()
    exponent = await _exponent(session, tenant_id)
    errors: list[ImportRowError] = []
    seen: dict[str, int] = {}
    changes: list[tuple[str | None, str]] = []  # (key or None for a new product, canonical body)
    unchanged = 0
    for line, row in rows:
        problem = _row(line, row, header, existing, index.sku, seen, exponent)
        if isinstance(problem, ImportRowError):
            errors.append(problem)
            continue
        key, fields = problem
        try:
            body = convert("products", fields)
        except InvalidConfig as exc:
            errors.append(ImportRowError(row=line, field=exc.details["field"], message=exc.message))
            continue
        assert isinstance(body, ProductConfig)
        refs = product_refs(body)
        slot = key or f"new:{line}"
        found = await snapshot.product_problems(slot, refs)
        if found:
            errors += [ImportRowError(row=line, field=p.field, message=p.message) for p in found]
            continue
        index.add(slot, refs)  # later rows are checked against this one
        text = canonical(body)
        old = existing.get(key) if key else None
        if old is not None and not old[1] and old[2] == text:
            unchanged += 1
        else:
            changes.append((key, text))
        if len(errors) >= MAX_ERRORS:
            break
    created = sum(1 for key, _ in changes if key is None or key not in existing or existing[key][1])
    report = ImportReport(dry_run=dry_run, rows=len(rows), created=created, updated=len(changes) - created,
                          unchanged=unchanged, errors=errors, version=current)  # fmt: skip
    if errors and not dry_run:
        await session.rollback()
        raise DomainError(422, "import_failed", f"{len(errors)} problems; nothing was imported",
                          msgspec.to_builtins(report))  # fmt: skip
    if dry_run or not changes:
        await session.rollback()
        return report
    report.version = await _write(session, caller, changes, existing)
    return report


def _row(
    line: int,
    row: dict[str, str],
    header: list[str],
    existing: dict[str, tuple[uuid.UUID, bool, str | None]],
    skus: dict[str, str],
    seen: dict[str, int],
    exponent: int,
) -> ImportRowError | tuple[str | None, dict[str, Any]]:
    """The key a row writes and the product fields it ends with (or the first cell error)."""
    try:
        key = str(_id(row["id"].strip())) if row.get("id", "").strip() else None
    except _CellError as exc:
        return ImportRowError(row=line, field="id", message=str(exc))
    sku = row.get("sku", "").strip()
    if key is None and sku and sku in skus and not skus[sku].startswith("new:"):
        key = skus[sku]
    if key is not None:
        if key in seen:
            return ImportRowError(row=line, field="id", message=f"product {key} is also on line {seen[key]}")
        seen[key] = line
    old = existing.get(key) if key else None
    fields: dict[str, Any] = msgspec.json.decode(old[2]) if old and not old[1] and old[2] else {}
    for column in header:
        if column == "id":
            continue
        try:
            fields[column] = _cell(column, row.get(column, ""), exponent)
        except _CellError as exc:
            return ImportRowError(row=line, field=column, message=str(exc))
    return key, fields


async def _write(
    session: AsyncSession,
    caller: Caller,
    changes: list[tuple[str | None, str]],
    existing: dict[str, tuple[uuid.UUID, bool, str | None]],
) -> int:
    tenant_id = caller.tenant_id
    new_count = sum(1 for key, _ in changes if key is None)
    top = max((int(key) for key, _ in changes if key is not None), default=0)
    allocation = await repository.allocate(session, tenant_id, revisions=len(changes), ids=new_count,
                                           min_next_id=top + 1)  # fmt: skip
    now = utcnow()
    next_key = allocation.first_id
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    written: list[tuple[str, int, str]] = []
    for revision, (key, text) in enumerate(changes, start=allocation.first_revision):
        if key is None:
            key, next_key = str(next_key), next_key + 1
        values = {
            "revision": revision,
            "deleted": False,
            "body": text,
            "updated_at": now,
            "updated_by": caller.user_id,
        }
        if key in existing:
            updates.append({"id": existing[key][0], **values})
        else:
            inserts.append({"id": uuid.uuid4(), "created_at": now, "tenant_id": tenant_id, "store_id": None,
                            "scope": TENANT_SCOPE, "section": "products", "key": key, **values})  # fmt: skip
        written.append((key, revision, text))
    if inserts:
        await session.execute(insert(ConfigRecord), inserts)
    if updates:
        await session.execute(update(ConfigRecord), updates)
    await webhooks.queue_events(session, [
        WebhookEvent(tenant_id, "product.updated", product_event(key, None, revision, text))
        for key, revision, text in written
    ])  # fmt: skip
    await config_published(session, tenant_id, None)
    await session.commit()
    return allocation.last_revision
