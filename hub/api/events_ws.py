"""``GET /api/v1/events``: the websocket every tablet keeps open.

Each event is ``{"id", "type", "at", "data"}`` with an increasing id. A client that reconnects
with ``?last_id=N`` (or a ``Last-Event-ID`` header) first gets every retained event after N,
then the live feed, with nothing missed or repeated: the live subscription is taken *before*
the replay is read, and live events at or below the last replayed id are skipped. If the
client is further behind than the bounded replay, it gets ``{"type": "replay.truncated"}``
and should reload its state through the REST API.
"""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
from aiohttp import WSCloseCode, web

from hub.api.errors import ApiError, error_response
from hub.api.routing import SERVICES, authenticate
from hub.domain.events import Event

# Close code for "too slow, reconnect with your last id" (RFC 6455 1013: try again later).
CLOSE_TOO_SLOW = WSCloseCode.TRY_AGAIN_LATER

_encoder = msgspec.json.Encoder()


class Notice(msgspec.Struct):
    type: str
    data: dict[str, int | str | None]


def _last_id(request: web.Request) -> int:
    raw = request.query.get("last_id") or request.headers.get("Last-Event-ID") or "0"
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(400, "invalid_query", f"last_id must be a non-negative integer, got {raw!r}")
    return int(raw)


async def events_websocket(request: web.Request) -> web.StreamResponse:
    """Stream hub events; see the module docstring for the replay rules."""
    try:
        await authenticate(request, "device", allow_query_token=True)
        after = _last_id(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    services = request.app[SERVICES]
    ws = web.WebSocketResponse(heartbeat=20, max_msg_size=64 * 1024)
    await ws.prepare(request)
    subscription = services.events.subscribe()
    try:
        events, truncated = await services.events.replay(after, services.config.api.replay_limit)
        current = await services.events.last_id()
        await ws.send_str(
            _encoder.encode(Notice("hello", {"last_id": current, "replay_from": after})).decode()
        )
        if truncated:
            await ws.send_str(_encoder.encode(Notice("replay.truncated", {"after_id": after})).decode())
        sent = after
        for event in events:
            await ws.send_str(_encoder.encode(event).decode())
            sent = event.id
        await _stream(ws, subscription.queue, subscription.overflowed, sent)
    finally:
        services.events.unsubscribe(subscription)
        if not ws.closed:
            await ws.close()
    return ws


async def _stream(
    ws: web.WebSocketResponse, queue: asyncio.Queue[Event], overflowed: asyncio.Event, sent: int
) -> None:
    reader = asyncio.create_task(_drain_client(ws))
    try:
        while not ws.closed:
            getter = asyncio.create_task(queue.get())
            overflow = asyncio.create_task(overflowed.wait())
            done, _ = await asyncio.wait({getter, overflow, reader}, return_when=asyncio.FIRST_COMPLETED)
            overflow.cancel()
            if getter not in done:
                getter.cancel()
                if overflow in done:
                    await ws.close(code=CLOSE_TOO_SLOW, message=b"too slow; reconnect with last_id")
                return
            event = getter.result()
            if event.id <= sent:
                continue  # already delivered by the replay
            await ws.send_str(_encoder.encode(event).decode())
            sent = event.id
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _drain_client(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the client sends, so closes and pings are processed."""
    async for _ in ws:
        pass
