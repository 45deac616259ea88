"""Which configuration sections the cloud manages, and the rule that the hub's own API leaves
them alone.

A section is managed once an applied cloud config has named it (a row in ``config_items``,
schema 11). From then on a local create, edit or archive in that section is refused with 409
``managed_by_cloud``: the next delta would overwrite the edit, and a locally created row could
take an id the cloud later assigns to another item. Reads stay open, and the store's own data
(stock, sales, shifts, customers, carts) is never a config section. A hub that has never
applied a cloud config has no managed section, so nothing changes for it.

The set is read once per database and cached; :func:`forget` (run by
:func:`hub.domain.cloud_config.apply.apply` after each applied delta commits) drops it.

This module sits outside :mod:`hub.domain.cloud_config` on purpose: the domain services import
it, and the cloud config's writers import those services, so the package would be a cycle.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from hub.db.database import Database
from hub.domain.errors import Conflict

# Sections whose rows the hub's own services also write (the keys of the cloud's delta).
TAX_RATES = "tax_rates"
TAX_GROUPS = "tax_groups"
UNITS = "units"
CATEGORIES = "categories"
PRODUCTS = "products"
TENDERS = "tenders"
ROLES = "roles"
EMPLOYEES = "employees"
INFOCODES = "infocodes"
SALES_TARGETS = "sales_targets"
STORE_SETTINGS = "store_settings"

_cache: WeakKeyDictionary[Database, frozenset[str]] = WeakKeyDictionary()
_generation: WeakKeyDictionary[Database, int] = WeakKeyDictionary()


class ManagedByCloud(Conflict):
    """A local write to a section the cloud manages."""

    def __init__(self, section: str) -> None:
        super().__init__(
            "managed_by_cloud",
            f"{section.replace('_', ' ')} are managed by the cloud on this hub; change them there",
            details={"section": section},
        )
        self.section = section


async def managed_sections(db: Database) -> frozenset[str]:
    """The sections an applied cloud config has named (empty on a hub that never had one)."""
    found = _cache.get(db)
    if found is None:
        generation = _generation.get(db, 0)
        rows = await db.fetchall("SELECT DISTINCT section FROM config_items")
        found = frozenset(str(r["section"]) for r in rows)
        # A delta committed while we read: keep the answer for this call only.
        if _generation.get(db, 0) == generation:
            _cache[db] = found
    return found


def forget(db: Database) -> None:
    """Drop the cached set (a config delta has just committed)."""
    _cache.pop(db, None)
    _generation[db] = _generation.get(db, 0) + 1


async def ensure_local(db: Database, *sections: str) -> None:
    """Raise :class:`ManagedByCloud` if any of ``sections`` is managed by the cloud."""
    managed = await managed_sections(db)
    for section in sections:
        if section in managed:
            raise ManagedByCloud(section)
