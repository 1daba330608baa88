"""The producer against a real broker (kafkaio.testing)."""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import time
from typing import Any

import pytest
from producer_helpers import read_partition

from kafkaio.cluster import ClusterClient
from kafkaio.errors import (
    ConfigurationError,
    KafkaTimeoutError,
    MessageTooLargeError,
    ProducerClosedError,
)
from kafkaio.producer import Producer, partition_for_key
from kafkaio.records import CompressionType
from kafkaio.testing.pytest_plugin import TopicFactory

pytestmark = pytest.mark.kafka


def producer(cluster: Any, **kw: Any) -> Producer:
    return Producer(bootstrap_servers=cluster.bootstrap_servers, **kw)


async def read(
    cluster: Any,
    topic: str,
    partition: int,
    expected: int,
    codecs: set[CompressionType] | None = None,
) -> list[Any]:
    async with ClusterClient(bootstrap_servers=cluster.bootstrap_servers) as client:
        return await read_partition(client, topic, partition, expected, codecs=codecs)


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
async def test_round_trip_every_codec_keys_headers_and_partitions(
    kafka_cluster: Any, make_topic: TopicFactory, codec: str
) -> None:
    topic = make_topic(partitions=3)
    n = 3000
    sent = [
        (
            f"key-{i}".encode(),
            f"value-{i}-".encode() * (i % 7),
            [("h", str(i).encode()), ("n", None)],
        )
        for i in range(n)
    ]
    async with producer(kafka_cluster, compression_type=codec, linger_ms=10) as p:
        futures = [
            await p.send(topic, value, key, headers=headers, timestamp_ms=1_700_000_000_000 + i)
            for i, (key, value, headers) in enumerate(sent)
        ]
        results = await asyncio.gather(*futures)
        assert p.metrics()["records_sent"] == n
    by_partition: dict[int, list[int]] = collections.defaultdict(list)
    for i, md in enumerate(results):
        # keyed records land where the Java client puts them
        assert md.partition == partition_for_key(sent[i][0], 3)
        by_partition[md.partition].append(i)
    codecs: set[CompressionType] = set()
    for partition, indexes in by_partition.items():
        records = await read(kafka_cluster, topic, partition, len(indexes), codecs)
        assert len(records) == len(indexes)
        for record, i in zip(records, indexes, strict=True):
            key, value, headers = sent[i]
            assert (record.key, record.value, list(record.headers)) == (key, value, headers)
            assert record.offset == results[i].offset
            assert record.timestamp == 1_700_000_000_000 + i
    assert codecs == {CompressionType[codec.upper()]}  # the broker kept the producer's codec


@pytest.mark.parametrize("acks", [0, 1, "all"])
async def test_acks(kafka_cluster: Any, make_topic: TopicFactory, acks: Any) -> None:
    topic = make_topic()
    async with producer(kafka_cluster, acks=acks) as p:
        futures = [await p.send(topic, b"v%d" % i) for i in range(500)]
        results = await asyncio.gather(*futures)
    if acks == 0:
        assert {md.offset for md in results} == {-1}
    else:
        assert [md.offset for md in results] == list(range(500))
    records = await read(kafka_cluster, topic, 0, 500)
    assert [r.value for r in records] == [b"v%d" % i for i in range(500)]


async def test_linger_holds_a_small_batch_and_batch_size_seals_it(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    async with producer(kafka_cluster, linger_ms=400, batch_size=2000) as p:
        await p.send_and_wait(topic, b"warm-up")
        start = time.monotonic()
        md = await p.send_and_wait(topic, b"lonely")
        lingered = time.monotonic() - start
        assert lingered >= 0.35, "a lone record waits for linger_ms"
        start = time.monotonic()
        futures = [await p.send(topic, b"x" * 100) for _ in range(60)]  # > batch_size
        await futures[10]  # the first batch filled up: sent without waiting for linger
        assert time.monotonic() - start < 0.35
        await asyncio.gather(*futures)
        assert md.offset == 1
        assert p.metrics()["batches_sent"] >= 4


async def test_flush_sends_at_once(kafka_cluster: Any, make_topic: TopicFactory) -> None:
    topic = make_topic()
    async with producer(kafka_cluster, linger_ms=60_000, delivery_timeout_ms=200_000) as p:
        future = await p.send(topic, b"x")
        start = time.monotonic()
        await p.flush(timeout=10)
        assert time.monotonic() - start < 5
        assert future.result().offset == 0


async def test_tiny_buffer_memory_blocks_then_proceeds_without_loss(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    n = 5000
    async with producer(kafka_cluster, buffer_memory=4096, batch_size=1024) as p:
        blocked_max = 0.0
        futures = []
        for i in range(n):
            futures.append(await p.send(topic, b"%06d" % i + b"." * 100))
            blocked_max = max(blocked_max, p.metrics()["buffer_used_bytes"])
        await p.flush()
        assert blocked_max <= 4096
        assert [f.result().offset for f in futures] == list(range(n))
    records = await read(kafka_cluster, topic, 0, n)
    assert [r.value[:6] for r in records] == [b"%06d" % i for i in range(n)]


async def test_record_above_max_request_size_fails_only_its_future(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    async with producer(kafka_cluster, max_request_size=10_000) as p:
        before = await p.send(topic, b"before")
        big = await p.send(topic, b"x" * 20_000)
        after = await p.send(topic, b"after")
        with pytest.raises(MessageTooLargeError):
            await big
        assert (await before).offset == 0
        assert (await after).offset == 1


async def test_record_above_topic_max_message_bytes_fails_only_its_future(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(configs={"max.message.bytes": 20_000})
    async with producer(kafka_cluster, batch_size=16_384) as p:
        before = await p.send(topic, b"before")
        big = await p.send(topic, b"x" * 50_000)  # alone in its batch: only it is rejected
        after = await p.send(topic, b"after")
        with pytest.raises(MessageTooLargeError):
            await big
        assert (await before).offset == 0
        assert (await after).offset == 1  # the sequence chain survived (epoch bump)
    records = await read(kafka_cluster, topic, 0, 2)
    assert [r.value for r in records] == [b"before", b"after"]


async def test_partition_out_of_range_and_bad_values_fail_at_send(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    async with producer(kafka_cluster) as p:
        with pytest.raises(ValueError, match="out of range"):
            await p.send(topic, b"x", partition=2)
        with pytest.raises(TypeError, match="value must be bytes"):
            await p.send(topic, "text")
        assert await p.partitions_for(topic) == {0, 1}


async def test_send_after_stop_raises(kafka_cluster: Any, make_topic: TopicFactory) -> None:
    topic = make_topic()
    p = producer(kafka_cluster)
    await p.start()
    await p.send_and_wait(topic, b"x")
    await p.stop()
    with pytest.raises(ProducerClosedError):
        await p.send(topic, b"y")


async def test_send_batch_fast_path(kafka_cluster: Any, make_topic: TopicFactory) -> None:
    topic = make_topic(partitions=2)
    async with producer(kafka_cluster, compression_type="lz4") as p:
        values = [b"%05d" % i for i in range(20_000)]
        results = await (await p.send_batch(topic, values, partition=1))
        assert [md.offset for md in results] == list(range(20_000))
    records = await read(kafka_cluster, topic, 1, 20_000)
    assert [r.value for r in records] == values


async def test_send_batch_bulk_and_per_record_paths(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    async with producer(kafka_cluster, batch_size=4096) as p:
        values = [b"v%05d" % i for i in range(6000)]
        sticky = await (await p.send_batch(topic, values))  # bulk, partitions chosen sticky
        keyed = await (
            await p.send_batch(topic, [b"k1", b"k2"], keys=[b"a", b"b"], partition=2)
        )  # keys to an explicit partition: bulk too
        with_null = await (await p.send_batch(topic, [b"x", None], partition=0))  # per record
    assert len({md.partition for md in sticky}) > 1  # the sticky partition moved on
    by_partition: dict[int, list[bytes]] = collections.defaultdict(list)
    for md, value in zip(sticky, values, strict=True):
        by_partition[md.partition].append(value)
    assert [md.partition for md in keyed] == [2, 2]
    assert [md.serialized_value_size for md in with_null] == [1, -1]
    for part, expected in by_partition.items():
        extra = {2: 2, 0: 2}.get(part, 0)
        records = await read(kafka_cluster, topic, part, len(expected) + extra)
        got = [r.value for r in records if r.value is not None and r.value.startswith(b"v")]
        assert got == expected  # in order, each exactly once
        offsets = [md.offset for md in sticky if md.partition == part]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)


async def test_async_serializers_are_awaited_per_record_and_batch(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=1)
    seen: list[str] = []

    async def key_ser(t: str, key: Any) -> bytes | None:
        seen.append(t)
        await asyncio.sleep(0)  # a serializer that does I/O (a registry lookup) yields
        return None if key is None else str(key).encode()

    async def value_ser(t: str, value: Any) -> bytes | None:
        await asyncio.sleep(0)
        return repr(value).encode()

    async with producer(
        kafka_cluster, async_key_serializer=key_ser, async_value_serializer=value_ser
    ) as p:
        md = await p.send_and_wait(topic, {"n": 1}, key=7)
        assert md.serialized_key_size == 1 and md.serialized_value_size == len(b"{'n': 1}")
        results = await (await p.send_batch(topic, [2, 3], keys=[8, None]))
        assert [r.offset for r in results] == [1, 2]
    assert seen == [topic] * 3
    records = await read(kafka_cluster, topic, 0, 3)
    assert [(r.key, r.value) for r in records] == [
        (b"7", b"{'n': 1}"),
        (b"8", b"2"),
        (None, b"3"),
    ]


def test_sync_and_async_serializer_for_one_part_are_rejected() -> None:
    async def ser(t: str, v: Any) -> bytes:
        return b""

    with pytest.raises(ConfigurationError, match="value_serializer or async_value_serializer"):
        Producer(
            bootstrap_servers="127.0.0.1:1", value_serializer=bytes, async_value_serializer=ser
        )


async def test_keyless_records_stick_to_one_partition_per_batch(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=4)
    async with producer(kafka_cluster, batch_size=1000, linger_ms=0) as p:
        futures = [await p.send(topic, b"v" * 100) for _ in range(400)]
        results = await asyncio.gather(*futures)
    runs = sum(1 for a, b in itertools.pairwise(results) if a.partition != b.partition)
    used = {md.partition for md in results}
    assert len(used) > 1  # it moves on ...
    assert runs < 400 // 5  # ... but only after a batch worth of records


@pytest.mark.parametrize("codec", ["none", "lz4"])
async def test_topic_limit_below_batch_size_splits_batches_and_fails_only_the_big_record(
    kafka_cluster: Any, make_topic: TopicFactory, codec: str
) -> None:
    topic = make_topic(configs={"max.message.bytes": 2_000})
    async with producer(kafka_cluster, linger_ms=100, compression_type=codec) as p:
        small = [await p.send(topic, b"%04d" % i + bytes(range(96))) for i in range(100)]
        big = await p.send(topic, os.urandom(5_000))  # incompressible
        small += [await p.send(topic, b"%04d" % i + bytes(range(96))) for i in range(100, 200)]
        await p.flush()
        with pytest.raises(MessageTooLargeError):
            big.result()
        assert [f.result().offset for f in small] == list(range(200))
    records = await read(kafka_cluster, topic, 0, 200)
    assert [r.value[:4] for r in records] == [b"%04d" % i for i in range(200)]


async def test_unknown_topic_waits_max_block_ms_then_fails(kafka_cluster: Any) -> None:
    async with producer(kafka_cluster, max_block_ms=500, allow_auto_create_topics=False) as p:
        start = time.monotonic()
        with pytest.raises(KafkaTimeoutError, match="not present in metadata"):
            await p.send("no-such-topic-" + os.urandom(4).hex(), b"x")
        assert 0.4 < time.monotonic() - start < 5


async def test_older_broker_line_round_trip(kafka_legacy_cluster: Any) -> None:
    # Produce below v13 addresses topics by name instead of id.
    topic = "legacy-" + os.urandom(4).hex()
    await asyncio.to_thread(kafka_legacy_cluster.create_topic, topic, 2)
    async with producer(kafka_legacy_cluster, compression_type="zstd") as p:
        futures = [await p.send(topic, b"%d" % i, b"k%d" % i) for i in range(1000)]
        results = await asyncio.gather(*futures)
    for partition in (0, 1):
        mine = [i for i, md in enumerate(results) if md.partition == partition]
        assert mine, "both partitions get keys"
        records = await read(kafka_legacy_cluster, topic, partition, len(mine))
        assert [r.value for r in records] == [b"%d" % i for i in mine]
