"""Fetching the desired configuration: a tiny aiohttp server on 127.0.0.1 stands in for the
cloud's delta endpoint (HTTP Basic with the hub's broker credentials, ``?since=``), and the
hub's :class:`ConfigFetcher` follows DesiredConfig messages against it."""

from __future__ import annotations

import asyncio
import base64
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from hub.config import SyncSection
from hub.sync.config_fetch import ConfigFetcher
from protocols.sync.messages import DesiredConfig
from tests.hub.sync.config_support import CEVAPI, Store, delta_bytes, full_config, item, open_store, product

USER, PASSWORD = "hub-a", "secret-a"
PATH = "/api/v1/sync/config"


@dataclass
class DeltaServer:
    """Serves ``deltas[version]`` for ``?since=``; records each request's ``since``."""

    deltas: dict[int, bytes] = field(default_factory=dict)
    latest: int = 0
    requests: list[int] = field(default_factory=list)
    fail_first: int = 0  # answer 503 to this many requests first
    delay_s: float = 0.0
    in_flight: int = 0
    most_in_flight: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401, text="bad credentials")
        self.requests.append(int(request.query["since"]))
        body = self.deltas.get(self.latest, b"")  # what is latest when the request comes in
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
            if self.fail_first > 0:
                self.fail_first -= 1
                return web.Response(status=503, text="busy")
            return web.Response(body=body, content_type="application/json")
        finally:
            self.in_flight -= 1


@pytest.fixture
async def server() -> AsyncIterator[DeltaServer]:
    state = DeltaServer()
    app = web.Application()
    app.router.add_get(PATH, state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(tmp_path) as opened:
        yield opened


def fetcher_for(
    store: Store, server: DeltaServer, password: str = PASSWORD
) -> tuple[ConfigFetcher, list[int]]:
    section = SyncSection(username=USER, password=password, store="store-1")
    fetcher = ConfigFetcher(store.config, section, cloud_url=server.url, backoff_s=(0.05,), timeout_s=5)
    published: list[int] = []

    async def publish_state() -> None:
        published.append((await store.config.state()).applied_version)

    fetcher.on_change = publish_state
    return fetcher, published


def desired(version: int) -> DesiredConfig:
    return DesiredConfig(version=version, fetch_url=PATH)  # relative to the cloud URL


def price_change(version: int, price: int) -> bytes:
    return delta_bytes(version, [item("products", CEVAPI, product("Ćevapi", price, category_id=10), revision=version)],
                       since=5)  # fmt: skip


async def test_a_newer_version_is_fetched_with_basic_auth_applied_and_reported(
    store: Store, server: DeltaServer
) -> None:
    server.deltas[5] = delta_bytes(5, full_config())
    server.latest = 5
    fetcher, published = fetcher_for(store, server)
    result = await fetcher.follow(desired(5))
    assert result is not None and result.outcome == "applied", result
    assert server.requests == [0] and published == [5]
    assert (await store.sell("fetched", CEVAPI)).total == 1170
    # The retained message again (a reconnect), or an older one: nothing is fetched.
    assert await fetcher.follow(desired(5)) is None
    assert await fetcher.follow(desired(4)) is None
    assert server.requests == [0]
    # The next version asks only for what changed since the applied one.
    server.deltas[6] = price_change(6, 1250)
    server.latest = 6
    assert (await fetcher.follow(DesiredConfig(version=6, fetch_url=server.url + PATH))) is not None
    assert server.requests == [0, 5] and published == [5, 6]
    assert (await store.sell("fetched-again", CEVAPI)).total == 1250


async def test_wrong_credentials_are_not_retried_and_server_errors_are(
    store: Store, server: DeltaServer
) -> None:
    server.deltas[5] = delta_bytes(5, full_config())
    server.latest = 5
    wrong, _ = fetcher_for(store, server, password="guess")
    assert await wrong.follow(desired(5)) is None
    assert wrong.last_error is not None and "HTTP 401" in wrong.last_error
    assert (await store.config.state()).applied_version == 0
    server.fail_first = 2
    fetcher, published = fetcher_for(store, server)
    result = await fetcher.follow(desired(5))
    assert result is not None and result.outcome == "applied"
    assert server.requests == [0, 0, 0] and published == [5] and fetcher.last_error is None


async def test_a_rejected_version_is_not_fetched_again_until_a_newer_one(
    store: Store, server: DeltaServer
) -> None:
    server.deltas[5] = delta_bytes(5, full_config())
    server.latest = 5
    fetcher, published = fetcher_for(store, server)
    await fetcher.follow(desired(5))
    bad = [item("products", CEVAPI, product("Ćevapi", 999, category_id=404), revision=6)]
    server.deltas[6] = delta_bytes(6, bad, since=5)
    server.latest = 6
    result = await fetcher.follow(desired(6))
    assert result is not None and result.outcome == "rejected"
    assert "products 100 field category_id: category 404" in result.error
    state = await store.config.state()
    assert (state.applied_version, state.rejected_version) == (5, 6) and published == [5, 5]
    assert await fetcher.follow(desired(6)) is None
    assert server.requests == [0, 5]
    assert (await store.sell("still-old", CEVAPI)).total == 1170
    # A delta that is not even JSON is refused the same way.
    server.deltas[7] = b"{not json"
    server.latest = 7
    await fetcher.follow(desired(7))
    state = await store.config.state()
    assert (state.rejected_version, state.applied_version) == (7, 5) and "config delta" in state.error
    server.deltas[8] = price_change(8, 1300)
    server.latest = 8
    result = await fetcher.follow(desired(8))
    assert result is not None and result.outcome == "applied"
    assert (await store.sell("newest", CEVAPI)).total == 1300


async def test_one_fetch_at_a_time_and_the_newest_offer_is_applied_after(
    store: Store, server: DeltaServer
) -> None:
    server.deltas[5] = delta_bytes(5, full_config())
    server.deltas[6] = delta_bytes(6, full_config(cevapi_price=1400))
    server.latest = 5
    server.delay_s = 0.3
    fetcher, published = fetcher_for(store, server)
    fetcher.start()
    try:
        fetcher.offer(desired(5))
        await asyncio.sleep(0.1)  # the first fetch is under way
        server.latest = 6
        fetcher.offer(desired(6))
        fetcher.offer(desired(6))  # a repeat delivery changes nothing
        await asyncio.wait_for(fetcher.settled(), 10)
    finally:
        await fetcher.stop()
    assert server.most_in_flight == 1 and server.requests == [0, 5]
    assert published == [5, 6]
    assert (await store.sell("after-both", CEVAPI)).total == 1400


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it (as the cloud's would be)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
            "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip
    return directory / "ca.crt", directory / "server.crt", directory / "server.key"


async def test_https_is_verified_against_the_hubs_cloud_ca(store: Store, tmp_path: Path) -> None:
    ca, cert, key = await asyncio.to_thread(_certificates, tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    state = DeltaServer(deltas={5: delta_bytes(5, full_config())}, latest=5)
    app = web.Application()
    app.router.add_get(PATH, state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}{PATH}"
    try:
        # Without the cloud's CA the certificate is not trusted: nothing is fetched.
        untrusting = ConfigFetcher(
            store.config, SyncSection(username=USER, password=PASSWORD), backoff_s=(0.05,)
        )
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(untrusting.follow(DesiredConfig(version=5, fetch_url=url)), 0.5)
        assert untrusting.last_error is not None and "certificate" in untrusting.last_error.lower()
        assert state.requests == []
        section = SyncSection(username=USER, password=PASSWORD, ca_file=str(ca))
        result = await ConfigFetcher(store.config, section).follow(DesiredConfig(version=5, fetch_url=url))
        assert result is not None and result.outcome == "applied"
        assert state.requests == [0]
    finally:
        await runner.cleanup()
