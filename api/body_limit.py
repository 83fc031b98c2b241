"""Request bodies over the limit answer 413 before they are read.

Starlette's own limiter answers in plain text whatever the handlers say, so this one speaks the
api's error body: at once when ``Content-Length`` declares too much (no byte of the body is
read), and as soon as a streamed (chunked) body passes the limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response

TOO_LARGE = 413


class BodyLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # exact paths that take more (uploads): path -> their limit
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope.get("path", ""), self.max_bytes)
        too_large = f"the request body is over {max_bytes} bytes"
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            response = error_response(TOO_LARGE, "payload_too_large", too_large)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # Raised inside the body read: the error handlers answer it (413).
                    raise HTTPException(TOO_LARGE, too_large)
            return message

        await self.app(scope, counted, send)
