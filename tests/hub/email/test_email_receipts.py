"""E-mailed receipts through a real SMTP server: sent once, retried while the relay is down,
never queued twice, invoices with their PDF attached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sales.test_sales_api import add, cash, new_cart, pay
from tests.support.procs import HubProcess, wait_for
from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    try:
        yield server
    finally:
        server.stop()


def start_hub(tmp_path: Path, sink: SmtpSink, **smtp: Any) -> tuple[HubProcess, dict[str, int]]:
    hub = HubProcess(tmp_path, [], extra_toml=sink.toml(**smtp)).start()
    return hub, seed_catalog(hub)


def emails(hub: HubProcess) -> list[dict[str, Any]]:
    status, body = hub.api("GET", "/api/v1/emails", token=hub.admin_token)
    assert status == 200, body
    return list(body["emails"])


def test_receipt_is_emailed_once(tmp_path: Path, sink: SmtpSink) -> None:
    hub, ids = start_hub(tmp_path, sink)
    try:
        cart = new_cart(hub)
        add(hub, cart["id"], product_id=ids["CEV10"])
        first = pay(hub, cart["id"], "mail-1", cash(2000), email="kupac@example.ba")
        again = pay(hub, cart["id"], "mail-1", cash(2000), email="kupac@example.ba")
        assert (first[0], again[0]) == (201, 200) and first[1]["email_job_id"] is not None
        (message,) = sink.wait_messages(1)
        assert message["To"] == "kupac@example.ba" and "T1-R-000001" in message["Subject"]
        body = message.get_content()
        assert "UKUPNO" in body and "11.70" in body and "Ćevapi" in body
        wait_for(lambda: emails(hub)[0]["state"] == "sent", 10)
        assert len(sink.messages) == 1
        # Bad input changes nothing: no sale, no mail.
        bad = pay(hub, new_cart(hub)["id"], "mail-2", cash(2000), email="not an address")
        assert bad[0] in (409, 422)
    finally:
        hub.stop()


def test_relay_down_retries_until_it_comes_back(tmp_path: Path, sink: SmtpSink) -> None:
    sink.stop()
    hub, ids = start_hub(tmp_path, sink)
    try:
        cart = new_cart(hub)
        add(hub, cart["id"], product_id=ids["SOK1"])
        status, sale = pay(hub, cart["id"], "down", cash(250), email="kupac@example.ba")
        assert status == 201, sale  # the sale does not wait for the mail
        wait_for(lambda: emails(hub)[0]["attempts"] >= 2, 15)
        pending = emails(hub)[0]
        assert pending["state"] in ("queued", "sending") and pending["last_error"]
        sink.start()
        (message,) = sink.wait_messages(1)
        assert "T1-R-000001" in message["Subject"]
        wait_for(lambda: emails(hub)[0]["state"] == "sent", 10)
    finally:
        hub.stop()


def test_gives_up_after_max_attempts_and_a_person_can_retry(tmp_path: Path, sink: SmtpSink) -> None:
    sink.stop()
    hub, ids = start_hub(tmp_path, sink, max_attempts=2)
    try:
        cart = new_cart(hub)
        add(hub, cart["id"], product_id=ids["SOK1"])
        pay(hub, cart["id"], "gives-up", cash(250), email="kupac@example.ba")
        wait_for(lambda: emails(hub)[0]["state"] == "failed", 15)
        failed = emails(hub)[0]
        assert failed["attempts"] == 2
        sink.start()
        status, retried = hub.api("POST", f"/api/v1/emails/{failed['id']}/retry", token=hub.admin_token)
        assert status == 200 and retried["state"] in ("queued", "sending", "sent")
        sink.wait_messages(1)
        again = hub.api("POST", f"/api/v1/emails/{failed['id']}/retry", token=hub.admin_token)
        wait_for(lambda: emails(hub)[0]["state"] == "sent", 10)
        assert hub.api("POST", f"/api/v1/emails/{failed['id']}/retry", token=hub.admin_token)[0] == 409
        assert again[0] in (200, 409)
    finally:
        hub.stop()


def test_invoice_email_carries_the_pdf_and_resend_from_the_receipt(tmp_path: Path, sink: SmtpSink) -> None:
    hub, ids = start_hub(tmp_path, sink)
    try:
        cart = new_cart(hub)
        add(hub, cart["id"], product_id=ids["CEV10"])
        buyer = {"company_name": "Firma d.o.o.", "tax_id": "4200000000001", "address": "Ferhadija 1"}
        status, invoice = pay(
            hub, cart["id"], "inv", cash(1170), b2b=True, buyer=buyer, email="nabavka@firma.ba"
        )
        assert status == 201, invoice
        (message,) = sink.wait_messages(1)
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_filename() == "T1-F-000001.pdf"
        assert attachment.get_content().startswith(b"%PDF-")
        url = f"/api/v1/sales/{invoice['id']}/email"
        status, queued = hub.api("POST", url, {"to": "racunovodstvo@firma.ba", "idempotency_key": "resend-1"})
        assert status == 201
        assert (
            hub.api("POST", url, {"to": "racunovodstvo@firma.ba", "idempotency_key": "resend-1"})[1] == queued
        )
        messages = sink.wait_messages(2)
        assert messages[1]["To"] == "racunovodstvo@firma.ba"
        assert messages[0]["Message-ID"] != messages[1]["Message-ID"]
    finally:
        hub.stop()
