"""The cloud's end of the link for hub tests: a paho client on the real broker that stores each
event once by (hub, seq), acknowledges the highest contiguous seq, and keeps presence messages.
(The cloud service's own bridge is tested with the cloud.)"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from protocols.sync import parse_topic
from protocols.sync.messages import (
    Ack,
    decode_envelope,
    decode_job_update,
    decode_payload,
    decode_state,
    decode_status,
    encode,
)


class CloudPeer:
    def __init__(
        self,
        port: int,
        username: str = "cloud",
        password: str = "cloud-secret",
        *,
        store: dict[tuple[str, int], Any] | None = None,
        ca_file: Path | None = None,
    ) -> None:
        # ``store`` stands for the cloud's database: a restarted cloud still has what it stored.
        self.events: dict[tuple[str, int], Any] = {} if store is None else store
        self.deliveries = 0
        self.delivered: list[int] = []  # every seq this peer received, repeats included
        self.statuses: list[Any] = []
        self.job_updates: list[Any] = []
        self.states_reported: list[Any] = []
        self.lock = threading.Lock()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="cloud-peer",
                             protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
        client.username_pw_set(username, password)
        if ca_file is not None:
            client.tls_set(ca_certs=str(ca_file))
        client.on_connect = lambda c, *_: c.subscribe(
            [
                ("smartpos/v1/+/+/+/up/events", 1),
                ("smartpos/v1/+/+/+/status", 1),
                ("smartpos/v1/+/+/+/up/jobs", 1),
                ("smartpos/v1/+/+/+/up/state", 1),
            ]
        )
        client.on_message = self._message
        # Like the real cloud: a persistent session, so nothing published while it reconnects
        # is lost to it.
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        client.connect("127.0.0.1", port, clean_start=False, properties=props)
        client.loop_start()
        self.client = client

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        topics, channel = parse_topic(message.topic)
        if channel == "up/state":
            with self.lock:
                self.states_reported.append(decode_state(bytes(message.payload)))
            return
        if channel == "up/jobs":
            with self.lock:
                self.job_updates.append(decode_job_update(bytes(message.payload)))
            return
        if channel == "status":
            with self.lock:
                self.statuses.append(decode_status(bytes(message.payload)))
            return
        envelope = decode_envelope(bytes(message.payload))
        payload = decode_payload(envelope)
        with self.lock:
            self.deliveries += 1
            self.delivered.append(envelope.seq)
            self.events.setdefault((topics.hub, envelope.seq), (envelope.type, payload))
            contiguous = 0
            while (topics.hub, contiguous + 1) in self.events:
                contiguous += 1
        # Like the real cloud: a fact beyond a hole asks for the hole again.
        resend = contiguous + 1 if envelope.seq > contiguous + 1 else None
        client.publish(topics.down_acks, encode(Ack(seq=contiguous, resend_from=resend)), qos=1)

    def states(self, job_id: str) -> list[str]:
        with self.lock:
            return [u.state for u in self.job_updates if u.job_id == job_id]

    def result(self, job_id: str) -> Any:
        with self.lock:
            return [u for u in self.job_updates if u.job_id == job_id][-1]

    def count(self, hub: str, kind: str) -> int:
        with self.lock:
            return sum(1 for (h, _), (t, _) in self.events.items() if h == hub and t == kind)

    def seqs(self, hub: str) -> list[int]:
        with self.lock:
            return sorted(seq for h, seq in self.events if h == hub)

    def forget(self, hub: str, from_seq: int) -> None:
        """Lose what was stored from ``from_seq`` on, as a cloud restored from a backup has."""
        with self.lock:
            for key in [k for k in self.events if k[0] == hub and k[1] >= from_seq]:
                del self.events[key]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
