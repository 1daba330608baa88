"""read_committed against a real broker: aborted transactions are never returned."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from consumer_helpers import collect
from txn_helpers import TransactionalWriter

from kafkaio.cluster import ClusterClient, TopicPartition
from kafkaio.consumer import Consumer

pytestmark = pytest.mark.kafka


async def test_read_committed_skips_aborted_transactions(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic()
    tp = TopicPartition(topic, 0)
    bootstrap = kafka_cluster.bootstrap_servers
    async with ClusterClient(bootstrap_servers=bootstrap) as client:
        await client.partitions_for(topic)
        writer = TransactionalWriter(client, f"{topic}-txn")
        await writer.init()
        await writer.transaction(tp, [b"c1", b"c2"], commit=True)
        await writer.transaction(tp, [b"a1", b"a2", b"a3"], commit=False)
        await writer.transaction(tp, [b"c3"], commit=True)
        await writer.transaction(tp, [b"a4"], commit=False)
        await writer.transaction(tp, [b"c4", b"c5"], commit=True)
    # 8 committed/aborted records + 5 markers.
    async with Consumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    ) as consumer:
        consumer.assign([tp])
        records = await collect(consumer, 5)
        assert [r.value for r in records] == [b"c1", b"c2", b"c3", b"c4", b"c5"]
        assert await consumer.getmany(timeout_ms=300) == {}
        assert await consumer.position(tp) == 14
        assert consumer.last_stable_offset(tp) == 14
        assert (await consumer.end_offsets([tp]))[tp] == 14
    async with Consumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest") as consumer:
        consumer.assign([tp])
        records = await collect(consumer, 9)
        assert [r.value for r in records] == [
            b"c1", b"c2", b"a1", b"a2", b"a3", b"c3", b"a4", b"c4", b"c5"
        ]  # fmt: skip
        await asyncio.sleep(0)


def _write_confluent_transactions(bootstrap: str, topic: str) -> None:
    """Committed and aborted transactions written by librdkafka's transactional producer."""
    ck = pytest.importorskip("confluent_kafka")
    producer = ck.Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": f"{topic}-ck", "linger.ms": 0}
    )
    producer.init_transactions(30)
    for values, commit in (
        ([b"c1", b"c2"], True),
        ([b"a1", b"a2"], False),
        ([b"c3"], True),
        ([b"a3"], False),
    ):
        producer.begin_transaction()
        for value in values:
            producer.produce(topic, value=value, partition=0)
        producer.flush(30)
        if commit:
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)


async def test_read_committed_with_confluent_kafka_transactions(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic()
    tp = TopicPartition(topic, 0)
    bootstrap = kafka_cluster.bootstrap_servers
    await asyncio.to_thread(_write_confluent_transactions, bootstrap, topic)
    async with Consumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    ) as consumer:
        consumer.assign([tp])
        records = await collect(consumer, 3)
        assert [r.value for r in records] == [b"c1", b"c2", b"c3"]
        assert await consumer.getmany(timeout_ms=500) == {}
    async with Consumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest") as consumer:
        consumer.assign([tp])
        records = await collect(consumer, 6)
        assert sorted(r.value for r in records) == [b"a1", b"a2", b"a3", b"c1", b"c2", b"c3"]
