"""Interoperability with the Java client: records read back by the Java console consumer, and
keyed records placed on the same partitions as the Java console producer places them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kafkaio.producer import Producer
from kafkaio.testing.pytest_plugin import TopicFactory

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


async def test_100k_records_every_codec_read_back_by_the_java_consumer(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    per_codec = 20_000
    expected: dict[tuple[int, str], tuple[str, str, str]] = {}
    for codec in CODECS:
        async with Producer(
            bootstrap_servers=kafka_cluster.bootstrap_servers, compression_type=codec
        ) as p:
            values = []
            keys = []
            for i in range(per_codec):
                keys.append(f"{codec}-k{i}".encode())
                values.append(f"{codec}-value-{i}-{'x' * (i % 50)}".encode())
            futures = [
                await p.send(topic, v, k, headers=[("codec", codec.encode()), ("i", b"%d" % j)])
                for j, (k, v) in enumerate(zip(keys, values, strict=True))
            ]
            for k, v, md in zip(keys, values, await asyncio.gather(*futures), strict=True):
                expected[(md.partition, str(md.offset))] = (
                    k.decode(),
                    v.decode(),
                    f"codec:{codec},i:{v.decode().split('-')[2]}",
                )
    total = per_codec * len(CODECS)
    proc = await asyncio.to_thread(
        kafka_cluster.run_java_tool,
        CONSOLE_CONSUMER,
        "--bootstrap-server", kafka_cluster.bootstrap_servers,
        "--topic", topic,
        "--from-beginning",
        "--max-messages", str(total),
        "--timeout-ms", "60000",
        "--formatter-property", "print.key=true",
        "--formatter-property", "print.partition=true",
        "--formatter-property", "print.offset=true",
        "--formatter-property", "print.headers=true",
        "--formatter-property", "key.separator=|",
        "--formatter-property", "headers.separator=,",
        timeout=240,
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("Partition:")]
    assert len(lines) == total
    seen = {}
    for line in lines:
        partition_part, offset_part, headers, key, value = line.split("|", 4)
        partition = int(partition_part.split(":")[1])
        offset = offset_part.split(":")[1]
        seen[(partition, offset)] = (key, value, headers)
    assert seen == expected


async def test_keyed_records_land_where_the_java_producer_puts_them(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    java_topic = make_topic(partitions=7)
    our_topic = make_topic(partitions=7)
    keys = [f"user-{i}-{'z' * (i % 5)}" for i in range(2000)]
    payload = "".join(f"{k}\t{i}\n" for i, k in enumerate(keys))
    await asyncio.to_thread(
        kafka_cluster.run_java_tool,
        CONSOLE_PRODUCER,
        "--bootstrap-server", kafka_cluster.bootstrap_servers,
        "--topic", java_topic,
        "--reader-property", "parse.key=true",
        "--reader-property", "key.separator=\t",
        input=payload,
        timeout=120,
    )  # fmt: skip
    proc = await asyncio.to_thread(
        kafka_cluster.run_java_tool,
        CONSOLE_CONSUMER,
        "--bootstrap-server", kafka_cluster.bootstrap_servers,
        "--topic", java_topic,
        "--from-beginning",
        "--max-messages", str(len(keys)),
        "--timeout-ms", "60000",
        "--formatter-property", "print.key=true",
        "--formatter-property", "print.partition=true",
        "--formatter-property", "key.separator=|",
        timeout=120,
    )  # fmt: skip
    java_partition = {}
    for line in proc.stdout.splitlines():
        if line.startswith("Partition:"):
            partition_part, key, _ = line.split("|", 2)
            java_partition[key] = int(partition_part.split(":")[1])
    assert len(java_partition) == len(keys)
    async with Producer(bootstrap_servers=kafka_cluster.bootstrap_servers) as p:
        futures = [await p.send(our_topic, str(i).encode(), k.encode()) for i, k in enumerate(keys)]
        ours = {k: md.partition for k, md in zip(keys, await asyncio.gather(*futures), strict=True)}
    assert ours == java_partition
