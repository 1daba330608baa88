"""How much the blocking facade costs: kafkaio.sync against the asyncio clients.

Runs each workload alternately with the asyncio client and its kafkaio.sync facade, on
fresh one-partition topics of a local broker, and prints the medians (records/s)::

    python -m kafkaio.testing start --detach        # prints bootstrap=127.0.0.1:<port>
    python examples/sync_throughput.py 127.0.0.1:<port> [records] [rounds]

Workloads: ``send`` (one call per 100-byte record, then flush), ``send_batch`` (1000
records per call) and ``consume`` (reading the ``send`` topic back without a group).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid

import kafkaio
from kafkaio import NewTopic
from kafkaio import sync as kafkaio_sync

VALUE = b"x" * 100
CHUNK = 1000


def new_topic(bootstrap: str) -> str:
    topic = f"sync-throughput-{uuid.uuid4().hex[:8]}"
    with kafkaio_sync.Admin(bootstrap_servers=bootstrap) as admin:
        admin.create_topics([NewTopic(topic, num_partitions=1)], timeout=30).raise_on_error()
    return topic


async def async_send(bootstrap: str, topic: str, n: int) -> float:
    async with kafkaio.Producer(bootstrap_servers=bootstrap) as producer:
        await producer.send_and_wait(topic, VALUE)  # metadata and connections ready
        start = time.perf_counter()
        for _ in range(n):
            await producer.send(topic, VALUE)
        await producer.flush()
        return n / (time.perf_counter() - start)


def sync_send(bootstrap: str, topic: str, n: int) -> float:
    with kafkaio_sync.Producer(bootstrap_servers=bootstrap) as producer:
        producer.send_and_wait(topic, VALUE)
        start = time.perf_counter()
        for _ in range(n):
            producer.send(topic, VALUE)
        producer.flush()
        return n / (time.perf_counter() - start)


async def async_batch(bootstrap: str, topic: str, n: int) -> float:
    async with kafkaio.Producer(bootstrap_servers=bootstrap) as producer:
        await producer.send_and_wait(topic, VALUE)
        values = [VALUE] * CHUNK
        start = time.perf_counter()
        for _ in range(n // CHUNK):
            await producer.send_batch(topic, values)
        await producer.flush()
        return n // CHUNK * CHUNK / (time.perf_counter() - start)


def sync_batch(bootstrap: str, topic: str, n: int) -> float:
    with kafkaio_sync.Producer(bootstrap_servers=bootstrap) as producer:
        producer.send_and_wait(topic, VALUE)
        values = [VALUE] * CHUNK
        start = time.perf_counter()
        for _ in range(n // CHUNK):
            producer.send_batch(topic, values)
        producer.flush()
        return n // CHUNK * CHUNK / (time.perf_counter() - start)


async def async_consume(bootstrap: str, topic: str, n: int) -> float:
    async with kafkaio.Consumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    ) as consumer:
        start = time.perf_counter()
        seen = 0
        while seen < n:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                seen += len(records)
        return seen / (time.perf_counter() - start)


def sync_consume(bootstrap: str, topic: str, n: int) -> float:
    with kafkaio_sync.Consumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    ) as consumer:
        start = time.perf_counter()
        seen = 0
        while seen < n:
            for records in consumer.poll(timeout_ms=1000).values():
                seen += len(records)
        return seen / (time.perf_counter() - start)


def one_round(bootstrap: str, n: int) -> dict[str, float]:
    """Each workload once with each client, alternating, on fresh topics."""
    rates: dict[str, float] = {}
    a_topic, s_topic = new_topic(bootstrap), new_topic(bootstrap)
    rates["async send"] = asyncio.run(async_send(bootstrap, a_topic, n))
    rates["sync send"] = sync_send(bootstrap, s_topic, n)
    rates["async consume"] = asyncio.run(async_consume(bootstrap, a_topic, n))
    rates["sync consume"] = sync_consume(bootstrap, s_topic, n)
    a_topic, s_topic = new_topic(bootstrap), new_topic(bootstrap)
    rates["async send_batch"] = asyncio.run(async_batch(bootstrap, a_topic, n))
    rates["sync send_batch"] = sync_batch(bootstrap, s_topic, n)
    return rates


def main(bootstrap: str, n: int, rounds: int) -> None:
    results: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, rate in one_round(bootstrap, n).items():
            results.setdefault(name, []).append(rate)
    for workload in ("send", "send_batch", "consume"):
        a = statistics.median(results[f"async {workload}"])
        s = statistics.median(results[f"sync {workload}"])
        print(f"{workload:10s} asyncio {a:>12,.0f} rec/s   sync {s:>12,.0f} rec/s   {s / a:.2f}x")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092",
        int(sys.argv[2]) if len(sys.argv) > 2 else 200_000,
        int(sys.argv[3]) if len(sys.argv) > 3 else 3,
    )
