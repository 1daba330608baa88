"""security_protocol=SSL against a fake TLS broker (self-signed certificate)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from _fakebroker import FakeBroker

from kafkaio.errors import SslError
from kafkaio.net import BrokerConnection, ConnectionConfig, SecurityProtocol
from kafkaio.protocol.messages import MetadataRequest, MetadataResponse


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


async def test_ssl_connection(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    client_ctx = ssl.create_default_context(cafile=str(cert))
    async with FakeBroker(ssl_context=server_context(cert, key)) as broker:
        config = ConnectionConfig(security_protocol=SecurityProtocol.SSL, ssl_context=client_ctx)
        conn = BrokerConnection("127.0.0.1", broker.port, config=config)
        await conn.connect()
        try:
            assert isinstance(await conn.send(MetadataRequest(topics=None)), MetadataResponse)
        finally:
            await conn.aclose()


async def test_ssl_rejects_an_untrusted_certificate(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    async with FakeBroker(ssl_context=server_context(cert, key)) as broker:
        config = ConnectionConfig(security_protocol=SecurityProtocol.SSL, request_timeout_ms=3000)
        conn = BrokerConnection("127.0.0.1", broker.port, config=config)
        with pytest.raises(SslError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
            await conn.connect()
