"""Who may talk to the server, checked before any route: the Host and Origin allow-lists, and the token for
the API's documentation.

A server on loopback without a token is reachable by every web page the user opens: a page can post a form
(multipart needs no CORS preflight) and, through DNS rebinding, read answers under its own host name. So a
request must name one of the server's own hosts (127.0.0.1, localhost, [::1] or names given with
--allow-host) on its port, and a request that carries an Origin must come from one of those too. Clients
that are not browsers (the add-on, curl, scripts) send no Origin and the right Host, and pass unchanged.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


def split_host(value: str) -> tuple[str, int | None]:
    """'name:port' → (lower-case name, port); an IPv6 address keeps its brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, _, port_text = value.partition(":")
        rest = f":{port_text}" if port_text else ""
    if rest.startswith(":") and rest[1:].isdigit():
        return name, int(rest[1:])
    return name, None if not rest else -1


class RequestGuard:
    """ASGI middleware: 403 for a foreign Host or Origin, 401 for the docs without the token (when set)."""

    def __init__(
        self, app: ASGIApp, hosts: frozenset[str], port: int, check_host: bool, token: str | None
    ) -> None:
        self.app, self.hosts, self.port, self.check_host, self.token = app, hosts, port, check_host, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(headers, scope["path"])
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, detail, extra = refusal
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _allowed(self, name: str, port: int | None) -> bool:
        # port 0 asks the system for a free port, which the app does not know: any port then
        return name in self.hosts and (port in (None, self.port) or self.port == 0)

    def _refusal(self, headers: dict[str, str], path: str) -> tuple[int, str, list[Any]] | None:
        names = ", ".join(sorted(self.hosts))
        host = headers.get("host", "")
        if self.check_host and not self._allowed(*split_host(host)):
            return (
                403,
                f"Host {host!r} is not allowed: this server answers to {names} on port {self.port} "
                "(start it with --allow-host NAME to add a name)",
                [],
            )
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            scheme_ok = parts.scheme in ("http", "https")
            name = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
            try:
                port = parts.port
            except ValueError:
                port = -1
            if not (scheme_ok and name and self._allowed(name.lower(), port)):
                return (
                    403,
                    f"Origin {origin!r} is not allowed: requests from web pages are refused unless they "
                    f"come from {names} on port {self.port}",
                    [],
                )
        if self.token is not None and path in DOC_PATHS:
            given = headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return (
                    401,
                    "the API documentation needs the token too: send 'Authorization: Bearer TOKEN'",
                    [(b"www-authenticate", b"Bearer")],
                )
        return None
