"""The client's address for per-IP rate limits.

By default it is the TCP peer. Behind a reverse proxy every request would come from the proxy,
so the proxies' addresses (or networks) go in ``LOYALTY_TRUSTED_PROXIES``: when the peer is one
of them, ``X-Forwarded-For`` is read from the right and the first hop that is not a trusted
proxy is the client. Hops further left are whatever the client claimed and are never trusted.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(
    connection: ASGIConnection[Any, Any, Any, Any], networks: tuple[Network, ...]
) -> str:
    peer = connection.client.host if connection.client else "unknown"
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in connection.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, networks):
            return hop
    return peer
