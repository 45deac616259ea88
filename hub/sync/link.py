"""paho-mqtt driven from the asyncio loop, without paho's network thread.

paho exposes its socket: the loop watches it (``add_reader``/``add_writer``) and calls
``loop_read``/``loop_write`` when it is ready, plus ``loop_misc`` every second for keepalive
pings and retries. Every publish therefore happens on the loop's thread, and paho's callbacks
run there too. The TCP connect is tried first with asyncio (bounded, non-blocking), so an
unreachable broker never freezes the loop that also drives the printers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)
DISCONNECT_WITH_WILL = 0x04
CONNECT_TIMEOUT_S = 5.0


class LinkDown(Exception):
    """The broker is unreachable or refused the connection (reason in the message)."""


class MqttLink:
    """One MQTT 5 session to the broker; ``on_message(topic, payload)`` runs on the loop."""

    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        username: str,
        password: str,
        keepalive_s: int,
        session_expiry_s: int,
        ca_file: str = "",
        on_message: Callable[[str, bytes], None],
        on_disconnect: Callable[[str], None],
    ) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.tls = parts.scheme == "mqtts"
        self.port = parts.port or (8883 if self.tls else 1883)
        self._keepalive = keepalive_s
        self._expiry = session_expiry_s
        self._on_message = on_message
        self._on_disconnect = on_disconnect
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._connected: asyncio.Future[int] | None = None
        self._misc: asyncio.Task[None] | None = None
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(username, password)
        if self.tls:
            client.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(0)
        client.on_connect = self._connect_done
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._want_write
        client.on_socket_unregister_write = self._no_write
        self.client = client

    def will(self, topic: str, payload: bytes) -> None:
        """The last will, published by the broker if the link drops without a goodbye."""
        self.client.will_set(topic, payload, qos=1, retain=True)

    async def connect(self) -> bool:
        """Connect (MQTT 5, ``clean_start=False``, session expiry). True: the broker kept our session."""
        try:
            # A bounded, non-blocking reachability check first (see the module docstring).
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT_S
            )
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        except (OSError, TimeoutError) as exc:
            raise LinkDown(f"broker {self.host}:{self.port} unreachable: {exc}") from None
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._expiry
        self._connected = self._loop.create_future()
        try:
            # The TCP connect, the TLS handshake and the CONNECT packet happen in a worker
            # thread: on a slow uplink the handshake alone can take seconds, and the loop also
            # drives the printers. paho's socket callbacks hop back to the loop (_on_loop).
            await asyncio.to_thread(
                self.client.connect,
                self.host,
                self.port,
                self._keepalive,
                clean_start=False,
                properties=props,
            )
        except (OSError, ssl.SSLError) as exc:
            raise LinkDown(f"cannot connect to {self.host}:{self.port}: {exc}") from None
        self._misc = asyncio.create_task(self._misc_loop(), name="mqtt-misc")
        try:
            flags = await asyncio.wait_for(self._connected, CONNECT_TIMEOUT_S * 2)
        except TimeoutError:
            await self.close()
            raise LinkDown("the broker did not answer CONNECT") from None
        return bool(flags)

    def _connect_done(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._on_loop(lambda: self._settle_connect(flags, reason))

    def _settle_connect(self, flags: Any, reason: Any) -> None:
        if self._connected is None or self._connected.done():
            return
        if reason.is_failure:
            self._connected.set_exception(LinkDown(f"broker refused the connection: {reason}"))
        else:
            self._connected.set_result(1 if flags.session_present else 0)

    def _disconnected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._on_loop(lambda: self._settle_disconnect(reason))

    def _settle_disconnect(self, reason: Any) -> None:
        if self._connected is not None and not self._connected.done():
            self._connected.set_exception(LinkDown(f"disconnected while connecting: {reason}"))
        self._on_disconnect(str(reason))

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._on_message(message.topic, bytes(message.payload))

    def _on_loop(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the loop's thread (paho calls back from the connecting thread too)."""
        if threading.get_ident() == self._loop_thread:
            action()
        else:
            self._loop.call_soon_threadsafe(action)

    def _socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._on_loop(lambda: self._loop.add_reader(sock, client.loop_read))

    def _socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        def forget() -> None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(sock)
                self._loop.remove_writer(sock)

        self._on_loop(forget)

    def _want_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._on_loop(lambda: self._loop.add_writer(sock, client.loop_write))

    def _no_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        def stop_writing() -> None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_writer(sock)

        self._on_loop(stop_writing)

    async def _misc_loop(self) -> None:
        # Keepalive pings and QoS retries on a timer (paho's own thread would do this); stops
        # when paho reports the connection gone.
        while True:
            if self.client.loop_misc() != mqtt.MQTT_ERR_SUCCESS:
                return
            await asyncio.sleep(1.0)

    def subscribe(self, topics: list[str]) -> None:
        self.client.subscribe([(topic, 1) for topic in topics])

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=1, retain=retain)

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    async def close(self, *, with_will: bool = False) -> None:
        """Disconnect; ``with_will`` asks the broker to publish the last will all the same (MQTT 5
        reason code 0x04), which is how a hub that shuts down says it is offline: the will
        already carries ``offline`` with the session's counter."""
        reason = ReasonCode(PacketTypes.DISCONNECT, identifier=DISCONNECT_WITH_WILL) if with_will else None
        with contextlib.suppress(OSError):
            self.client.disconnect(reasoncode=reason)
        if self._misc is not None:
            self._misc.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._misc
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            self._socket_close(self.client, None, sock)
