"""Security options: validation, masking, TLS context building (no broker)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from kafkaio.cluster import ClusterClient
from kafkaio.cluster.options import ClusterOptions
from kafkaio.errors import ConfigurationError
from kafkaio.net.sasl import SaslAuthenticator
from kafkaio.net.tls import build_ssl_context
from kafkaio.testing import TlsMaterial, make_tls_material

SECRET = "pw-7f3a91e2"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return make_tls_material(tmp_path_factory.mktemp("tls"))


def test_repr_masks_passwords(tls: TlsMaterial) -> None:
    options = ClusterOptions(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username="alice",
        sasl_plain_password=SECRET,
        ssl_cafile=str(tls.ca_file),
        ssl_certfile=str(tls.client_cert_file),
        ssl_keyfile=str(tls.client_key_file),
        ssl_password=tls.client_key_password,
    )
    text = repr(options)
    assert SECRET not in text and tls.client_key_password not in text
    assert "sasl_plain_password='***'" in text and "ssl_password='***'" in text
    assert "alice" in text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sasl_mechanism": "PLAIN"}, "sasl_plain_username"),
        ({"sasl_mechanism": "SCRAM-SHA-256", "sasl_plain_username": "u"}, "sasl_plain_password"),
        ({"sasl_mechanism": "OAUTHBEARER"}, "sasl_oauth_token_provider"),
        ({"sasl_mechanism": "GSSAPI"}, "GSSAPI"),
        ({"sasl_mechanism": "SCRAM-SHA-1", "sasl_plain_password": SECRET}, "SCRAM-SHA-1"),
    ],
)
def test_bad_sasl_options_name_the_option(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        ClusterOptions(security_protocol="SASL_PLAINTEXT", **kwargs)  # type: ignore[arg-type]
    assert SECRET not in str(info.value)


def test_sasl_options_are_ignored_without_sasl() -> None:
    ClusterOptions(security_protocol="SSL", sasl_mechanism="GSSAPI")


def test_ssl_context_and_file_options_conflict(tls: TlsMaterial) -> None:
    with pytest.raises(ConfigurationError, match="ssl_context"):
        ClusterOptions(ssl_context=ssl.create_default_context(), ssl_cafile=str(tls.ca_file))


def test_client_builds_context_and_authenticator(tls: TlsMaterial) -> None:
    client = ClusterClient(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_plain_username="alice",
        sasl_plain_password=SECRET,
        ssl_cafile=str(tls.ca_file),
    )
    config = client._conn_config
    assert isinstance(config.ssl_context, ssl.SSLContext)
    assert config.ssl_context.check_hostname
    assert isinstance(config.authenticator, SaslAuthenticator)
    assert config.authenticator.mechanism.name == "SCRAM-SHA-256"
    assert SECRET not in repr(client) and SECRET not in repr(config)


def test_tls_context_with_client_certificate(tls: TlsMaterial) -> None:
    ctx = build_ssl_context(
        cafile=str(tls.ca_file),
        certfile=str(tls.client_cert_file),
        keyfile=str(tls.client_key_file),
        password=tls.client_key_password,
        check_hostname=False,
    )
    assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname


def test_tls_wrong_key_password_is_a_configuration_error(tls: TlsMaterial) -> None:
    with pytest.raises(ConfigurationError, match="ssl_password") as info:
        ClusterClient(
            security_protocol="SSL",
            ssl_cafile=str(tls.ca_file),
            ssl_certfile=str(tls.client_cert_file),
            ssl_keyfile=str(tls.client_key_file),
            ssl_password=SECRET,
        )
    assert SECRET not in str(info.value)


def test_tls_encrypted_key_without_password_does_not_prompt(tls: TlsMaterial) -> None:
    with pytest.raises(ConfigurationError, match="ssl_certfile"):
        build_ssl_context(certfile=str(tls.client_cert_file), keyfile=str(tls.client_key_file))


@pytest.mark.parametrize("option", ["cafile", "certfile", "crlfile"])
def test_tls_missing_file_names_option_and_path(tmp_path: Path, option: str) -> None:
    missing = str(tmp_path / "nope.pem")
    with pytest.raises(ConfigurationError, match=f"ssl_{option}.*nope.pem"):
        build_ssl_context(**{option: missing})  # type: ignore[arg-type]


def test_tls_keyfile_needs_certfile(tls: TlsMaterial) -> None:
    with pytest.raises(ConfigurationError, match="ssl_certfile"):
        build_ssl_context(keyfile=str(tls.client_key_file))


def test_tls_material_files(tls: TlsMaterial) -> None:
    for path in (tls.ca_file, tls.server_keystore, tls.client_cert_file, tls.badhost_keystore):
        assert b"-----BEGIN CERTIFICATE-----" in path.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in tls.client_key_file.read_bytes()
    assert b"-----BEGIN PRIVATE KEY-----" in tls.server_keystore.read_bytes()
