"""Two ASGI middlewares of the service: a request-body limit and a count of every answer.

Both are plain ASGI (not ``@app.middleware("http")``), because each must see what the
framework hides: the limit counts the body bytes as they arrive (a chunked upload has no
Content-Length to check), and the count sees every response status, also the 422 FastAPI
answers itself for a malformed request and the 500 of an unhandled exception.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """Raised into the application when the body passes the limit; never reaches a client."""


async def send_413(send: Send, detail: str) -> None:
    """A JSON 413 that closes the connection: the rest of the body is never read, so the
    connection cannot be reused for another request."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length" and value.isdigit():
            return int(value)
    return None


class _Guard:
    """Counts the body bytes one request delivers; past the limit it raises into the app and
    swallows whatever the app answers instead, so the middleware can answer 413 itself."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self.limit = receive, send, limit
        self.received = 0
        self.over = False
        self.started = False

    async def receive(self) -> Message:
        if self.over:
            raise BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.over = True
                raise BodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        if self.over and not self.started:
            return  # the app's answer to the aborted body (a 400 or 500): replaced by the 413
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


class BodyLimit:
    """413 for a request body over ``limit`` bytes: from its Content-Length before reading,
    or, without one (chunked), as soon as the bytes read pass the limit. Nothing beyond the
    limit is read, spooled or parsed."""

    def __init__(self, app: ASGIApp, limit: int, allowed: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.allowed = limit if allowed is None else allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await send_413(send, f"upload of {declared:,} bytes is over the {self.allowed:,} "
                                 "allowed")
            return
        guard = _Guard(receive, send, self.limit)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if not guard.over:
                raise
        if guard.over and not guard.started:
            await send_413(send, f"upload is over the {self.allowed:,} bytes allowed (stopped "
                                 f"reading after {guard.received:,} bytes)")


class CountAnswers:
    """Calls ``count(status)`` once for every HTTP answer, whoever produced it; a request
    whose handler raised before answering counts as the 500 the server then sends."""

    def __init__(self, app: ASGIApp, count: Callable[[int], None]) -> None:
        self.app = app
        self.count = count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int] = []

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        except Exception:
            self.count(status[0] if status else 500)
            raise
        if status:
            self.count(status[0])
