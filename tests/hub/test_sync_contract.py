"""The hub's outbox speaks the sync contract: every fact a real hub records decodes with the
types in ``protocols.sync`` (the cloud's side of the contract), seq strictly increasing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from protocols.sync.messages import EventEnvelope, decode_envelope, decode_payload
from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.staff.staff_support import Staff, hire, without_shift_clock
from tests.support.procs import HubProcess


def test_every_outbox_fact_decodes_with_the_contract(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path, []).start()
    try:
        ids = seed_catalog(hub)
        without_shift_clock(hub)
        hire(hub)
        lejla = Staff(hub, 3, "3333")
        shift = lejla.open_shift(5000)
        sale = lejla.sell(ids["BAK1"], 600, "c1", quantity="2")
        refund = {"idempotency_key": "c2", "terminal_id": "T1", "reason": "x",
                  "lines": [{"sale_line_id": sale["lines"][0]["id"], "quantity": "1"}]}  # fmt: skip
        assert lejla.api("POST", f"/api/v1/sales/{sale['id']}/refunds", refund)[0] == 201
        lejla.api("POST", "/api/v1/cash/movements", {"kind": "cash_in", "amount": 100, "reason": "coins"})
        lejla.api(
            "POST", f"/api/v1/shifts/{shift['id']}/close", {"counted": {"cash": 5400}, "print_report": False}
        )
        assert lejla.api("POST", "/api/v1/reports/z")[0] == 201
        with sqlite3.connect(f"file:{tmp_path / 'data' / 'hub.db'}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT seq, id, type, occurred_at, payload FROM outbox ORDER BY seq"
            ).fetchall()
    finally:
        hub.stop()
    types = []
    for seq, event_id, kind, occurred_at, payload in rows:
        wire = msgspec.json.encode(EventEnvelope(seq=seq, id=event_id, type=kind, occurred_at=occurred_at,
                                                 payload=msgspec.Raw(payload.encode())))  # fmt: skip
        decoded = decode_payload(decode_envelope(wire))
        types.append(kind)
        if kind == "sale.completed":
            assert decoded.number_text == "T1-R-000001" and decoded.total == 600
        if kind == "sale.refunded":
            assert decoded.total == -300 and decoded.refund_of == sale["id"]
    business = [t for t in types if t not in ("audit.recorded", "stock.moved", "device.status")]
    expected = [
        "shift.opened",
        "sale.completed",
        "sale.refunded",
        "cash.moved",
        "shift.closed",
        "z_report.created",
    ]
    assert business == expected
    # Baklava tracks stock: the sale and the refund moved it; every audit entry is a fact too.
    assert types.count("stock.moved") == 2 and types.count("audit.recorded") >= 5
    seqs = [row[0] for row in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
