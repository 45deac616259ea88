"""The catalog context: tax rates and groups, units, categories, products with variants and
barcodes, customers, stock and CSV import/export.

- :mod:`.schemas`: the API's input and output Structs.
- :mod:`.barcode_check`: GS1 check digits and the stored form of a barcode.
- :mod:`.reference_store`, :mod:`.product_store`, :mod:`.stock`: the SQL, one entity family each.
- :mod:`.service`: :class:`~.service.CatalogService`, every write audited in one transaction.
- :mod:`.adapter`: :class:`~.adapter.CatalogAdapter`, the catalog as the sales context sees it.
- :mod:`.csv_io`, :mod:`.csv_service`: CSV parsing rules, import and export.

Nothing is imported here, so ``hub.domain.sales`` can use :mod:`.barcode_check` without
pulling in the rest.
"""
