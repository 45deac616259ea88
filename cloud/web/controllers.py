"""``GET /fleet``: the fleet view's page and the two files it loads, served from this package.

The page itself needs no token: it shows a login form and calls the JSON API
(``/api/v1/auth/login``, ``/api/v1/fleet``) with the bearer token it gets. Everything is
same-origin; the Content-Security-Policy forbids inline scripts and anything off this server.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from litestar import Controller, Response, get

SECURITY_HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Small files: always revalidate, so a new release is picked up on the next load.
    "Cache-Control": "no-cache",
}


@cache
def read_static(name: str) -> bytes:
    """The bytes of ``static/<name>`` in this package (read once)."""
    return (resources.files(__package__ or "cloud.web") / "static" / name).read_bytes()


def static_response(name: str, media_type: str) -> Response[bytes]:
    """``static/<name>`` with the page's security headers."""
    return Response(read_static(name), media_type=media_type, headers=SECURITY_HEADERS)


class FleetPageController(Controller):
    """The fleet view's web page: a login form, then hubs and devices refreshed every 5 s.

    Only these three files are served; each has its own route, so no name from the request
    ever reaches the file system.
    """

    path = "/fleet"

    @get("/", exclude_from_auth=True, include_in_schema=False, security=[])
    async def page(self) -> Response[bytes]:
        """The HTML page (no token needed: the data it shows needs one)."""
        return static_response("fleet.html", "text/html; charset=utf-8")

    @get("/assets/fleet.css", exclude_from_auth=True, include_in_schema=False, security=[])
    async def stylesheet(self) -> Response[bytes]:
        """The page's stylesheet."""
        return static_response("fleet.css", "text/css; charset=utf-8")

    @get("/assets/fleet.js", exclude_from_auth=True, include_in_schema=False, security=[])
    async def script(self) -> Response[bytes]:
        """The page's script."""
        return static_response("fleet.js", "text/javascript; charset=utf-8")
