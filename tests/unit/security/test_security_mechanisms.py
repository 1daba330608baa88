"""SASL mechanisms without a broker: RFC test vectors, message formats, rejections."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from kafkaio.errors import AuthenticationError, ConfigurationError
from kafkaio.net.sasl import (
    AbstractTokenProvider,
    OAuthBearerMechanism,
    PlainMechanism,
    ScramMechanism,
    build_authenticator,
)
from kafkaio.net.sasl.scram import ScramExchange, salted_password
from kafkaio.testing import unsecured_jwt

# RFC 7677 section 3: SCRAM-SHA-256 exchange for user "user", password "pencil".
RFC7677_CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC7677_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC7677_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC7677_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


async def test_scram_sha256_matches_the_rfc7677_exchange() -> None:
    ex = ScramExchange("sha256", "user", "pencil", nonce=RFC7677_CLIENT_NONCE)
    assert await ex.respond(None) == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert await ex.respond(RFC7677_SERVER_FIRST) == RFC7677_CLIENT_FINAL
    assert await ex.respond(RFC7677_SERVER_FINAL) is None


async def test_scram_rejects_a_wrong_server_signature() -> None:
    ex = ScramExchange("sha256", "user", "pencil", nonce=RFC7677_CLIENT_NONCE)
    await ex.respond(None)
    await ex.respond(RFC7677_SERVER_FIRST)
    forged = b"v=" + base64.b64encode(b"\0" * 32)
    with pytest.raises(AuthenticationError, match="server signature does not verify") as info:
        await ex.respond(forged)
    assert "pencil" not in str(info.value)


async def test_scram_rejects_a_server_nonce_that_does_not_extend_ours() -> None:
    ex = ScramExchange("sha256", "user", "pencil", nonce="abc")
    await ex.respond(None)
    with pytest.raises(AuthenticationError, match="nonce"):
        await ex.respond(b"r=xyzdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    ex = ScramExchange("sha256", "user", "pencil", nonce="abc")
    await ex.respond(None)
    with pytest.raises(AuthenticationError, match="nonce"):
        await ex.respond(b"r=abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")


@pytest.mark.parametrize(
    ("server_first", "match"),
    [
        (b"r=abcX,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000", "iterations"),
        (b"r=abcX,i=4096", "lacks attribute 's'"),
        (b"r=abcX,s=!!!,i=4096", "invalid salt"),
        (b"e=unknown-user", "refused: unknown-user"),
    ],
)
async def test_scram_rejects_bad_server_first_messages(server_first: bytes, match: str) -> None:
    ex = ScramExchange("sha512", "user", "pencil", nonce="abc")
    await ex.respond(None)
    with pytest.raises(AuthenticationError, match=match):
        await ex.respond(server_first)


async def test_scram_sha512_proof_is_what_a_server_expects() -> None:
    # Play the server with the RFC 5802 formulas, independently of the client's code.
    salt, iterations, password = b"0123456789abcdef", 4096, "s3cr=t,pass"
    ex = ScramMechanism("SCRAM-SHA-512", "us=er,x", password).exchange()
    first = await ex.respond(None)
    assert first is not None and first.startswith(b"n,,n=us=3Der=2Cx,r=")
    bare = first[3:]
    nonce = bare.split(b",r=")[1] + b"SERVER"
    server_first = b"r=" + nonce + b",s=" + base64.b64encode(salt) + b",i=4096"
    final = await ex.respond(server_first)
    assert final is not None
    without_proof, _, proof_b64 = final.rpartition(b",p=")
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha512")
    stored = hashlib.sha512(client_key).digest()
    auth = bare + b"," + server_first + b"," + without_proof
    signature = hmac.digest(stored, auth, "sha512")
    recovered = bytes(a ^ b for a, b in zip(base64.b64decode(proof_b64), signature, strict=True))
    assert hashlib.sha512(recovered).digest() == stored
    server_sig = hmac.digest(hmac.digest(salted, b"Server Key", "sha512"), auth, "sha512")
    assert await ex.respond(b"v=" + base64.b64encode(server_sig)) is None
    assert salted_password("sha512", password, salt, iterations) == salted


async def test_plain_message_and_masked_repr() -> None:
    mech = PlainMechanism("alice", "wonderland")
    ex = mech.exchange()
    assert await ex.respond(None) == b"\0alice\0wonderland"
    assert await ex.respond(b"") is None
    assert "wonderland" not in repr(mech)
    assert "wonderland" not in repr(ScramMechanism("SCRAM-SHA-256", "alice", "wonderland"))
    assert "wonderland" not in repr(
        build_authenticator("PLAIN", username="a", password="wonderland")
    )


class Provider(AbstractTokenProvider):
    def __init__(self, token: str, extensions: dict[str, str] | None = None) -> None:
        self._token = token
        self._extensions = extensions or {}
        self.calls = 0

    async def token(self) -> str:
        self.calls += 1
        return self._token

    def extensions(self) -> dict[str, str]:
        return self._extensions


async def test_oauthbearer_initial_response_carries_token_and_extensions() -> None:
    provider = Provider("tok.en.x", {"logicalCluster": "lkc-1", "traceId": "abc"})
    ex = OAuthBearerMechanism(provider).exchange()
    message = await ex.respond(None)
    assert message == b"n,,\x01auth=Bearer tok.en.x\x01logicalCluster=lkc-1\x01traceId=abc\x01\x01"
    assert await ex.respond(b"") is None
    assert provider.calls == 1


async def test_oauthbearer_answers_a_server_error_and_explains_an_expired_token() -> None:
    expired = unsecured_jwt("carol", -120)
    ex = OAuthBearerMechanism(Provider(expired)).exchange()
    await ex.respond(None)
    error = json.dumps({"status": "invalid_token"}).encode()
    assert await ex.respond(error) == b"\x01"
    detail = ex.failure_detail()
    assert detail is not None
    assert "invalid_token" in detail and "expired" in detail
    assert expired not in detail


@pytest.mark.parametrize("extensions", [{"auth": "x"}, {"bad-key": "x"}, {"ok": "\x01"}])
async def test_oauthbearer_rejects_invalid_extensions(extensions: dict[str, str]) -> None:
    ex = OAuthBearerMechanism(Provider("t", extensions)).exchange()
    with pytest.raises(AuthenticationError, match="extension"):
        await ex.respond(None)


async def test_oauthbearer_token_provider_failure_hides_its_message() -> None:
    class Failing:
        async def token(self) -> str:
            raise RuntimeError("secret-detail")

    ex = OAuthBearerMechanism(Failing()).exchange()
    with pytest.raises(AuthenticationError, match="token provider failed") as info:
        await ex.respond(None)
    assert "secret-detail" not in str(info.value)


def test_token_provider_must_be_async() -> None:
    class Sync:
        def token(self) -> str:
            return "t"

    with pytest.raises(ConfigurationError, match="sasl_oauth_token_provider"):
        OAuthBearerMechanism(Sync())  # type: ignore[arg-type]


def test_unsecured_jwt_claims() -> None:
    token = unsecured_jwt("dave", 60, scope="read")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "none"}
    assert signature == ""
    assert claims["sub"] == "dave" and claims["scope"] == "read"
    assert claims["exp"] - claims["iat"] == 60
    assert abs(claims["iat"] - time.time()) < 5
