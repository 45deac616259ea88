"""RKSV code, turnover counter, chain and JWS against public vectors; the cashbox rules.

Golden vectors (facts, not code, from public sources):
- JWS header, failed-device signature, payload and turnover encryption with a published AES key:
  the RKSV cashbox tests of andi-git/boatpos (regkas-server, ``FirstSale``), receipts
  ``RegKas1`` / ``2015-0000003`` (counter 2750 cents) and ``2015-0000004`` (4200 cents).
- ES256 signature and start-receipt chain value: the A-SIT demo output (at-registrierkassen-
  mustercode, release/example-output.zip of release 0.1: DEP export with its certificate).
  That early release formatted the payload differently, so only the JWS signature and the
  chain value of its start receipt (SHA-256 of the cashbox id) are used.
"""

from __future__ import annotations

import base64
import contextlib
from datetime import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from protocols.signing import rksv
from protocols.signing.rksv import Amounts, ReceiptCode, RksvFormatError, TaxSet
from protocols.signing.rksv_cashbox import (
    CashboxConfig,
    ReceiptKind,
    RksvState,
    complete,
    draft,
    receipts_due,
)
from protocols.signing.rksv_verify import ChainError, raw_signature, verify_chain, verify_signature

BOATPOS_KEY = base64.b64decode("ONRcz49yLDIo2FgwNhe9Q5fSiZFEies97uRMzeAAPkI=")
BOATPOS_PAYLOAD = (
    "_R1-AT0_RegKas1_2015-0000003_2015-07-01T15:00:00_7,50_7,00_0,00_0,00_0,00_GFcSnbVWfIw=_123_dpzooBjO1F4="
)
BOATPOS_PAYLOAD_B64URL = (
    "X1IxLUFUMF9SZWdLYXMxXzIwMTUtMDAwMDAwM18yMDE1LTA3LTAxVDE1OjAwOjAwXzcsNTBfNywwMF8wLDAwXzAsMDBf"
    "MCwwMF9HRmNTbmJWV2ZJdz1fMTIzX2Rwem9vQmpPMUY0PQ"
)
ASIT_CERT = (
    "MIIBSTCB8KADAgECAgg0FQNCIsAsBDAKBggqhkjOPQQDAjAWMRQwEgYDVQQDDAtSZWdLYXNzYSBDQTAeFw0xNTEwMDIxNzQ1MDda"
    "Fw0xNTEwMDMxNzQ1MTdaMB4xHDAaBgNVBAMME1NpZ25pbmcgY2VydGlmaWNhdGUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATb"
    "uFqOo6y+5ARWHIyG0PUw2EQCnAqvfPrbZjDWJxQhOBM0xMggp6k7vgpra3gdfgIRQLBMbmrugVvPw+YZ7Z15oyAwHjAMBgNVHRMB"
    "Af8EAjAAMA4GA1UdDwEB/wQEAwIHgDAKBggqhkjOPQQDAgNIADBFAiBlE2GiKfdx4XQsSqYdYStnWxOQC2l4yIMnLCy6GROI+wIh"
    "AJfl+QsE9/mP7EP2cs8lw/PKs4AlTmIoHcBRfflLMwtK"
)
ASIT_JWS = [
    "eyJhbGciOiJFUzI1NiJ9.UjEtQVQwX0RFTU8tQ0FTSC1CT1gxNDFfNjE3NjBfMjAxNS0xMC0wMlQxOTo0NToxN18wLjAwXzAuMDBf"
    "MC4wMF8wLjAwXzAuMDBfOG84NE5IRHdsVEU9XzM3NTI5MDk0NDcwNjg5MjA4MzZfREtYZnhYU0E3RVk9._WjxQ8zD4QB1qiFUQKwu"
    "gedT-ILbhz2r7r-sArM0l6ZV8YPBvGPU5I1sIM3FHjOWvFmhAtysmserLuoUQPSJPw",
    "eyJhbGciOiJFUzI1NiJ9.UjEtQVQwX0RFTU8tQ0FTSC1CT1gxNDFfNjE3NjFfMjAxNS0xMC0wMlQxOTo0NToxOF8wLjAwXzAuMDBf"
    "MzcuMjRfMC4wMF80My4wNl9tRjZmOWlxblZyOD1fMzc1MjkwOTQ0NzA2ODkyMDgzNl9ZbE95WkpVUnN2ND0.mdnHrv01XOLXeyGiQ"
    "w2mphsg0KsUxpjzlcqd6GYospyJSKcut2n1nqMiGSL1mlQ_b-EBTDOl8rcAl946vgYMxg",
]

KEY = ec.generate_private_key(ec.SECP256R1())
AES = bytes(range(32))
CONFIG = CashboxConfig(cashbox_id="KASSE-1", aes_key=AES, certificate_serial="U:ATU12345678-K1")


def boatpos_code() -> ReceiptCode:
    return ReceiptCode(
        zda="AT0",
        cashbox_id="RegKas1",
        receipt_id="2015-0000003",
        issued_at="2015-07-01T15:00:00",
        amounts=Amounts(normal=750, reduced_1=700),
        turnover="GFcSnbVWfIw=",
        certificate_serial="123",
        previous_chain="dpzooBjO1F4=",
    )


def test_turnover_encryption_matches_the_published_vectors() -> None:
    assert rksv.encrypt_turnover(2750, BOATPOS_KEY, "RegKas1", "2015-0000003") == "GFcSnbVWfIw="
    assert rksv.encrypt_turnover(4200, BOATPOS_KEY, "RegKas1", "2015-0000004") == "HbazrfakqjI="
    assert rksv.decrypt_turnover("HbazrfakqjI=", BOATPOS_KEY, "RegKas1", "2015-0000004") == 4200


def test_payload_and_jws_signing_input_match_the_published_vector() -> None:
    code = boatpos_code()
    assert code.payload() == BOATPOS_PAYLOAD
    assert ReceiptCode.from_payload(BOATPOS_PAYLOAD) == code
    assert rksv.signing_input(code) == f"eyJhbGciOiJFUzI1NiJ9.{BOATPOS_PAYLOAD_B64URL}".encode()


def test_failed_device_signature_and_markers_match_the_published_values() -> None:
    qr = rksv.qr_code(rksv.failed_jws(boatpos_code()))
    assert qr == f"{BOATPOS_PAYLOAD}_U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg=="
    assert base64.b64encode(b"TRA").decode() == rksv.TRAINING_MARKER
    assert base64.b64encode(b"STO").decode() == rksv.STORNO_MARKER


def test_start_receipt_chain_value_matches_the_asit_demo_output() -> None:
    assert rksv.chain_value(None, "DEMO-CASH-BOX141") == "DKXfxXSA7EY="


def test_asit_demo_jws_signatures_verify_with_their_certificate() -> None:
    public_key = x509.load_der_x509_certificate(base64.b64decode(ASIT_CERT)).public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    assert all(verify_signature(jws, public_key) for jws in ASIT_JWS)
    header, _, signature = ASIT_JWS[1].split(".")
    assert not verify_signature(f"{header}.{ASIT_JWS[0].split('.')[1]}.{signature}", public_key)
    assert not verify_signature(ASIT_JWS[0], KEY.public_key())


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("20", TaxSet.NORMAL), ("10.00", TaxSet.REDUCED_1), ("13", TaxSet.REDUCED_2), ("19", TaxSet.SPECIAL),
     ("4.9", TaxSet.SPECIAL), ("0", TaxSet.ZERO), ("7", TaxSet.ZERO)],
)  # fmt: skip
def test_tax_rates_go_to_their_sets(rate: str, expected: TaxSet) -> None:
    assert rksv.tax_set(rate) is expected


def test_amounts_format_with_a_decimal_comma() -> None:
    assert [rksv.format_amount(c) for c in (0, 5, 1234, -1234, -7)] == [
        "0,00",
        "0,05",
        "12,34",
        "-12,34",
        "-0,07",
    ]
    with pytest.raises(RksvFormatError):
        rksv.parse_amount("12.34")
    with pytest.raises(RksvFormatError):
        rksv.parse_amount("012,34")


@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_amounts_round_trip(cents: int) -> None:
    assert rksv.parse_amount(rksv.format_amount(cents)) == cents


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text(min_size=1, max_size=20))
def test_turnover_counter_round_trips(counter: int, receipt_id: str) -> None:
    encoded = rksv.encrypt_turnover(counter, AES, "KASSE-1", receipt_id)
    assert len(base64.b64decode(encoded)) == rksv.TURNOVER_LENGTH
    assert rksv.decrypt_turnover(encoded, AES, "KASSE-1", receipt_id) == counter


def test_jws_qr_round_trip_and_signature() -> None:
    code = boatpos_code()
    data = rksv.signing_input(code)
    jws = rksv.jws_compact(code, raw_signature(KEY.sign(data, ec.ECDSA(hashes.SHA256()))))
    assert verify_signature(jws, KEY.public_key())
    assert rksv.jws_from_qr(rksv.qr_code(jws)) == jws
    assert rksv.split_jws(jws)[0] == code


@given(st.text(max_size=300))
def test_decoders_raise_only_format_errors(text: str) -> None:
    for decode in (ReceiptCode.from_payload, rksv.split_jws, rksv.jws_from_qr):
        with contextlib.suppress(RksvFormatError):
            decode(text)


@given(
    st.lists(st.sampled_from(["_", "R1-AT0", "K", "1", "0,00", "2026-01-01T00:00:00", "AAAAAAAAAAA=", "x"]))
)
def test_near_codes_raise_only_format_errors(parts: list[str]) -> None:
    with contextlib.suppress(RksvFormatError):
        ReceiptCode.from_payload("_".join(parts))


def test_ids_with_separators_are_refused() -> None:
    with pytest.raises(RksvFormatError):
        ReceiptCode.from_payload(BOATPOS_PAYLOAD.replace("RegKas1", "Reg_Kas1"))
    with pytest.raises(RksvFormatError):
        rksv.check_certificate_serial("AT0", "123")  # a closed system names a company key
    rksv.check_certificate_serial("AT1", "359aff00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def issue(
    state: RksvState,
    kind: ReceiptKind,
    when: str,
    amounts: Amounts | None = None,
    *,
    signed: bool = True,
    closes_year: int = 0,
) -> tuple[RksvState, str]:
    drafted = draft(CONFIG, state, kind, at(when), amounts, closes_year=closes_year)
    signature = raw_signature(KEY.sign(drafted.signing_input, ec.ECDSA(hashes.SHA256()))) if signed else None
    new_state, issued = complete(state, drafted, signature, at(when))
    return new_state, issued.jws


def check(chain: list[str]) -> list[int]:
    verified = verify_chain(chain, cashbox_id="KASSE-1", aes_key=AES, public_key=KEY.public_key())
    return [receipt.turnover for receipt in verified]


def test_a_chain_of_every_receipt_kind_verifies() -> None:
    state, chain = RksvState(), []
    for kind, when, amounts, signed in [
        (ReceiptKind.START, "2026-01-31T08:00:00", None, True),
        (ReceiptKind.STANDARD, "2026-01-31T09:00:00", Amounts(normal=1200, reduced_1=550), True),
        (ReceiptKind.TRAINING, "2026-01-31T09:30:00", Amounts(normal=999), True),
        (ReceiptKind.STORNO, "2026-01-31T10:00:00", Amounts(normal=-1200), True),
        (ReceiptKind.STANDARD, "2026-01-31T11:00:00", Amounts(zero=300), False),
        (ReceiptKind.RECOVERY, "2026-01-31T12:00:00", None, True),
        (ReceiptKind.MONTH, "2026-02-01T08:00:00", None, False),
    ]:
        state, jws = issue(state, kind, when, amounts, signed=signed)
        chain.append(jws)
    assert check(chain) == [0, 1750, 1750, 550, 850, 850, 850]
    assert state.turnover == 850 and state.signature_failed
    with pytest.raises(ChainError, match="receipt 2"):
        check([chain[0], chain[1], chain[3]])  # a receipt left out breaks the chain
    with pytest.raises(ChainError, match="receipt 0"):
        check(chain[1:])  # no start receipt


def test_after_a_failure_a_signed_null_receipt_must_come_before_the_second_signed_sale() -> None:
    state, chain = RksvState(), []
    for kind, signed in [(ReceiptKind.START, True), (ReceiptKind.STANDARD, False)] + [
        (ReceiptKind.STANDARD, True)
    ] * 2:
        state, jws = issue(state, kind, "2026-03-02T10:00:00", Amounts(normal=100) if kind != "start" else None,
                           signed=signed)  # fmt: skip
        chain.append(jws)
    with pytest.raises(ChainError, match="receipt 3: no signed null receipt"):
        check(chain)


@given(st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=10**7)), max_size=12))
def test_decrypted_counter_is_the_sum_of_sales_and_refunds(moves: list[tuple[bool, int]]) -> None:
    state, chain = issue(RksvState(), ReceiptKind.START, "2026-05-01T08:00:00")
    chain_list, expected = [chain], 0
    for refund, cents in moves:
        expected += -cents if refund else cents
        amounts = Amounts(normal=-cents) if refund else Amounts(reduced_2=cents)
        state, jws = issue(state, ReceiptKind.STANDARD, "2026-05-01T09:00:00", amounts)
        chain_list.append(jws)
        assert (
            rksv.decrypt_turnover(
                rksv.split_jws(jws)[0].turnover, AES, "KASSE-1", str(state.last_receipt_number)
            )
            == expected
        )
    assert check(chain_list)[-1] == expected == state.turnover


def test_due_receipts_follow_the_calendar() -> None:
    assert [d.kind for d in receipts_due(RksvState(), at("2026-01-05T10:00:00"))] == [ReceiptKind.START]
    state, _ = issue(RksvState(), ReceiptKind.START, "2026-01-05T10:00:00")
    assert receipts_due(state, at("2026-02-01T00:00:00")) == []  # no turnover since: nothing to close
    state, _ = issue(state, ReceiptKind.STANDARD, "2026-01-06T10:00:00", Amounts(normal=100))
    assert receipts_due(state, at("2026-01-31T23:59:59")) == []
    (month,) = receipts_due(state, at("2026-02-01T00:00:00"))
    assert month.kind is ReceiptKind.MONTH and month.closes_period
    (year,) = receipts_due(state, at("2027-03-01T00:00:00"))
    assert year.kind is ReceiptKind.YEAR and year.closes_year == 2026


def test_a_year_receipt_that_cannot_be_signed_becomes_a_failed_month_receipt_and_stays_owed() -> None:
    state, _ = issue(RksvState(), ReceiptKind.START, "2026-12-30T10:00:00")
    drafted = draft(
        CONFIG, state, ReceiptKind.YEAR, at("2027-01-02T10:00:00"), closes_period=True, closes_year=2026
    )
    state, issued = complete(state, drafted, None, at("2027-01-02T10:00:00"))
    assert issued.kind is ReceiptKind.MONTH and not issued.signed
    assert state.year_due == 2026 and state.signature_failed
    (owed,) = receipts_due(state, at("2027-01-02T11:00:00"))
    assert owed.kind is ReceiptKind.YEAR and owed.optional and owed.closes_year == 2026
    state, _ = issue(state, ReceiptKind.YEAR, "2027-01-02T11:00:00", closes_year=2026)
    assert state.year_due == 0 and not state.signature_failed


def test_receipt_times_never_go_back_and_null_receipts_stay_null() -> None:
    state, _ = issue(RksvState(), ReceiptKind.START, "2026-04-01T10:00:00")
    drafted = draft(CONFIG, state, ReceiptKind.STANDARD, at("2026-04-01T09:00:00"), Amounts(normal=1))
    assert drafted.code.issued_at == "2026-04-01T10:00:00"
    with pytest.raises(rksv.RksvError):
        draft(CONFIG, state, ReceiptKind.MONTH, at("2026-04-02T09:00:00"), Amounts(normal=1))
    with pytest.raises(rksv.RksvError):
        draft(CONFIG, state, ReceiptKind.START, at("2026-04-02T09:00:00"))
    with pytest.raises(rksv.RksvError):
        complete(
            state,
            draft(CONFIG, state, ReceiptKind.RECOVERY, at("2026-04-02T09:00:00")),
            None,
            at("2026-04-02"),
        )
