"""The fleet view page at ``/fleet`` in a real Chromium (Debian's ``/usr/bin/chromium``).

The cloud app runs under uvicorn on a free port of 127.0.0.1, on the same database as the
``cloud`` fixture (so SQLite and the machine's PostgreSQL, like the rest of the cloud suite).
Hubs, their presence and their reported devices are written straight into the database with
the bridge's own functions, no broker needed. The assertions are about what a user sees.
If Chromium is missing the tests fail: they are never skipped.
"""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import uvicorn
from playwright.async_api import ConsoleMessage, Locator, Page, Request, async_playwright, expect

from cloud.app import create_app
from cloud.db.base import utcnow
from cloud.domain.hubs.services import HubService
from cloud.sync.fleet import apply_state, apply_status
from protocols.sync.messages import DeviceState, ReportedState, Status
from tests.cloud.conftest import PASSWORD, Cloud, Tenancy

CHROMIUM = Path("/usr/bin/chromium")
# Longer than the page's 5 s refresh, for what only shows after one.
AFTER_REFRESH_MS = 12_000


@dataclass
class Browser:
    """A page in Chromium, with every request it made and every error it logged."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Served:
    """The cloud on a real port, with one tenant (an admin and a store) and its hubs."""

    base_url: str
    cloud: Cloud
    acme: Tenancy

    async def add_hub(
        self,
        name: str,
        devices: list[DeviceState],
        *,
        online: bool,
        backlog: int = 0,
        refused: tuple[int, str] = (0, ""),
    ) -> uuid.UUID:
        """A claimed hub that came online and reported ``devices`` (then went offline unless ``online``)."""
        async with self.cloud.sessions() as session:
            hubs = HubService(session, self.cloud.settings)
            issued = await hubs.create(self.acme.tenant_id, uuid.UUID(self.acme.stores[0]), name)
            hub_id = (await hubs.claim(issued.code)).hub.id
            assert await apply_status(session, hub_id, status("online"))
            state = ReportedState(
                config_version=7, software_version="1.4.2", devices=devices, backlog=backlog, at=now(),
                rejected_config_version=refused[0], config_error=refused[1],
            )  # fmt: skip
            await apply_state(session, self.cloud.settings, hub_id, state)
            if not online:
                await apply_status(session, hub_id, status("offline"))
        return hub_id

    async def goes_offline(self, hub_id: uuid.UUID) -> None:
        """What the bridge does with the hub's last will."""
        async with self.cloud.sessions() as session:
            await apply_status(session, hub_id, status("offline"))


def now() -> str:
    return utcnow().isoformat()


def status(state: Literal["online", "offline"]) -> Status:
    """A presence message of the hub's first session."""
    return Status(state=state, session=1, at=now(), software_version="1.4.2")


@pytest.fixture
async def served(cloud: Cloud) -> AsyncIterator[Served]:
    """A second app on the ``cloud`` fixture's database, served by uvicorn on 127.0.0.1."""
    acme = await cloud.tenancy("Acme")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(cloud.settings), log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(15):
            while not server.started:
                assert not task.done(), "uvicorn stopped before it started"
                await asyncio.sleep(0.02)
        yield Served(f"http://127.0.0.1:{port}", cloud, acme)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium (the Debian package, never Playwright's own download) at tablet size."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (./run-tests.sh does)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            context = await chromium.new_context(viewport={"width": 1024, "height": 768}, has_touch=True)
            page = await context.new_page()
            seen = Browser(page)

            def on_request(request: Request) -> None:
                seen.requests.append(request.url)

            def on_console(message: ConsoleMessage) -> None:
                # A 401 the page handles is logged by Chromium as a failed resource load.
                if message.type == "error" and "401" not in message.text:
                    seen.errors.append(message.text)

            page.on("request", on_request)
            page.on("console", on_console)
            page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
            yield seen
        finally:
            await chromium.close()


def devices_front() -> list[DeviceState]:
    return [
        DeviceState(id="receipt", kind="printer", status="online", details={"conditions": [], "detail": ""}),
        DeviceState(id="drawer", kind="cash_drawer", status="error", details={"conditions": ["jammed"]}),
    ]


def devices_kitchen() -> list[DeviceState]:
    return [DeviceState(id="kitchen-printer", kind="printer", status="offline")]


# The kitchen hub's name is markup on purpose: the page must show it as text.
KITCHEN = "Kitchen <b>pass</b>"


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


def hub_row(page: Page, name: str) -> Locator:
    return page.get_by_role("table").get_by_role("row").filter(has_text=name)


def assert_clean(browser: Browser, base_url: str) -> None:
    """Nothing was loaded from anywhere but the cloud, and the page logged no errors."""
    assert browser.requests
    assert all(url.startswith(base_url + "/") for url in browser.requests), browser.requests
    assert browser.errors == []


async def test_wrong_password_then_the_fleet_with_hubs_and_devices(served: Served, browser: Browser) -> None:
    await served.add_hub("Front counter", devices_front(), online=True, backlog=3)
    await served.add_hub(KITCHEN, devices_kitchen(), online=False)
    page = browser.page
    await page.goto(f"{served.base_url}/fleet")

    await expect(page.get_by_role("heading", name="Sign in to the fleet view")).to_be_visible()
    await sign_in(page, served.acme.admin_email, "not the password")
    await expect(page.get_by_role("alert")).to_have_text(re.compile("wrong email or password", re.I))
    await expect(page.get_by_role("heading", name="Fleet", exact=True)).to_be_hidden()

    await sign_in(page, served.acme.admin_email)
    await expect(page.get_by_role("heading", name="Fleet", exact=True)).to_be_visible()
    await expect(page.get_by_text(served.acme.admin_email)).to_be_visible()

    # the summary
    summary = page.get_by_role("region", name="Summary")
    await expect(summary.locator(".stat", has_text="Hubs online")).to_contain_text("1 / 2")
    await expect(summary.locator(".stat", has_text="Hubs offline")).to_contain_text("1")
    await expect(summary.locator(".stat", has_text="Devices in error")).to_contain_text("1")
    await expect(summary.locator(".stat", has_text="Backlog")).to_contain_text("3")

    # the hubs, offline first, each with its devices
    rows = page.get_by_role("table").locator("tbody").get_by_role("row")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text(KITCHEN)
    await expect(rows.nth(1)).to_contain_text("Front counter")

    kitchen = hub_row(page, KITCHEN)
    await expect(kitchen).to_contain_text("Offline")
    await expect(kitchen).to_contain_text("last seen")
    await expect(kitchen).to_contain_text("Acme Main")
    kitchen_printer = kitchen.get_by_role("listitem").filter(has_text="kitchen-printer")
    await expect(kitchen_printer).to_contain_text("Printer")
    await expect(kitchen_printer).to_contain_text("Offline")
    # the hub's name is shown as typed, not interpreted as markup
    await expect(page.get_by_role("table").locator("b")).to_have_count(0)

    front = hub_row(page, "Front counter")
    await expect(front).to_contain_text("Online")
    await expect(front).to_contain_text("last seen just now")
    await expect(front).to_contain_text("1.4.2")
    await expect(front).to_contain_text("v7")
    await expect(front.get_by_role("cell").nth(5)).to_have_text("3")
    printer = front.get_by_role("listitem").filter(has_text="receipt")
    await expect(printer).to_contain_text("Printer")
    await expect(printer).to_contain_text("Online")
    drawer = front.get_by_role("listitem").filter(has_text="drawer")
    await expect(drawer).to_contain_text("Cash drawer")
    await expect(drawer).to_contain_text("Error")
    await expect(drawer).to_contain_text("jammed")

    # the token lives in this tab: a reload stays signed in
    await page.reload()
    await expect(hub_row(page, "Front counter")).to_contain_text("Online")
    await expect(page.get_by_role("heading", name="Sign in to the fleet view")).to_be_hidden()
    assert_clean(browser, served.base_url)


async def test_a_config_a_hub_refused_shows_with_its_reason(served: Served, browser: Browser) -> None:
    reason = "products 12 field tax_rate_id: tax rate 99 does not exist or is archived"
    await served.add_hub("Back office", devices_front(), online=True, refused=(9, reason))
    await served.add_hub("Front counter", devices_front(), online=True)
    page = browser.page
    await page.goto(f"{served.base_url}/fleet")
    await sign_in(page, served.acme.admin_email)

    refusing = hub_row(page, "Back office").locator("td.cell-config")
    await expect(refusing).to_contain_text("v7")
    await expect(refusing).to_contain_text("refused v9")
    await expect(refusing.locator(".config-error")).to_have_text(reason)
    await expect(refusing.locator(".config-error")).to_have_attribute("title", reason)
    fine = hub_row(page, "Front counter").locator("td.cell-config")
    await expect(fine).to_have_text("v7")
    assert_clean(browser, served.base_url)


async def test_a_hub_that_goes_offline_shows_offline_after_the_refresh(
    served: Served, browser: Browser
) -> None:
    front = await served.add_hub("Front counter", devices_front(), online=True)
    page = browser.page
    await page.goto(f"{served.base_url}/fleet")
    await sign_in(page, served.acme.admin_email)
    row = hub_row(page, "Front counter")
    await expect(row).to_contain_text("Online")
    summary = page.get_by_role("region", name="Summary")
    await expect(summary.locator(".stat", has_text="Hubs offline")).to_contain_text("0")

    await served.goes_offline(front)

    await expect(row).to_contain_text("Offline", timeout=AFTER_REFRESH_MS)
    await expect(row.get_by_text("Online", exact=True)).to_have_count(1)  # only the device's last report
    await expect(summary.locator(".stat", has_text="Hubs offline")).to_contain_text("1")
    await expect(summary.locator(".stat", has_text="Hubs online")).to_contain_text("0 / 1")
    assert_clean(browser, served.base_url)


async def test_sign_out_and_a_revoked_token_return_to_the_login(served: Served, browser: Browser) -> None:
    await served.add_hub("Front counter", devices_front(), online=True)
    page = browser.page
    login_heading = page.get_by_role("heading", name="Sign in to the fleet view")
    await page.goto(f"{served.base_url}/fleet")
    await sign_in(page, served.acme.admin_email)
    await expect(hub_row(page, "Front counter")).to_be_visible()

    token = await page.evaluate("sessionStorage.getItem('smartpos.cloud.token')")
    assert isinstance(token, str) and token
    async with page.expect_response(re.compile(r"/api/v1/auth/logout$")) as logout:
        await page.get_by_role("button", name="Sign out").click()
    assert (await logout.value).status == 204
    await expect(login_heading).to_be_visible()
    await expect(page.get_by_text("You have signed out.")).to_be_visible()
    await expect(page.get_by_role("table")).to_be_hidden()
    await page.reload()
    await expect(login_heading).to_be_visible()
    await expect(page.get_by_role("table")).to_be_hidden()
    # the tab forgot the token, and the server revoked it
    assert await page.evaluate("Object.keys(sessionStorage).length") == 0
    me = await served.cloud.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401

    # signed in again, then the token is revoked elsewhere: the next refresh asks to sign in
    await sign_in(page, served.acme.admin_email)
    await expect(hub_row(page, "Front counter")).to_be_visible()
    token = await page.evaluate("sessionStorage.getItem('smartpos.cloud.token')")
    assert isinstance(token, str) and token
    revoked = await served.cloud.client.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert revoked.status_code == 204
    await expect(login_heading).to_be_visible(timeout=AFTER_REFRESH_MS)
    await expect(page.get_by_role("alert")).to_contain_text("session has expired")
    await expect(page.get_by_role("table")).to_be_hidden()

    # a token that was never valid does the same at once
    await page.evaluate("sessionStorage.setItem('smartpos.cloud.token', 'spc_bogus')")
    await page.reload()
    await expect(login_heading).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("session has expired")
    assert_clean(browser, served.base_url)
