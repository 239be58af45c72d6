"""RS256 tokens verified against an identity provider's JWKS, fetched over real HTTP."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from attendance_shared.auth import Role, TokenVerifier
from attendance_shared.errors import Unauthorised, UpstreamUnavailable
from attendance_shared.settings import CommonSettings


@dataclass
class IdentityProvider:
    """Publishes the public halves of its keys at /jwks.json and signs tokens with them."""

    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    fetches: int = 0
    up: bool = True
    url: str = ""

    def add_key(self, kid: str) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict:
        published = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            published.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": published}

    def token(self, kid: str, settings: CommonSettings, **extra: object) -> str:
        now = int(time.time())
        claims = {"sub": "kim@la.example", "role": "la", "la": "201", "iss": settings.jwt_issuer}
        claims |= {"aud": settings.jwt_audience, "iat": now, "nbf": now, "exp": now + 300, **extra}
        return jwt.encode(claims, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    idp = IdentityProvider()
    idp.add_key("2026-a")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            idp.fetches += 1
            body = json.dumps(idp.jwks()).encode() if idp.up else b"down"
            self.send_response(200 if idp.up else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    idp.url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield idp
    server.shutdown()
    server.server_close()


async def test_a_token_signed_by_the_provider_is_accepted_and_keys_are_cached(provider: IdentityProvider) -> None:
    settings = CommonSettings(jwks_url=provider.url)
    verifier = TokenVerifier(settings)
    try:
        actor = await verifier.verify(provider.token("2026-a", settings))
        assert (actor.subject, actor.role, actor.la_code) == ("kim@la.example", Role.LA, "201")
        await verifier.verify(provider.token("2026-a", settings, sub="jo@la.example"))
        assert provider.fetches == 1
    finally:
        await verifier.close()


async def test_a_rotated_key_is_fetched_once_and_an_unknown_one_refused(provider: IdentityProvider) -> None:
    settings = CommonSettings(jwks_url=provider.url)
    verifier = TokenVerifier(settings)
    verifier._jwks._min_refetch_s = 0  # the provider rotates between two requests here
    try:
        await verifier.verify(provider.token("2026-a", settings))
        provider.add_key("2026-b")
        assert (await verifier.verify(provider.token("2026-b", settings))).role is Role.LA
        assert provider.fetches == 2
        stranger = IdentityProvider()
        stranger.add_key("2026-c")
        with pytest.raises(Unauthorised, match="does not publish"):
            await verifier.verify(stranger.token("2026-c", settings))
    finally:
        await verifier.close()


async def test_a_token_signed_with_another_key_under_a_published_kid_is_refused(provider: IdentityProvider) -> None:
    settings = CommonSettings(jwks_url=provider.url)
    impostor = IdentityProvider()
    impostor.add_key("2026-a")  # same kid, different key
    verifier = TokenVerifier(settings)
    try:
        with pytest.raises(Unauthorised, match="invalid bearer token"):
            await verifier.verify(impostor.token("2026-a", settings))
    finally:
        await verifier.close()


async def test_the_provider_being_down_is_a_503_not_a_401(provider: IdentityProvider) -> None:
    provider.up = False
    settings = CommonSettings(jwks_url=provider.url)
    verifier = TokenVerifier(settings)
    try:
        with pytest.raises(UpstreamUnavailable) as unavailable:
            await verifier.verify(provider.token("2026-a", settings))
        assert unavailable.value.headers == {"Retry-After": "5"}  # every 503 says when to retry
    finally:
        await verifier.close()
