"""``smartpos-hub claim CODE --cloud URL``: a real cloud process (SQLite) with its bridge, a real
Mosquitto with the password and ACL files the cloud writes, and real hub daemons.

A claimed hub comes online in the fleet view and its sales reach the cloud, over plain MQTT and
over TLS with the CA the claim delivers; a running hub picks the link up without a restart, a
stopped one at its next start. A spent code and an existing link are refused without writing
anything (and without spending the code).
"""

from __future__ import annotations

import sqlite3
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.cli.main import main
from hub.cloud_link import LinkExists, LinkInfo, read_link, write_link
from hub.config import ConfigError, load_config
from hub.sync.claim import ClaimAnswer, ClaimError, link_settings
from tests.hub.sales.catalog_seed import seed_catalog
from tests.hub.sync.test_cloud_link import sell
from tests.support.broker import MosquittoBroker
from tests.support.cloud_proc import CloudProcess
from tests.support.procs import HubProcess, free_port, wait_for

# The hub's own [sync] tuning; the claim adds identity and credentials on top.
SYNC_TUNING = "[sync]\nkeepalive_s = 5\nack_timeout_s = 2\n"


class Cloud:
    """Mosquitto, the cloud on it, and one store to add hubs to."""

    def __init__(self, tmp_path: Path, *, tls: bool) -> None:
        self.broker = MosquittoBroker(tmp_path, tls=tls).start()
        self.cloud = CloudProcess(tmp_path, self.broker)
        if tls:  # the bridge and the hubs use mqtts://, hubs get the CA with their claim
            self.cloud.env["SMARTPOS_CLOUD_BROKER_URL"] = f"mqtts://127.0.0.1:{self.broker.port}"
            self.cloud.env["SMARTPOS_CLOUD_BROKER_CA_FILE"] = str(self.broker.ca_file)
        self.cloud.start()
        self.store_id = self.cloud.new_store()

    def new_code(self, name: str = "Till 1") -> str:
        return self.cloud.new_hub(self.store_id, name)

    def fleet_hub(self, hub_id: str) -> dict[str, Any]:
        status, view = self.cloud.api("GET", "/api/v1/fleet")
        assert status == 200, view
        return next(h for h in view["hubs"] if h["id"] == hub_id)

    def hub_by_name(self, name: str) -> dict[str, Any]:
        status, hubs = self.cloud.api("GET", f"/api/v1/hubs?store_id={self.store_id}")
        assert status == 200, hubs
        return next(h for h in hubs if h["name"] == name)

    def sales(self, hub_id: str) -> int:
        with sqlite3.connect(self.cloud.dir / "cloud.db") as db:
            # SQLAlchemy stores UUIDs as 32 hex digits on SQLite.
            query = "SELECT COUNT(*) FROM events WHERE type = 'sale.completed' AND hub_id = ?"
            return int(db.execute(query, (hub_id.replace("-", ""),)).fetchone()[0])

    def close(self) -> None:
        self.cloud.stop()
        self.broker.stop()


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    built = Cloud(tmp_path, tls=False)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    """A hub that is not claimed yet (and not started: each test decides)."""
    (tmp_path / "box").mkdir()
    process = HubProcess(tmp_path / "box", extra_toml=SYNC_TUNING)
    try:
        yield process
    finally:
        process.stop()


def link_file(hub: HubProcess) -> Path:
    return hub.data_dir / "cloud-link.toml"


def sync_status(hub: HubProcess) -> dict[str, Any]:
    status, body = hub.api("GET", "/api/v1/sync/status", token=hub.admin_token)
    assert status == 200, body
    return dict(body)


def linked_hub_id(hub: HubProcess) -> str:
    return str(tomllib.loads(link_file(hub).read_text())["sync"]["hub_id"])


@pytest.mark.parametrize("tls", [False, True], ids=["mqtt", "mqtts"])
def test_a_running_hub_claimed_from_the_cli_comes_online_and_its_sales_reach_the_cloud(
    tmp_path: Path, hub: HubProcess, tls: bool
) -> None:
    side = Cloud(tmp_path, tls=tls)
    try:
        hub.start()
        assert sync_status(hub)["enabled"] is False
        status, body = hub.api("POST", "/api/v1/sync/reload", token=hub.admin_token)
        assert status == 409 and body["error"]["code"] == "not_claimed", body
        code = side.new_code("Till 1")

        done = hub.cli("claim", code, "--cloud", side.cloud.url + "/")
        assert done.returncode == 0, done.stderr
        assert "reloaded its cloud link" in done.stdout, done.stdout
        cloud_hub = side.hub_by_name("Till 1")
        hub_id = cloud_hub["id"]
        assert f"({hub_id})" in done.stdout and cloud_hub["status"] == "active"

        # The link: private, complete, and the CA file only with TLS.
        assert stat.S_IMODE(link_file(hub).stat().st_mode) == 0o600
        link = tomllib.loads(link_file(hub).read_text())
        assert link["link"]["cloud"] == side.cloud.url and link["link"]["hub_name"] == "Till 1"
        assert link["sync"]["enabled"] is True and link["sync"]["hub_id"] == hub_id
        assert (link["sync"]["tenant"], link["sync"]["store"]) == (cloud_hub["tenant_id"], side.store_id)
        assert link["sync"]["username"] == cloud_hub["broker_username"] and link["sync"]["password"]
        ca = hub.data_dir / "cloud-ca.pem"
        if tls:
            assert link["sync"]["broker"].startswith("mqtts://") and link["sync"]["ca_file"] == str(ca)
            assert ca.read_text() == side.broker.ca_file.read_text()
            assert stat.S_IMODE(ca.stat().st_mode) == 0o600
        else:
            assert link["sync"]["ca_file"] == "" and not ca.exists()

        # No restart: the running daemon reloaded its link.
        wait_for(lambda: side.fleet_hub(hub_id)["online"], 30, what="the hub online in the fleet view")
        ids = seed_catalog(hub)
        sell(hub, ids["SOK1"], "claimed-1")
        wait_for(lambda: side.sales(hub_id) == 1, 30, what="the sale in the cloud")
        wait_for(lambda: sync_status(hub)["backlog"] == 0, 30, what="the hub's backlog acknowledged")
        status_now = sync_status(hub)
        assert status_now["connected"] and status_now["hub_id"] == hub_id
        assert status_now["store"] == side.store_id and status_now["hub_name"] == "Till 1"
        assert status_now["cloud"] == side.cloud.url and status_now["claimed_at"]
        shown = hub.cli("sync", "status")
        assert shown.returncode == 0, shown.stderr
        assert "connected" in shown.stdout and f"Till 1 ({hub_id}), store {side.store_id}" in shown.stdout

        # After a restart the daemon reads the link file itself.
        hub.stop()
        hub.start()
        sell(hub, ids["SOK1"], "claimed-2")
        wait_for(lambda: side.sales(hub_id) == 2, 30, what="the sale after a restart in the cloud")
    finally:
        side.close()


def test_a_spent_claim_code_is_refused_and_nothing_is_written(cloud: Cloud, hub: HubProcess) -> None:
    hub.start()
    code = cloud.new_code()
    cloud.cloud.claim(code)  # another box was quicker
    before = sorted(p.name for p in hub.data_dir.iterdir())

    done = hub.cli("claim", code, "--cloud", cloud.cloud.url)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "already used [claim_code_used]" in done.stderr and "works once" in done.stderr
    assert "Nothing was written" in done.stderr and done.stdout == ""
    unknown = hub.cli("claim", "NOT-A-CODE", "--cloud", cloud.cloud.url)
    assert unknown.returncode == 1 and "[claim_code_invalid]" in unknown.stderr, unknown.stderr
    assert sorted(p.name for p in hub.data_dir.iterdir()) == before
    assert sync_status(hub)["enabled"] is False


def test_an_existing_link_is_refused_unless_forced_and_a_stopped_hub_links_at_start(
    cloud: Cloud, hub: HubProcess
) -> None:
    first = hub.cli("claim", cloud.new_code("Till 1"), "--cloud", cloud.cloud.url)
    assert first.returncode == 0, first.stderr
    assert "not running: the link applies when it next starts" in first.stdout
    original = link_file(hub).read_bytes()

    second_code = cloud.new_code("Till 2")
    refused = hub.cli("claim", second_code, "--cloud", cloud.cloud.url)
    assert refused.returncode == 1, refused.stderr
    assert "already linked" in refused.stderr and "--force" in refused.stderr
    assert link_file(hub).read_bytes() == original
    assert cloud.hub_by_name("Till 2")["claimed_at"] is None  # the code was not spent

    # A damaged link stops the daemon and the CLI naming the file, but not a forced re-claim.
    link_file(hub).write_text("[sync]\nbroker = 'ftp://nowhere'\n")
    broken = hub.cli("sync", "status")
    assert broken.returncode == 2 and f"{link_file(hub)}: sync.broker" in broken.stderr, broken.stderr
    forced = hub.cli("claim", second_code, "--cloud", cloud.cloud.url, "--force")
    assert forced.returncode == 0, forced.stderr
    hub_id = cloud.hub_by_name("Till 2")["id"]
    assert linked_hub_id(hub) == hub_id

    hub.start()
    wait_for(lambda: cloud.fleet_hub(hub_id)["online"], 30, what="the re-claimed hub online at start")
    assert sync_status(hub)["hub_id"] == hub_id


# --- The link file and its overlay on the config, without processes. ---

SYNC: dict[str, str | bool] = {"enabled": True, "broker": "mqtts://broker.example:8883", "username": "hub-1",
        "password": 'p"w\\d \u00e9', "tenant": "t-1", "store": "s-1", "hub_id": "h-1"}  # fmt: skip


def write_hub_toml(tmp_path: Path, extra: str = SYNC_TUNING) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n\n{extra}')
    (tmp_path / "data").mkdir(exist_ok=True)
    return path


def test_the_link_file_wins_for_the_keys_it_holds(tmp_path: Path) -> None:
    path = write_hub_toml(tmp_path, SYNC_TUNING + 'username = "from-hub-toml"\nbatch = 50\n')
    assert load_config(path, env={}).sync.enabled is False  # not claimed: hub.toml as it is
    written = write_link(
        tmp_path / "data", SYNC, LinkInfo(cloud="https://c.example"), ca_pem="PEM\n", force=False
    )
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    sync = load_config(path, env={}).sync
    assert {key: getattr(sync, key) for key in SYNC} == SYNC  # read back exactly, quotes and all
    assert sync.ca_file == str(tmp_path / "data" / "cloud-ca.pem")
    assert (sync.keepalive_s, sync.ack_timeout_s, sync.batch) == (5, 2.0, 50)  # hub.toml's tuning stays
    assert load_config(path, env={}, link=False).sync.username == "from-hub-toml"
    # The data dir from the environment is where the link is looked for.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert load_config(path, env={"SMARTPOS_DATA_DIR": str(elsewhere)}).sync.enabled is False
    # A relative ca_file is relative to the data dir.
    link_file_path = tmp_path / "data" / "cloud-link.toml"
    link_file_path.write_text('[sync]\nenabled = true\nca_file = "my-ca.pem"\n')
    sync = load_config(path, env={}).sync
    assert sync.ca_file == str(tmp_path / "data" / "my-ca.pem") and sync.username == "from-hub-toml"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[sync\nenabled = true\n", ["not valid TOML"]),
        ("[sync]\nbroker = 'http://broker'\n", ["sync.broker"]),
        ("[sync]\nenabled = 'yes'\n", ["sync.enabled", "bool"]),
        ("[sync]\ncolour = 'red'\n", ["sync", "colour"]),
        ("[synk]\nenabled = true\n", ["synk"]),
        ("sync = 3\n", ["sync", "object"]),
        ("\xff\xfe", ["not valid TOML"]),
    ],
)
def test_a_corrupt_link_file_is_a_config_error_naming_the_file(
    tmp_path: Path, text: str, names: list[str]
) -> None:
    path = write_hub_toml(tmp_path)
    (tmp_path / "data" / "cloud-link.toml").write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    assert str(error.value).startswith(f"{tmp_path / 'data' / 'cloud-link.toml'}: ")
    for name in names:
        assert name in str(error.value)
    assert load_config(path, env={}, link=False).sync.enabled is False


def test_a_re_claim_replaces_the_link_and_drops_a_stale_certificate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_link(data, SYNC, LinkInfo(), ca_pem="PEM\n", force=False)
    with pytest.raises(LinkExists):
        write_link(data, {**SYNC, "hub_id": "h-2"}, LinkInfo(), ca_pem=None, force=False)
    kept = read_link(data)
    assert kept is not None and kept.sync["hub_id"] == "h-1"
    write_link(
        data, {**SYNC, "broker": "mqtt://b:1883", "hub_id": "h-2"}, LinkInfo(), ca_pem=None, force=True
    )
    link = read_link(data)
    assert link is not None and link.sync["hub_id"] == "h-2" and link.sync["ca_file"] == ""
    assert sorted(p.name for p in data.iterdir()) == ["cloud-link.toml"]  # no CA, no temp files


def answer(**changes: Any) -> ClaimAnswer:
    hub, tenant, store = "0a0a0a0a-0000-4000-8000-000000000001", "t-1", "s-1"
    fields: dict[str, Any] = {"hub_id": hub, "tenant_id": tenant, "store_id": store, "hub_name": "Till",
                              "broker_url": "mqtt://127.0.0.1:1883", "broker_username": f"hub-{hub}",
                              "broker_password": "pw", "topic_prefix": f"smartpos/v1/{tenant}/{store}/{hub}"}  # fmt: skip
    return ClaimAnswer(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"topic_prefix": "smartpos/v1/t-1/s-1"}, "is not a hub's"),
        ({"topic_prefix": "smartpos/v1/t-1/s-1/+"}, "is not a hub's"),
        ({"topic_prefix": "other/v9/t-1/s-1/0a0a0a0a-0000-4000-8000-000000000001"}, "does not match"),
        ({"hub_id": "someone-else"}, "does not match"),
        ({"broker_url": "http://127.0.0.1"}, "cannot be used"),
    ],
)
def test_a_claim_answer_that_does_not_add_up_is_refused(changes: dict[str, Any], needle: str) -> None:
    assert link_settings(answer()).hub_id == "0a0a0a0a-0000-4000-8000-000000000001"
    with pytest.raises(ClaimError, match=needle):
        link_settings(answer(**changes))


def test_cli_usage_and_an_unreachable_cloud(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(write_hub_toml(tmp_path))
    assert main(["claim", "CODE", "--cloud", "ftp://cloud.example", "--config", config]) == 2
    assert "http:// or https://" in capsys.readouterr().err
    port = free_port()  # nothing listens there
    assert main(["claim", "CODE", "--cloud", f"http://127.0.0.1:{port}", "--config", config]) == 1
    err = capsys.readouterr().err
    assert f"cannot reach the cloud at http://127.0.0.1:{port}" in err and "Nothing was written" in err
    assert not (tmp_path / "data" / "cloud-link.toml").exists()
