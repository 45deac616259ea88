"""References checked on the state the delta leaves behind, inside its transaction.

Every active product's category, unit, tax rate and tax group; every active tax group's rates;
every active category's parent (and no loops); every active tender's change tender. A row
that is archived by the delta while an active row still points at it fails here, as does a
reference to a row that never existed. The first failure rejects the delta, naming the row
that points (section, key and field) and what it points at.
"""

from __future__ import annotations

from hub.db.database import Transaction
from hub.domain.cloud_config.model import ConfigRejected, rejected

# (section of the pointing row, SQL giving (key, target) pairs that fail, field, what it points at)
_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    *(
        (
            "products",
            f"SELECT p.id AS key, p.{column} AS target FROM products p LEFT JOIN {table} t ON t.id = p.{column} "  # noqa: S608
            f"AND t.active = 1 WHERE p.active = 1 AND p.{column} IS NOT NULL AND t.id IS NULL LIMIT 1",
            column,
            what,
        )
        for column, table, what in (
            ("tax_rate_id", "tax_rates", "tax rate"),
            ("tax_group_id", "tax_groups", "tax group"),
            ("category_id", "categories", "category"),
            ("unit_id", "units", "unit"),
        )
    ),
    (
        "tax_groups",
        "SELECT g.id AS key, r.rate_id AS target FROM tax_groups g JOIN tax_group_rates r ON r.group_id = g.id "
        "LEFT JOIN tax_rates t ON t.id = r.rate_id AND t.active = 1 WHERE g.active = 1 AND t.id IS NULL LIMIT 1",
        "rate_ids",
        "tax rate",
    ),
    (
        "categories",
        "SELECT c.id AS key, c.parent_id AS target FROM categories c LEFT JOIN categories t ON t.id = c.parent_id "
        "AND t.active = 1 WHERE c.active = 1 AND c.parent_id IS NOT NULL AND t.id IS NULL LIMIT 1",
        "parent_id",
        "category",
    ),
    (
        "tenders",
        "SELECT d.id AS key, d.change_tender AS target FROM tenders d LEFT JOIN tenders t ON t.id = d.change_tender "
        "AND t.active = 1 WHERE d.active = 1 AND d.change_tender IS NOT NULL AND t.id IS NULL LIMIT 1",
        "change_tender",
        "tender",
    ),
)


async def check_references(tx: Transaction) -> None:
    for section, sql, field_name, what in _CHECKS:
        row = await tx.fetchone(sql)
        if row is not None:
            raise rejected(
                section, str(row["key"]), field_name, f"{what} {row['target']} does not exist or is archived"
            )
    await _category_loops(tx)
    defaults = await tx.fetchall("SELECT id FROM tax_rates WHERE is_default = 1 AND active = 1")
    if len(defaults) > 1:
        raise ConfigRejected(
            f"tax_rates: more than one default rate ({', '.join(str(r['id']) for r in defaults)})"
        )


async def _category_loops(tx: Transaction) -> None:
    parents = {
        r["id"]: r["parent_id"]
        for r in await tx.fetchall("SELECT id, parent_id FROM categories WHERE parent_id IS NOT NULL")
    }
    for start in parents:
        seen = {start}
        node = parents.get(start)
        while node is not None:
            if node in seen:
                raise rejected("categories", str(start), "parent_id", "the categories' parents form a loop")
            seen.add(node)
            node = parents.get(node)
