"""Posting outbound webhooks with httpx, safely.

- http and https only;
- the host is resolved here, every address it resolves to is checked
  (``domain.outbound_webhooks.refused_address``: loopback, private, link-local, shared,
  reserved, metadata services), and the connection goes to the checked address (pinned: the
  URL's host becomes that address; the Host header and, for https, the TLS server name and
  certificate check keep the name), so a DNS answer that changes between check and connect
  cannot send the request elsewhere;
- redirects are not followed (a 3xx is a failed attempt: the endpoint should be changed);
- connect and read timeouts, and the two together bound a whole attempt; at most
  ``MAX_RESPONSE_BYTES`` of an answer are read.

``allow_private`` (LOYALTY_WEBHOOKS_ALLOW_PRIVATE_TARGETS) lifts the address check, for a
receiver on the same machine or network (the tests', a development machine's).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import httpx

from app.outbound_webhooks import PostResult
from domain.outbound_webhooks import Address, refused_address

MAX_RESPONSE_BYTES = 4096


class HttpxWebhookSender:
    def __init__(
        self,
        *,
        allow_private: bool = False,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
    ) -> None:
        self._allow_private = allow_private
        # One attempt, whatever the server does (a slow drip resets a read timeout): well
        # within half the claim's lease, which Settings.check keeps at four times this.
        self._budget = connect_timeout + read_timeout
        self._connect_timeout = connect_timeout  # the name's resolution too
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        started = time.monotonic()

        def done(status: int | None, error: str | None) -> PostResult:
            return PostResult(status, int((time.monotonic() - started) * 1000), error)

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return done(None, "refused: only http and https URLs are delivered")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return done(None, "refused: the URL's port is not valid")
        try:
            async with asyncio.timeout(self._connect_timeout):
                address = await self._resolve(parts.hostname, port)
        except _Refused as refusal:
            return done(None, f"refused: {refusal}")
        except TimeoutError:
            return done(None, f"could not resolve {parts.hostname} in time")
        except OSError as error:
            return done(None, f"could not resolve {parts.hostname}: {error}")
        host = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit((parts.scheme, f"{host}:{port}", parts.path or "/", parts.query, ""))
        request_headers = {**headers, "host": parts.netloc.rpartition("@")[2]}
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        try:
            async with (
                asyncio.timeout(self._budget),
                httpx.AsyncClient(
                    timeout=self._timeout, follow_redirects=False, trust_env=False
                ) as client,
            ):
                request = client.build_request(
                    "POST", pinned, content=body, headers=request_headers, extensions=extensions
                )
                response = await client.send(request, stream=True)
                try:
                    answer = await _read_capped(response)
                finally:
                    await response.aclose()
        except httpx.TimeoutException as error:
            return done(None, f"timeout: {type(error).__name__}")
        except TimeoutError:
            return done(None, f"timeout: no whole answer within {self._budget:g} s")
        except httpx.HTTPError as error:
            return done(None, f"{type(error).__name__}: {error}")
        status = response.status_code
        if 200 <= status < 300:
            return done(status, None)
        if 300 <= status < 400:
            return done(status, f"HTTP {status}: redirects are not followed")
        snippet = answer.decode("utf-8", "replace").strip()[:200]
        return done(status, f"HTTP {status}" + (f": {snippet}" if snippet else ""))

    async def _resolve(self, hostname: str, port: int) -> Address:
        """The address to connect to: the first the name resolves to, once every one of
        them is allowed."""
        try:
            literal = ipaddress.ip_address(hostname.strip("[]"))
        except ValueError:
            infos = await asyncio.get_running_loop().getaddrinfo(
                hostname, port, type=socket.SOCK_STREAM
            )
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        else:
            addresses = [literal]
        if not addresses:
            raise OSError("no address")
        if not self._allow_private:
            for address in addresses:
                reason = refused_address(address)
                if reason is not None:
                    raise _Refused(f"{hostname} resolves to {address}, {reason}")
        return addresses[0]


class _Refused(Exception):
    pass


async def _read_capped(response: httpx.Response) -> bytes:
    kept = bytearray()
    async for chunk in response.aiter_raw():
        kept.extend(chunk[: MAX_RESPONSE_BYTES - len(kept)])
        if len(kept) >= MAX_RESPONSE_BYTES:
            break
    return bytes(kept)
