"""Producing records with kafkaio: the common uses.

Run against a local broker (started by kafkaio's test harness)::

    python -m kafkaio.testing start --detach        # prints bootstrap=127.0.0.1:<port>
    python examples/producer.py 127.0.0.1:<port>
"""

from __future__ import annotations

import asyncio
import json
import sys

from kafkaio.errors import KafkaError
from kafkaio.producer import Producer


async def main(bootstrap: str) -> None:
    # Idempotence is on by default (acks="all", no duplicates on retry, order kept).
    async with Producer(
        bootstrap_servers=bootstrap,
        compression_type="zstd",
        linger_ms=5,
        key_serializer=str.encode,
        value_serializer=lambda v: json.dumps(v).encode(),
    ) as producer:
        # 1. Send one record and wait for the broker's acknowledgement.
        md = await producer.send_and_wait("orders", {"id": 1, "total": 9.5}, key="customer-7")
        print(f"written to {md.topic}[{md.partition}] at offset {md.offset}")

        # 2. Fire many records, then collect the results: send() returns once the record is
        #    buffered; the future resolves when its batch is acknowledged.
        futures = [
            await producer.send(
                "orders", {"id": i}, key=f"customer-{i % 10}", headers=[("source", b"example")]
            )
            for i in range(2, 1000)
        ]
        await producer.flush()
        failed = [f.exception() for f in futures if f.exception() is not None]
        print(f"{len(futures) - len(failed)} records acknowledged, {len(failed)} failed")

        # 3. Handle a per-record failure without stopping the others.
        try:
            await producer.send_and_wait("orders", {"blob": "x" * 2_000_000}, key="big")
        except KafkaError as exc:
            print(f"record rejected: {exc}")

        # 4. The batch fast path: many records of one topic with one future.
        results = await (
            await producer.send_batch("orders", [{"id": i} for i in range(10_000)], partition=0)
        )
        print(f"batch: offsets {results[0].offset}..{results[-1].offset}")

        print("metrics:", {k: round(v, 1) for k, v in producer.metrics().items()})


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "localhost:9092"))
