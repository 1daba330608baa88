"""kafkaio.sync's blocking Producer, Consumer and Admin against a real broker."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kafkaio import NewTopic, TopicPartition
from kafkaio.errors import (
    InvalidTopicError,
    KafkaTimeoutError,
    ProducerClosedError,
    UnknownTopicOrPartitionError,
)
from kafkaio.producer import RecordMetadata
from kafkaio.sync import Admin, Consumer, ConsumerRebalanceListener, LoopThread, Producer
from kafkaio.testing.pytest_plugin import TopicFactory

pytestmark = pytest.mark.kafka


def sync_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("kafkaio-sync")}


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = sync_threads()
    yield
    deadline = time.monotonic() + 5
    while sync_threads() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sync_threads() - before == set()


def group() -> str:
    return f"sync-{uuid.uuid4().hex[:8]}"


def consume(consumer: Consumer, expected: int, limit: float = 30) -> list[Any]:
    records: list[Any] = []
    deadline = time.monotonic() + limit
    while len(records) < expected and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    return records


def test_10k_records_produced_synchronously_and_read_back_in_a_group(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=3)
    n = 10_000
    delivered: list[tuple[RecordMetadata | None, BaseException | None]] = []
    with Producer(bootstrap_servers=kafka_cluster.bootstrap_servers, linger_ms=5) as producer:
        futures = [
            producer.send(
                topic,
                f"value-{i}".encode(),
                key=f"key-{i % 100}".encode(),
                headers=[("i", str(i).encode())],
                on_delivery=lambda md, exc: delivered.append((md, exc)),
            )
            for i in range(n)
        ]
        producer.flush(timeout=30)
        assert len(delivered) == n  # every callback ran before flush() returned
        assert all(exc is None for _, exc in delivered)
        metadata = [f.result(0) for f in futures]
        assert producer.metrics()["records_sent"] == n
    per_key_partition = {f"key-{i % 100}": metadata[i].partition for i in range(n)}
    assert {md.partition for md in metadata} == {0, 1, 2}

    with Consumer(
        topic,
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        group_id=group(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    ) as consumer:
        records = consume(consumer, n)
        assert sorted(r.value for r in records) == sorted(f"value-{i}".encode() for i in range(n))
        for r in records:
            assert per_key_partition[r.key.decode()] == r.partition
            assert list(r.headers) == [("i", r.value.split(b"-")[1])]
        consumer.commit(timeout=10)
        ends = consumer.end_offsets(consumer.assignment(), timeout=10)
        for tp, end in ends.items():
            assert consumer.committed(tp, timeout=10) == end
            assert consumer.position(tp) == end
        assert sum(ends.values()) == n


def test_a_consumer_thread_reads_while_the_main_thread_produces(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    n = 2_000
    received: list[bytes] = []
    ready = threading.Event()

    class Ready(ConsumerRebalanceListener):
        def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
            ready.set()

    consumer = Consumer(
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        group_id=group(),
        auto_offset_reset="earliest",
    )
    consumer.subscribe([topic], listener=Ready())

    def read() -> None:
        for record in consumer:  # ends when the main thread closes the consumer
            received.append(record.value)

    reader = threading.Thread(target=read, name="plain-reader")
    reader.start()
    try:
        with Producer(bootstrap_servers=kafka_cluster.bootstrap_servers) as producer:
            assert ready.wait(30)
            for i in range(n):
                producer.send(topic, str(i).encode())
                if i % 500 == 0:
                    producer.send_and_wait(topic, b"sync", timeout=10)
        deadline = time.monotonic() + 30
        while len(received) < n + 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.close(timeout=10)
        reader.join(10)
    assert not reader.is_alive()
    assert sorted(received) == sorted([str(i).encode() for i in range(n)] + [b"sync"] * 4)


def test_admin_create_describe_delete_topics(kafka_cluster: Any) -> None:
    name = f"sync-admin-{uuid.uuid4().hex[:8]}"
    with Admin(bootstrap_servers=kafka_cluster.bootstrap_servers) as admin:
        admin.create_topics([NewTopic(name, num_partitions=4)], timeout=30).raise_on_error()
        description = admin.describe_topics([name])[name]
        assert description.error is None
        assert len(description.partitions) == 4
        assert name in admin.list_topics()
        admin.delete_topics([name], timeout=30).raise_on_error()
        deadline = time.monotonic() + 30
        while name in admin.list_topics() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert name not in admin.list_topics()
        result = admin.describe_topics([name])[name]
        assert isinstance(result.error, UnknownTopicOrPartitionError)
        with pytest.raises(UnknownTopicOrPartitionError):
            admin.describe_topics([name]).raise_on_error()
    assert admin.closed


def test_errors_propagate_with_their_classes(kafka_cluster: Any, make_topic: TopicFactory) -> None:
    topic = make_topic(partitions=2)
    producer = Producer(bootstrap_servers=kafka_cluster.bootstrap_servers, max_block_ms=2_000)
    try:
        with pytest.raises(ValueError, match="out of range"):
            producer.send(topic, b"v", partition=7).result(10)
        with pytest.raises(TypeError, match="value must be bytes"):
            producer.send(topic, "text")
        with pytest.raises(InvalidTopicError):
            producer.send("not a valid topic!", b"v")
        assert producer.send_and_wait(topic, b"still fine", timeout=10).partition in (0, 1)
    finally:
        producer.close()
    with pytest.raises(ProducerClosedError):
        producer.send(topic, b"late")

    with Consumer(
        bootstrap_servers=kafka_cluster.bootstrap_servers, auto_offset_reset="latest"
    ) as consumer:
        consumer.assign([TopicPartition(topic, 0)])
        started = time.monotonic()
        with pytest.raises(KafkaTimeoutError, match="getone"):
            consumer.getone(timeout=0.5)
        assert time.monotonic() - started < 5
        assert consumer.poll(timeout_ms=100) == {}  # still usable after the timeout


def test_rebalance_listener_callbacks_may_call_the_consumer(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    with Producer(bootstrap_servers=kafka_cluster.bootstrap_servers) as producer:
        for i in range(20):
            producer.send(topic, str(i).encode(), partition=i % 2)
    group_id = group()
    seen: dict[str, Any] = {}

    class Listener(ConsumerRebalanceListener):
        def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
            seen["thread"] = threading.current_thread().name
            seen["committed"] = {tp: consumer.committed(tp, timeout=10) for tp in assigned}
            for tp in assigned:
                consumer.seek(tp, 5)  # skip the first five of each partition

        def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
            seen["revoked"] = revoked

    consumer = Consumer(bootstrap_servers=kafka_cluster.bootstrap_servers, group_id=group_id)
    with consumer:
        consumer.subscribe([topic], listener=Listener())
        records = consume(consumer, 10)
        assert sorted(int(r.value) for r in records) == list(range(10, 20))
    assert seen["committed"] == {TopicPartition(topic, 0): None, TopicPartition(topic, 1): None}
    assert "listener" in seen["thread"]
    assert seen["revoked"] == {TopicPartition(topic, 0), TopicPartition(topic, 1)}


def test_transactions_commit_and_abort(kafka_cluster: Any, make_topic: TopicFactory) -> None:
    topic = make_topic()
    with Producer(
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        transactional_id=f"sync-txn-{uuid.uuid4().hex[:8]}",
    ) as producer:
        producer.init_transactions(timeout=30)
        with producer.transaction():
            for i in range(10):
                producer.send(topic, f"committed-{i}".encode())
        with pytest.raises(RuntimeError, match="abort me"), producer.transaction():
            producer.send(topic, b"aborted")
            raise RuntimeError("abort me")
        producer.begin_transaction()
        producer.send(topic, b"committed-10")
        producer.commit_transaction(timeout=30)
    with Consumer(
        topic,
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    ) as consumer:
        records = consume(consumer, 11, limit=20)
        values = [r.value for r in records]
    assert values == [f"committed-{i}".encode() for i in range(11)]


def test_a_shared_loop_thread_and_an_abandoned_producer(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    shared = LoopThread("kafkaio-sync-shared")
    try:
        producer = Producer(bootstrap_servers=kafka_cluster.bootstrap_servers, loop_thread=shared)
        consumer = Consumer(
            topic,
            bootstrap_servers=kafka_cluster.bootstrap_servers,
            auto_offset_reset="earliest",
            loop_thread=shared,
        )
        for i in range(100):
            producer.send(topic, str(i).encode())
        # Dropped without close(): the safety net sends what it holds, then closes it.
        del producer
        gc.collect()
        records = consume(consumer, 100)
        assert sorted(int(r.value) for r in records) == list(range(100))
        consumer.close()
        assert shared.thread.is_alive()  # not theirs to stop
    finally:
        shared.stop()
    assert not shared.thread.is_alive()

    owned = Producer(bootstrap_servers=kafka_cluster.bootstrap_servers)
    thread = owned.loop_thread.thread
    owned.send(topic, b"last")
    del owned
    gc.collect()
    thread.join(10)
    assert not thread.is_alive()

    # The safety net firing on the loop thread itself (garbage collection can run there):
    # it must not block, and still sends what is queued and stops every thread.
    on_loop = Producer(bootstrap_servers=kafka_cluster.bootstrap_servers)
    thread = on_loop.loop_thread.thread
    future = on_loop.send(topic, b"closed-on-loop", on_delivery=lambda md, exc: None)
    on_loop.loop_thread.call(on_loop._finalizer)
    thread.join(10)
    assert not thread.is_alive()
    assert future.result(0).topic == topic
    with Consumer(
        topic, bootstrap_servers=kafka_cluster.bootstrap_servers, auto_offset_reset="earliest"
    ) as reader:
        values = {r.value for r in consume(reader, 102)}
    assert {b"last", b"closed-on-loop"} <= values


def test_callbacks_may_send_and_flush_without_deadlock(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    chained: list[Any] = []
    flushed_in_callback = threading.Event()
    # A queue of one record: every send() from the main thread meets back-pressure, and
    # the done-callbacks (on the loop thread) find it full.
    with Producer(
        bootstrap_servers=kafka_cluster.bootstrap_servers, max_pending_sends=1
    ) as producer:

        def on_delivery(md: RecordMetadata | None, exc: BaseException | None) -> None:
            assert exc is None
            if md is not None and md.offset == 0:
                producer.send(topic, b"from-delivery-callback")
                producer.flush(timeout=10)  # from the callback thread: no self-wait
                flushed_in_callback.set()

        def on_done(future: Any) -> None:
            chained.append(producer.send(topic, b"from-done-callback"))

        for i in range(200):
            future = producer.send(topic, str(i).encode(), on_delivery=on_delivery)
            if i % 50 == 0:
                future.add_done_callback(on_done)
        producer.flush(timeout=30)
        assert flushed_in_callback.wait(10)
        producer.flush(timeout=30)
        assert len(chained) == 4
        assert all(f.result(10).topic == topic for f in chained)
    with Consumer(
        topic, bootstrap_servers=kafka_cluster.bootstrap_servers, auto_offset_reset="earliest"
    ) as consumer:
        values = [r.value for r in consume(consumer, 205)]
    assert sorted(values) == sorted(
        [str(i).encode() for i in range(200)]
        + [b"from-delivery-callback"]
        + [b"from-done-callback"] * 4
    )


EXIT_SCRIPT = """
import sys
from kafkaio.sync import Producer
producer = Producer(bootstrap_servers=sys.argv[1], linger_ms=1000)
for i in range(50):
    producer.send(sys.argv[2], str(i).encode())
# no close(), no flush(): the interpreter exits with the records still buffered
"""


def test_records_of_a_producer_left_open_at_exit_are_sent(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, kafka_cluster.bootstrap_servers, topic],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "was not closed" in done.stderr  # the safety net says so
    with Consumer(
        topic, bootstrap_servers=kafka_cluster.bootstrap_servers, auto_offset_reset="earliest"
    ) as consumer:
        values = sorted(int(r.value) for r in consume(consumer, 50, limit=20))
    assert values == list(range(50))


def test_send_batch_is_ordered_with_send_and_reports_errors(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    with Producer(
        bootstrap_servers=kafka_cluster.bootstrap_servers, value_serializer=str.encode
    ) as producer:
        first = producer.send(topic, "before", partition=1)
        batch = producer.send_batch(topic, [str(i) for i in range(3000)], partition=1)
        last = producer.send(topic, "after", partition=1)
        offsets = [md.offset for md in batch.result(30)]
        assert offsets == list(range(1, 3001))
        assert (first.result(0).offset, last.result(10).offset) == (0, 3001)
        with pytest.raises(ValueError, match="keys has 1 items"):
            producer.send_batch(topic, ["a", "b"], keys=[b"k"])
        with pytest.raises(ValueError, match="out of range"):
            producer.send_batch(topic, ["a"], partition=5).result(10)
        with pytest.raises(TypeError, match="encode"):  # the serializer's own error, at once
            producer.send_batch(topic, [1])


def test_consumer_positions_pause_and_metadata_passthroughs(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    topic = make_topic(partitions=2)
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    with Producer(bootstrap_servers=kafka_cluster.bootstrap_servers) as producer:
        for i in range(10):
            producer.send(topic, str(i).encode(), partition=0, timestamp_ms=1_700_000_000_000 + i)
        producer.flush(timeout=10)
        assert producer.metrics()["sync_queued_records"] == 0
    with Consumer(bootstrap_servers=kafka_cluster.bootstrap_servers) as consumer:
        consumer.assign([tp0, tp1])
        assert consumer.assignment() == {tp0, tp1}
        assert consumer.beginning_offsets([tp0, tp1]) == {tp0: 0, tp1: 0}
        assert consumer.end_offsets([tp0, tp1]) == {tp0: 10, tp1: 0}
        found = consumer.offsets_for_times({tp0: 1_700_000_000_004})[tp0]
        assert found is not None and found.offset == 4
        assert topic in consumer.topics()
        assert consumer.partitions_for_topic(topic) == {0, 1}
        consumer.seek(tp0, 7)
        assert consumer.position(tp0) == 7
        consumer.pause(tp0)
        assert consumer.paused() == {tp0}
        assert consumer.poll(timeout_ms=300) == {}
        consumer.resume(tp0)
        assert [int(r.value) for r in consume(consumer, 3)] == [7, 8, 9]
        assert consumer.highwater(tp0) == 10
        consumer.seek_to_beginning(tp0)
        assert consumer.position(tp0) == 0
        consumer.seek_to_end()
        assert (consumer.position(tp0), consumer.position(tp1)) == (10, 0)
        assert consumer.member_id is None and consumer.metrics()["records_fetched"] >= 3
        consumer.unsubscribe()
        assert consumer.assignment() == frozenset()


def test_consume_transform_produce_with_a_sync_consumer_group(
    kafka_cluster: Any, make_topic: TopicFactory
) -> None:
    source, sink = make_topic(), make_topic()
    with Producer(bootstrap_servers=kafka_cluster.bootstrap_servers) as producer:
        for i in range(5):
            producer.send(source, str(i).encode())
    group_id = group()
    with (
        Consumer(
            source,
            bootstrap_servers=kafka_cluster.bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            isolation_level="read_committed",
        ) as consumer,
        Producer(
            bootstrap_servers=kafka_cluster.bootstrap_servers,
            transactional_id=f"sync-ctp-{uuid.uuid4().hex[:8]}",
        ) as producer,
    ):
        producer.init_transactions(timeout=30)
        records = consume(consumer, 5)
        metadata = consumer.group_metadata()
        assert metadata.group_id == group_id and metadata.generation_id >= 1
        with producer.transaction():
            for record in records:
                producer.send(sink, record.value * 2)
            producer.send_offsets_to_transaction({TopicPartition(source, 0): 5}, consumer)
        assert consumer.committed(TopicPartition(source, 0), timeout=10) == 5
    with Consumer(
        sink,
        bootstrap_servers=kafka_cluster.bootstrap_servers,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    ) as reader:
        assert sorted(r.value for r in consume(reader, 5)) == [
            str(i).encode() * 2 for i in range(5)
        ]
