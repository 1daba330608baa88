"""kafkaio.records against a real broker, over raw Produce and Fetch requests.

* Batches built by kafkaio (every codec, idempotent) are accepted by the broker, which
  validates and, for compressed batches, decompresses them, and come back identical;
  the Java console consumer reads them back byte for byte in every codec.
* Batches written by the Java producer (perf tool, console producer) with every codec,
  including transactional batches and their commit markers, decode in kafkaio.
* A fetch cut in the middle of a batch yields only the complete batches.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kafkaio.errors import KafkaError, raise_for_code
from kafkaio.net import BrokerConnection, ConnectionConfig
from kafkaio.protocol.messages import (
    FetchRequest,
    FetchResponse,
    InitProducerIdRequest,
    InitProducerIdResponse,
    ProduceRequest,
    ProduceResponse,
)
from kafkaio.protocol.messages.fetch import FetchPartition, FetchTopic
from kafkaio.protocol.messages.produce import PartitionProduceData, TopicProduceData
from kafkaio.records import (
    CompressionType,
    ControlRecordType,
    DefaultRecordBatch,
    Record,
    RecordBatchBuilder,
    TimestampType,
    iter_batches,
)

pytestmark = pytest.mark.kafka

# Versions that address topics by name (topic ids start at Produce v13 / Fetch v13).
PRODUCE_VERSION = 12
FETCH_VERSION = 12
CODECS = list(CompressionType)


async def _connect(cluster: Any) -> BrokerConnection:
    # bootstrap_servers is the harness's stable interface: "host:port,host:port".
    host, _, port = cluster.bootstrap_servers.split(",")[0].rpartition(":")
    conn = BrokerConnection(host, int(port), config=ConnectionConfig(request_timeout_ms=30_000))
    await conn.connect()
    return conn


async def _produce(conn: BrokerConnection, topic: str, batch: bytes) -> int:
    request = ProduceRequest(
        transactional_id=None,
        acks=-1,
        timeout_ms=10_000,
        topic_data=[
            TopicProduceData(
                name=topic, partition_data=[PartitionProduceData(index=0, records=batch)]
            )
        ],
    )
    response = await conn.send(request, version=PRODUCE_VERSION)
    assert isinstance(response, ProduceResponse)
    part = response.responses[0].partition_responses[0]
    raise_for_code(part.error_code, part.error_message)
    return part.base_offset


async def _fetch(
    conn: BrokerConnection, topic: str, offset: int, *, max_bytes: int = 50 << 20
) -> tuple[bytes, int]:
    request = FetchRequest(
        max_wait_ms=0,
        min_bytes=0,
        max_bytes=max_bytes,
        isolation_level=0,
        topics=[
            FetchTopic(
                topic=topic,
                partitions=[
                    FetchPartition(partition=0, fetch_offset=offset, partition_max_bytes=max_bytes)
                ],
            )
        ],
    )
    response = await conn.send(request, version=FETCH_VERSION)
    assert isinstance(response, FetchResponse)
    raise_for_code(response.error_code)
    part = response.responses[0].partitions[0]
    raise_for_code(part.error_code)
    return part.records or b"", part.high_watermark


async def _fetch_all(conn: BrokerConnection, topic: str) -> list[DefaultRecordBatch]:
    batches: list[DefaultRecordBatch] = []
    offset = 0
    while True:
        data, high_watermark = await _fetch(conn, topic, offset)
        got = list(iter_batches(data, topic=topic, partition=0))
        for batch in got:
            assert isinstance(batch, DefaultRecordBatch)
            batches.append(batch)
            offset = batch.next_offset
        if offset >= high_watermark or not got:
            return batches


async def _init_producer_id(conn: BrokerConnection) -> InitProducerIdResponse:
    """An idempotent producer id; retried while the broker loads its transaction state."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        init = await conn.send(
            InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=60_000)
        )
        assert isinstance(init, InitProducerIdResponse)
        try:
            raise_for_code(init.error_code)
            return init
        except KafkaError as exc:
            if not exc.retriable or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.2)


def _fill(builder: RecordBatchBuilder, n: int, tag: str) -> list[tuple[Any, ...]]:
    sent = []
    for i in range(n):
        key = None if i % 5 == 0 else f"{tag}-key-{i}".encode()
        value = None if i % 11 == 10 else (f"{tag}-value-{i}-".encode() * (1 + i % 13))
        headers = [("i", str(i).encode()), ("nil", None)] if i % 3 == 0 else []
        ts = 1_700_000_000_000 + i
        assert builder.append(ts, key, value, headers) is not None
        sent.append((ts, key, value, tuple(headers)))
    return sent


async def test_broker_round_trips_kafkaio_batches(kafka_cluster: Any, make_topic: Any) -> None:
    topic = make_topic()
    conn = await _connect(kafka_cluster)
    try:
        expected: list[tuple[Any, ...]] = []
        for codec in CODECS:
            builder = RecordBatchBuilder(compression=codec)
            sent = _fill(builder, 150, codec.name)
            base = await _produce(conn, topic, builder.build())
            assert base == len(expected)
            expected += sent
        # A big record spanning many compression blocks.
        big = RecordBatchBuilder(compression=CompressionType.LZ4)
        big_value = bytes(i * 7 % 256 for i in range(400_000))
        big.append(1_700_000_001_000, b"big", big_value)
        await _produce(conn, topic, big.build())
        expected.append((1_700_000_001_000, b"big", big_value, ()))

        batches = await _fetch_all(conn, topic)
        assert [b.compression for b in batches] == [*CODECS, CompressionType.LZ4]
        records = [r for b in batches for r in b.records()]
        assert records == [
            Record(offset, ts, TimestampType.CREATE_TIME, key, value, headers)
            for offset, (ts, key, value, headers) in enumerate(expected)
        ]
        assert all(b.partition_leader_epoch >= 0 for b in batches)  # stamped by the broker
    finally:
        await conn.aclose()


async def test_fetch_cut_inside_a_batch_yields_whole_batches(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic()
    conn = await _connect(kafka_cluster)
    try:
        sizes = []
        for i in range(3):
            builder = RecordBatchBuilder()
            _fill(builder, 50, f"b{i}")
            data = builder.build()
            sizes.append(len(data))
            await _produce(conn, topic, data)
        cut = sizes[0] + sizes[1] // 2
        data, _ = await _fetch(conn, topic, 0, max_bytes=cut)
        # The broker sends a byte slice of its log: the second batch arrives truncated.
        assert sizes[0] < len(data) < sizes[0] + sizes[1]
        batches = list(iter_batches(data))
        assert [b.base_offset for b in batches] == [0]
        assert len(batches[0].records()) == 50
    finally:
        await conn.aclose()


async def test_idempotent_batch_keeps_its_producer_state(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic()
    conn = await _connect(kafka_cluster)
    try:
        init = await _init_producer_id(conn)
        for seq in (0, 10):
            builder = RecordBatchBuilder(compression=CompressionType.ZSTD)
            builder.set_producer_state(init.producer_id, init.producer_epoch, seq, False)
            _fill(builder, 10, f"seq{seq}")
            await _produce(conn, topic, builder.build())
        batches = await _fetch_all(conn, topic)
        assert [
            (b.producer_id, b.producer_epoch, b.base_sequence, b.last_sequence) for b in batches
        ] == [
            (init.producer_id, init.producer_epoch, 0, 9),
            (init.producer_id, init.producer_epoch, 10, 19),
        ]
    finally:
        await conn.aclose()


@pytest.mark.parametrize("codec", CODECS, ids=[c.name.lower() for c in CODECS])
async def test_decodes_java_perf_producer_batches(
    kafka_cluster: Any, make_topic: Any, codec: CompressionType
) -> None:
    topic = make_topic()
    kafka_cluster.run_java_tool(
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        "2000",
        "--record-size",
        "100",
        "--throughput",
        "-1",
        "--bootstrap-server",
        kafka_cluster.bootstrap_servers,
        "--producer-props",
        f"compression.type={codec.name.lower()}",
        "linger.ms=20",
        "batch.size=32768",
        jvm_args=["-Xmx256m"],
    )
    conn = await _connect(kafka_cluster)
    try:
        batches = await _fetch_all(conn, topic)
    finally:
        await conn.aclose()
    records = [r for b in batches for r in b.records()]
    assert [r.offset for r in records] == list(range(2000))
    assert {b.compression for b in batches} == {codec}
    assert all(r.key is None and r.value is not None and len(r.value) == 100 for r in records)
    # The Java producer is idempotent by default (Kafka 3.0+).
    assert all(b.producer_id >= 0 for b in batches)


async def test_decodes_java_transactions_and_commit_markers(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic()
    kafka_cluster.run_java_tool(
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        "600",
        "--record-size",
        "50",
        "--throughput",
        "-1",
        "--transactional-id",
        f"kafkaio-records-{topic}",
        "--transaction-duration-ms",
        "100",
        "--bootstrap-server",
        kafka_cluster.bootstrap_servers,
        "--producer-props",
        "compression.type=snappy",
        "linger.ms=5",
        jvm_args=["-Xmx256m"],
    )
    # EndTxn returns before the coordinator has written the markers to the partition, so
    # the last COMMIT marker can appear a moment after the tool exits.
    conn = await _connect(kafka_cluster)
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            batches = await _fetch_all(conn, topic)
            if batches and batches[-1].is_control:
                break
            assert asyncio.get_running_loop().time() < deadline, "no COMMIT marker after 30 s"
            await asyncio.sleep(0.2)
    finally:
        await conn.aclose()
    data_batches = [b for b in batches if not b.is_control]
    control_batches = [b for b in batches if b.is_control]
    assert sum(len(b.records()) for b in data_batches) == 600
    assert all(b.is_transactional for b in batches)
    assert control_batches, "expected COMMIT markers"
    for b in control_batches:
        marker = b.control_record()
        assert marker is not None
        assert marker.type == ControlRecordType.COMMIT
        assert marker.coordinator_epoch is not None and marker.coordinator_epoch >= 0
        assert b.producer_id == data_batches[0].producer_id


async def test_decodes_java_console_producer_keys_and_headers(
    kafka_cluster: Any, make_topic: Any
) -> None:
    topic = make_topic()
    lines = [f"h{i}:v{i},trace:t{i}\tkey-{i}\tvalue {i} ✓" for i in range(20)]
    kafka_cluster.run_java_tool(
        "org.apache.kafka.tools.ConsoleProducer",
        "--bootstrap-server",
        kafka_cluster.bootstrap_servers,
        "--topic",
        topic,
        "--compression-codec",
        "zstd",
        "--reader-property",
        "parse.key=true",
        "--reader-property",
        "parse.headers=true",
        input="\n".join(lines) + "\n",
        jvm_args=["-Xmx256m"],
    )
    conn = await _connect(kafka_cluster)
    try:
        batches = await _fetch_all(conn, topic)
    finally:
        await conn.aclose()
    records = [r for b in batches for r in b.records()]
    assert [(r.key, r.value, r.headers) for r in records] == [
        (
            f"key-{i}".encode(),
            f"value {i} ✓".encode(),
            ((f"h{i}", f"v{i}".encode()), ("trace", f"t{i}".encode())),
        )
        for i in range(20)
    ]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name.lower())
async def test_java_console_consumer_reads_kafkaio_batches(
    kafka_cluster: Any, make_topic: Any, codec: CompressionType
) -> None:
    topic = make_topic()
    builder = RecordBatchBuilder(compression=codec)
    sent = [
        (f"key-{i}".encode(), f"value {i} {codec.name} ü".encode(), (("h", f"{i}".encode()),))
        for i in range(50)
    ]
    for key, value, headers in sent:
        builder.append(1_700_000_000_000, key, value, headers)
    conn = await _connect(kafka_cluster)
    try:
        await _produce(conn, topic, builder.build())
    finally:
        await conn.aclose()
    proc = await asyncio.to_thread(
        kafka_cluster.run_java_tool,
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server",
        kafka_cluster.bootstrap_servers,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        str(len(sent)),
        "--timeout-ms",
        "30000",
        "--formatter-property",
        "print.key=true",
        "--formatter-property",
        "print.headers=true",
        "--formatter-property",
        "key.separator=|",
        jvm_args=["-Xmx256m"],
    )
    lines = proc.stdout.splitlines()
    assert lines == [f"h:{h[0][1].decode()}|{k.decode()}|{v.decode()}" for k, v, h in sent]
