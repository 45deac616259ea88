"""systemd/: the service unit, udev rules, sysusers.d and tmpfiles.d entries, env file, installer.

Checked with systemd's own tools where they are installed (Debian 12: systemd 252), and by
parsing the files where no tool exists. Three facts about systemd 252 shape these tests:

- ``systemd-analyze verify`` insists that ExecStart's binary exists. ``--root=DIR`` makes it
  resolve the binary, the unit and every unit it depends on inside DIR, so the unit is checked
  byte for byte against a scratch tree holding a stub ``/opt/smartpos/venv/bin/smartpos-hub``
  and a copy of this machine's ``/usr/lib/systemd/system``.
- verify exits 0 for a directive it ignores (unknown key, bad value, unknown section) and only
  prints a warning, so any output at all counts as a failure here.
- ``systemd-sysusers`` has ``--dry-run`` and ``--root``; ``systemd-tmpfiles`` has ``--root`` but
  no ``--dry-run``, so it really creates the directories, in a scratch root (as root only,
  because it chowns them).
"""

from __future__ import annotations

import configparser
import inspect
import os
import re
import shutil
import stat
import subprocess
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "systemd"
UNIT = SYSTEMD / "smartpos-hub.service"
UNIT_NAME = UNIT.name
RULES = SYSTEMD / "60-smartpos-hub.rules"
SYSUSERS = SYSTEMD / "sysusers.d" / "smartpos.conf"
TMPFILES = SYSTEMD / "tmpfiles.d" / "smartpos.conf"
ENV_FILE = SYSTEMD / "smartpos-hub.env"
EXAMPLE_CONFIG = SYSTEMD / "hub.toml.example"
INSTALL = SYSTEMD / "install.sh"
EXEC = "/opt/smartpos/venv/bin/smartpos-hub"
POS_VENDORS = ("04b8", "0519", "1504", "1d90", "0416", "0483")

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze is not installed here (Debian: apt-get install systemd), so the unit "
    "cannot be verified; the Python checks of its settings still run",
)
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="creates files owned by the smartpos user in a scratch root: needs root"
)


def run(*cmd: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": "", "LC_ALL": "C"}
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=120, env=env, check=False
    )


# --- the unit, through systemd-analyze ---------------------------------------------------


def host_unit_dir() -> Path:
    for candidate in ("/usr/lib/systemd/system", "/lib/systemd/system"):
        if (Path(candidate) / "sysinit.target").exists():
            return Path(candidate)
    raise AssertionError("systemd-analyze is installed but no systemd unit directory was found")


def make_root(root: Path, *, stub: bool = True) -> Path:
    """A scratch tree for ``verify --root``: the host's units and a stub hub executable."""
    shutil.copytree(host_unit_dir(), root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    if stub:
        exe = root / EXEC.lstrip("/")
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    return root


def verify(root: Path, unit_text: str | None = None) -> str:
    """What ``systemd-analyze verify`` says about the unit installed in ``root`` ('' when clean)."""
    if unit_text is not None:
        installed = root / "etc/systemd/system" / UNIT_NAME
        installed.write_text(unit_text)
        installed.chmod(0o644)  # what install.sh uses; verify warns about executable units
    result = run(ANALYZE or "systemd-analyze", "verify", f"--root={root}", UNIT_NAME)
    output = (result.stdout + result.stderr).strip()
    return output + (f"\n(exit {result.returncode})" if result.returncode else "")


@needs_analyze
def test_unit_verifies_clean(tmp_path: Path) -> None:
    assert verify(make_root(tmp_path), UNIT.read_text()) == ""


@needs_analyze
def test_verify_needs_the_executable_so_the_stub_is_what_makes_it_pass(tmp_path: Path) -> None:
    complaint = verify(make_root(tmp_path, stub=False), UNIT.read_text())
    assert EXEC in complaint and "not executable" in complaint and "(exit " in complaint


BREAKAGES = [
    ("Type=notify\n", "Type=notifyy\n", "notifyy"),
    ("NoNewPrivileges=yes\n", "NoNewPrivileges=perhaps\n", "perhaps"),
    ("WatchdogSec=30s\n", "WatchdogSecs=30s\n", "WatchdogSecs"),
    ("ProtectSystem=strict\n", "ProtectSystem=strictly\n", "strictly"),
    ("RestartSec=5s\n", "RestartSec=5 parsecs\n", "parsecs"),
    ("RestrictAddressFamilies=AF_UNIX ", "RestrictAddressFamilies=AF_UNIKS ", "AF_UNIKS"),
    ("SystemCallFilter=@system-service\n", "SystemCallFilter=@system-servise\n", "@system-servise"),
    # Exponential restart backoff exists from systemd 254 on; Debian 12 has 252.
    ("RestartSec=5s\n", "RestartSec=5s\nRestartSteps=5\n", "RestartSteps"),
    ("[Install]\n", "[Instal]\n", "Instal"),
]


@needs_analyze
@pytest.mark.parametrize(("good", "bad", "named"), BREAKAGES, ids=[b[2] for b in BREAKAGES])
def test_verify_catches_a_broken_directive(tmp_path: Path, good: str, bad: str, named: str) -> None:
    text = UNIT.read_text()
    assert text.count("\n" + good) == 1, f"the unit no longer has exactly one line {good!r}"
    complaint = verify(make_root(tmp_path), text.replace("\n" + good, "\n" + bad))
    assert named in complaint


@needs_analyze
def test_hardening_exposure_stays_low(tmp_path: Path) -> None:
    """systemd's own score (0 = locked down, 10 = exposed); the unit scores 2.0 on systemd 252."""
    root = make_root(tmp_path)
    verify(root, UNIT.read_text())
    result = run(
        ANALYZE or "systemd-analyze",
        "security",
        "--offline=yes",
        f"--root={root}",
        "--threshold=25",
        UNIT_NAME,
    )
    assert result.returncode == 0, result.stdout[-600:] + result.stderr


# --- the unit's settings ---------------------------------------------------------------------


def unit_settings(text: str | None = None) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values in order, the way systemd reads a unit (comments, repeats)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for raw in (UNIT.read_text() if text is None else text).splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), "no line continuations, please: keep one setting per line"
        if line.startswith("["):
            assert line.endswith("]"), raw
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"setting outside a section or without '=': {raw}"
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def seconds(span: str) -> float:
    """A systemd time span such as 30s, 2min, 1min 30s, 500ms or a bare number of seconds."""
    units = {"ms": 0.001, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "": 1}
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span):
        total += float(number) * units[unit]
    return total


def one(values: dict[str, list[str]], key: str) -> str:
    assert key in values, f"{key}= is missing"
    assert len(values[key]) == 1, f"{key}= is set {len(values[key])} times"
    return values[key][0]


def test_unit_is_one_ini_file_with_the_three_sections() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(UNIT.read_text())
    assert parser.sections() == ["Unit", "Service", "Install"]


def test_unit_has_what_the_hub_needs() -> None:
    s = unit_settings()
    unit, service, install = s["Unit"], s["Service"], s["Install"]
    assert one(service, "Type") == "notify"
    assert one(service, "NotifyAccess") == "main"
    assert seconds(one(service, "WatchdogSec")) == 30
    assert one(service, "Restart") == "on-failure"
    assert seconds(one(service, "RestartSec")) >= 1
    assert "RestartSteps" not in service and "RestartMaxDelaySec" not in service  # systemd >= 254
    assert one(service, "ExecStart") == f"{EXEC} serve --config /etc/smartpos/hub.toml"
    assert one(service, "EnvironmentFile") == "-/etc/default/smartpos-hub"
    assert one(service, "User") == "smartpos" and one(service, "Group") == "smartpos"
    assert {"lp", "dialout"} <= set(one(service, "SupplementaryGroups").split())
    assert one(service, "StateDirectory") == "smartpos"
    assert one(service, "StateDirectoryMode") == "0750"
    assert one(service, "ConfigurationDirectory") == "smartpos"
    assert "network-online.target" in one(unit, "After").split()
    assert "network-online.target" in one(unit, "Wants").split()
    assert one(install, "WantedBy") == "multi-user.target"


def test_unit_is_sandboxed() -> None:
    service = unit_settings()["Service"]
    assert one(service, "ProtectSystem") == "strict"
    for key in (
        "ProtectHome",
        "NoNewPrivileges",
        "PrivateTmp",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectControlGroups",
        "RestrictNamespaces",
        "LockPersonality",
    ):
        assert one(service, key) == "yes", key
    assert one(service, "CapabilityBoundingSet") == ""
    assert service["SystemCallFilter"][0] == "@system-service"
    assert set(one(service, "RestrictAddressFamilies").split()) == {
        "AF_UNIX",
        "AF_INET",
        "AF_INET6",
        "AF_NETLINK",
        "AF_BLUETOOTH",
    }


def test_unit_leaves_devices_reachable() -> None:
    """USB and serial nodes appear while the hub runs; none of these may fence them off."""
    service = unit_settings()["Service"]
    for key in ("PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock", "MemoryDenyWriteExecute"):
        assert key not in service, f"{key}= would cut the hub off from its devices or from cffi; see the unit"
    text = UNIT.read_text()
    for why in ("DevicePolicy", "MemoryDenyWriteExecute", "ProtectClock"):
        assert re.search(rf"^# .*{why}", text, re.MULTILINE), f"the unit should explain why {why} is unset"


def test_config_errors_are_not_restarted() -> None:
    """The hub exits with EXIT_USAGE on a bad config; restarting can't fix that."""
    from hub.cli.client import EXIT_USAGE

    assert one(unit_settings()["Service"], "RestartPreventExitStatus") == str(EXIT_USAGE)


def test_stop_timeout_leaves_room_to_finish_a_receipt() -> None:
    from hub.devices.manager import DeviceManager

    grace = inspect.signature(DeviceManager.stop).parameters["grace"].default
    api_shutdown = 5.0  # web.TCPSite(shutdown_timeout=5.0) in hub/app.py, before the devices stop
    assert seconds(one(unit_settings()["Service"], "TimeoutStopSec")) >= grace + api_shutdown + 10


# --- environment file and default config -------------------------------------------------


def test_env_file_documents_each_override_with_its_default() -> None:
    from hub.config import DEFAULT_API_PORT, DEFAULT_DATA_DIR, ApiSection

    lines = ENV_FILE.read_text().splitlines()
    assert all(not ln.strip() or ln.lstrip().startswith("#") for ln in lines), "everything commented"
    examples = dict(ln[1:].split("=", 1) for ln in lines if re.fullmatch(r"#SMARTPOS_[A-Z_]+=\S+", ln))
    assert examples == {
        "SMARTPOS_DATA_DIR": DEFAULT_DATA_DIR,
        "SMARTPOS_API_HOST": ApiSection().host,
        "SMARTPOS_API_PORT": str(DEFAULT_API_PORT),
    }


def test_env_file_values_are_accepted_by_the_hub() -> None:
    from hub.config import parse_config

    examples = dict(
        ln[1:].split("=", 1)
        for ln in ENV_FILE.read_text().splitlines()
        if re.fullmatch(r"#SMARTPOS_[A-Z_]+=\S+", ln)
    )
    config = parse_config({}, env=examples)
    assert str(config.data_dir) == examples["SMARTPOS_DATA_DIR"]
    assert config.api.port == int(examples["SMARTPOS_API_PORT"])


def test_example_config_is_all_defaults_and_its_example_is_valid() -> None:
    from hub.config import parse_config
    from hub.devices.registry import resolve_all

    text = EXAMPLE_CONFIG.read_text()
    assert tomllib.loads(text) == {}, "installed as is, the config must leave every default alone"
    assert parse_config(tomllib.loads(text), env={}).devices == []
    uncommented = "\n".join(
        ln[2:] if re.fullmatch(r"# (\[.*\]|[a-z_]+ = .*)", ln) else ln for ln in text.splitlines()
    )
    data = tomllib.loads(uncommented)
    assert set(data) == {"api", "storage", "devices"}
    config = parse_config(data, env={})
    (device,) = config.devices
    assert (device.id, device.kind, device.driver, device.url) == (
        "receipt",
        "printer",
        "escpos",
        "tcp://192.0.2.10:9100",
    )
    assert len(resolve_all(config.devices)) == 1


# --- udev rules --------------------------------------------------------------------------

# udev(7): keys that only match, keys that only assign, keys that do both; {attr} where allowed.
MATCH_KEYS = {"ACTION", "DEVPATH", "KERNEL", "KERNELS", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS"}
MATCH_KEYS |= {"ATTRS", "TAGS", "TEST", "PROGRAM", "RESULT", "CONST"}
ASSIGN_KEYS = {"OWNER", "GROUP", "MODE", "LABEL", "GOTO", "IMPORT", "OPTIONS", "RUN", "SECLABEL"}
BOTH_KEYS = {"NAME", "SYMLINK", "ENV", "TAG", "ATTR", "SYSCTL"}
KEYS_WITH_ATTR = {"ATTR", "ATTRS", "ENV", "SYSCTL", "TEST", "IMPORT", "RUN", "SECLABEL", "CONST"}
PAIR = re.compile(r'(?P<key>[A-Z_]+)(?:\{(?P<attr>[^{}"]+)\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"')


def udev_rules() -> list[list[tuple[str, str, str]]]:
    """Each rule as [(key, operator, value)], checked against udev(7) on the way."""
    rules = []
    for number, raw in enumerate(RULES.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.endswith("\\"), f"line {number}: keep each rule on one line"
        pairs, position = [], 0
        while True:
            match = PAIR.match(line, position)
            assert match, f"line {number}: cannot parse at column {position + 1}: {line[position:]!r}"
            key, attr, op, value = match.group("key", "attr", "op", "value")
            assert key in MATCH_KEYS | ASSIGN_KEYS | BOTH_KEYS, f"line {number}: unknown key {key}"
            assert (attr is not None) == (key in KEYS_WITH_ATTR) or key in {"IMPORT", "RUN", "TEST"}, (
                f"line {number}: {key} {'needs' if attr is None else 'takes no'} {{attribute}}"
            )
            if key in MATCH_KEYS:
                assert op in ("==", "!="), f"line {number}: {key} only matches (== or !=), not {op}"
            if key in ASSIGN_KEYS:
                assert op in ("=", "+=", "-=", ":="), f"line {number}: {key} only assigns, not {op}"
            pairs.append((f"{key}{{{attr}}}" if attr else key, op, value))
            position = match.end()
            if position == len(line):
                break
            separator = re.compile(r"\s*,\s*").match(line, position)
            assert separator and separator.end() > position, (
                f"line {number}: expected ', ' at column {position + 1}"
            )
            position = separator.end()
        assert any(op in ("==", "!=") for _, op, _ in pairs), f"line {number}: a rule without a match"
        assert any(op not in ("==", "!=") for _, op, _ in pairs), f"line {number}: a rule that does nothing"
        rules.append(pairs)
    return rules


def test_udev_rules_parse_and_mark_every_device() -> None:
    rules = udev_rules()
    assert len(rules) >= 10
    for rule in rules:
        assigned = {key: (op, value) for key, op, value in rule if op not in ("==", "!=")}
        assert assigned["MODE"] == ("=", "0660")
        assert assigned["GROUP"] in (("=", "lp"), ("=", "dialout"))
        # TAG= (not +=) would wipe tags other rules set, such as systemd's.
        assert assigned["TAG"] == ("+=", "smartpos")
        assert assigned["ENV{SMARTPOS_DEVICE}"] == ("=", "1")


def test_udev_rules_cover_every_pos_vendor_and_serial_adapter() -> None:
    matched = {}
    for rule in udev_rules():
        group = next(value for key, op, value in rule if key == "GROUP")
        for key, op, value in rule:
            if op == "==" and key in ("ATTR{idVendor}", "KERNEL"):
                matched[value] = group
    for vendor in POS_VENDORS:
        assert matched.get(vendor) == "lp", f"vendor {vendor} must get group lp"
    assert matched.get("ttyUSB[0-9]*") == "dialout" and matched.get("ttyACM[0-9]*") == "dialout"


def apply_udev_rules(device: dict[str, str]) -> dict[str, str]:
    """What our rules assign to a device: a small model of udev's matching (globs, '|')."""
    result: dict[str, str] = {}
    tags: list[str] = []
    for rule in udev_rules():
        matches = [
            any(fnmatchcase(device.get(key, ""), alternative) for alternative in value.split("|"))
            == (op == "==")
            for key, op, value in rule
            if op in ("==", "!=")
        ]
        if all(matches):
            for key, op, value in rule:
                if key == "TAG":
                    tags += [value] if value not in tags else []  # a device's tags are a set
                elif op not in ("==", "!="):
                    result[key] = value
    if tags:
        result["TAG"] = " ".join(tags)
    return result


def usb(vendor: str, interfaces: str) -> dict[str, str]:
    return {
        "SUBSYSTEM": "usb",
        "ENV{DEVTYPE}": "usb_device",
        "ATTR{idVendor}": vendor,
        "ENV{ID_USB_INTERFACES}": interfaces,
    }


LP = {"GROUP": "lp", "MODE": "0660", "TAG": "smartpos"}
DIALOUT = {"GROUP": "dialout", "MODE": "0660", "TAG": "smartpos"}
DEVICES = {
    "epson receipt printer, vendor class": (usb("04b8", ":ff0000:"), LP),
    "star printer, printer class": (usb("0519", ":070102:"), LP),
    "bixolon printer": (usb("1504", ":070102:"), LP),
    "citizen printer": (usb("1d90", ":ff0000:"), LP),
    "xprinter on a nuvoton id": (usb("0416", ":070102:"), LP),
    "xprinter on an st id, vendor class": (usb("0483", ":ff0000:"), LP),
    "any vendor's printer-class device": (usb("abcd", ":030000:070102:"), LP),
    "keyboard on an st id": (usb("0483", ":030101:"), {}),
    "usb stick": (usb("0781", ":080650:"), {}),
    "usb hub": (usb("1d6b", ":090000:"), {}),
    "usblp node": ({"SUBSYSTEM": "usbmisc", "KERNEL": "lp0"}, LP),
    "ftdi adapter": ({"SUBSYSTEM": "tty", "KERNEL": "ttyUSB0"}, DIALOUT),
    "cdc-acm scale": ({"SUBSYSTEM": "tty", "KERNEL": "ttyACM12"}, DIALOUT),
    "built-in serial port": ({"SUBSYSTEM": "tty", "KERNEL": "ttyS0"}, {}),
    "a usb interface, not the device": ({**usb("04b8", ":ff0000:"), "ENV{DEVTYPE}": "usb_interface"}, {}),
}


@pytest.mark.parametrize(("device", "expected"), DEVICES.values(), ids=DEVICES.keys())
def test_udev_rules_pick_the_right_devices(device: dict[str, str], expected: dict[str, str]) -> None:
    assigned = apply_udev_rules(device)
    assert {key: assigned[key] for key in ("GROUP", "MODE", "TAG") if key in assigned} == expected
    assert ("ENV{SMARTPOS_DEVICE}" in assigned) == bool(expected)


# --- sysusers.d and tmpfiles.d -------------------------------------------------------------


def config_lines(path: Path) -> list[list[str]]:
    """Whitespace-separated fields of each entry, with "quoted strings" kept whole."""
    entries = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            entries.append([f.strip('"') for f in re.findall(r'"[^"]*"|\S+', line)])
    return entries


def test_sysusers_entries() -> None:
    entries = config_lines(SYSUSERS)
    assert all(e[0] in ("u", "g", "m") for e in entries)
    users = {e[1]: e for e in entries if e[0] == "u"}
    assert users["smartpos"][2:] == ["-", "SmartPOS store hub", "/var/lib/smartpos"]
    assert {(e[1], e[2]) for e in entries if e[0] == "m"} == {("smartpos", "lp"), ("smartpos", "dialout")}
    # Every group the user joins is declared, so sysusers creates it where it is missing.
    assert {e[1] for e in entries if e[0] == "g"} >= {"lp", "dialout"}


def scratch_etc(root: Path, groups: str) -> Path:
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n" + groups)
    for name in ("shadow", "gshadow"):
        (root / "etc" / name).write_text("")
    return root


def entry(root: Path, file: str, name: str) -> list[str]:
    for line in (root / "etc" / file).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    raise AssertionError(f"{name} is not in {file}")


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers is not installed here")
def test_sysusers_creates_the_user_in_a_scratch_root(tmp_path: Path) -> None:
    assert "--dry-run" in run("systemd-sysusers", "--help").stdout
    root = scratch_etc(tmp_path / "debian", "lp:x:7:\ndialout:x:20:\n")
    dry = run("systemd-sysusers", "--dry-run", f"--root={root}", SYSUSERS)
    assert dry.returncode == 0, dry.stderr
    said = dry.stdout + dry.stderr
    assert "Creating user 'smartpos'" in said and "Would write /etc/passwd" in said
    assert "smartpos" not in (root / "etc/passwd").read_text(), "--dry-run wrote something"

    created = run("systemd-sysusers", f"--root={root}", SYSUSERS)
    assert created.returncode == 0, created.stderr
    user = entry(root, "passwd", "smartpos")
    assert user[5:] == ["/var/lib/smartpos", "/usr/sbin/nologin"]
    assert entry(root, "group", "smartpos")[2] == user[3]
    # Debian's static groups keep their ids and gain the member.
    assert entry(root, "group", "lp")[2:] == ["7", "smartpos"]
    assert entry(root, "group", "dialout")[2:] == ["20", "smartpos"]

    again = run("systemd-sysusers", f"--root={root}", SYSUSERS)
    assert again.returncode == 0 and "Creating" not in again.stdout + again.stderr


@pytest.mark.skipif(shutil.which("systemd-sysusers") is None, reason="systemd-sysusers is not installed here")
def test_sysusers_creates_device_groups_that_are_missing(tmp_path: Path) -> None:
    root = scratch_etc(tmp_path / "bare", "")
    result = run("systemd-sysusers", f"--root={root}", SYSUSERS)
    assert result.returncode == 0, result.stderr
    assert entry(root, "group", "lp")[3] == "smartpos"
    assert entry(root, "group", "dialout")[3] == "smartpos"


def test_tmpfiles_entries() -> None:
    entries = config_lines(TMPFILES)
    for e in entries:
        assert len(e) == 6 and e[0] in ("d", "z") and e[1].startswith("/"), e
        assert re.fullmatch(r"0[0-7]{3}", e[2]), e
    by_path = {e[1]: e for e in entries}
    assert by_path["/var/lib/smartpos"][2:5] == ["0750", "smartpos", "smartpos"]
    assert by_path["/var/lib/smartpos/backups"][2:5] == ["0750", "smartpos", "smartpos"]
    assert by_path["/etc/smartpos"][2:5] == ["0750", "root", "smartpos"]


def mode_owner(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid


@needs_root
@pytest.mark.skipif(shutil.which("systemd-tmpfiles") is None, reason="systemd-tmpfiles is not installed here")
def test_tmpfiles_creates_the_directories_in_a_scratch_root(tmp_path: Path) -> None:
    root = scratch_etc(tmp_path, "lp:x:7:\ndialout:x:20:\n")
    assert run("systemd-sysusers", f"--root={root}", SYSUSERS).returncode == 0
    uid, gid = int(entry(root, "passwd", "smartpos")[2]), int(entry(root, "group", "smartpos")[2])
    (root / "etc/smartpos").mkdir(mode=0o777)
    (root / "etc/smartpos/hub.toml").write_text("")
    (root / "etc/smartpos/hub.toml").chmod(0o666)

    result = run("systemd-tmpfiles", "--create", f"--root={root}", TMPFILES)
    assert result.returncode == 0, result.stderr
    assert mode_owner(root / "var/lib/smartpos") == ("0o750", uid, gid)
    assert mode_owner(root / "var/lib/smartpos/backups") == ("0o750", uid, gid)
    assert mode_owner(root / "etc/smartpos") == ("0o750", 0, gid)
    assert mode_owner(root / "etc/smartpos/hub.toml") == ("0o640", 0, gid)


# --- install.sh ------------------------------------------------------------------------------


def test_install_script_parses() -> None:
    result = run("bash", "-n", INSTALL)
    assert result.returncode == 0, result.stderr
    assert os.access(INSTALL, os.X_OK), "install.sh should be executable"


@pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="shellcheck is not installed (apt-get install shellcheck)"
)
@pytest.mark.parametrize("script", ["systemd/install.sh", "run-hub.sh", "run-tests.sh", ".ci/run"])
def test_shell_scripts_are_shellcheck_clean(script: str) -> None:
    result = run("shellcheck", "--shell=bash", str(REPO / script))
    assert result.returncode == 0, result.stdout


def test_install_script_dry_run_lists_every_step_in_order() -> None:
    result = run("bash", INSTALL, "--dry-run", "--no-bluetooth")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    steps = [
        "+ systemd-sysusers /etc/sysusers.d/smartpos.conf",
        "+ systemd-tmpfiles --create /etc/tmpfiles.d/smartpos.conf",
        "/opt/smartpos/venv/bin/python -m pip install",
        "/usr/local/bin/smartpos-hub",
        "check-config --config /etc/smartpos/hub.toml",
        "/etc/udev/rules.d/60-smartpos-hub.rules",
        f"/etc/systemd/system/{UNIT_NAME}",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p == -1]
    assert positions == sorted(positions), "steps out of order"
    if Path("/run/systemd/system").is_dir():
        assert "+ systemctl daemon-reload" in out and "enable --now smartpos-hub" in out
    else:
        assert "systemd is not PID 1" in out and "+ systemctl" not in out
    for line in out.splitlines():
        assert line.startswith(("+ ", ">> ", "   ")), f"unexpected output in a dry run: {line!r}"


@needs_root
@needs_analyze
def test_install_script_into_a_scratch_root_is_idempotent_and_keeps_local_edits(tmp_path: Path) -> None:
    root = make_root(scratch_etc(tmp_path, "lp:x:7:\ndialout:x:20:\n"))
    first = run("bash", INSTALL, f"--root={root}")
    assert first.returncode == 0, first.stdout + first.stderr

    installed = {
        "etc/systemd/system/smartpos-hub.service": (UNIT, "0o644"),
        "etc/udev/rules.d/60-smartpos-hub.rules": (RULES, "0o644"),
        "etc/sysusers.d/smartpos.conf": (SYSUSERS, "0o644"),
        "etc/tmpfiles.d/smartpos.conf": (TMPFILES, "0o644"),
        "etc/default/smartpos-hub": (ENV_FILE, "0o644"),
        "etc/smartpos/hub.toml": (EXAMPLE_CONFIG, "0o640"),
        "opt/smartpos/doc/systemd.md": (SYSTEMD / "README.md", "0o644"),
    }
    for relative, (source, mode) in installed.items():
        assert (root / relative).read_bytes() == source.read_bytes(), relative
        assert mode_owner(root / relative)[0] == mode, relative
    gid = int(entry(root, "group", "smartpos")[2])
    assert mode_owner(root / "etc/smartpos/hub.toml")[2] == gid
    assert mode_owner(root / "etc/smartpos") == ("0o750", 0, gid)
    assert mode_owner(root / "var/lib/smartpos")[0] == "0o750"
    assert os.readlink(root / "usr/local/bin/smartpos-hub") == EXEC
    wants = root / "etc/systemd/system/multi-user.target.wants" / UNIT_NAME
    assert os.readlink(wants) == f"/etc/systemd/system/{UNIT_NAME}"
    # The unit, as installed in the image, verifies against that image.
    assert verify(root) == ""

    (root / "etc/default/smartpos-hub").write_text("SMARTPOS_API_PORT=9999\n")
    (root / "etc/smartpos/hub.toml").write_text('[hub]\nname = "shop-7"\n')
    second = run("bash", INSTALL, f"--root={root}")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "keeping existing" in second.stdout
    assert (root / "etc/default/smartpos-hub").read_text() == "SMARTPOS_API_PORT=9999\n"
    assert (root / "etc/smartpos/hub.toml").read_text() == '[hub]\nname = "shop-7"\n'
    assert [ln.split(":")[0] for ln in (root / "etc/passwd").read_text().splitlines()] == ["root", "smartpos"]
