"""ES256 for RKSV: signature conversion, one JWS against a public key, and a whole chain.

The checks follow what the BMF test tool ("Prüftool", A-SIT) reports for an RKSV-DEP export:
signature, chaining (Anlage Z 4), the development of the turnover counter (RKSV § 8), the
start receipt being a signed null receipt, unique receipt ids, times that never go back, and
the signed null receipt that must end an outage of the security device (Prüftool 1.0.0).
Used by the tests and by anyone who wants to check a journal; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from protocols.signing.rksv import (
    ES256_SIGNATURE_LENGTH,
    ReceiptCode,
    RksvError,
    RksvFormatError,
    chain_value,
    decrypt_turnover,
    is_failed_signature,
    jws_parts,
    split_jws,
)


class ChainError(RksvError):
    """The receipt at ``index`` breaks the chain; ``reason`` says how."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"receipt {index}: {reason}")
        self.index = index
        self.reason = reason


class VerifiedReceipt(msgspec.Struct, frozen=True, kw_only=True):
    code: ReceiptCode
    signed: bool  # False: issued with "Sicherheitseinrichtung ausgefallen"
    turnover: int  # the counter after this receipt, as the verifier summed it


def raw_signature(der: bytes) -> bytes:
    """An ECDSA P-256 signature from DER (as cryptography returns it) to JWS R || S."""
    try:
        r, s = decode_dss_signature(der)
    except ValueError:
        raise RksvFormatError("the signature is not a DER ECDSA signature") from None
    if r.bit_length() > 256 or s.bit_length() > 256:
        raise RksvFormatError("the signature is not a P-256 signature")
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def der_signature(raw: bytes) -> bytes:
    """JWS R || S back to DER for verification."""
    if len(raw) != ES256_SIGNATURE_LENGTH:
        raise RksvFormatError(f"an ES256 signature has {ES256_SIGNATURE_LENGTH} bytes, not {len(raw)}")
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def verify_signature(jws: str, public_key: ec.EllipticCurvePublicKey) -> bool:
    """Whether ``jws`` carries a valid ES256 signature by ``public_key``.

    The signature is checked over the segments as they are, never over a re-encoding, so any
    JWS that a conforming signer produced verifies. A failed-device marker is not valid."""
    if not isinstance(public_key.curve, ec.SECP256R1):
        raise RksvFormatError("ES256 needs a P-256 public key")
    _, signature = jws_parts(jws)
    header, payload, _ = jws.split(".")
    if len(signature) != ES256_SIGNATURE_LENGTH:
        return False
    try:
        public_key.verify(
            der_signature(signature), f"{header}.{payload}".encode("ascii"), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        return False
    return True


def _parse(index: int, jws: str) -> tuple[ReceiptCode, bytes]:
    try:
        return split_jws(jws)
    except RksvFormatError as error:
        raise ChainError(index, str(error)) from None


def verify_chain(
    jws_list: Sequence[str],
    *,
    cashbox_id: str,
    aes_key: bytes,
    public_key: ec.EllipticCurvePublicKey,
    previous_jws: str | None = None,
    turnover: int = 0,
) -> list[VerifiedReceipt]:
    """Check a cashbox's receipts in order and return them with their counters.

    ``previous_jws`` and ``turnover`` continue a chain checked earlier; without them the first
    receipt must be the start receipt. Raises :class:`ChainError` at the first fault."""
    verified: list[VerifiedReceipt] = []
    seen: set[str] = set()
    last_time = ""
    previous_failed, restore_needed = False, False
    previous = previous_jws
    for index, jws in enumerate(jws_list):
        code, signature = _parse(index, jws)
        if code.cashbox_id != cashbox_id:
            raise ChainError(index, f"cashbox id {code.cashbox_id!r} is not {cashbox_id!r}")
        if code.receipt_id in seen:
            raise ChainError(index, f"receipt id {code.receipt_id!r} is used twice")
        seen.add(code.receipt_id)
        if code.issued_at < last_time:
            raise ChainError(index, f"time {code.issued_at} is before the previous receipt's")
        last_time = code.issued_at
        if code.previous_chain != chain_value(previous, cashbox_id):
            raise ChainError(index, "the chain value does not match the previous receipt")
        signed = not is_failed_signature(signature)
        if signed and not verify_signature(jws, public_key):
            raise ChainError(index, "the signature is not valid for the public key")
        with_turnover = not code.is_null or code.is_training or code.is_storno
        if previous is None:
            # The start receipt: a signed null receipt with a real counter (BMF test tool).
            if with_turnover or not signed:
                raise ChainError(index, "the first receipt is not a signed null (start) receipt")
        elif signed and with_turnover:
            if restore_needed:
                raise ChainError(index, "no signed null receipt after the security device failed")
            restore_needed = previous_failed
        elif signed:
            restore_needed = False
        if not code.is_training:
            turnover += code.amounts.total
            if not code.is_storno:
                try:
                    counter = decrypt_turnover(code.turnover, aes_key, cashbox_id, code.receipt_id)
                except RksvFormatError as error:
                    raise ChainError(index, str(error)) from None
                if counter != turnover:
                    raise ChainError(index, f"turnover counter {counter} is not the running sum {turnover}")
        verified.append(VerifiedReceipt(code=code, signed=signed, turnover=turnover))
        previous, previous_failed = jws, not signed
    return verified
