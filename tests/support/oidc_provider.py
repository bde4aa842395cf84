"""A small OpenID Connect provider for tests, served over HTTP on this machine: discovery, a
JWKS, an authorization endpoint that logs in whoever `login_as` names (no form), and a token
endpoint that checks the client's secret, the redirect URI and the PKCE verifier and issues a
signed ID token. `claims` overrides claims of the next tokens and `sign_with` signs them with
another key under the published key id (a forged signature)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "loyalty-console"
CLIENT_SECRET = "console-client-secret"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class _Grant:
    redirect_uri: str
    challenge: str
    nonce: str
    email: str


@dataclass
class LocalProvider:
    issuer: str = ""
    login_as: str = "owner@example.test"
    claims: dict[str, Any] = field(default_factory=dict)
    sign_with: Any = None
    grants: dict[str, _Grant] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: int = 0

    @staticmethod
    def other_key() -> Any:
        return _OTHER_KEY

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(_KEY.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}

    def id_token(self, grant: _Grant) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "sub-" + grant.email,
            "email": grant.email,
            "email_verified": True,
            "nonce": grant.nonce,
            "iat": now,
            "exp": now + timedelta(minutes=5),
        }
        claims.update(self.claims)
        key = self.sign_with or _KEY
        return jwt.encode(
            {k: v for k, v in claims.items() if v is not None},
            key,
            algorithm="RS256",
            headers={"kid": "k1"},
        )


def _challenge(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


@contextmanager
def serve_oidc_provider(host: str = "127.0.0.1") -> Iterator[LocalProvider]:
    provider = LocalProvider()

    class Handler(BaseHTTPRequestHandler):
        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": provider.issuer + "/authorize",
                        "token_endpoint": provider.issuer + "/token",
                        "jwks_uri": provider.issuer + "/jwks",
                        "response_types_supported": ["code"],
                        "code_challenge_methods_supported": ["S256"],
                    },
                )
            elif url.path == "/jwks":
                self._json(200, provider.jwks())
            elif url.path == "/authorize":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                provider.authorize_requests.append(query)
                code = secrets.token_urlsafe(16)
                provider.grants[code] = _Grant(
                    query["redirect_uri"],
                    query["code_challenge"],
                    query.get("nonce", ""),
                    provider.login_as,
                )
                target = (
                    query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
                )
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            provider.token_requests += 1
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self._json(401, {"error": "invalid_client"})
                return
            grant = provider.grants.pop(form.get("code", ""), None)
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant.redirect_uri
                or _challenge(form.get("code_verifier", "")) != grant.challenge
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            self._json(
                200,
                {
                    "access_token": "at",
                    "token_type": "Bearer",
                    "id_token": provider.id_token(grant),
                },
            )

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.issuer = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
