"""The bridge's MQTT connection: paho on its own network thread, messages handed to asyncio.

Unlike the hub (one loop that also drives printers, so paho runs on the loop), the cloud
bridge takes thousands of messages a second: paho's own thread reads the socket and parses
packets while the loop writes to the database. Messages cross over through a deque; the loop
is woken once per burst rather than once per message.

Backpressure: paho acknowledges a QoS 1 message (PUBACK) when ``on_message`` returns, so a
message is in our memory before it is in the database. If the database falls behind, the
network thread waits in ``on_message`` once :data:`MAX_PENDING` messages are queued; the
socket stops being read and the broker holds the rest. A message acknowledged to the broker
but lost in a crash before its commit is not lost for good: the hub resends every fact the
cloud has not acknowledged (architecture principle 3).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections import deque
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)
MAX_PENDING = 20_000
SESSION_EXPIRY_S = 7 * 86400
SUBSCRIPTIONS = ("up/events", "status", "up/state", "up/jobs")


class BridgeClient:
    """A persistent MQTT 5 session subscribed to every hub's upward topics."""

    def __init__(self, url: str, username: str, password: str, *, client_id: str, ca_file: str = "") -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError(f"broker URL must be mqtt://host:port or mqtts://host:port, not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        self._pending: deque[tuple[str, bytes]] = deque()
        self._room = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self.connected = asyncio.Event()
        self._closing = False
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(username, password)
        if parts.scheme == "mqtts":
            client.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself after a loss."""
        self._loop = asyncio.get_running_loop()
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        # A persistent session: what hubs publish while the bridge restarts waits at the broker.
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        self.client.connect_async(self.host, self.port, keepalive=30, clean_start=False, properties=props)
        self.client.loop_start()

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self._closing = True
        with self._room:
            self._room.notify_all()
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the bridge", extra={"reason": str(reason)})
            return
        client.subscribe([(f"smartpos/v1/+/+/+/{channel}", 1) for channel in SUBSCRIPTIONS])
        self._call(self.connected.set)
        log.info("bridge connected", extra={"session_present": bool(flags.session_present)})

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._call(self.connected.clear)
        if not self._closing:
            log.warning("bridge lost the broker; reconnecting", extra={"reason": str(reason)})

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._room:
            while len(self._pending) >= MAX_PENDING and not self._closing:
                self._room.wait(1.0)
            was_empty = not self._pending
            self._pending.append((message.topic, bytes(message.payload)))
        if was_empty:
            self._call(self._ready.set)

    def _call(self, action: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(action)

    async def take(self, limit: int) -> list[tuple[str, bytes]]:
        """Up to ``limit`` received messages in arrival order; waits for at least one."""
        while True:
            with self._room:
                if self._pending:
                    count = min(limit, len(self._pending))
                    batch = [self._pending.popleft() for _ in range(count)]
                    self._room.notify_all()
                    return batch
                self._ready.clear()
            await self._ready.wait()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """QoS 1; paho queues it while disconnected and sends it on reconnect."""
        self.client.publish(topic, payload, qos=1, retain=retain)
