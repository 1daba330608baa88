"""Exactly-once consume-transform-produce with kafkaio's transactional producer.

Reads ``orders`` as a member of the ``order-enricher`` group, writes one record per input to
``orders-enriched`` and commits the consumed offsets in the same transaction: either both
the output records and the offsets are committed, or neither is. Run against a local broker::

    python -m kafkaio.testing start --detach        # prints bootstrap=127.0.0.1:<port>
    python examples/producer.py 127.0.0.1:<port>     # writes to orders
    python examples/transactions.py 127.0.0.1:<port>
"""

from __future__ import annotations

import asyncio
import sys

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer
from kafkaio.errors import KafkaError
from kafkaio.producer import Producer


def transform(value: bytes | None) -> bytes:
    """Stand-in for the application's work."""
    return b"enriched:" + (value or b"")


async def main(bootstrap: str, rounds: int = 10) -> None:
    async with (
        Consumer(
            "orders",
            bootstrap_servers=bootstrap,
            group_id="order-enricher",
            enable_auto_commit=False,  # offsets are committed by the transactions
            isolation_level="read_committed",  # never read other producers' aborted records
            auto_offset_reset="earliest",
        ) as consumer,
        Producer(bootstrap_servers=bootstrap, transactional_id="order-enricher-0") as producer,
    ):
        # Fences an older instance with the same transactional id and aborts what it left open.
        await producer.init_transactions()
        for _ in range(rounds):
            batches = await consumer.getmany(timeout_ms=1_000)
            if not batches:
                continue
            offsets: dict[TopicPartition, int] = {}
            try:
                async with producer.transaction():  # commits, or aborts on an exception
                    for tp, records in batches.items():
                        for record in records:
                            await producer.send(
                                "orders-enriched", transform(record.value), key=record.key
                            )
                        offsets[tp] = records[-1].offset + 1  # the next offset to read
                    # The group's offsets commit atomically with the records above; passing
                    # the consumer lets the coordinator reject a member that was kicked out.
                    await producer.send_offsets_to_transaction(offsets, consumer)
            except KafkaError as exc:
                if exc.fatal:
                    raise  # e.g. ProducerFencedError: a newer instance took over
                # Aborted: rewind to the last committed offsets and process again.
                print(f"transaction aborted ({exc}); reprocessing")
                for tp in batches:
                    committed = await consumer.committed(tp)
                    consumer.seek(tp, committed if committed is not None else 0)
                continue
            print(f"committed {sum(len(r) for r in batches.values())} record(s): {offsets}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"))
