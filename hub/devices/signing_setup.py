"""The signing adapter a store's ``[fiscal]`` section asks for, built with the hub's own parts
(the RKSV cashbox lives in the hub's database)."""

from __future__ import annotations

from pathlib import Path

from drivers.signing.base import SigningAdapter
from hub.config import ConfigError, FiscalSection
from hub.db.database import Database


def signing_adapter(section: FiscalSection, db: Database) -> SigningAdapter | None:
    """The adapter of ``section.mode``, or None when the store signs nothing (off, device).

    Adapters are imported only for the mode in use: RKSV's cryptography alone costs a hub that
    never signs about 10 MB.
    """
    if section.mode == "taxcore" and section.taxcore is not None:
        from drivers.signing.taxcore import TaxCoreAdapter

        return TaxCoreAdapter(section.taxcore)
    if section.mode == "tse" and section.tse is not None:
        from drivers.signing.tse import TseAdapter

        return TseAdapter(section.tse)
    if section.mode == "rksv" and section.rksv is not None:
        from drivers.signing.rksv import RksvAdapter, SoftwareSigner
        from hub.domain.fiscal.rksv_store import SqliteRksvStore

        rksv = section.rksv
        try:
            pem = Path(rksv.key_file).read_bytes()
            signer = SoftwareSigner(pem, rksv.certificate_serial)
            return RksvAdapter(cashbox_id=rksv.cashbox_id, aes_key=rksv.aes_key, signer=signer,
                               store=SqliteRksvStore(db), zda=rksv.zda, timezone=rksv.timezone)  # fmt: skip
        except OSError as exc:
            raise ConfigError(f"fiscal.rksv.key_file: cannot read {rksv.key_file}: {exc.strerror}") from None
        except ValueError as exc:
            raise ConfigError(f"fiscal.rksv: {exc}") from None
    return None
