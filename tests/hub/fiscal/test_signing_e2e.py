"""Sales signed by the store's signing service (Serbia's SDC, a German TSE, Austria's RKSV on the
hub), then printed on the receipt printer with what the signature requires: exactly once.

Real processes: the hub, the receipt printer simulator, and the SDC and TSE simulators.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.hub.sales.catalog_seed import seed_catalog
from tests.support.procs import HubProcess, PrinterSim, printer_device, wait_for
from tests.support.signing_sims import CLIENT_ID, TSS_ID, SdcSim, TseSim

TAX_GROUPS = '[fiscal.tax_groups]\n"17" = "A"\n'


def start_hub(tmp_path: Path, sim: PrinterSim, fiscal_toml: str) -> HubProcess:
    hub = HubProcess(tmp_path, [printer_device(sim, poll_interval=0.5)], extra_toml=fiscal_toml + TAX_GROUPS)
    return hub.start()


def sell(hub: HubProcess, ids: dict[str, int], key: str) -> dict[str, Any]:
    status, cart = hub.api("POST", "/api/v1/carts", {"terminal_id": "T1"})
    assert status == 201, cart
    assert (
        hub.api("POST", f"/api/v1/carts/{cart['id']}/lines", {"product_id": ids["CEV10"], "quantity": "2"})[0]
        == 201
    )
    status, sale = hub.api("POST", f"/api/v1/carts/{cart['id']}/checkout",
                           {"idempotency_key": key, "payments": [{"tender_id": "cash", "amount": 3000}]})  # fmt: skip
    assert status == 201, sale
    assert sale["fiscal"]["state"] == "pending" and sale["print_job_id"] is None
    return dict(sale)


def signed(hub: HubProcess, sale_id: int, timeout: float = 20.0) -> dict[str, Any]:
    def current() -> dict[str, Any] | None:
        fiscal = hub.api("GET", f"/api/v1/sales/{sale_id}")[1]["fiscal"]
        return fiscal if fiscal["state"] == "fiscalised" else None

    return dict(wait_for(current, timeout, what=f"sale {sale_id} signed"))


@pytest.fixture
def sdc(tmp_path: Path) -> Iterator[SdcSim]:
    sim = SdcSim(tmp_path).start()
    yield sim
    sim.stop()


def test_taxcore_signs_once_even_when_the_answer_is_lost_and_the_journal_is_printed(
    tmp_path: Path, sim: PrinterSim, sdc: SdcSim
) -> None:
    toml = f'[fiscal]\nmode = "taxcore"\n[fiscal.taxcore]\nurl = "{sdc.url}"\nretry_delay = 0.05\n'
    toml += '[fiscal.taxcore.tax_labels]\nA = "Ђ"\n'
    hub = start_hub(tmp_path, sim, toml)
    try:
        ids = seed_catalog(hub)
        sdc.faults(drop=1)  # the SDC signs the first request, then the connection drops unanswered
        sale = sell(hub, ids, "tc-1")
        fiscal = signed(hub, sale["id"])
        invoices = sdc.invoices()
        assert len(invoices) == 1
        assert fiscal["fiscal_number"] == invoices[0]["invoiceNumber"]
        assert fiscal["qr_data"].startswith("http")  # the verification URL
        paper = sim.wait_paper(sale["number_text"])
        assert "ФИСКАЛНИ РАЧУН" in paper or fiscal["fiscal_number"] in paper
        assert paper.count("--- CUT ---") == 1  # one receipt, though the SDC signed it after a retry

        sdc.faults(fail=1)  # a 500 before signing: retried, signed once
        second = sell(hub, ids, "tc-2")
        signed(hub, second["id"])
        assert len(sdc.invoices()) == 2
    finally:
        hub.stop()


def test_tse_transaction_is_finished_once_and_its_data_printed(tmp_path: Path, sim: PrinterSim) -> None:
    tse = TseSim(tmp_path).start()
    toml = (f'[fiscal]\nmode = "tse"\n[fiscal.tse]\nurl = "{tse.url}/api/v2"\ntss_id = "{TSS_ID}"\n'
            f'client_id = "{CLIENT_ID}"\napi_key = "sim-api-key"\napi_secret = "sim-api-secret"\nretry_delay = 0.05\n'
            # The shared test catalog is Bosnian (17 %): the TSE files it as Germany's normal rate.
            '[fiscal.tse.vat_rates]\n"17" = "NORMAL"\n')  # fmt: skip
    hub = start_hub(tmp_path, sim, toml)
    try:
        ids = seed_catalog(hub)
        sale = sell(hub, ids, "tse-1")
        fiscal = signed(hub, sale["id"])
        finished = [tx for tx in tse.transactions() if tx["state"] == "FINISHED"]
        assert len(finished) == 1 and fiscal["fiscal_number"] == str(finished[0]["number"])
        assert fiscal["qr_data"].startswith("V0;")
        sim.wait_paper(sale["number_text"])
    finally:
        hub.stop()
        tse.stop()


def test_rksv_signs_on_the_hub_chains_a_start_receipt_and_prints_the_code(
    tmp_path: Path, sim: PrinterSim
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "rksv.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    aes = base64.b64encode(os.urandom(32)).decode()
    toml = (f'[fiscal]\nmode = "rksv"\n[fiscal.rksv]\ncashbox_id = "KASSE-1"\naes_key = "{aes}"\n'
            f'key_file = "{key_file}"\ncertificate_serial = "U:ATU12345678-K1"\n')  # fmt: skip
    hub = start_hub(tmp_path, sim, toml)
    try:
        ids = seed_catalog(hub)
        first = signed(hub, sell(hub, ids, "at-1")["id"])
        second = signed(hub, sell(hub, ids, "at-2")["id"])
        assert first["qr_data"].startswith("_R1-AT0_KASSE-1_")
        # Receipt 1 is the start receipt the first sale needed, so the sales are 2 and 3.
        assert (first["fiscal_number"], second["fiscal_number"]) == ("2", "3")
        hub.stop()
        hub.start()
        third = signed(hub, sell(hub, ids, "at-3")["id"])
        assert third["fiscal_number"] == "4"  # the cashbox state survived the restart
        assert "_R1-AT0_KASSE-1_" in sim.paper()
    finally:
        hub.stop()
