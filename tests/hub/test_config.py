"""Config: typed decoding, errors naming the key, environment overrides."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hub.config import ConfigError, load_config, parse_config
from hub.devices.registry import resolve_all
from tests.support.procs import BIN

PRINTER = {"id": "receipt", "kind": "printer", "url": "tcp://127.0.0.1:9100"}


def test_defaults_and_device_table() -> None:
    config = parse_config({"devices": [PRINTER]}, env={})
    assert config.api.port == 8420
    assert config.api.host == "0.0.0.0"
    assert str(config.data_dir) == "/var/lib/smartpos"
    (spec,) = resolve_all(config.devices)
    assert spec.driver_name == "escpos"
    assert str(spec.url) == "tcp://127.0.0.1:9100"


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"api": {"prot": 1}}, ["api", "prot"]),
        ({"api": {"port": "80"}}, ["api.port", "int"]),
        ({"api": {"port": 70000}}, ["api.port", "65535"]),
        ({"devices": [{**PRINTER, "colour": "red"}]}, ["devices[0]", "colour"]),
        ({"devices": [{"id": "r", "kind": "printer"}]}, ["devices[0]", "url"]),
        ({"devices": [{**PRINTER, "kind": "toaster"}]}, ["devices[0].kind"]),
        ({"devices": [{**PRINTER, "id": "Bad Id!"}]}, ["devices[0].id"]),
        ({"devices": [PRINTER, PRINTER]}, ["devices[1].id", "duplicate"]),
        ({"log": {"level": "loud"}}, ["log.level"]),
    ],
)
def test_bad_config_names_the_key(data: dict[str, object], names: list[str]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_config(data, env={})
    for name in names:
        assert name in str(excinfo.value)


@pytest.mark.parametrize(
    ("device", "names"),
    [
        ({**PRINTER, "url": "ftp://x"}, ["devices[0].url", "ftp"]),
        ({**PRINTER, "url": "tcp://"}, ["devices[0].url"]),
        ({**PRINTER, "url": "serial:///dev/ttyUSB0?baud=9600"}, ["devices[0].url", "baud"]),
        ({**PRINTER, "driver": "zpl"}, ["devices[0].driver", "zpl"]),
        ({**PRINTER, "kind": "scale", "driver": "bizerba"}, ["devices[0].driver", "bizerba"]),
        ({**PRINTER, "options": {"confirm": "never"}}, ["devices[0].options", "confirm"]),
        ({**PRINTER, "options": {"speed": 1}}, ["devices[0].options", "speed"]),
    ],
)
def test_bad_device_names_the_key(device: dict[str, object], names: list[str]) -> None:
    config = parse_config({"devices": [device]}, env={})
    with pytest.raises(ConfigError) as excinfo:
        resolve_all(config.devices)
    for name in names:
        assert name in str(excinfo.value)


def test_environment_overrides() -> None:
    env = {
        "SMARTPOS_DATA_DIR": "/srv/pos",
        "SMARTPOS_API_HOST": "127.0.0.1",
        "SMARTPOS_API_PORT": "9999",
    }
    config = parse_config({"api": {"port": 1234}, "storage": {"data_dir": "/tmp/x"}}, env=env)
    assert (config.api.host, config.api.port, str(config.data_dir)) == (
        "127.0.0.1",
        9999,
        "/srv/pos",
    )
    with pytest.raises(ConfigError, match="SMARTPOS_API_PORT"):
        parse_config({}, env={"SMARTPOS_API_PORT": "eighty"})


def test_toml_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[api\nport = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_serve_refuses_bad_config_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('[api]\nport = 8420\nlisten = "x"\n')
    result = subprocess.run(
        [str(BIN / "smartpos-hub"), "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "api" in result.stderr and "listen" in result.stderr
