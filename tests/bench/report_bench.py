"""How long the sales report takes over a month of a million sales on PostgreSQL.

A database of its own is created on the machine's server (and dropped afterwards), migrated,
and loaded straight into the projection tables with ``INSERT ... SELECT generate_series``: a
million documents over October 2026 (Berlin business dates) in four stores, eight sellers and
three tenders, 2 % of them refunds, one payment each, and the daily rollup built from them the
way the projector keeps it. The sales report service (totals and the first page of 50) is then
timed warm, median of 5, for the whole month, and also for one store paid by card.

Run alone: ``.venv/bin/python -m tests.bench.report_bench`` prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from cloud.db.engine import make_engine, make_session_factory
from cloud.db.migrate import upgrade
from cloud.domain.reports.schemas import Filters
from cloud.domain.reports.services import ReportService

ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SALES = 1_000_000
STORES = 4
MONTH = Filters(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))

# October in Berlin runs from 2026-09-30 22:00 UTC to 2026-10-31 23:00 UTC (the clocks go back
# on the 25th): 2,682,000 seconds, one sale every 2.682 s.
LOAD_SALES = """
INSERT INTO report_sales (id, created_at, tenant_id, store_id, hub_id, event_id, sale_uuid, doc_type, number_text,
    business_date, seller, terminal_id, currency, gross, discounts, net, tax, total, training)
SELECT gen_random_uuid(), at, :tenant, (CAST(:stores AS uuid[]))[1 + g % 4], :hub, gen_random_uuid(), 'bench-' || g,
    CASE WHEN sign < 0 THEN 'refund' ELSE 'receipt' END, 'R-' || g, (at AT TIME ZONE 'Europe/Berlin')::date,
    (ARRAY['Ana','Ben','Cy','Dora','Eli','Fay','Gus','Hana'])[1 + (g / 7) % 8], 'T' || (1 + g % 3), 'EUR',
    sign * gross, sign * discount, sign * (total - tax), sign * tax, sign * total, false
FROM generate_series(1, CAST(:sales AS integer)) AS g,
    LATERAL (SELECT timestamptz '2026-09-30 22:00:00+00' + (g - 1) * interval '2.682 seconds' AS at,
                    300 + (CAST(g AS bigint) * 7919) % 9700 AS gross,
                    CAST(CASE WHEN g % 13 = 0 THEN 50 ELSE 0 END AS bigint) AS discount,
                    CASE WHEN g % 50 = 0 THEN -1 ELSE 1 END AS sign) AS v,
    LATERAL (SELECT v.gross - v.discount AS total) AS t,
    LATERAL (SELECT t.total * 19 / 119 AS tax) AS x
"""

LOAD_PAYMENTS = """
INSERT INTO report_sale_payments (id, created_at, sale_id, tender_id, tender_type, amount)
SELECT gen_random_uuid(), s.created_at, s.id, t.tender, t.tender, s.total
FROM report_sales s,
    LATERAL (SELECT (ARRAY['cash','card','voucher'])[1 + substr(s.number_text, 3)::int % 3] AS tender) AS t
"""

ROLLUP = """
INSERT INTO report_daily (id, created_at, tenant_id, store_id, business_date, seller, tender, sales_count,
    refund_count, gross, discounts, net, tax, total, refund_total, tender_amount)
SELECT gen_random_uuid(), now(), s.tenant_id, s.store_id, s.business_date, s.seller, {tender},
    count(*) FILTER (WHERE s.doc_type <> 'refund'), count(*) FILTER (WHERE s.doc_type = 'refund'),
    sum(s.gross), sum(s.discounts), sum(s.net), sum(s.tax), sum(s.total),
    coalesce(sum(s.total) FILTER (WHERE s.doc_type = 'refund'), 0), {amount}
FROM report_sales s {join}
WHERE NOT s.training
GROUP BY s.tenant_id, s.store_id, s.business_date, s.seller{group}
"""


CONSTRAINTS = """
SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint
WHERE (conrelid::regclass::text IN ('report_sales', 'report_sale_payments') AND contype IN ('p', 'u', 'f'))
   OR (contype = 'f' AND confrelid = 'report_sales'::regclass)
"""
INDEXES = """
SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('report_sales', 'report_sale_payments')
AND indexname NOT IN (SELECT conname FROM pg_constraint)
"""


async def _without_indexes(conn: Any) -> list[str]:
    """Drop the loaded tables' keys and indexes; returns the DDL that puts them back as they were.

    Building an index once over a million rows takes a second; keeping it up to date row by
    row (random UUIDs) takes most of a minute.
    """
    constraints = (await conn.execute(text(CONSTRAINTS))).all()
    indexes = (await conn.execute(text(INDEXES))).all()
    order = {"f": 0, "u": 1, "p": 2}
    for table, name, _kind, _ in sorted(constraints, key=lambda c: order[c[2]]):
        await conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        await conn.execute(text(f'DROP INDEX "{name}"'))
    restore = [
        f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}'
        for t, n, k, d in sorted(constraints, key=lambda c: -order[c[2]])
    ]
    return restore + [definition for _, definition in indexes]


async def _load(url: str) -> uuid.UUID:
    """The tenant whose month was loaded."""
    tenant, hub = uuid.uuid4(), uuid.uuid4()
    stores = [uuid.uuid4() for _ in range(STORES)]
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL synchronous_commit = off"))
            await conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            restore = await _without_indexes(conn)
            await conn.execute(
                text("INSERT INTO tenants (id, created_at, name) VALUES (:id, now(), 'Bench')"),
                {"id": tenant},
            )
            for number, store in enumerate(stores, 1):
                await conn.execute(
                    text(
                        "INSERT INTO stores (id, created_at, tenant_id, name, address_line1, address_line2, "
                        "postal_code, city, region, country, pos_mode, currency, locale, timezone, prices_include_tax) "
                        "VALUES (:id, now(), :tenant, :name, '', '', '', 'Berlin', '', 'DE', 'retail', 'EUR', 'de-DE', "
                        "'Europe/Berlin', true)"
                    ),
                    {"id": store, "tenant": tenant, "name": f"Store {number}"},
                )
            await conn.execute(
                text(LOAD_SALES), {"tenant": tenant, "stores": stores, "hub": hub, "sales": SALES}
            )
            await conn.execute(text(LOAD_PAYMENTS))
            for ddl in restore:
                await conn.execute(text(ddl))
            await conn.execute(text(ROLLUP.format(tender="''", amount="0", join="", group="")))
            await conn.execute(
                text(ROLLUP.format(tender="p.tender_id", amount="sum(p.amount)",
                                   join="JOIN report_sale_payments p ON p.sale_id = s.id", group=", p.tender_id"))
            )  # fmt: skip
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()
    return tenant


async def _time(url: str, tenant: uuid.UUID, filters: Filters, runs: int = 5) -> tuple[float, int]:
    """Median milliseconds of the sales report (after one warm-up call) and its document count."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    try:
        timings = []
        count = 0
        for run in range(runs + 1):
            async with sessions() as session:
                started = time.perf_counter()
                report = await ReportService(session, tenant).sales(filters, page=1, page_size=50)
                elapsed = (time.perf_counter() - started) * 1000
            count = report.totals.count
            if run:
                timings.append(elapsed)
        return statistics.median(timings), count
    finally:
        await engine.dispose()


async def measure_report_ms(pg_url: str = ADMIN_URL) -> dict[str, Any]:
    """Load a month of a million sales into a fresh database and time the sales report."""
    name = f"smartpos_report_bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(pg_url, isolation_level="AUTOCOMMIT")
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await upgrade(url)
        started = time.perf_counter()
        tenant = await _load(url)
        load_s = time.perf_counter() - started
        month_ms, count = await _time(url, tenant, MONTH)
        engine = make_engine(url)
        async with engine.connect() as conn:
            store = (await conn.execute(text("SELECT id FROM stores ORDER BY name LIMIT 1"))).scalar_one()
        await engine.dispose()
        narrow = Filters(date_from=MONTH.date_from, date_to=MONTH.date_to, store_ids=(store,), tender="card")
        narrow_ms, _ = await _time(url, tenant, narrow)
        return {
            "report_ms": round(month_ms, 1),
            "sales": SALES,
            "documents_in_report": count,
            "store_card_report_ms": round(narrow_ms, 1),
            "load_s": round(load_s, 1),
        }
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure_report_ms())))
