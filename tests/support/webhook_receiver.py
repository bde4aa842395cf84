"""A real HTTP receiver on 127.0.0.1 for outbound webhooks: records what it is sent and
answers the status it is told (a callable, so a test can make it fail for a while)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    port: int = 0
    status: Callable[[Received], int] = field(default=lambda _: 204)
    received: list[Received] = field(default_factory=list)  # every request, answered or not
    delay: float = 0.0
    answering: int = 0  # requests received and not yet answered

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.payload["type"] == event_type]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = Received(path, headers, body)
            self.received.append(request)
            self.answering += 1
            try:
                if self.delay:
                    await asyncio.sleep(self.delay)
                status = self.status(request)
            finally:
                self.answering -= 1
            answer = b"x" * 100_000 if status >= 500 else b""  # a big body: read capped
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: {len(answer)}\r\n"
                "connection: close\r\n\r\n".encode()
                + answer
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def webhook_receiver(**options: Any) -> AsyncIterator[Receiver]:
    receiver = Receiver(**options)
    server = await asyncio.start_server(receiver._serve, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()
