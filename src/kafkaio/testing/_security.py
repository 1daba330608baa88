"""Secured test brokers: TLS material, SASL listeners, SCRAM users, unsecured JWTs.

Everything is generated at test time (the ``cryptography`` package makes the CA and the
certificates; Kafka reads them as PEM key and trust stores), so no secret is checked in.

    tls = make_tls_material(tmp_dir)
    security = SecurityConfig(tls, plain_users={"alice": "alice-secret"})
    with KafkaCluster(listeners=security.listeners,
                      broker_properties=security.broker_properties) as cluster:
        await create_scram_user(cluster.bootstrap_servers, "bob", "bob-secret")
        ...  # SASL_SSL clients use cluster.bootstrap_servers_for("SASL_SSL")

Listeners of :class:`SecurityConfig` (``PLAINTEXT`` stays the inter-broker one):

* ``SSL``: server-authenticated TLS.
* ``MTLS``: TLS that requires a client certificate signed by the test CA.
* ``BADHOST``: TLS with a certificate for another host name (hostname-mismatch tests).
* ``SASL_PLAINTEXT``: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.
* ``SASL_SSL``: PLAIN, SCRAM-SHA-512, OAUTHBEARER (the broker's unsecured JWT validator).
* ``REAUTH``: SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and OAUTHBEARER and a short
  ``connections.max.reauth.ms``, for re-authentication tests.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafkaio.testing._cluster import Listener, PropertyValue

__all__ = [
    "SCRAM_MECHANISM_IDS",
    "SecurityConfig",
    "TlsMaterial",
    "create_scram_user",
    "make_tls_material",
    "unsecured_jwt",
]

SCRAM_MECHANISM_IDS = {"SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2}
"""Mechanism ids of the AlterUserScramCredentials API."""


@dataclass(frozen=True)
class TlsMaterial:
    """PEM files of a throw-away CA, broker certificates and a client certificate."""

    directory: Path
    ca_file: Path
    """The CA certificate: clients' ``ssl_cafile`` and the brokers' trust store."""
    ca_key_file: Path
    server_keystore: Path
    """Key and certificate chain for ``127.0.0.1`` / ``localhost`` (Kafka PEM key store)."""
    badhost_keystore: Path
    """Key and certificate chain for ``wrong.invalid`` only (hostname mismatch)."""
    client_cert_file: Path
    """Client certificate (CN=kafkaio-client) for mutual TLS."""
    client_key_file: Path
    """The client's private key, encrypted with :attr:`client_key_password`."""
    client_key_password: str
    untrusted_ca_file: Path
    """A second CA that signed nothing the brokers use (untrusted-certificate tests)."""
    crl_file: Path
    """A CRL of the test CA that revokes nothing."""
    revoked_crl_file: Path
    """A CRL of the test CA that revokes the brokers' certificate (``server_keystore``)."""


def _require_cryptography() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "kafkaio.testing needs the 'cryptography' package to make TLS certificates"
            " (pip install cryptography)"
        ) from exc


def make_tls_material(directory: Path | str, *, days: int = 2) -> TlsMaterial:
    """Generate a CA, broker certificates and a client certificate under ``directory``."""
    _require_cryptography()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=days)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def new_key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def make_ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = new_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return key, cert

    ca_key, ca_cert = make_ca("kafkaio-test-ca")
    _, untrusted_cert = make_ca("kafkaio-untrusted-ca")

    def issue(
        cn: str, dns: Sequence[str], ips: Sequence[str], usage: x509.ObjectIdentifier
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key = new_key()
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return key, builder.sign(ca_key, hashes.SHA256())

    def pem_cert(cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def pem_key(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode())
            if password
            else serialization.NoEncryption()
        )
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def write(filename: str, data: bytes, private: bool = False) -> Path:
        path = out / filename
        path.write_bytes(data)
        if private:
            os.chmod(path, 0o600)
        return path

    server_key, server_cert = issue(
        "127.0.0.1", ["localhost"], ["127.0.0.1"], ExtendedKeyUsageOID.SERVER_AUTH
    )
    bad_key, bad_cert = issue(
        "wrong.invalid", ["wrong.invalid"], [], ExtendedKeyUsageOID.SERVER_AUTH
    )
    client_key, client_cert = issue("kafkaio-client", [], [], ExtendedKeyUsageOID.CLIENT_AUTH)
    client_password = secrets.token_urlsafe(12)

    def crl(revoked: Sequence[x509.Certificate]) -> bytes:
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now)
            .next_update(until)
        )
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(cert.serial_number)
                .revocation_date(now)
                .build()
            )
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)

    # Kafka's PEM key store: an unencrypted PKCS#8 key followed by the certificate chain.
    return TlsMaterial(
        directory=out,
        ca_file=write("ca.pem", pem_cert(ca_cert)),
        ca_key_file=write("ca-key.pem", pem_key(ca_key), private=True),
        server_keystore=write(
            "server.pem", pem_key(server_key) + pem_cert(server_cert) + pem_cert(ca_cert), True
        ),
        badhost_keystore=write(
            "badhost.pem", pem_key(bad_key) + pem_cert(bad_cert) + pem_cert(ca_cert), True
        ),
        client_cert_file=write("client.pem", pem_cert(client_cert)),
        client_key_file=write("client-key.pem", pem_key(client_key, client_password), True),
        client_key_password=client_password,
        untrusted_ca_file=write("untrusted-ca.pem", pem_cert(untrusted_cert)),
        crl_file=write("crl.pem", crl([])),
        revoked_crl_file=write("revoked-crl.pem", crl([server_cert])),
    )


def _jaas(module: str, options: Mapping[str, str]) -> str:
    parts = [module, "required"]
    parts += [f'{k}="{v}"' for k, v in options.items()]
    return " ".join(parts) + ";"


_PLAIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"
_SCRAM_MODULE = "org.apache.kafka.common.security.scram.ScramLoginModule"
_OAUTH_MODULE = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"


@dataclass
class SecurityConfig:
    """Listeners and broker properties of a broker serving every security protocol.

    ``plain_users`` are the PLAIN users (name -> password) the brokers accept;
    SCRAM users are added at run time with :func:`create_scram_user`.
    ``reauth_ms`` is ``connections.max.reauth.ms`` on the ``REAUTH`` listener.
    """

    tls: TlsMaterial
    plain_users: Mapping[str, str] = field(default_factory=dict)
    reauth_ms: int = 3000

    @property
    def listeners(self) -> list[Listener]:
        """The extra listeners to pass to :class:`~kafkaio.testing.KafkaCluster`."""
        return [
            Listener("SSL", "SSL"),
            Listener("MTLS", "SSL"),
            Listener("BADHOST", "SSL"),
            Listener("SASL_PLAINTEXT", "SASL_PLAINTEXT"),
            Listener("SASL_SSL", "SASL_SSL"),
            Listener("REAUTH", "SASL_PLAINTEXT"),
        ]

    @property
    def broker_properties(self) -> dict[str, PropertyValue]:
        """Broker properties for those listeners (merge with your own)."""
        tls = self.tls
        plain = _jaas(_PLAIN_MODULE, {f"user_{u}": p for u, p in self.plain_users.items()})
        scram = _jaas(_SCRAM_MODULE, {})
        oauth = _jaas(_OAUTH_MODULE, {"unsecuredLoginStringClaim_sub": "kafka-broker"})
        props: dict[str, PropertyValue] = {
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(tls.server_keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca_file),
            "listener.name.mtls.ssl.client.auth": "required",
            "listener.name.badhost.ssl.keystore.location": str(tls.badhost_keystore),
        }
        mechanisms = {
            "sasl_plaintext": ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
            "sasl_ssl": ("PLAIN", "SCRAM-SHA-512", "OAUTHBEARER"),
            "reauth": ("PLAIN", "SCRAM-SHA-256", "OAUTHBEARER"),
        }
        jaas = {
            "PLAIN": plain,
            "SCRAM-SHA-256": scram,
            "SCRAM-SHA-512": scram,
            "OAUTHBEARER": oauth,
        }
        for listener, mechs in mechanisms.items():
            prefix = f"listener.name.{listener}"
            props[f"{prefix}.sasl.enabled.mechanisms"] = ",".join(mechs)
            for mech in mechs:
                props[f"{prefix}.{mech.lower()}.sasl.jaas.config"] = jaas[mech]
                if listener == "reauth":
                    props[f"{prefix}.{mech.lower()}.connections.max.reauth.ms"] = self.reauth_ms
        return props


def unsecured_jwt(
    subject: str, lifetime_s: float = 3600.0, *, issued_at: float | None = None, **claims: Any
) -> str:
    """An unsigned JWT (``alg: none``) that Kafka's unsecured OAUTHBEARER validator accepts.

    A negative ``lifetime_s`` makes an already expired token.
    """
    iat = time.time() if issued_at is None else issued_at

    def part(data: Mapping[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    payload: dict[str, Any] = {"sub": subject, "iat": int(iat), "exp": int(iat + lifetime_s)}
    if lifetime_s < 0:
        payload["iat"] = int(iat + lifetime_s - 60)
    payload.update(claims)
    return f"{part({'alg': 'none'})}.{part(payload)}."


async def create_scram_user(
    bootstrap_servers: str,
    user: str,
    password: str,
    mechanisms: Sequence[str] = ("SCRAM-SHA-256", "SCRAM-SHA-512"),
    *,
    iterations: int = 4096,
    **client_options: Any,
) -> None:
    """Create (or update) SCRAM credentials with AlterUserScramCredentials.

    ``bootstrap_servers`` must reach a listener that may alter credentials (the
    harness' ``PLAINTEXT`` one, which has no authorizer). Raises the broker's error
    per user.
    """
    from kafkaio.cluster import ClusterClient
    from kafkaio.errors import for_code
    from kafkaio.net.sasl.scram import SCRAM_MECHANISMS, salted_password
    from kafkaio.protocol.messages import (
        AlterUserScramCredentialsRequest,
        AlterUserScramCredentialsResponse,
    )
    from kafkaio.protocol.messages.alter_user_scram_credentials import (
        ScramCredentialUpsertion,
    )

    upsertions = []
    for mech in mechanisms:
        if mech not in SCRAM_MECHANISM_IDS:
            raise ValueError(f"unknown SCRAM mechanism {mech!r}")
        salt = secrets.token_bytes(16)
        upsertions.append(
            ScramCredentialUpsertion(
                name=user,
                mechanism=SCRAM_MECHANISM_IDS[mech],
                iterations=iterations,
                salt=salt,
                salted_password=salted_password(SCRAM_MECHANISMS[mech], password, salt, iterations),
            )
        )
    async with ClusterClient(bootstrap_servers=bootstrap_servers, **client_options) as client:
        # The broker refuses two changes to one user in a single request.
        for upsertion in upsertions:
            request = AlterUserScramCredentialsRequest(upsertions=[upsertion])
            response = await client.send_routed(request)
            assert isinstance(response, AlterUserScramCredentialsResponse)
            for result in response.results:
                if result.error_code:
                    raise for_code(result.error_code)(
                        f"AlterUserScramCredentials for {result.user!r}: {result.error_message}"
                    )
