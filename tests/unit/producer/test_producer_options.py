"""Producer option validation."""

from __future__ import annotations

from typing import Any

import pytest

from kafkaio.errors import ConfigurationError
from kafkaio.producer import Producer
from kafkaio.producer.options import ProducerOptions, parse_acks, parse_compression
from kafkaio.producer.partitioner import BuiltInPartitioner, RoundRobinPartitioner, UserPartitioner
from kafkaio.records import CompressionType


def make(**kw: Any) -> ProducerOptions:
    return ProducerOptions.from_kwargs(kw)


def test_defaults_follow_the_java_client() -> None:
    o = make()
    assert o.acks_value == -1
    assert o.idempotent is True
    assert o.batch_size == 16384
    assert o.linger_ms == 5
    assert o.buffer_memory == 32 * 1024 * 1024
    assert o.max_block_ms == 60_000
    assert o.max_request_size == 1_048_576
    assert o.request_timeout_ms == 30_000
    assert o.delivery_timeout_ms == 120_000
    assert o.compression is CompressionType.NONE
    assert o.max_in_flight_requests_per_connection == 5
    assert isinstance(o.make_partitioner(), BuiltInPartitioner)


def test_cluster_options_pass_through_and_share_timeouts() -> None:
    o = make(bootstrap_servers="h:1234", client_id="me", request_timeout_ms=5000, linger_ms=0,
             delivery_timeout_ms=6000)  # fmt: skip
    assert o.cluster.addresses == [("h", 1234)]
    assert o.cluster.client_id == "me"
    assert o.cluster.request_timeout_ms == 5000
    assert (make().cluster.client_id or "").startswith("kafkaio-producer-")


@pytest.mark.parametrize(
    ("given", "wire"), [(0, 0), (1, 1), (-1, -1), ("all", -1), ("ALL", -1), ("1", 1), ("0", 0)]
)
def test_acks_values(given: Any, wire: int) -> None:
    assert parse_acks(given) == wire


@pytest.mark.parametrize("bad", [2, "leader", -2, 1.0, True, None])
def test_bad_acks_name_the_option(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="'acks'"):
        parse_acks(bad)


@pytest.mark.parametrize("name", ["none", "gzip", "snappy", "lz4", "zstd", "ZSTD"])
def test_compression_names(name: str) -> None:
    assert parse_compression(name).name == name.upper()
    assert make(compression_type=name).compression == CompressionType[name.upper()]


@pytest.mark.parametrize("bad", ["brotli", 3, b"gzip"])
def test_bad_compression(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="'compression_type'"):
        make(compression_type=bad)


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("batch_size", -1, ValueError),
        ("batch_size", "16k", TypeError),
        ("linger_ms", -5, ValueError),
        ("buffer_memory", 0, ValueError),
        ("max_block_ms", 1.5, TypeError),
        ("max_request_size", 0, ValueError),
        ("retries", -1, ValueError),
        ("retry_backoff_ms", None, TypeError),
        ("max_in_flight_requests_per_connection", 0, ValueError),
        ("enable_idempotence", "yes", TypeError),
        ("partitioner", "murmur3", ValueError),
        ("partitioner", 42, TypeError),
        ("key_serializer", "str", TypeError),
        ("value_serializer", 1, TypeError),
    ],
)
def test_bad_values_name_the_option(option: str, value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=repr(option)):
        make(**{option: value})


def test_unknown_option_is_a_type_error_with_a_suggestion() -> None:
    with pytest.raises(TypeError, match=r"'lingr_ms'.*'linger_ms'"):
        make(lingr_ms=5)
    with pytest.raises(TypeError, match="'lingr_ms'"):
        Producer(lingr_ms=5)


def test_delivery_timeout_must_cover_linger_and_request_timeout() -> None:
    with pytest.raises(ConfigurationError, match="delivery_timeout_ms"):
        make(delivery_timeout_ms=1000, request_timeout_ms=1000, linger_ms=5)


@pytest.mark.parametrize(
    "conflict",
    [{"acks": 1}, {"acks": 0}, {"retries": 0}, {"max_in_flight_requests_per_connection": 6}],
)
def test_explicit_idempotence_with_conflicting_options_is_an_error(
    conflict: dict[str, Any],
) -> None:
    with pytest.raises(ConfigurationError, match="enable_idempotence"):
        make(enable_idempotence=True, **conflict)


@pytest.mark.parametrize(
    "conflict",
    [{"acks": 1}, {"acks": 0}, {"retries": 0}, {"max_in_flight_requests_per_connection": 6}],
)
def test_default_idempotence_yields_to_conflicting_options(conflict: dict[str, Any]) -> None:
    # The Java client's rule when enable.idempotence is not set explicitly.
    assert make(**conflict).idempotent is False


def test_idempotence_can_be_disabled() -> None:
    assert make(enable_idempotence=False).idempotent is False


def test_partitioner_choices() -> None:
    assert isinstance(make(partitioner="round_robin").make_partitioner(), RoundRobinPartitioner)
    assert isinstance(make(partitioner=lambda *a: 0).make_partitioner(), UserPartitioner)


def test_producer_signature_defaults_match_the_options() -> None:
    import dataclasses
    import inspect

    params = inspect.signature(Producer).parameters
    for field in dataclasses.fields(ProducerOptions):
        if field.name == "cluster":
            continue
        assert params[field.name].default == field.default, field.name


def test_partitioner_flags() -> None:
    assert make(partitioner_ignore_keys=True).partitioner_ignore_keys is True
    with pytest.raises(TypeError, match="'partitioner_adaptive_partitioning_enable'"):
        make(partitioner_adaptive_partitioning_enable="yes")


@pytest.mark.parametrize(
    ("codec", "option", "value"),
    [
        ("gzip", "compression_gzip_level", 1),
        ("zstd", "compression_zstd_level", 19),
        ("zstd", "compression_zstd_level", -5),
    ],
)
def test_compression_levels_follow_the_codec(codec: str, option: str, value: int) -> None:
    opts = ProducerOptions.from_kwargs({"compression_type": codec, option: value})
    assert opts.compression_level == value
    other = ProducerOptions.from_kwargs({"compression_type": "snappy", option: value})
    assert other.compression_level is None  # only the configured codec's level applies


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("compression_gzip_level", 0),
        ("compression_gzip_level", 10),
        ("compression_zstd_level", 23),
        ("compression_zstd_level", "high"),
    ],
)
def test_bad_compression_levels_name_the_option(option: str, value: object) -> None:
    with pytest.raises((ValueError, TypeError), match=option):
        ProducerOptions.from_kwargs({"compression_type": "gzip", option: value})


def test_gzip_level_minus_one_is_the_default() -> None:
    opts = ProducerOptions.from_kwargs({"compression_type": "gzip", "compression_gzip_level": -1})
    assert opts.compression_level is None
