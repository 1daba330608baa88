"""The transactional producer against real brokers: Kafka 4.x serves transactions version 2
(KIP-890 part 2, implicit partition adds and an epoch bump per transaction); Kafka 3.9
version 1 (explicit AddPartitionsToTxn)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.errors import IllegalStateError, ProducerFencedError
from kafkaio.producer import Producer, TransactionAbortedError

pytestmark = pytest.mark.kafka


async def _read_committed(bootstrap: str, tp: TopicPartition, expected: int) -> list[bytes]:
    values: list[bytes] = []
    async with Consumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    ) as consumer:
        consumer.assign([tp])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while len(values) < expected and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                values.extend(r.value for r in records if r.value is not None)
        extra = await consumer.getmany(timeout_ms=300)
        for records in extra.values():
            values.extend(r.value for r in records if r.value is not None)
    return values


async def test_commit_visible_abort_invisible(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic(partitions=2)
    bootstrap = kafka_cluster.bootstrap_servers
    async with Producer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-t") as producer:
        await producer.init_transactions()
        txn = producer._txn
        assert txn is not None
        epochs = [producer._sender._idem.epoch]
        async with producer.transaction():
            assert txn.v2  # Kafka 4.x finalizes transaction.version 2
            for i in range(5):
                await producer.send(topic, b"c%d" % i, partition=0)
            await producer.send(topic, b"other", partition=1)
        epochs.append(producer._sender._idem.epoch)
        assert epochs[1] == epochs[0] + 1  # the coordinator bumped the epoch at EndTxn
        producer.begin_transaction()
        aborted = [await producer.send(topic, b"a%d" % i, partition=0) for i in range(3)]
        await producer.flush()
        await producer.abort_transaction()
        assert all(f.done() and f.exception() is None for f in aborted)  # written, then aborted
        with pytest.raises(RuntimeError):
            async with producer.transaction():
                await producer.send(topic, b"never", partition=0)
                raise RuntimeError("boom")
        async with producer.transaction():
            await producer.send(topic, b"c5", partition=0)
    values = await _read_committed(bootstrap, TopicPartition(topic, 0), 6)
    assert values == [b"c0", b"c1", b"c2", b"c3", b"c4", b"c5"]
    ck = pytest.importorskip("confluent_kafka")

    def confluent_read() -> list[bytes]:
        consumer = ck.Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"{topic}-ck",
                "isolation.level": "read_committed",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.assign([ck.TopicPartition(topic, 0, 0)])
        out: list[bytes] = []
        for _ in range(60):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                out.append(msg.value())
            if len(out) >= 6:
                break
        consumer.close()
        return out

    assert await asyncio.to_thread(confluent_read) == values


async def test_unsent_records_fail_on_abort(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic()
    bootstrap = kafka_cluster.bootstrap_servers
    async with Producer(
        bootstrap_servers=bootstrap, transactional_id=f"{topic}-t", linger_ms=10_000
    ) as producer:
        await producer.init_transactions()
        producer.begin_transaction()
        future = await producer.send(topic, b"x", partition=0)
        await producer.abort_transaction()
        with pytest.raises(TransactionAbortedError):
            await future


async def test_send_offsets_to_transaction(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic()
    out = make_topic()
    group = f"{topic}-g"
    tp = TopicPartition(topic, 0)
    bootstrap = kafka_cluster.bootstrap_servers
    async with Producer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-t") as producer:
        await producer.init_transactions()
        async with producer.transaction():
            await producer.send(out, b"r", partition=0)
            await producer.send_offsets_to_transaction({tp: 7}, group)
        producer.begin_transaction()
        await producer.send_offsets_to_transaction({tp: 99}, group)
        await producer.abort_transaction()
    async with Consumer(bootstrap_servers=bootstrap, group_id=group) as consumer:
        consumer.assign([tp])
        assert await consumer.committed(tp) == 7


async def test_second_instance_fences_the_first(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic()
    bootstrap = kafka_cluster.bootstrap_servers
    tid = f"{topic}-t"
    async with Producer(bootstrap_servers=bootstrap, transactional_id=tid) as first:
        await first.init_transactions()
        first.begin_transaction()
        await first.send_and_wait(topic, b"zombie", partition=0)
        async with Producer(bootstrap_servers=bootstrap, transactional_id=tid) as second:
            await second.init_transactions()
            with pytest.raises(ProducerFencedError):
                await first.commit_transaction()
            with pytest.raises(ProducerFencedError):
                first.begin_transaction()
            async with second.transaction():
                await second.send(topic, b"ok", partition=0)
    assert await _read_committed(bootstrap, TopicPartition(topic, 0), 1) == [b"ok"]


async def test_misuse(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic()
    bootstrap = kafka_cluster.bootstrap_servers
    async with Producer(bootstrap_servers=bootstrap, transactional_id=f"{topic}-t") as producer:
        with pytest.raises(IllegalStateError, match="init_transactions"):
            producer.begin_transaction()
        await producer.init_transactions()
        with pytest.raises(IllegalStateError, match="begin_transaction"):
            await producer.send(topic, b"x")
        with pytest.raises(IllegalStateError, match="no transaction"):
            await producer.commit_transaction()
        with pytest.raises(IllegalStateError, match="no transaction"):
            await producer.abort_transaction()
        producer.begin_transaction()
        with pytest.raises(IllegalStateError, match="already in progress"):
            producer.begin_transaction()
        await producer.abort_transaction()
    async with Producer(bootstrap_servers=bootstrap) as plain:
        with pytest.raises(IllegalStateError, match="transactional_id"):
            await plain.init_transactions()


async def test_consume_transform_produce_with_group_member(
    kafka_cluster: Any, make_topic: Any
) -> None:
    source = make_topic()
    sink = make_topic()
    group = f"{source}-g"
    bootstrap = kafka_cluster.bootstrap_servers
    async with Producer(bootstrap_servers=bootstrap) as plain:
        for i in range(4):
            await plain.send(source, b"in%d" % i, partition=0)
    async with (
        Consumer(
            source,
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        ) as consumer,
        Producer(bootstrap_servers=bootstrap, transactional_id=f"{source}-t") as producer,
    ):
        await producer.init_transactions()
        seen = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while seen < 4 and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=300)
            if not batches:
                continue
            async with producer.transaction():
                offsets = {}
                for tp, records in batches.items():
                    for record in records:
                        await producer.send(sink, b"out-" + (record.value or b""), partition=0)
                    offsets[tp] = records[-1].offset + 1
                    seen += len(records)
                assert consumer.member_id and (consumer.generation_id or 0) > 0
                await producer.send_offsets_to_transaction(offsets, consumer)
        assert seen == 4
        assert await consumer.committed(TopicPartition(source, 0)) == 4
    values = await _read_committed(bootstrap, TopicPartition(sink, 0), 4)
    assert values == [b"out-in0", b"out-in1", b"out-in2", b"out-in3"]


async def test_transactions_version_1_on_kafka_3_9(
    kafka_legacy_cluster: Any, make_topic: Any
) -> None:
    from kafkaio.admin import Admin, NewTopic

    bootstrap = kafka_legacy_cluster.bootstrap_servers
    topic = "txn-v1-topic"
    async with Admin(bootstrap_servers=bootstrap) as admin:
        (await admin.create_topics([NewTopic(topic, num_partitions=1)])).raise_on_error()
    async with Producer(bootstrap_servers=bootstrap, transactional_id="txn-v1") as producer:
        await producer.init_transactions()
        async with producer.transaction():
            assert producer._txn is not None and not producer._txn.v2
            for i in range(3):
                await producer.send(topic, b"c%d" % i, partition=0)
        producer.begin_transaction()
        await producer.send(topic, b"aborted", partition=0)
        await producer.flush()
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, b"c3", partition=0)
    values = await _read_committed(bootstrap, TopicPartition(topic, 0), 4)
    assert values == [b"c0", b"c1", b"c2", b"c3"]
