"""kafkaio without asyncio: the blocking facades in kafkaio.sync.

Run against a local broker (started by kafkaio's test harness)::

    python -m kafkaio.testing start --detach        # prints bootstrap=127.0.0.1:<port>
    python examples/sync_producer_consumer.py 127.0.0.1:<port>
"""

from __future__ import annotations

import json
import sys
import threading
import uuid

from kafkaio import NewTopic, TopicPartition
from kafkaio.errors import KafkaTimeoutError, TopicAlreadyExistsError
from kafkaio.producer import RecordMetadata
from kafkaio.sync import Admin, Consumer, ConsumerRebalanceListener, Producer


class PrintAssignments(ConsumerRebalanceListener):
    """Plain (not async) callbacks; they may call the consumer's blocking methods."""

    def __init__(self) -> None:
        self.consumer: Consumer | None = None

    def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
        assert self.consumer is not None
        for tp in sorted(assigned):
            print(f"assigned {tp}, committed offset {self.consumer.committed(tp)}")


def main(bootstrap: str) -> None:
    topic = "sync-orders"
    with Admin(bootstrap_servers=bootstrap) as admin:
        result = admin.create_topics([NewTopic(topic, num_partitions=3)], timeout=30)[topic]
        if result.error is not None and not isinstance(result.error, TopicAlreadyExistsError):
            raise result.error

    # The producer runs on its own background thread; send() just queues the record.
    delivered = threading.Event()

    def on_delivery(metadata: RecordMetadata | None, error: BaseException | None) -> None:
        # Runs on the producer's callback thread, never on the event loop thread.
        if error is not None:
            print(f"record failed: {error!r}")
        elif metadata is not None and metadata.offset % 250 == 0:
            print(f"delivered {metadata.topic}[{metadata.partition}]@{metadata.offset}")
        delivered.set()

    with Producer(
        bootstrap_servers=bootstrap,
        key_serializer=str.encode,
        value_serializer=lambda v: json.dumps(v).encode(),
    ) as producer:
        metadata = producer.send_and_wait(topic, {"id": 0}, key="customer-0", timeout=10)
        print(f"first record at partition {metadata.partition}, offset {metadata.offset}")
        futures = [
            producer.send(topic, {"id": i}, key=f"customer-{i % 10}", on_delivery=on_delivery)
            for i in range(1, 1000)
        ]
        producer.flush(timeout=30)  # every callback has run when flush() returns
        print(f"{sum(f.exception() is None for f in futures)} records acknowledged")

    listener = PrintAssignments()
    with Consumer(
        bootstrap_servers=bootstrap,
        group_id=f"sync-example-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        value_deserializer=json.loads,
    ) as consumer:
        listener.consumer = consumer
        consumer.subscribe([topic], listener=listener)
        ids: set[int] = set()
        for record in consumer:  # blocks for more records; ends when the consumer closes
            ids.add(record.value["id"])
            if len(ids) >= 1000:
                break
        consumer.commit(timeout=10)
        committed = consumer.committed(TopicPartition(topic, 0), timeout=10)
        print(f"read ids {min(ids)}..{max(ids)}; partition 0 committed up to {committed}")
        try:
            consumer.getone(timeout=0.5)  # nothing more for now
        except KafkaTimeoutError:
            print("no more records within 0.5 s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092")
