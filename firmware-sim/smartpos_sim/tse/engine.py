"""The simulated TSE: one cloud TSS in the shape of fiskaly SIGN DE v2, signing with ECDSA P-256.

A transaction is written with ``PUT /tss/{tss_id}/tx/{tx_id}?tx_revision=N``: revision 1 starts
it (state ACTIVE), later revisions update it (ACTIVE, usually with the receipt) and finish it
(FINISHED, with the receipt). ``N`` must be exactly the latest revision plus one, else ``409``;
a FINISHED transaction takes no more revisions. Every accepted revision is signed and moves the
TSS's signature counter by one; the transaction number is given at the start.

The receipt (``schema.standard_v1.receipt``) becomes DSFinV-K ``processData``::

    <Vorgangstyp>^<gross per VAT rate, 5 amounts joined by _>^<amount:Bar|Unbar[:currency]>_...

Vorgangstyp ``Beleg`` for RECEIPT, ``AVTraining`` for TRAINING (others as DSFinV-K names them);
the VAT order is NORMAL (19 %), REDUCED_1 (7 %), SPECIAL_RATE_1 (10.7 %), SPECIAL_RATE_2
(5.5 %), NULL (0 %); a payment's currency is written only when it is not EUR.

A finished transaction answers ``qr_code_data`` as DSFinV-K lays it out::

    V0;<client serial>;Kassenbeleg-V1;<processData>;<tx number>;<signature counter>;
    <start>;<end>;ecdsa-plain-SHA256;unixTime;<signature>;<public key>

with times as ISO 8601 UTC (``2024-05-01T10:00:00.000Z``), the signature as base64 of r||s
(32 bytes each, "plain") and the public key as base64 of the uncompressed point.

The signed message: a real TSE signs a DER log message (BSI TR-03151). This simulator signs the
UTF-8 text ``<operation>;<client serial>;Kassenbeleg-V1;<processData>;<tx number>;<signature
counter>;<start>;<log time>``, operation being StartTransaction, UpdateTransaction or
FinishTransaction and the times written as in the QR code. For a finished transaction that is
``FinishTransaction;`` followed by QR fields 2 to 8, so the QR code alone verifies.

The TSS serial number is the SHA-256 of the public key, in hex, as BSI TR-03153 defines it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

PROCESS_TYPE = "Kassenbeleg-V1"
ALGORITHM = "ecdsa-plain-SHA256"
TIME_FORMAT = "unixTime"
VAT_ORDER = ("NORMAL", "REDUCED_1", "SPECIAL_RATE_1", "SPECIAL_RATE_2", "NULL")
PAYMENT_WORDS = {"CASH": "Bar", "NON_CASH": "Unbar"}
BON_TYPES = {
    "RECEIPT": "Beleg",
    "TRAINING": "AVTraining",
    "TRANSFER": "AVTransfer",
    "ORDER": "AVBestellung",
    "CANCELLATION": "AVBelegstorno",
    "ABORT": "AVBelegabbruch",
    "BENEFIT_IN_KIND": "AVSachbezug",
    "INVOICE": "AVRechnung",
    "OTHER": "AVSonstige",
}
_AMOUNT = re.compile(r"^-?[0-9]{1,12}\.[0-9]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_OPERATIONS = {"Start": "StartTransaction", "Update": "UpdateTransaction", "Finish": "FinishTransaction"}


class TxError(Exception):
    """A refused request, answered as fiskaly does: ``{status_code, error, code, message}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        errors = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}
        return {
            "status_code": self.status,
            "error": errors.get(self.status, "Error"),
            "code": self.code,
            "message": self.message,
        }


@dataclass
class Transaction:
    tx_id: str
    number: int
    client_id: str
    time_start: int
    revision: int = 1
    state: str = "ACTIVE"
    process_data: str = ""
    counters: list[int] = field(default_factory=list)  # the signature counter of each revision
    answer: dict[str, Any] = field(default_factory=dict)  # the latest revision as answered


def iso(unix: int) -> str:
    """A TSE time (unix seconds) as the QR code writes it."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Tss:
    """One initialised TSS with its registered clients (tills) and its transactions."""

    def __init__(self, tss_id: str, clients: dict[str, str]) -> None:
        self.tss_id = tss_id
        self.clients = dict(clients)  # client id -> client serial number
        self._key = ec.generate_private_key(ec.SECP256R1())
        point = self._key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = base64.b64encode(point).decode()
        self.serial_number = hashlib.sha256(point).hexdigest()
        self.signature_counter = 0
        self.transaction_counter = 0
        self.transactions: dict[str, Transaction] = {}

    def info(self) -> dict[str, Any]:
        return {
            "_id": self.tss_id,
            "_type": "TSS",
            "state": "INITIALIZED",
            "serial_number": self.serial_number,
            "public_key": self.public_key,
            "signature_counter": str(self.signature_counter),
            "transaction_counter": str(self.transaction_counter),
            "signature_algorithm": ALGORITHM,
            "signature_timestamp_format": TIME_FORMAT,
            "number_registered_clients": len(self.clients),
        }

    def get(self, tx_id: str) -> dict[str, Any]:
        tx = self.transactions.get(tx_id)
        if tx is None:
            raise TxError(404, "E_TX_NOT_FOUND", f"transaction {tx_id} not found")
        return tx.answer

    def upsert(self, tx_id: str, revision: int, body: Any) -> dict[str, Any]:
        """Start, update or finish ``tx_id`` at ``revision``; the answer, or :class:`TxError`.

        Checks everything before changing anything, so a refused request leaves no trace.
        """
        if not isinstance(body, dict):
            raise TxError(400, "E_BAD_REQUEST", "the body must be a JSON object")
        state, client_id = body.get("state"), body.get("client_id")
        if state not in ("ACTIVE", "FINISHED"):
            raise TxError(400, "E_BAD_REQUEST", "state must be ACTIVE or FINISHED")
        if client_id not in self.clients:
            raise TxError(400, "E_CLIENT_NOT_FOUND", f"client {client_id} is not registered with this TSS")
        schema = body.get("schema")
        process_data = _process_data(schema) if schema is not None else None
        if state == "FINISHED" and process_data is None:
            raise TxError(400, "E_BAD_REQUEST", "finishing a transaction needs schema.standard_v1.receipt")
        tx = self.transactions.get(tx_id)
        if tx is None:
            if revision != 1:
                raise TxError(
                    404, "E_TX_NOT_FOUND", f"transaction {tx_id} not found (start it at revision 1)"
                )
            if state != "ACTIVE":
                raise TxError(400, "E_BAD_REQUEST", "a transaction starts ACTIVE")
            self.transaction_counter += 1
            tx = Transaction(tx_id, self.transaction_counter, client_id, int(time.time()))
            self.transactions[tx_id] = tx
            operation = "Start"
        else:
            if tx.state != "ACTIVE":
                raise TxError(409, "E_TX_ALREADY_FINISHED", f"transaction {tx_id} is {tx.state}")
            if revision != tx.revision + 1:
                raise TxError(
                    409,
                    "E_TX_REVISION_CONFLICT",
                    f"tx_revision must be {tx.revision + 1}, the latest revision being {tx.revision}",
                )
            if client_id != tx.client_id:
                raise TxError(400, "E_CLIENT_MISMATCH", "a transaction stays with the client that started it")
            tx.revision = revision
            operation = "Finish" if state == "FINISHED" else "Update"
        if process_data is not None:
            tx.process_data = process_data
        tx.state = state
        tx.answer = self._signed(tx, operation, schema)
        return tx.answer

    def listing(self) -> list[dict[str, Any]]:
        """Every transaction: what ``GET /sim/transactions`` answers."""
        return [
            {
                "_id": tx.tx_id,
                "number": tx.number,
                "state": tx.state,
                "latest_revision": tx.revision,
                "client_id": tx.client_id,
                "signature_counters": tx.counters,
                "process_data": tx.process_data,
            }
            for tx in self.transactions.values()
        ]

    def _signed(self, tx: Transaction, operation: str, schema: Any) -> dict[str, Any]:
        self.signature_counter += 1
        counter = self.signature_counter
        tx.counters.append(counter)
        log_time = int(time.time())
        client_serial = self.clients[tx.client_id]
        message = ";".join(
            (
                _OPERATIONS[operation],
                client_serial,
                PROCESS_TYPE,
                tx.process_data,
                str(tx.number),
                str(counter),
                iso(tx.time_start),
                iso(log_time),
            )
        )
        der = self._key.sign(message.encode("utf-8"), ec.ECDSA(hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        signature = base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()
        previous = tx.answer.get("schema", {}).get("standard_v1") if tx.answer else None
        standard = schema.get("standard_v1") if isinstance(schema, dict) else previous
        answer: dict[str, Any] = {
            "schema": {
                **({"standard_v1": standard} if standard else {}),
                "raw": {
                    "process_type": PROCESS_TYPE,
                    "process_data": base64.b64encode(tx.process_data.encode()).decode(),
                },
            },
            "state": tx.state,
            "tss_id": self.tss_id,
            "tss_serial_number": self.serial_number,
            "client_id": tx.client_id,
            "client_serial_number": client_serial,
            "revision": tx.revision,
            "latest_revision": tx.revision,
            "number": tx.number,
            "time_start": tx.time_start,
            "_id": tx.tx_id,
            "_type": "TRANSACTION",
            "_env": "TEST",
            "_version": "2.0-sim",
            "signature": {
                "value": signature,
                "algorithm": ALGORITHM,
                "counter": counter,
                "public_key": self.public_key,
            },
            "log": {"operation": operation, "timestamp": log_time, "timestamp_format": TIME_FORMAT},
        }
        if tx.state == "FINISHED":
            answer["time_end"] = log_time
            head = ("V0", client_serial, PROCESS_TYPE, tx.process_data, str(tx.number), str(counter))
            tail = (iso(tx.time_start), iso(log_time), ALGORITHM, TIME_FORMAT, signature, self.public_key)
            answer["qr_code_data"] = ";".join((*head, *tail))
        return answer


def _process_data(schema: Any) -> str:
    """DSFinV-K processData from ``schema.standard_v1.receipt``; TxError 400 if malformed."""
    receipt = schema.get("standard_v1", {}).get("receipt") if isinstance(schema, dict) else None
    if not isinstance(receipt, dict):
        raise TxError(400, "E_BAD_REQUEST", "schema.standard_v1.receipt is missing")
    bon = BON_TYPES.get(str(receipt.get("receipt_type")))
    if bon is None:
        raise TxError(400, "E_BAD_REQUEST", f"receipt_type must be one of {', '.join(BON_TYPES)}")
    per_vat = dict.fromkeys(VAT_ORDER, Decimal("0"))
    for entry in _list(receipt, "amounts_per_vat_rate"):
        if entry.get("vat_rate") not in per_vat:
            raise TxError(400, "E_BAD_REQUEST", f"vat_rate must be one of {', '.join(VAT_ORDER)}")
        per_vat[entry["vat_rate"]] += _amount(entry)
    payments: dict[tuple[str, str], Decimal] = {}
    for entry in _list(receipt, "amounts_per_payment_type"):
        kind, currency = entry.get("payment_type"), entry.get("currency_code", "EUR")
        if kind not in PAYMENT_WORDS or not isinstance(currency, str) or not _CURRENCY.match(currency):
            raise TxError(
                400, "E_BAD_REQUEST", "payment_type must be CASH or NON_CASH, currency_code ISO 4217"
            )
        payments[(kind, currency)] = payments.get((kind, currency), Decimal("0")) + _amount(entry)
    vat_text = "_".join(f"{amount:.2f}" for amount in per_vat.values())
    pay_text = "_".join(
        f"{amount:.2f}:{PAYMENT_WORDS[kind]}" + ("" if currency == "EUR" else f":{currency}")
        for (kind, currency), amount in payments.items()
    )
    return f"{bon}^{vat_text}^{pay_text}"


def _list(receipt: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = receipt.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise TxError(400, "E_BAD_REQUEST", f"{key} must be a list of objects")
    return entries


def _amount(entry: dict[str, Any]) -> Decimal:
    text = entry.get("amount")
    if not isinstance(text, str) or not _AMOUNT.match(text):
        raise TxError(400, "E_BAD_REQUEST", f'amounts are strings with two decimals ("7.50"), got {text!r}')
    return Decimal(text)
