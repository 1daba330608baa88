"""ConsumerOptions: Java names, defaults, errors naming the option."""

from __future__ import annotations

import pytest

from kafkaio.consumer import Consumer, ConsumerOptions, RangeAssignor
from kafkaio.consumer.group.assignors import CooperativeStickyAssignor
from kafkaio.errors import ConfigurationError


def test_defaults_follow_the_java_client() -> None:
    opts = ConsumerOptions.from_kwargs({})
    assert opts.auto_offset_reset == "latest"
    assert opts.isolation_level == "read_uncommitted" and opts.isolation == 0
    assert opts.partition_assignment_strategy == ("range", "cooperative-sticky")
    assert opts.rebalance_timeout == opts.max_poll_interval_ms == 300_000
    assert [type(a) for a in opts.make_assignors()] == [RangeAssignor, CooperativeStickyAssignor]
    # The cluster client's timeout leaves room for long-polling fetches.
    assert opts.cluster.request_timeout_ms >= opts.fetch_max_wait_ms + 5_000


def test_values_are_normalised() -> None:
    opts = ConsumerOptions.from_kwargs(
        {
            "auto_offset_reset": "EARLIEST",
            "isolation_level": "Read_Committed",
            "partition_assignment_strategy": "roundrobin",
            "bootstrap_servers": "h:1",
        }
    )
    assert opts.auto_offset_reset == "earliest"
    assert opts.isolation == 1
    assert opts.partition_assignment_strategy == ("roundrobin",)
    assert opts.cluster.bootstrap_servers == "h:1"


@pytest.mark.parametrize(
    ("options", "error", "needle"),
    [
        ({"auto_offset_reset": "smallest"}, ValueError, "auto_offset_reset"),
        ({"isolation_level": 1}, TypeError, "isolation_level"),
        ({"fetch_max_bytes": 0}, ValueError, "fetch_max_bytes"),
        ({"max_poll_records": "10"}, TypeError, "max_poll_records"),
        ({"enable_auto_commit": 1}, TypeError, "enable_auto_commit"),
        ({"partition_assignment_strategy": ["nope"]}, ValueError, "partition_assignment_strategy"),
        ({"partition_assignment_strategy": []}, TypeError, "partition_assignment_strategy"),
        ({"heartbeat_interval_ms": 50_000}, ConfigurationError, "heartbeat_interval_ms"),
        ({"group_instance_id": "x"}, ConfigurationError, "group_instance_id"),
        ({"group_id": ""}, ValueError, "group_id"),
        ({"value_deserializer": 3}, TypeError, "value_deserializer"),
        ({"fetch_max_wait": 3}, TypeError, "fetch_max_wait_ms"),
        ({"request_timeout_ms": 0}, ValueError, "request_timeout_ms"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, object], error: type, needle: str) -> None:
    with pytest.raises(error, match=needle):
        ConsumerOptions.from_kwargs(options)


def test_consumer_rejects_bad_subscriptions() -> None:
    consumer = Consumer(bootstrap_servers="localhost:1")
    with pytest.raises(ValueError, match="exactly one"):
        consumer.subscribe()
    with pytest.raises(ValueError, match="exactly one"):
        consumer.subscribe(["a"], pattern="b.*")
    with pytest.raises(TypeError):
        consumer.subscribe("topic")
    consumer.subscribe(["a"])
    from kafkaio.cluster import TopicPartition
    from kafkaio.errors import IllegalStateError

    with pytest.raises(IllegalStateError):
        consumer.assign([TopicPartition("a", 0)])
    consumer.unsubscribe()
    with pytest.raises(ValueError, match="partition"):
        consumer.assign([TopicPartition("a", -1)])
    consumer.assign([TopicPartition("a", 0)])
    with pytest.raises(IllegalStateError):
        consumer.subscribe(["a"])


def test_async_deserializers_are_callables_and_not_paired_with_sync_ones() -> None:
    async def deser(topic: str, data: bytes | None) -> object:
        return data

    opts = ConsumerOptions.from_kwargs({"async_value_deserializer": deser})
    assert opts.async_value_deserializer is deser
    with pytest.raises(ConfigurationError, match="value_deserializer or async_value_deserializer"):
        ConsumerOptions.from_kwargs(
            {"value_deserializer": bytes, "async_value_deserializer": deser}
        )
    with pytest.raises(TypeError, match="async_key_deserializer"):
        ConsumerOptions.from_kwargs({"async_key_deserializer": 5})
