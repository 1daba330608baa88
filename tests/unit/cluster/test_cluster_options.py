"""Option validation of the cluster client: bad input raises at construction."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from kafkaio.cluster import ClusterClient, ClusterOptions, parse_bootstrap_servers
from kafkaio.errors import ConfigurationError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost", [("localhost", 9092)]),
        ("broker:19092", [("broker", 19092)]),
        ("a:1, b:2 ,c", [("a", 1), ("b", 2), ("c", 9092)]),
        (["a:1", "b"], [("a", 1), ("b", 9092)]),
        (("a:1",), [("a", 1)]),
        ("[::1]:9093", [("::1", 9093)]),
        ("[::1]", [("::1", 9092)]),
        ("::1", [("::1", 9092)]),
        ("[fe80::1]:1", [("fe80::1", 1)]),
        ("127.0.0.1:65535", [("127.0.0.1", 65535)]),
    ],
)
def test_parse_bootstrap_servers(value: Any, expected: list[tuple[str, int]]) -> None:
    assert parse_bootstrap_servers(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "host:abc",
        "host:0",
        "host:70000",
        ":9092",
        "[::1",
        "[::1]x",
        "[nothex]:1",
        "a:b:c",
        "PLAINTEXT://host:9092",
        "",
        " , ",
        [],
    ],
)
def test_unparseable_bootstrap_servers_raise_value_error_naming_the_value(value: Any) -> None:
    with pytest.raises(ValueError) as info:
        ClusterClient(bootstrap_servers=value)
    text = str(info.value)
    assert "bootstrap" in text
    if isinstance(value, str) and value.strip(" ,"):
        assert repr(value.strip()) in text or value.strip() in text


@pytest.mark.parametrize("value", [9092, None, b"host:1", ["a:1", 2]])
def test_bootstrap_servers_wrong_type(value: Any) -> None:
    with pytest.raises(TypeError, match="bootstrap_servers"):
        ClusterClient(bootstrap_servers=value)


def test_unknown_option_names_raise_type_error() -> None:
    with pytest.raises(TypeError, match="bootstrap_server"):
        ClusterClient(bootstrap_server="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"'metadata_max_age'.*did you mean 'metadata_max_age_ms'"):
        ClusterClient.from_options({"metadata_max_age": 1})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("request_timeout_ms", "40000"),
        ("request_timeout_ms", 1.5),
        ("metadata_max_age_ms", True),
        ("client_id", 5),
        ("retry_backoff_ms", None),
        ("connections_max_idle_ms", "never"),
        ("max_in_flight_requests_per_connection", 2.0),
        ("security_protocol", 1),
        ("ssl_context", "ctx"),
        ("api_version", 3.9),
        ("api_version_caps", [("Fetch", 1)]),
        ("allow_auto_create_topics", "yes"),
        ("authenticator", object()),
    ],
)
def test_wrong_types_raise_type_error_naming_the_option(name: str, value: Any) -> None:
    with pytest.raises(TypeError, match=name):
        ClusterClient.from_options({name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("request_timeout_ms", 0),
        ("metadata_max_age_ms", -1),
        ("max_in_flight_requests_per_connection", 0),
        ("connections_max_idle_ms", -2),
        ("security_protocol", "TLS"),
        ("api_version", "3"),
        ("api_version", (3,)),
        ("api_version", (0, 9)),
        ("api_version_caps", {"NoSuchApi": 1}),
        ("api_version_caps", {"Fetch": -1}),
    ],
)
def test_bad_values_raise_value_error_naming_the_option(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name):
        ClusterClient.from_options({name: value})


def test_sasl_without_authenticator_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="security_protocol"):
        ClusterClient(security_protocol="sasl_ssl")


def test_valid_options_and_derived_values() -> None:
    ctx = ssl.create_default_context()
    opts = ClusterOptions(
        bootstrap_servers=["a:1", "[::1]:2"],
        security_protocol="ssl",
        ssl_context=ctx,
        api_version="3.9.1",
        api_version_caps={"Fetch": 12, 3: 9},
    )
    assert opts.security_protocol == "SSL"
    assert opts.addresses == [("a", 1), ("::1", 2)]
    assert opts.api_release == (3, 9, 1)
    caps = opts.version_caps()
    assert caps[1] == 12  # Fetch: the explicit cap is lower than 3.9's 17
    assert caps[3] == 9  # Metadata: explicit 9 below 3.9's 12
    assert caps[0] == 11  # Produce: 3.9 serves v11
    assert caps[88] == -1  # StreamsGroupHeartbeat did not exist in 3.9
    assert ClusterOptions().api_release is None
    assert ClusterOptions.from_mapping({"client_id": None}).client_id is None
