"""Byte transports behind one interface, chosen by the device's transport URL."""

from drivers.transports.base import Transport, TransportUrl, parse_transport_url
from drivers.transports.factory import create_transport

__all__ = ["Transport", "TransportUrl", "create_transport", "parse_transport_url"]
