"""Helpers for the consumer's integration tests: producing test data, collecting records."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from kafkaio.cluster import TopicPartition
from kafkaio.consumer import Consumer, ConsumerRecord
from kafkaio.producer import Producer


async def produce(
    bootstrap: str,
    topic: str,
    partitions: int,
    per_partition: int,
    *,
    prefix: str = "v",
    headers: Sequence[tuple[str, bytes | None]] = (),
    timestamp_ms: int | None = None,
) -> dict[TopicPartition, list[bytes]]:
    """``per_partition`` records to each partition; returns the values per partition."""
    sent: dict[TopicPartition, list[bytes]] = {}
    async with Producer(bootstrap_servers=bootstrap, linger_ms=2) as producer:
        futures = []
        for p in range(partitions):
            tp = TopicPartition(topic, p)
            for i in range(per_partition):
                value = f"{prefix}-{p}-{i}".encode()
                sent.setdefault(tp, []).append(value)
                futures.append(
                    await producer.send(
                        topic,
                        value,
                        key=f"k{i}".encode(),
                        partition=p,
                        headers=list(headers),
                        timestamp_ms=timestamp_ms,
                    )
                )
        await producer.flush()
        await asyncio.gather(*futures)
    return sent


async def collect(
    consumer: Consumer, expected: int, timeout: float = 30.0
) -> list[ConsumerRecord[Any, Any]]:
    """Records from ``consumer.getmany`` until ``expected`` arrived (fails on timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    out: list[ConsumerRecord[Any, Any]] = []
    while len(out) < expected:
        if loop.time() > deadline:
            raise AssertionError(f"got {len(out)} of {expected} records in {timeout}s")
        batch = await consumer.getmany(timeout_ms=500)
        for records in batch.values():
            out.extend(records)
    return out
