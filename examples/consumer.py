"""Consuming records with kafkaio: the common uses.

Run against a local broker (started by kafkaio's test harness), after examples/producer.py
wrote to the ``orders`` topic::

    python -m kafkaio.testing start --detach        # prints bootstrap=127.0.0.1:<port>
    python examples/producer.py 127.0.0.1:<port>
    python examples/consumer.py 127.0.0.1:<port>
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer, ConsumerRebalanceListener


class LogRebalances(ConsumerRebalanceListener):
    """Rebalance callbacks are coroutines; they never overlap."""

    async def on_partitions_revoked(self, revoked: frozenset[TopicPartition]) -> None:
        print(f"revoked {sorted(tp.partition for tp in revoked)}")

    async def on_partitions_assigned(self, assigned: frozenset[TopicPartition]) -> None:
        print(f"assigned {sorted(tp.partition for tp in assigned)}")


def process(value: Any) -> None:
    """Stand-in for the application's work."""


async def main(bootstrap: str) -> None:
    # 1. A group member: partitions come from the group; commit after processing, so a
    #    crash re-reads at most the batch in progress (at-least-once).
    async with Consumer(
        bootstrap_servers=bootstrap,
        group_id="orders-example",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        key_deserializer=lambda b: b.decode() if b is not None else None,
        value_deserializer=lambda b: json.loads(b) if b is not None else None,
    ) as consumer:
        consumer.subscribe(["orders"], listener=LogRebalances())
        total = 0
        while True:
            batch = await consumer.getmany(timeout_ms=2_000, max_records=500)
            if not batch:
                break  # caught up
            for records in batch.values():
                for record in records:
                    process(record.value)
                total += len(records)
            await consumer.commit()  # the positions: last processed + 1
        print(f"group member processed {total} records; metrics {consumer.metrics()}")

    # 2. Manual assignment without a group: read one partition from a chosen offset.
    async with Consumer(bootstrap_servers=bootstrap) as consumer:
        tp = TopicPartition("orders", 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        consumer.seek(tp, max(end - 3, 0))
        async for record in consumer:
            print(f"{record.topic}[{record.partition}]@{record.offset}: {record.value[:40]!r}")
            if record.offset == end - 1:
                break


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "localhost:9092"))
