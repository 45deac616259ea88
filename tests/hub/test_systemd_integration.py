"""sd_notify READY/WATCHDOG/STOPPING as systemd sees them, and mDNS announcement."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.procs import BIN, HubProcess


def test_sd_notify_ready_watchdog_stopping(tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(10)
    hub = HubProcess(tmp_path, env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "400000"})
    try:
        hub.start(wait=False)
        messages: list[str] = []
        while sum("WATCHDOG=1" in m for m in messages) < 2:
            messages.append(server.recv(4096).decode())
        assert "READY=1" in messages[0] and "STATUS=" in messages[0]
        assert sum("WATCHDOG=1" in m for m in messages) >= 2
        hub.terminate()
        tail = []
        while True:
            tail.append(server.recv(4096).decode())
            if "STOPPING=1" in tail[-1]:
                break
    finally:
        hub.stop()
        server.close()


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and iproute2 for a private network namespace",
)
@pytest.mark.parametrize(
    "interfaces",
    [pytest.param('["127.0.0.1"]', id="named-interface"), pytest.param("[]", id="all-interfaces-default")],
)
def test_mdns_announcement_in_a_private_namespace(tmp_path: Path, interfaces: str) -> None:
    """The hub announces _smartpos-hub._tcp; run in a namespace so nothing leaves this machine.

    The empty list is the shipped default (announce on every interface); in the namespace the
    only interface is loopback, so "every" is still private to this test.
    """
    ns = f"smartpos-mdns-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "set", "lo", "multicast", "on"],
            ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"],
        ):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True)
        hub = HubProcess(tmp_path, extra_toml=f"[mdns]\nenabled = true\ninterfaces = {interfaces}\n")
        script = tmp_path / "browse.py"
        script.write_text(
            textwrap.dedent(f"""
            import asyncio, subprocess, sys, time, urllib.request
            from zeroconf import IPVersion
            from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf
            hub = subprocess.Popen([{str(BIN / "smartpos-hub")!r}, "serve", "--config", {str(hub.config_path)!r}], stdout=subprocess.DEVNULL)
            async def main():
                for _ in range(100):
                    try:
                        urllib.request.urlopen("{hub.url}/readyz", timeout=0.5); break
                    except OSError:
                        time.sleep(0.1)
                zc = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
                info = AsyncServiceInfo("_smartpos-hub._tcp.local.", "test-hub._smartpos-hub._tcp.local.")
                ok = await info.async_request(zc.zeroconf, 5000)
                print(ok, info.port, info.properties.get(b"api"), info.parsed_addresses())
                await zc.async_close()
            try:
                asyncio.run(main())
            finally:
                hub.terminate(); hub.wait(10)
        """)
        )
        result = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[:3] == ["True", str(hub.port), "b'/api/v1'"], result.stdout
        assert "127.0.0.1" in result.stdout
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
