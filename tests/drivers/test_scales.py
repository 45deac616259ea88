"""Scale drivers over the real ``SerialTransport`` against ``smartpos-sim scale`` on a pty.

Each test starts the simulator as its own process, drives it through its control port (the
load, motion, faults) and reads the scale through the driver as the hub would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path

import msgspec
import pytest

from drivers.base import DeviceHealth, ScaleDriver, Weight
from drivers.discovery.base import FoundDevice
from drivers.errors import Busy, Declined, DeviceOffline, ProtocolError, Timeout
from drivers.scales import CasScale, SicsScale, ToledoScale
from drivers.transports import create_transport, parse_transport_url
from tests.support.device_sims import PtySim
from tests.support.pty_pair import PtyDevice

# A Toledo scale is 7E1 on a real UART. A Linux pty only keeps 8N1 (CS7 is silently dropped
# and then, like PARENB, refused with EINVAL), so the Toledo link is opened 8N1 here: its bytes
# are 7-bit ASCII either way.
LINE = {"toledo": "?baudrate=9600", "sics": "?baudrate=9600", "cas": "?baudrate=9600"}
DRIVER: dict[str, type[ToledoScale | SicsScale | CasScale]] = {
    "toledo": ToledoScale,
    "sics": SicsScale,
    "cas": CasScale,
}
PROTOCOLS = tuple(DRIVER)


class Bench:
    """One simulated scale and the driver connected to it."""

    def __init__(self, sim: PtySim, driver: ScaleDriver) -> None:
        self.sim = sim
        self.driver = driver

    def set(self, *commands: str) -> None:
        for command in commands:
            assert self.sim.control(command) == "ok", command


Connect = Callable[..., Awaitable[Bench]]


def make_driver(protocol: str, url: str, **options: object) -> ScaleDriver:
    cls = DRIVER[protocol]
    opts = msgspec.convert({"reply_timeout": 0.5, **options}, cls.Options)
    return cls("scale-1", create_transport(parse_transport_url(url)), opts)


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[Callable[..., PtySim]]:
    started: list[PtySim] = []

    def start(protocol: str, *extra: str) -> PtySim:
        link = tmp_path / f"ttyScale{len(started)}"
        sim = PtySim("scale", link, "--protocol", protocol, *extra).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
async def connect(sims: Callable[..., PtySim]) -> AsyncIterator[Connect]:
    drivers: list[ScaleDriver] = []

    async def start(protocol: str, *extra: str, **options: object) -> Bench:
        sim = sims(protocol, *extra)
        driver = make_driver(protocol, f"serial://{sim.link}{LINE[protocol]}", **options)
        await driver.connect()
        drivers.append(driver)
        return Bench(sim, driver)

    yield start
    for driver in drivers:
        await driver.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_stable_weight_then_motion(connect: Connect, protocol: str) -> None:
    bench: Bench = await connect(protocol)
    bench.set("weight 1234")
    weight = await bench.driver.weigh()
    assert (weight.milligrams, weight.stable, weight.overload, weight.underload, weight.unit) == (
        1_234_000,
        True,
        False,
        False,
        "kg",
    )
    assert weight.raw
    assert (await bench.driver.health()).state == "online"
    bench.set("motion on")
    moving = await bench.driver.weigh()
    assert not moving.stable
    # MT-SICS and CAS send the moving weight; Toledo sends only its status byte.
    assert moving.milligrams == (0 if protocol == "toledo" else 1_234_000)
    health = await bench.driver.health()
    assert (health.state, health.conditions) == ("online", ("in_motion",))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_overload_and_underload(connect: Connect, protocol: str) -> None:
    bench: Bench = await connect(protocol)
    bench.set("weight 500", "overload on")
    over = await bench.driver.weigh()
    assert (over.overload, over.stable, over.milligrams) == (True, False, 0)
    assert (await bench.driver.health()).conditions == ("overload",)
    bench.set("overload off", "underload on")
    under = await bench.driver.weigh()
    assert not under.stable
    if protocol == "cas":
        # ECR type 6 has no under-load code: the scale sends a negative, unstable weight.
        assert (under.underload, under.milligrams) == (False, -500_000)
    else:
        assert (under.underload, under.milligrams) == (True, 0)
        health = await bench.driver.health()
        assert (health.state, health.conditions) == ("error", ("underload",))


async def test_sics_zero_and_tare_change_the_weight(connect: Connect) -> None:
    bench: Bench = await connect("sics", "--stability-timeout", "0.3", settle_timeout=2.0)
    driver = bench.driver
    bench.set("weight 80")
    await driver.zero()
    assert (await driver.weigh()).milligrams == 0
    bench.set("weight 580")  # a 500 g bowl
    assert (await driver.weigh()).milligrams == 500_000
    await driver.tare()
    assert (await driver.weigh()).milligrams == 0
    bench.set("weight 1830")
    assert (await driver.weigh()).milligrams == 1_250_000
    status = bench.sim.status()
    assert (status["zero_offset_mg"], status["tare_mg"]) == (80_000, 500_000)
    with pytest.raises(Declined, match="above the permitted range"):
        await driver.zero()  # 1.83 kg is far outside the zero range
    bench.set("motion on")
    with pytest.raises(Declined, match="no stability"):
        await driver.tare()
    assert isinstance(driver, SicsScale) and driver.serial_number == "SIM0001"


async def test_toledo_zero_works_and_tare_is_declined_without_sending(connect: Connect) -> None:
    bench: Bench = await connect("toledo")
    driver = bench.driver
    bench.set("weight 150")
    await driver.zero()
    assert (await driver.weigh()).milligrams == 0
    bench.set("weight 2150")
    with pytest.raises(Declined, match="outside the zero range"):
        await driver.zero()
    bench.set("motion on")
    with pytest.raises(Declined, match="moving"):
        await driver.zero()
    bench.set("motion off")
    sent = bench.sim.status()["commands"]
    with pytest.raises(Declined, match="no tare command") as refused:
        await driver.tare()
    assert not refused.value.sent and bench.sim.status()["commands"] == sent
    bench.set("tare")  # the scale's own key: the weight sent is then net
    bench.set("weight 2650")
    assert (await driver.weigh()).milligrams == 500_000


async def test_cas_has_no_zero_or_tare_command(connect: Connect) -> None:
    bench: Bench = await connect("cas", "--unit", "lb")
    bench.set("weight 453.592")
    weight = await bench.driver.weigh()
    assert (weight.unit, weight.milligrams) == ("lb", 453_592)  # 1.00 lb as shown, exact
    for action in (bench.driver.zero, bench.driver.tare):
        with pytest.raises(Declined, match=r"no (zero|tare) command"):
            await action()
    bench.set("weight 1000", "tare", "weight 1453.592")
    assert (await bench.driver.weigh()).milligrams == 453_592


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_silent_scale_times_out_then_recovers(connect: Connect, protocol: str) -> None:
    bench: Bench = await connect(protocol)
    bench.set("weight 700", "silent on")
    with pytest.raises(Timeout) as timed_out:
        await bench.driver.weigh()
    assert timed_out.value.sent
    with pytest.raises(DeviceOffline):
        await bench.driver.health()
    bench.set("silent off")
    assert (await bench.driver.weigh()).milligrams == 700_000


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_bad_bytes_are_a_protocol_error_then_recovers(connect: Connect, protocol: str) -> None:
    bench: Bench = await connect(protocol)
    bench.set("weight 42", "garbage_next")
    with pytest.raises(ProtocolError):
        await bench.driver.weigh()
    assert (await bench.driver.weigh()).milligrams == 42_000
    bench.set("garbage_next")  # read by the health poll: an error state, not a reconnect
    health = await bench.driver.health()
    assert (health.state, health.conditions) == ("error", ("protocol_error",))
    assert (await bench.driver.health()).state == "online"


# -- without the simulator: a pty that plays a broken or silent device ----------------------
@pytest.fixture
def device() -> Iterator[PtyDevice]:
    fake = PtyDevice()
    yield fake
    fake.close()


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_connect_to_a_silent_port_is_offline(device: PtyDevice, protocol: str) -> None:
    driver = make_driver(protocol, device.url, reply_timeout=0.2)
    with pytest.raises(DeviceOffline, match="does not answer"):
        await driver.connect()
    assert not driver.transport.is_open


async def exchange(device: PtyDevice, call: Coroutine[object, object, object], reply: bytes) -> object:
    """Run ``call``; once its request is on the wire, answer ``reply`` as the device."""
    task = asyncio.ensure_future(call)
    try:
        assert await device.wire(quiet=0.15)
        device.send(reply)
        return await task
    finally:
        task.cancel()


async def test_sics_error_answers_busy_and_stale_answers(device: PtyDevice) -> None:
    driver = make_driver("sics", device.url, reply_timeout=2.0)
    await exchange(device, driver.connect(), b'I4 A "X1"\r\n')
    try:
        with pytest.raises(ProtocolError, match="logical error"):
            await exchange(device, driver.weigh(), b"EL\r\n")
        with pytest.raises(Busy):
            await exchange(device, driver.weigh(), b"S I\r\n")
        busy = await exchange(device, driver.health(), b"S I\r\n")
        assert isinstance(busy, DeviceHealth) and (busy.state, busy.conditions) == ("online", ("busy",))
        # A late answer to another command comes first: skipped by its name.
        weight = await exchange(device, driver.weigh(), b"Z A\r\nS S   1.5 lb\r\n")
        assert isinstance(weight, Weight) and (weight.milligrams, weight.unit) == (680_389, "lb")
        with pytest.raises(ProtocolError, match="unknown weight unit"):
            await exchange(device, driver.weigh(), b"S S 1 ct\r\n")  # carats: no exact factor
    finally:
        await driver.close()


# -- recognition, options ---------------------------------------------------------------------
def serial(by_id: str, **properties: str) -> FoundDevice:
    path = f"/dev/serial/by-id/{by_id}"
    return FoundDevice(id=path, bus="serial", url=f"serial://{path}", properties=properties)


@pytest.mark.parametrize(
    ("found", "winner"),
    [
        (serial("usb-METTLER_TOLEDO_Scale_1234-if00"), "sics"),
        (serial("usb-Toledo_8217_Scale-if00"), "toledo"),
        (serial("usb-CAS_Corporation_PD-II-if00-port0"), "cas"),
        (serial("usb-Generic_USB_Scale_01-if00"), "sics"),
        (serial("usb-Casio_Cash_Register-if00"), None),
        (serial("usb-FTDI_FT232R_USB_UART_A9CAS12-if00-port0"), None),
        (serial("usb-FTDI_FT232R_USB_UART-if00-port0", probe="toledo"), "toledo"),
        (FoundDevice(id="x", bus="mdns", url="tcp://10.0.0.5:9100", name="Scale"), None),
    ],
)
def test_supports_by_name(found: FoundDevice, winner: str | None) -> None:
    scores = {name: cls.supports(found) for name, cls in DRIVER.items()}
    assert scores == {name: (10 if name == winner else 0) for name in DRIVER}


def test_options_and_registry() -> None:
    assert ToledoScale.parse_options({"unit": "lb", "decimals": 2}).unit == "lb"
    assert SicsScale.parse_options({}).settle_timeout == 5.0
    for cls, bad in (
        (ToledoScale, {"unit": "st"}),
        (SicsScale, {"reply_timeout": 0}),
        (CasScale, {"unit": "kg"}),
    ):
        with pytest.raises(msgspec.ValidationError):
            cls.parse_options(bad)
    from hub.devices.registry import BY_NAME, DEFAULT_DRIVER

    assert DEFAULT_DRIVER["scale"] == "sics"
    assert {BY_NAME[("scale", name)] for name in DRIVER} == set(DRIVER.values())
