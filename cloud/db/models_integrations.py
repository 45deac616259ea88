"""Cloud tables: outgoing webhooks, their delivery log, and API keys."""

from __future__ import annotations
