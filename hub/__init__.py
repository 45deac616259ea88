"""SmartPOS hub: the per-store daemon that owns the store's hardware and serves the LAN API."""

__version__ = "0.1.0"
